"""Zth(t), Foster fit, Foster <-> Cauer and the structure function (issue 16).

Exact references: a known Foster network; a 3-term Foster network round trip; the series
resistances and heat capacities of a 1-D two-layer bar computed from their formulas.
"""

import functools

import numpy as np
import pytest

from thermomech.materials import Material
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.packages.blocks import Block, BlocksSpec
from thermomech.thermal_loads import FixedTemperature, ThermalLoads, Transient
from thermomech.zth import (
    Cauer,
    Foster,
    cauer_to_foster,
    dual_interface,
    fit_foster,
    foster_to_cauer,
    foster_to_cauer_lanczos,
    log_time_grid,
    resistance_at_capacitance,
    separation,
    structure_function,
    zth_transient,
)
from thermomech.zth_spectrum import model_spectrum

mm = 1e-3


def test_fit_recovers_a_known_foster_network():
    # time constants on the default fit grid (40 per decade from t[0] / 10): NNLS recovers
    # the network up to the 1e-10 Tikhonov term
    t = log_time_grid(1e-4, 1e3, 20)  # s
    grid = log_time_grid(t[0] / 10, t[-1] * 10, 40)
    exact = Foster(np.array([0.3, 1.2, 0.5, 2.0]), grid[[50, 100, 140, 200]])  # K/W, s
    fitted = fit_foster(t, exact.zth(t))
    assert len(fitted.R) == 4
    assert fitted.total_resistance == pytest.approx(exact.total_resistance, rel=1e-6)
    assert np.abs(fitted.zth(t) - exact.zth(t)).max() < 1e-4 * exact.total_resistance
    np.testing.assert_allclose(fitted.tau, exact.tau, rtol=1e-3)


def test_fit_of_time_constants_between_grid_points():
    # off the grid each mode becomes a run of neighbours, merged back into one term; the
    # measured total-resistance error is 1.1e-5 (a mode is a mixture of two grid columns)
    exact = Foster(np.array([0.3, 1.2, 0.5, 2.0]), np.array([3.3e-3, 0.047, 0.61, 17.0]))
    t = log_time_grid(1e-4, 1e3, 20)
    fitted = fit_foster(t, exact.zth(t))
    assert len(fitted.R) == 4
    assert fitted.total_resistance == pytest.approx(exact.total_resistance, rel=3e-5)
    assert np.abs(fitted.zth(t) - exact.zth(t)).max() < 1e-4 * exact.total_resistance
    np.testing.assert_allclose(fitted.tau, exact.tau, rtol=1e-3)


def test_foster_cauer_foster_round_trip():
    foster = Foster(np.array([0.5, 1.0, 2.0]), np.array([1e-3, 1e-2, 0.3]))  # K/W, s
    cauer = foster_to_cauer(foster)
    back = cauer_to_foster(cauer)
    order = np.argsort(back.tau)
    np.testing.assert_allclose(back.R[order], foster.R, rtol=1e-8)
    np.testing.assert_allclose(back.tau[order], foster.tau, rtol=1e-8)
    assert cauer.R.sum() == pytest.approx(foster.R.sum(), rel=1e-12)  # Z(0)
    r, c = structure_function(cauer)
    assert r[-1] == pytest.approx(3.5, rel=1e-12) and c[-1] == pytest.approx(cauer.C.sum())


# 1-D bar: 1 x 1 mm, a 10 um heater (layer 1 material), layer 1 (1 mm, k 10,
# rho c 1.6e6) and layer 2 (1 mm, k 1, rho c 2e6), sides adiabatic, top at 25 C
A = 1 * mm * 1 * mm
LAYERS = [("heater", "h", 10e-6, 10.0, 1.6e6), ("one", "a", 1 * mm, 10.0, 1.6e6),
          ("two", "b", 1 * mm, 1.0, 2.0e6)]


