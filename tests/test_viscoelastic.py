"""The generalized Maxwell model, the material-point driver and the Prony fit
(PHYSICS_NEXT.md 3.4 V1; closed forms recomputed here)."""

import numpy as np
import pytest

import thermomech as tm
from thermomech.model_file import material_from_dict
from thermomech.viscoelastic import Viscoelastic

V1 = dict(reference_temperature=150.0, shift="wlf", wlf_c1=17.44, wlf_c2=51.6,
          long_term_modulus=1e9, prony_moduli=(19e9,), prony_times=(100.0,))


def v1_material(**changes) -> tm.Material:
    return tm.Material("emc", youngs_modulus=20e9, poisson_ratio=0.3,
                       viscoelastic=Viscoelastic(**{**V1, **changes}))


def relaxation(t, T):
    """sigma(t) of a 1e-3 step strain held at T degC: E_inf + E_1 exp(-t / (a_T tau))."""
    log_aT = -17.44 * (T - 150) / (51.6 + T - 150)
    return 1e-3 * (1e9 + 19e9 * np.exp(-t / (100 * 10 ** log_aT)))


@pytest.mark.parametrize("times, T, expected", [
    ([0, 10], 150.0, {10: 18.192e6}),
    ([0, 0.1, 1.0], 160.0, {0.1: 10.646e6, 1.0: 1.0216e6}),
    ([0, 0.01, 0.03, 0.1, 0.2, 0.5, 1.0], 160.0, {0.1: 10.646e6, 1.0: 1.0216e6}),
])
def test_v1_relaxation_with_shift_independent_of_increments(times, T, expected):
    """V1: the recursion is exact during a hold (the strain does not change), so any time
    steps give the closed form to round-off (1e-9 relative); the published figures to their
    5 digits."""
    stress = tm.material_point(v1_material(), times, [1e-3] * len(times), T)
    np.testing.assert_allclose(stress, relaxation(np.array(times, float), T), rtol=1e-9)
    for t, value in expected.items():
        assert stress[times.index(t)] == pytest.approx(value, rel=5e-5)


def test_v1_at_175_degC_relaxes_to_the_long_term_modulus_within_0p1_s():
    stress = tm.material_point(v1_material(), [0, 0.1], [1e-3, 1e-3], 175.0)
    assert stress[1] == pytest.approx(1.000e6, rel=1e-4)


def test_constant_strain_rate_is_exact_for_any_increment():
    """Strain linear in time: sigma = rate (E_inf t + E_1 tau (1 - exp(-t/tau))) at T_ref;
    the update is exact for strain linear in each increment (1e-9 relative)."""
    rate, t = 1e-4, np.linspace(0, 300, 7)
    expected = rate * (1e9 * t + 19e9 * 100 * (1 - np.exp(-t / 100)))
    stress = tm.material_point(v1_material(), t, rate * t, 150.0)
    np.testing.assert_allclose(stress[1:], expected[1:], rtol=1e-9)


def test_separate_shear_and_bulk_equal_the_constant_poisson_form():
    """G_i = E_i / (2 (1 + nu)), K_i = E_i / (3 (1 - 2 nu)) as shear_* / bulk_* series gives
    the same uniaxial-stress and uniaxial-strain histories (round-off)."""
    nu = 0.3
    g, k = 1 / (2 * (1 + nu)), 1 / (3 * (1 - 2 * nu))
    separate = tm.Material("emc", poisson_ratio=nu, viscoelastic=Viscoelastic(
        150.0, "wlf", 17.44, 51.6, shear_long_term_modulus=g * 1e9, shear_moduli=(g * 19e9,),
        shear_times=(100.0,), bulk_long_term_modulus=k * 1e9, bulk_moduli=(k * 19e9,),
        bulk_times=(100.0,)))
    t = np.array([0.0, 1, 5, 20, 60])
    strain = np.array([1e-3, 1.2e-3, 0.5e-3, 0.5e-3, 0.0])
    for state in ("uniaxial_stress", "uniaxial_strain"):
        np.testing.assert_allclose(tm.material_point(separate, t, strain, 150.0, state),
                                   tm.material_point(v1_material(), t, strain, 150.0, state),
                                   rtol=1e-12, atol=1e-6)


def test_uniaxial_strain_relaxes_with_the_p_wave_modulus():
    """eps_xx only: sigma = (K + 4 G / 3)(xi) eps, held at T_ref."""
    nu = 0.3
    M = (1 - nu) / ((1 + nu) * (1 - 2 * nu))  # (K + 4G/3) / E
    t = np.array([0.0, 30.0])
    stress = tm.material_point(v1_material(), t, [1e-3, 1e-3], 150.0, "uniaxial_strain")
    np.testing.assert_allclose(stress, M * relaxation(t, 150.0), rtol=1e-12)


