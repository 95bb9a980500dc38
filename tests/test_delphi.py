"""DELPHI compact model (thermomech.delphi): D1 of PHYSICS_NEXT 5.3, the patches, the
network algebra, the exports and bad input."""

import numpy as np
import pytest
from test_characterization import COARSE, D1_LAYERS, D1_MATERIALS, FLIP_CHIP, StackSpec

from thermomech import ModelError
from thermomech.delphi import PATCHES, extract_delphi, network_response
from thermomech.model_file import Model
from thermomech.thermal_loads import ThermalLoads


def d1_model() -> Model:
    return Model(package=StackSpec(layers=D1_LAYERS), materials=D1_MATERIALS, mesh=COARSE,
                 thermal=ThermalLoads(power={"die": 1.0}, power_placement="active_face"))


def test_d1_delphi_of_a_slab_with_adiabatic_sides_is_exact():
    """PHYSICS_NEXT 5.3 D1: the slab (substrate | die, junction at its bottom | TIM | lid,
    10 x 10 mm) with adiabatic sides is the network J-top = series conductance above the
    junction, J-bottom = below it, top-bottom = 0; the fit recovers it and predicts T_J and
    both patch flows to < 1e-6 over the training set (h 1 and 1e4 on each face) and 8
    held-out sets (Q1 is exact for the piecewise-linear 1-D profile)."""
    delphi = extract_delphi(d1_model(), patches=("top_inner", "bottom_inner"))
    area = 1e-4
    above = 0.775e-3 / (150 * area) + 50e-6 / (3 * area) + 1e-3 / (390 * area)
    below = 0.5e-3 / (20 * area)
    g = delphi.conductances
    assert g["junction-top_inner"] == pytest.approx(1 / above, rel=1e-6)
    assert g["junction-bottom_inner"] == pytest.approx(1 / below, rel=1e-6)
    assert g["top_inner-bottom_inner"] < 1e-6 * g["junction-bottom_inner"]
    for key in ("training", "held_out"):
        assert delphi.errors[key]["junction_max_relative_error"] < 1e-6
        assert delphi.errors[key]["patch_flow_max_error_of_power"] < 1e-6
    assert delphi.errors["held_out"]["sets"] == 8


def test_network_response_of_a_star_is_series_and_parallel():
    """One junction, two patches: T_J = P / (1/(1/g1 + 1/hA1) + 1/(1/g2 + 1/hA2))."""
    g = np.array([2.0, 3.0, 0.0])  # J-a, J-b, a-b
    hA = np.array([[1.0, 4.0]])
    rise, flows = network_response(g, hA, 5.0)
    up, down = 1 / (1 / 2 + 1 / 1), 1 / (1 / 3 + 1 / 4)
    assert rise[0] == pytest.approx(5.0 / (up + down), rel=1e-12)
    assert flows.sum() == pytest.approx(5.0, rel=1e-12)
    assert flows[0, 0] / flows[0, 1] == pytest.approx(up / down, rel=1e-12)