def bar(cells: int = 40):
    blocks, z = [], 0.0
    for part, material, t, _, _ in LAYERS:
        blocks.append(Block(part, material, (0, 1 * mm), (0, 1 * mm), (z, z + t)))
        z += t
    materials = {m: Material(m, conductivity=k, density=rc, specific_heat=1.0)
                 for _, m, _, k, rc in LAYERS}
    layout = BlocksSpec(tuple(blocks)).layout(materials)
    return mesh_layout(layout, MeshOptions(dimension=3, target_size=1 * mm,
                                           min_cells_per_layer=cells), materials)


@functools.cache
def layered_bar_ladder():
    """(Zth curve, Foster fit, Cauer ladder, series resistances K/W, capacities J/K)."""
    package = bar()
    loads = ThermalLoads(ambient=25.0, power={"heater": 1.0},
                         fixed_temperature=(FixedTemperature("top", 25.0),),
                         transient=Transient())
    curve = zth_transient(package, loads, 1e-4, 1e2)
    series = [t / (k * A) for _, _, t, k, _ in LAYERS]  # K/W
    series[0] /= 2  # power uniform in the heater: half its resistance is in series
    capacity = [rc * A * t for _, _, t, _, rc in LAYERS]  # J/K
    foster = fit_foster(curve.time, curve.zth)
    return curve, foster, foster_to_cauer(foster), series, capacity


def test_layered_bar_structure_function():
    curve, foster, cauer, series, capacity = layered_bar_ladder()
    total = sum(series)
    # Zth at 100 s (slowest tau ~ 2.4 s): the steady series resistance
    assert curve.zth[-1] == pytest.approx(total, rel=1e-4)
    assert foster.total_resistance == pytest.approx(total, rel=1e-3)
    r, c = structure_function(cauer)
    assert r[-1] == pytest.approx(total, rel=1e-3)
    # the ladder holds the capacity of the resolved modes (tau >= ~1e-4 s): most of the bar's
    assert 0.75 * sum(capacity) < c[-1] < sum(capacity)


def test_fitted_route_reads_the_inner_interface_ten_percent_low():
    """The "as measured" route (NNLS Foster fit of the FE Zth curve, then Cauer) on the bar:
    the case (ladder end) within 2e-5, the layer one / layer two interface 10.4 % low
    (measured; the reading at the kink is ill-conditioned, docs/jedec.md). Kept as a figure
    so a change of the fit is noticed; the 2 % criterion is met by the model's spectrum."""
    _, _, cauer, series, capacity = layered_bar_ladder()
    r, _ = structure_function(cauer)
    inner = resistance_at_capacitance(cauer, capacity[0] + capacity[1])
    assert inner / (series[0] + series[1]) - 1 == pytest.approx(-0.104, abs=0.01)
    assert r[-1] == pytest.approx(sum(series), rel=1e-3)


@functools.cache
def bar_spectrum(cells: int, steps: int):
    loads = ThermalLoads(ambient=25.0, power={"heater": 1.0},
                         fixed_temperature=(FixedTemperature("top", 25.0),))
    return model_spectrum(bar(cells), loads, steps=steps)


def mean_junction_series():
    """Series resistances (K/W) seen by the power-weighted mean temperature: a uniform heater
    of resistance t / (k A) over an adiabatic face holds its mean t / (3 k A) above its top
    (the maximum: t / (2 k A))."""
    series = [t / (k * A) for _, _, t, k, _ in LAYERS]
    series[0] /= 3
    return series


