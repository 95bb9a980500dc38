"""Solder-joint life formulas: Engelmaier (IPC-D-279) and Darveaux (PHYSICS_NEXT.md 6.4)."""

import math

import numpy as np
import pint
import pytest

import thermomech
from thermomech.errors import ModelError
from thermomech.solder_life import (
    DarveauxConstants,
    darveaux_cycles,
    engelmaier_exponent,
)


def _n50(gamma, T, dwell, eps_f=0.325):
    """Closed form, written out independently of the module."""
    c = -0.442 - 6e-4 * T + 1.74e-2 * math.log(1 + 360 / dwell)
    return 0.5 * (gamma / (2 * eps_f)) ** (1 / c)


def test_f1_exponent_and_life():
    # F1: T_SJ 55 degC, t_D 15 min -> c = -0.418992 (printed to 6 decimals: 5e-7 is its
    # rounding); dgamma = 0.065 = 0.2 * 2 eps_f -> N50 = 121.80 (printed to 0.01)
    c = engelmaier_exponent(55.0, 15.0)
    assert c == pytest.approx(-0.418992, abs=5e-7)
    n50 = thermomech.engelmaier_cycles(0.065, 55.0, 15.0)
    assert n50 == pytest.approx(_n50(0.065, 55.0, 15.0), rel=1e-12)
    assert n50 == pytest.approx(121.80, abs=5e-3)


def test_f2_dnp_worked_example():
    # F2: L_D 10 mm, dalpha 14 ppm/K (FR-4 17 vs package 3), dT 100 K, h 0.5 mm, F 1
    gamma = thermomech.engelmaier_shear_strain(10e-3, 14e-6, 100.0, 0.5e-3)
    assert gamma == pytest.approx(0.028, rel=1e-12)
    assert engelmaier_exponent(50.0, 15.0) == pytest.approx(-0.415992, abs=5e-7)
    n50 = thermomech.engelmaier_cycles(gamma, 50.0, 15.0)
    assert n50 == pytest.approx(_n50(0.028, 50.0, 15.0), rel=1e-12)
    assert n50 == pytest.approx(959.6, abs=0.05)  # printed to 0.1 cycle


def test_units_strings_and_pint_quantities():
    ureg = pint.UnitRegistry()
    gamma = thermomech.engelmaier_shear_strain(ureg.Quantity(10, "mm"), "14 ppm/K",
                                               ureg.Quantity(100, "delta_degC"), "500 um")
    assert gamma == pytest.approx(0.028, rel=1e-12)
    n50 = thermomech.engelmaier_cycles(gamma, ureg.Quantity(50, "degC"),
                                       ureg.Quantity(0.25, "hour"))
    assert n50 == pytest.approx(_n50(0.028, 50.0, 15.0), rel=1e-12)
    # a temperature swing given in degC is a difference, as for "10 degC" strings
    assert thermomech.engelmaier_shear_strain(10e-3, 14e-6, ureg.Quantity(100, "degC"),
                                              0.5e-3) == pytest.approx(0.028, rel=1e-12)


def test_vectorized_over_joints():
    dnp = np.array([1e-3, 5e-3, 10e-3])
    gamma = thermomech.engelmaier_shear_strain(dnp, 14e-6, 100.0, 0.5e-3)
    n50 = thermomech.engelmaier_cycles(gamma, 50.0, 15.0)
    assert n50.shape == (3,)
    assert n50[2] == pytest.approx(_n50(0.028, 50.0, 15.0), rel=1e-12)
    assert np.all(np.diff(n50) < 0)  # farther from the neutral point: shorter life


@pytest.mark.parametrize("call, field", [
    (lambda: thermomech.engelmaier_cycles(-0.01, 50, 15), "shear_strain_range"),
    (lambda: thermomech.engelmaier_cycles(0.01, 50, 0), "dwell_minutes"),
    (lambda: thermomech.engelmaier_cycles(0.01, 50, 15, fatigue_ductility=0), "fatigue_ductility"),
    (lambda: thermomech.engelmaier_cycles(0.01, "50 mm", 15), "mean_temperature_C"),
    (lambda: thermomech.engelmaier_shear_strain(1e-3, 1e-5, 100, 0), "joint_height"),
    (lambda: thermomech.engelmaier_shear_strain("1 K", 1e-5, 100, 1e-3), "dnp"),
])
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(ModelError) as err:
        call()
    assert str(err.value).startswith(field)


def test_darveaux_closed_form_and_layer_check():
    # a synthetic set (not a published one): checks the formula and the unit handling
    k = DarveauxConstants(k1=100.0, k2=-1.5, k3=1e-3, k4=1.0, layer_thickness=25e-6,
                          source="synthetic test values", energy_unit="MPa",
                          length_unit="mm")
    life = darveaux_cycles(0.2e6, 0.4e-3, k, layer_thickness="25 um")
    n0 = 100.0 * 0.2 ** -1.5
    rate = 1e-3 * 0.2 * 1e-3  # mm/cycle -> m/cycle
    assert life.initiation == pytest.approx(n0, rel=1e-12)
    assert life.growth_rate == pytest.approx(rate, rel=1e-12)
    assert life.cycles == pytest.approx(n0 + 0.4e-3 / rate, rel=1e-12)
    with pytest.raises(ModelError, match="layer_thickness"):
        darveaux_cycles(0.2e6, 0.4e-3, k, layer_thickness=50e-6)
    with pytest.raises(ModelError, match="^source"):
        DarveauxConstants(k1=1.0, k2=-1.0, k3=1.0, k4=1.0, layer_thickness=25e-6)