def test_arrhenius_and_table_shifts():
    """ln a_T = E_a / R (1/T - 1/T_ref); a table of the same log10 a_T values gives the
    same relaxation at its nodes."""
    Ea, T = 261e3, 140.0
    log_aT = Ea / 8.314462618 * (1 / (T + 273.15) - 1 / (150 + 273.15)) / np.log(10)
    arrhenius = v1_material(shift="arrhenius", wlf_c1=None, wlf_c2=None,
                            activation_energy=Ea)
    expected = 1e-3 * (1e9 + 19e9 * np.exp(-1000 / (100 * 10 ** log_aT)))
    assert tm.material_point(arrhenius, [0, 1000], [1e-3] * 2, T)[1] == pytest.approx(
        expected, rel=1e-12)
    table = v1_material(shift="table", wlf_c1=None, wlf_c2=None, shift_temperatures=(
        130.0, T, 150.0), log10_shift_factors=(2.0, log_aT, 0.0))
    assert tm.material_point(table, [0, 1000], [1e-3] * 2, T)[1] == pytest.approx(
        expected, rel=1e-12)


def test_wlf_above_and_arrhenius_below_the_reference_temperature():
    """shift = "wlf" with activation_energy: WLF above T_ref, Arrhenius below (continuous
    at T_ref, where both are 0); no WLF singularity at T_ref - C2 = 98.4 degC."""
    both = v1_material(activation_energy=261e3)
    above, below = 160.0, 25.0
    log_below = 261e3 / 8.314462618 * (1 / (below + 273.15) - 1 / 423.15) / np.log(10)
    np.testing.assert_allclose(both.viscoelastic.log10_shift([above, 150.0, below]),
                               [-17.44 * 10 / 61.6, 0.0, log_below], rtol=1e-12)


def test_elastic_material_point():
    steel = tm.Material("s", youngs_modulus=200e9, poisson_ratio=0.3)
    assert tm.material_point(steel, [0, 1], [1e-3, 2e-3], 25.0)[1] == pytest.approx(400e6)
    from thermomech.materials import TemperatureTable

    soft = steel.with_values(temperature_table=TemperatureTable((0.0, 100.0),
                                                                youngs_modulus=(200e9, 100e9)))
    stress = tm.material_point(soft, [0, 1], [1e-3, 1e-3], [0.0, 50.0])
    np.testing.assert_allclose(stress, [200e6, 150e6], rtol=1e-12)  # total form, E(T)


def test_model_file_table_and_round_trip():
    table = {"base": "mold", "viscoelastic": {
        "reference_temperature": "150 degC", "shift": "arrhenius",
        "activation_energy": "261 kJ/mol", "long_term_modulus": "1 GPa",
        "prony_moduli": ["19 GPa", "0 GPa"], "prony_times": ["100 s", "1 h"]}}
    material = material_from_dict("emc_ve", table)
    visco = material.viscoelastic
    assert visco.activation_energy == 261e3 and visco.prony_times == (100.0, 3600.0)
    assert visco.prony_moduli == (19e9, 0.0)  # an NNLS fit's zero terms are valid input
    again = material_from_dict("emc_ve", tm.model_file.material_to_dict(material))
    assert again.viscoelastic == visco


@pytest.mark.parametrize("changes, field, words", [
    ({"prony_moduli": ["-1 GPa"]}, "prony_moduli", ">= 0"),
    ({"prony_times": ["0 s"]}, "prony_times", "> 0"),
    ({"prony_times": ["1 s", "2 s"]}, "prony_times", "has 2 values but prony_moduli has 1"),
    ({"long_term_modulus": "0 GPa", "prony_moduli": ["0 GPa"]}, "prony_moduli",
     "instantaneous modulus"),
    ({"shift": "arrhenius"}, "activation_energy", "is needed by shift = 'arrhenius'"),
    ({"shift": "wlf", "wlf_c2": None}, "wlf_c2", "is needed"),
    ({"shift": "power"}, "shift", "must be one of"),
    ({"bulk_moduli": ["1 GPa"]}, "viscoelastic", "not both"),
    ({"frequency": "1 Hz"}, "frequency", "unknown key"),
])
def test_bad_viscoelastic_input_names_the_field(changes, field, words):
    table = {"reference_temperature": "150 degC", "shift": "wlf", "wlf_c1": 17.44,
             "wlf_c2": "51.6 K", "long_term_modulus": "1 GPa", "prony_moduli": ["19 GPa"],
             "prony_times": ["100 s"]}
    table.update(changes)
    table = {k: v for k, v in table.items() if v is not None}
    if changes.get("shift") == "arrhenius":
        table.pop("wlf_c1"), table.pop("wlf_c2")
    with pytest.raises(tm.ModelError) as error:
        material_from_dict("emc_ve", {"base": "mold", "viscoelastic": table})
    assert error.value.field.startswith("materials.emc_ve.viscoelastic")
    assert error.value.field.endswith(field) and words in str(error.value)