def test_patches_split_top_and_bottom_into_rings(tmp_path):
    """The flip-chip's patches: inner over the die, a ring out to the heat sink's edge, a
    strip along that edge (half a target cell wide, at most a third of the rim: 0.5 mm of
    the 1.5 mm rim with this coarse mesh), the rest of the rim split a third of the way out;
    the top rings' areas add up to the package face (15 x 15 mm), inner, ring and strip
    areas are the footprints' (8 x 8, 12 x 12, 13 x 13 mm): the ring edges are grid lines."""
    from thermomech.delphi import ring_rectangles
    from thermomech.model_file import load_model

    path = tmp_path / "model.toml"
    path.write_text(FLIP_CHIP.replace("BOARD", "2s2p"))
    model = load_model(path)
    layout = model.package.layout(model.all_materials)
    corners = np.array([(lo, hi) for lo, hi in ring_rectangles(
        layout, (np.array([-4e-3, -4e-3]), np.array([4e-3, 4e-3])), 10e-3)])
    half = np.array([4e-3, 6e-3, 6.5e-3, 6.5e-3 + 1e-3 / 3])[:, None, None] * np.array(
        [-1.0, 1.0])[:, None]  # (rings, lo/hi, xy)
    np.testing.assert_allclose(corners, np.broadcast_to(half, (4, 2, 2)), rtol=1e-12)
    delphi = extract_delphi(model, held_out=1)
    assert set(PATCHES) <= set(delphi.patches)
    areas = delphi.areas_m2
    top = [p for p in delphi.patches if p.startswith("top_")]
    assert sum(areas[p] for p in top) == pytest.approx(15e-3 ** 2, rel=1e-9)
    assert areas["top_inner"] == pytest.approx(8e-3 ** 2, rel=1e-9)
    assert areas["top_inner"] + areas["top_ring1"] == pytest.approx(12e-3 ** 2, rel=1e-9)
    assert areas["top_ring2"] == pytest.approx(13e-3 ** 2 - 12e-3 ** 2, rel=1e-9)
    assert areas["bottom_ring3"] == pytest.approx((13e-3 + 2e-3 / 3) ** 2 - 13e-3 ** 2,
                                                  rel=1e-9)
    n = len(delphi.patches)
    assert len(delphi.conductances) == (n + 1) * n // 2
    assert all(v >= 0 for v in delphi.conductances.values())
    netlist = delphi.spice()
    assert netlist.startswith("* JESD15-4") and ".SUBCKT package_delphi J TOP_INNER" in netlist


@pytest.mark.slow
def test_bundled_flip_chip_network_is_within_jesd15_4_practice():
    """The bundled flip-chip (meshes/flip_chip.toml) over 40 held-out sets (h log-uniform in
    [1, 1e4] W/(m^2 K) per patch): JESD15-4 practice is a network within a few percent,
    here < 5 % on the junction rise and the patch flows (measured 4.2 % and 1.5 %; 8.6 % and
    3.0 % before the lid-edge strip had its own patch; training 3.1 % and 2.7 %)."""
    from pathlib import Path

    from thermomech.model_file import load_model

    model = load_model(Path(__file__).parents[1] / "meshes" / "flip_chip.toml")
    delphi = extract_delphi(model, held_out=40)
    assert "top_ring3" in delphi.patches and delphi.errors["training"]["sets"] == 80
    for key in ("training", "held_out"):
        assert delphi.errors[key]["junction_max_relative_error"] < 0.05
        assert delphi.errors[key]["patch_flow_max_error_of_power"] < 0.05


def test_a_patch_that_does_not_exist_is_a_clean_error():
    with pytest.raises(ModelError, match="^delphi.patches.*top_outer"):
        extract_delphi(d1_model(), patches=("top_inner", "top_outer"))


def test_response_jacobian_is_the_derivative():
    """The analytic dT/dg of the fit against central differences (step h = 1e-6 g:
    truncation ~h^2 ~ 1e-12 relative; round-off ~eps T / h <= 2.2e-16 * 20 K / 1e-7 W/K
    = 4.4e-8 K per W/K, T <= P / g_min = 20 K)."""
    from thermomech.delphi import response_jacobian

    rng = np.random.default_rng(3)
    g = rng.uniform(0.1, 2.0, 10)  # 5 nodes: J and 4 patches
    hA = rng.uniform(0.01, 1.0, (3, 4))
    analytic = response_jacobian(g, hA, 2.0)
    for link in range(10):
        step = 1e-6 * g[link]
        up, down = g.copy(), g.copy()
        up[link] += step
        down[link] -= step
        t_up = np.c_[network_response(up, hA, 2.0)[0], network_response(up, hA, 2.0)[1] / hA]
        t_dn = np.c_[network_response(down, hA, 2.0)[0],
                     network_response(down, hA, 2.0)[1] / hA]
        np.testing.assert_allclose(analytic[:, :, link], (t_up - t_dn) / (2 * step),
                                   rtol=1e-6, atol=1e-7)