@pytest.mark.parametrize("steps", [200, 400])
def test_layered_bar_interface_within_two_percent(steps):
    """Issue 16: each layer interface of the bar on the Cauer ladder of the model's exact
    spectrum (Lanczos on K^-1 M, no fit; 100 cells per layer): layer one / layer two where
    C_sum reaches the capacity of the heater and layer one (linear between the ladder's
    nodes), and the case (the cold plate) where the ladder ends. The heater is layer one's
    material: no interface there. Measured: -0.06 % (200 steps) and +0.40 % (400 steps) at
    the inner interface, 1e-8 at the case; read as a staircase at the ladder's node nearest
    the capacity (in ratio) -1.0 / +1.2 %: the ladder's node spacing there is ~6 / 3.5 % of
    the reading, one stage of the ladder (not one mesh cell: the consistent-mass model's
    ladder has fewer stages than the mesh has levels). At 200 steps a node sits at the
    capacity: 0.59 % above it with scikit-fem's quadrature of the unit-cell matrices, 0.06 %
    below it with their closed form (the ladder's nodes move by that much for 1e-16 changes
    of the matrices), so the first node at or above the capacity, read before, was that
    node or the next one (+1.8 or +7.3 %); the nearest node is the same one either way
    (+1.8 or -1.0 %)."""
    foster = bar_spectrum(100, steps)
    cauer = foster_to_cauer_lanczos(foster)
    series, capacity = mean_junction_series(), [rc * A * t for _, _, t, _, rc in LAYERS]
    r, c = structure_function(cauer)
    readings = [resistance_at_capacitance(cauer, capacity[0] + capacity[1]), r[-1]]
    np.testing.assert_allclose(readings, [series[0] + series[1], sum(series)], rtol=0.02)
    node = np.argmin(np.abs(np.log(c[:-1] / (capacity[0] + capacity[1]))))  # nearest node
    assert r[node] == pytest.approx(series[0] + series[1], rel=0.02)
    assert r[-1] == pytest.approx(sum(series), rel=1e-6)


def test_model_spectrum_against_the_transient_zth():
    """The spectrum's Zth(t) (power-weighted mean junction) against the time-stepped Zth
    (the maximum) on the same 40-cell bar: they differ by the heater's own max - mean, at
    most t / (6 k A) = 1/6 K/W (steady), plus the time stepping's 1e-4 of Zth; the spectrum's
    total resistance is the series sum exactly (1e-7: one heater cell's discretization)."""
    curve, _, _, series, _ = layered_bar_ladder()
    foster = bar_spectrum(40, 200)
    assert foster.total_resistance == pytest.approx(sum(mean_junction_series()), rel=1e-6)
    gap = curve.zth - foster.zth(curve.time)
    heater = LAYERS[0][2] / (LAYERS[0][3] * A)  # K/W: t / (k A)
    assert np.all(gap >= -1e-4 * sum(series))
    assert np.all(gap <= heater / 6 + 1e-4 * sum(series))
    assert gap[-1] == pytest.approx(heater / 6, abs=1e-4 * sum(series))


def test_lanczos_cauer_conversion():
    # the exact rational conversion's ladder to 1e-10 on a 3-term network
    foster = Foster(np.array([0.5, 1.0, 2.0]), np.array([1e-3, 1e-2, 0.3]))  # K/W, s
    exact, fast = foster_to_cauer(foster), foster_to_cauer_lanczos(foster)
    np.testing.assert_allclose(fast.R, exact.R, rtol=1e-10)
    np.testing.assert_allclose(fast.C, exact.C, rtol=1e-10)
    # a 200-stage ladder (the bar as an RC line) from its exact spectrum (measured 1.5e-10)
    R = np.concatenate([np.full(100, 1 * mm / 100 / (10.0 * A)),
                        np.full(100, 1 * mm / 100 / (1.0 * A))])
    C = np.concatenate([np.full(100, 1.6e6 * A * mm / 100), np.full(100, 2e6 * A * mm / 100)])
    back = foster_to_cauer_lanczos(cauer_to_foster(Cauer(R, C)))
    np.testing.assert_allclose(back.R, R, rtol=1e-9)
    np.testing.assert_allclose(back.C, C, rtol=1e-9)


def test_lanczos_cauer_ends_before_an_overflowing_stage():
    # a ladder whose capacitances grow 1e3 per stage (a sink's C_sum -> infinity): the
    # conversion keeps the first stages (1e-6), ends before C stops being finite and positive
    # and keeps the total resistance Z(0) (1e-12)
    n = 40
    ladder = Cauer(0.5 ** np.arange(n), 10.0 ** (3.0 * np.arange(n)))
    foster = cauer_to_foster(ladder)
    back = foster_to_cauer_lanczos(foster)
    assert 10 < len(back.R) < n
    assert np.all(np.isfinite(back.C) & (back.C > 0) & (back.R > 0))
    assert back.R.sum() == pytest.approx(foster.R.sum(), rel=1e-12)
    np.testing.assert_allclose(back.R[:10], ladder.R[:10], rtol=1e-6)
    np.testing.assert_allclose(back.C[:10], ladder.C[:10], rtol=1e-6)