def test_wlf_below_its_singularity_is_a_clean_error():
    with pytest.raises(tm.ModelError, match=r"wlf_c2: the WLF shift is singular at 90 degC"):
        tm.material_point(v1_material(), [0, 1], [1e-3] * 2, 90.0)


def test_reduced_time_overflow_is_a_clean_error():
    steep = v1_material(shift="table", wlf_c1=None, wlf_c2=None, shift_temperatures=(
        100.0, 200.0), log10_shift_factors=(0.0, -400.0))
    with pytest.raises(tm.ModelError, match="reduced time overflows"):
        tm.material_point(steep, [0, 1], [1e-3] * 2, 200.0)


def test_fit_prony_recovers_a_series_on_its_grid():
    """Data from a series whose times lie on the fit's log grid: recovered exactly (NNLS
    of a consistent system; 1e-8 relative), fit error at round-off."""
    tau = np.geomspace(1e-2, 1e4, 7)
    moduli = np.array([2e9, 0.0, 5e9, 3e9, 0.0, 1e9, 4e9])
    t = np.geomspace(1e-2, 1e4, 80)
    data = 0.5e9 + np.exp(-t[:, None] / tau) @ moduli
    fit = tm.fit_prony(t, data, 7)
    np.testing.assert_allclose(fit.times, tau, rtol=1e-12)
    np.testing.assert_allclose(fit.moduli, moduli, rtol=1e-8, atol=1e-8 * 15e9)
    assert fit.long_term_modulus == pytest.approx(0.5e9, rel=1e-8)
    assert fit.rms_relative_error < 1e-10 and fit.max_relative_error < 1e-10


def test_fit_prony_of_a_stretched_exponential_reports_its_error():
    """A KWW curve is no finite series: the error reported is the one measured at the data,
    and it falls with more terms; every modulus is >= 0."""
    t = np.geomspace(1e-3, 1e5, 120)
    data = 1e9 + 19e9 * np.exp(-(t / 100) ** 0.4)
    coarse, fine = tm.fit_prony(t, data, 4), tm.fit_prony(t, data, 16)
    for fit in (coarse, fine):
        assert min(fit.moduli) >= 0 and fit.long_term_modulus >= 0
        relative = fit.modulus(t) / data - 1
        assert fit.max_relative_error == pytest.approx(np.max(np.abs(relative)), rel=1e-9)
    assert fine.rms_relative_error < 0.2 * coarse.rms_relative_error
    assert fine.max_relative_error < 0.02


def test_fit_prony_bad_input():
    with pytest.raises(tm.ModelError, match="n_terms"):
        tm.fit_prony([1, 2], [1e9, 2e9], 0)
    with pytest.raises(tm.ModelError, match="modulus"):
        tm.fit_prony([1, 2], [1e9, -2e9], 1)


@pytest.mark.parametrize("name", ["mold_ve", "molded_underfill_ve", "capillary_underfill_ve"])
def test_synthetic_library_sets_are_the_fits_they_say_they_are(name):
    """Each library Prony set is the NNLS fit of its stated stretched exponential (moduli
    rounded to 0.1 MPa / 10 kPa in the library: 1e-4 GPa absolute); its source says
    SYNTHETIC; its instantaneous modulus is the material's Young's modulus; and the fit
    error against the curve is as reported here (rms < 4 %)."""
    from thermomech.material_library import LIBRARY, SYNTHETIC_KWW

    material = LIBRARY[name]
    glassy, rubbery, tau, beta = SYNTHETIC_KWW[name]
    t = np.geomspace(1e-4, 1e9, 261)
    fit = tm.fit_prony(t, rubbery + (glassy - rubbery) * np.exp(-(t / tau) ** beta), 10,
                       relaxation_times=10.0 ** np.arange(-3, 7))
    visco = material.viscoelastic
    np.testing.assert_allclose(visco.prony_moduli, fit.moduli, rtol=0, atol=1e5)
    assert visco.long_term_modulus == pytest.approx(fit.long_term_modulus, abs=1e5)
    np.testing.assert_allclose(visco.prony_times, fit.times, rtol=1e-12)
    assert material.sources["viscoelastic"].startswith("SYNTHETIC")
    assert material.youngs_modulus == pytest.approx(
        visco.long_term_modulus + sum(visco.prony_moduli), rel=1e-12)
    assert fit.rms_relative_error < 0.04
    assert visco.reference_temperature == material.glass_transition