def test_model_spectrum_rejects_no_power():
    loads = ThermalLoads(ambient=25.0, power={}, fixed_temperature=(FixedTemperature("top",
                                                                                    25.0),))
    with pytest.raises(ValueError, match="power step"):
        model_spectrum(bar(4), loads)


def test_interface_reading_of_an_exact_truncated_spectrum():
    # the same bar as a 200-cell RC line (exact Foster network by eigen-decomposition):
    # the structure function's interface reading converges slowly with the number of modes
    R = np.concatenate([np.full(100, 1 * mm / 100 / (10.0 * A)),
                        np.full(100, 1 * mm / 100 / (1.0 * A))])
    C = np.concatenate([np.full(100, 1.6e6 * A * mm / 100), np.full(100, 2e6 * A * mm / 100)])
    exact = cauer_to_foster(Cauer(R, C))
    order = np.argsort(-exact.tau)
    errors = {}
    for n in (12, 25):
        keep = order[:n]
        r = exact.R[keep].copy()
        r[-1] += exact.R[order[n:]].sum()  # the fast modes' resistance, lumped
        ladder = foster_to_cauer(Foster(r, exact.tau[keep]))
        errors[n] = resistance_at_capacitance(ladder, 1.6e6 * A * mm) / 100.0 - 1
    assert errors[12] == pytest.approx(-0.063, abs=0.002)
    assert errors[25] == pytest.approx(-0.0357, abs=0.001)


def test_structure_functions_separate_where_the_better_cooled_one_ends():
    # the same ladder with 5 K/W more to the ambient (a poorer contact): the structure
    # functions coincide up to R_sum = 6 K/W, where the first reaches its heat sink
    wet = structure_function(Cauer(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])))
    dry = structure_function(Cauer(np.array([1.0, 2.0, 8.0]), np.array([1.0, 1.0, 1.0])))
    assert separation(wet, dry) == 6.0 and separation(dry, wet) == 6.0
    # C_sum is a staircase (the capacitance at its node): a node placed a little apart in
    # one ladder (1.1 against 1 K/W) with a 75 % larger C_sum does not part them ...
    shifted = structure_function(Cauer(np.array([1.1, 1.9, 8.0]), np.array([1.0, 2.5, 1.0])))
    assert separation(wet, shifted) == 6.0
    # ... an inner difference of more than a factor 10 in C_sum does, at that node
    other = structure_function(Cauer(np.array([1.0, 2.0, 3.0]), np.array([1.0, 30.0, 1.0])))
    assert separation(wet, other) == 1.0


def test_dual_interface_theta_jc_of_a_layered_bar():
    """JESD51-14 on the 1-D bar: the case is the top face, the junction-to-case resistance
    the series sum 0.5 + 100 + 1000 K/W. Wet: an isothermal plate; dry: h = 1e4 W/(m^2 K)
    (1/(h A) = 100 K/W more). The structure functions separate at the case to the accuracy
    of the fitted ladder's total resistance (1e-3, test above)."""
    package = bar()
    loads = ThermalLoads(ambient=25.0, power={"heater": 1.0}, transient=Transient())
    dual = dual_interface(package, loads, "top", 1e-4, 1e3, h_dry=1e4)
    series = sum(t / (k * A) for _, _, t, k, _ in LAYERS) - LAYERS[0][2] / (2 * 10.0 * A)
    assert dual.theta_jc == pytest.approx(series, rel=1e-3)
    assert dual.dry.zth[-1] == pytest.approx(series + 1 / (1e4 * A), rel=1e-4)
    assert dual.as_dict()["case_contact_h_W_per_m2K"] == {"wet": None, "dry": 1e4}
