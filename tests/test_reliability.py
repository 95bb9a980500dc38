"""Board-level solder-joint reliability: F3 of PHYSICS_NEXT.md 6.4 through the command,
the [reliability] table, the joints' averaging and the board's elastic mixing."""

import json
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from thermomech.board import BoardSpec
from thermomech.board_mechanics import layer_elastic, slab_elastic
from thermomech.cli import main
from thermomech.errors import ModelError
from thermomech.model_file import dump_model, load_model, model_from_dict, model_to_dict
from thermomech.reliability_spec import ReliabilitySpec, cycle_steps
from thermomech.solder_joints import shear_range

L_D, WIDTH, HEIGHT = 4.0, 2.0, 0.05  # mm: joint centre, width and height
D_ALPHA, SWING = 10e-6, 165.0  # 1/K, K
BUNDLED = Path(__file__).resolve().parents[1] / "meshes" / "reliability" / "flip_chip_board.toml"


def _two_plates(**reliability) -> dict:
    """F3: two joints at x = +-L_D between two plates whose CTEs differ by D_ALPHA. The
    plates are 1e6 times stiffer than the solder (rigid: their relative displacement at the
    joint is L_D dalpha dT to 0.1 %), the joint 40 times wider than high (near simple
    shear: the free edges' effect on the pad-layer mean is O(h / w), -1.3 % at w/h = 10,
    -0.18 % at 40, measured)."""
    w, h = WIDTH, HEIGHT

    def block(name, material, x, y, z):
        return {"name": name, "material": material, "x": x, "y": y, "z": z}

    return {
        "package": {"family": "blocks", "blocks": [
            block("board", "plate_low", [-(L_D + w), L_D + w], [-w, w], [-1.0, 0.0]),
            block("joint", "soft_solder", [L_D - w / 2, L_D + w / 2], [-w / 2, w / 2], [0, h]),
            block("joint", "soft_solder", [-L_D - w / 2, -L_D + w / 2], [-w / 2, w / 2],
                  [0, h]),
            block("plate", "plate_high", [-(L_D + w), L_D + w], [-w, w], [h, h + 1.0])]},
        "materials": {
            "plate_low": {"conductivity": 1, "youngs_modulus": "50000 GPa",
                          "poisson_ratio": 0.3, "cte": "20 ppm/K"},
            "plate_high": {"conductivity": 1, "youngs_modulus": "50000 GPa",
                           "poisson_ratio": 0.3, "cte": "10 ppm/K"},
            "soft_solder": {"conductivity": 50, "youngs_modulus": "0.05 GPa",
                            "poisson_ratio": 0.35, "cte": "20 ppm/K"}},
        "mesh": {"dimension": 3, "symmetry": "quarter", "target_size": "0.5 mm",
                 "min_cells_per_layer": 2},
        "reliability": {"joints": "joint", "layer_thickness": "10 um", "cycles": 2,
                        "ramp_increments": 1, **reliability},
    }


def test_f3_imposed_shear_through_the_command(tmp_path):
    model = tmp_path / "f3.toml"
    model.write_bytes(tomli_w.dumps(_two_plates()).encode())
    out = tmp_path / "out"
    assert main(["reliability", str(model), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "reliability.json").read_text())
    imposed = L_D * D_ALPHA * SWING / HEIGHT  # u / h = 0.132
    critical = summary["critical_joint"]
    assert summary["joint_count_meshed"] == 1  # the quarter model holds one joint
    assert critical["dnp_mm"] == pytest.approx(L_D, rel=1e-12)
    assert critical["shear_strain_range"] == pytest.approx(imposed, rel=0.01)
    for pad in ("board_side", "package_side"):
        assert critical[f"shear_strain_range_{pad}"] == pytest.approx(imposed, rel=0.01)
    # the DNP estimate sees the same geometry: board 20 ppm/K, plate 10 ppm/K, h 50 um
    estimate = summary["dnp_estimate"]
    assert estimate["cte_mismatch_ppm_per_K"] == pytest.approx(10.0, rel=1e-9)
    assert estimate["shear_strain_range"] == pytest.approx(imposed, rel=1e-9)
    T_mean, dwell = 42.5, 15.0
    c = -0.442 - 6e-4 * T_mean + 1.74e-2 * np.log(1 + 360 / dwell)
    n50 = 0.5 * (critical["shear_strain_range"] / (2 * 0.325)) ** (1 / c)
    assert critical["n50_cycles"] == pytest.approx(n50, rel=1e-12)
    assert critical["energy_density_J_per_m3"] is None  # elastic solder: not available
    assert (out / "figures" / "life_map.png").stat().st_size > 1000


@pytest.mark.parametrize("table, field", [
    ({"high_temperature": "-50 degC"}, "reliability.high_temperature"),
    ({"dwell_time": 0}, "reliability.dwell_time"),
    ({"cycles": 0}, "reliability.cycles"),
    ({"model": "coffin"}, "reliability.model"),
    ({"color": 1}, "reliability.color"),
    ({"joints": "balls"}, "reliability.joints"),
    ({"layer_thickness": "40 um"}, "reliability.layer_thickness"),
    ({"model": "darveaux"}, "reliability.darveaux"),
    ({"model": "darveaux", "darveaux": {"k1": 1, "k2": -1, "k3": 1, "k4": 1,
                                        "layer_thickness": "25 um", "source": "x"}},
     "reliability.layer_thickness"),
    ({"darveaux": {"k1": 1, "k2": -1, "k3": 1, "k4": 1, "layer_thickness": "10 um"}},
     "reliability.darveaux.source"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, table, field):
    model = tmp_path / "bad.toml"
    model.write_bytes(tomli_w.dumps(_two_plates(**table)).encode())
    out = tmp_path / "out"
    assert main(["reliability", str(model), "--out", str(out)]) == 2
    assert f"error: {field}" in capsys.readouterr().err
    assert not (out / "reliability.json").exists()


def test_homogenized_balls_are_refused():
    model = load_model(BUNDLED)
    package = model.package.__class__(**{**model.package.__dict__,
                                         "ball_model": "homogenized"})
    from thermomech.reliability import assess_reliability

    with pytest.raises(ModelError, match="package.ball_model"):
        assess_reliability(model.with_values(package=package))


def test_reliability_table_round_trips(tmp_path):
    model = model_from_dict(_two_plates(dwell_time="10 min", cte_mismatch="7 ppm/K"))
    dump_model(model, tmp_path / "m.toml")
    again = load_model(tmp_path / "m.toml")
    assert again.reliability == model.reliability
    assert again.reliability.dwell_time == 600.0
    assert again.reliability.cte_mismatch == pytest.approx(7e-6)


def test_the_bundled_reliability_model_validates_against_the_schema():
    import tomllib

    import jsonschema

    from thermomech.schema import model_schema

    data = tomllib.loads(BUNDLED.read_text())
    validator = jsonschema.Draft202012Validator(model_schema())
    assert [e.message for e in validator.iter_errors(data)] == []
    assert [e.message for e in validator.iter_errors(model_to_dict(load_model(BUNDLED)))] == []


def test_cycle_steps():
    spec = ReliabilitySpec(cycles=3, ramp_increments=2)
    steps = cycle_steps(spec)
    assert len(steps) == 1 + 4 * 3
    assert [s.step.temperature for s in steps[1:5]] == [125.0, None, -40.0, None]
    assert steps[0].duration == pytest.approx(900.0 * 65 / 165)  # 25 -> -40 at the ramp rate
    assert sum(s.duration for s in steps if s.cycle == 2) == 3600.0
    assert {s.cycle for s in steps} == {0, 1, 2, 3}


def test_shear_range_is_the_largest_distance_between_states():
    history = np.zeros((1, 2, 3, 2))
    history[0, 0] = [[0.0, 0.0], [3e-3, 4e-3], [1e-3, 0.0]]
    history[0, 1] = [[1e-3, 1e-3], [1e-3, 1e-3], [1e-3, 1e-3]]
    assert np.allclose(shear_range(history), [[5e-3, 0.0]])


def test_board_mixing_limits():
    fr4 = {"E": np.array([17.9e9, 17.9e9, 7.9e9]), "G": np.array([8.3e9, 3.3e9, 3.3e9]),
           "a": np.array([16e-6, 16e-6, 70e-6])}
    cu = {"E": np.full(3, 117e9), "G": np.full(3, 117e9 / 2.68), "a": np.full(3, 17e-6)}
    bare = layer_elastic(fr4, cu, 0.0, 0.0)
    assert bare["E_in"] == fr4["E"][0] and bare["E_z"] == pytest.approx(fr4["E"][2])
    plane = layer_elastic(fr4, cu, 1.0, 0.0)
    assert plane["E_in"] == 117e9 and plane["a_in"] == pytest.approx(17e-6)
    # two layers in plane: parallel springs, CTE weighted by E t (Turner)
    mixed = slab_elastic([1.0, 1.0], [bare, plane])
    assert mixed["E_in"] == pytest.approx((17.9e9 + 117e9) / 2)
    assert mixed["a_in"] == pytest.approx((17.9e9 * 16e-6 + 117e9 * 17e-6) / (17.9e9 + 117e9))
    assert mixed["E_z"] == pytest.approx(2 / (1 / 7.9e9 + 1 / 117e9))
    assert BoardSpec().via_fraction > 0


def _ode_energy(spec, g, law, G):
    """Energy dissipated in the last cycle by pure shear gamma_xz = g (T(t) - T_start) along
    the cycle's piecewise-linear T(t): d tau/dt = G (g dT/dt - sqrt(3) p_dot sign tau),
    dW/dt = sqrt(3) |tau| p_dot (scipy Radau, rtol 1e-11), segment by segment."""
    from scipy.integrate import solve_ivp

    def rate(tau, T):
        q = np.sqrt(3) * abs(tau)
        return law.c1 * np.sinh(law.c2 * q) ** law.c3 * np.exp(-law.c4 / (T + 273.15))

    y, T0, last = [0.0, 0.0], spec.start_temperature, None
    for step in cycle_steps(spec):
        if step.cycle == spec.cycles and last is None:
            last = y[1]
        T1 = T0 if step.step.temperature is None else step.step.temperature
        dTdt = (T1 - T0) / step.duration

        def rhs(t, yy, T0=T0, dTdt=dTdt):
            p = rate(yy[0], T0 + dTdt * t)
            return [G * (g * dTdt - np.sqrt(3) * p * np.sign(yy[0])),
                    np.sqrt(3) * abs(yy[0]) * p]

        sol = solve_ivp(rhs, (0.0, step.duration), y, method="Radau", rtol=1e-11,
                        atol=[1e-2, 1e-6])
        assert sol.success
        y, T0 = sol.y[:, -1], T1
    return y[1] - last


def test_creep_energy_estimate_matches_the_shear_ode():
    from thermomech.solder_creep import solder_creep_material
    from thermomech.solder_joints import Joints, creep_estimate

    g = 2e-5  # gamma_xz per kelvin at the pad (0.33 % over 165 K)
    joints = Joints(np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2)), np.zeros(1),
                    np.ones(1), np.zeros((1, 2), dtype=bool), np.ones((1, 2)))
    temperatures = np.array([125.0, 125.0, -40.0, -40.0])
    history = np.zeros((1, 2, 4, 2))
    history[0, 1, :, 0] = g * (temperatures - 25.0)  # the package-side pad, gamma_xz
    material = solder_creep_material("sac305", "garofalo")
    reference = _ode_energy(ReliabilitySpec(cycles=2), g, material.law,
                            material.shear_modulus)
    errors = []
    for substeps in (100, 200):
        spec = ReliabilitySpec(cycles=2, solder_creep="garofalo", creep_substeps=substeps)
        estimate = creep_estimate(spec, cycle_steps(spec), joints, history, temperatures,
                                  "sac305")
        errors.append(abs(estimate.energy[0] / reference - 1))
    assert 1.6 < errors[0] / errors[1] < 2.4  # first order in the material-point step
    assert errors[1] < 1e-3  # measured 0.049 % at 100 steps per ramp / dwell, 0.028 % at 200


def _creeping(data):
    """SAC305 joints (published Anand constants) between plates of 200 GPa (not the rigid
    ones of F3: a creeping joint next to 50000 GPa is a needlessly ill-conditioned
    system)."""
    for block in data["package"]["blocks"]:
        if block["name"] == "joint":
            block["material"] = "sac305"
    for plate in ("plate_low", "plate_high"):
        data["materials"][plate]["youngs_modulus"] = "200 GPa"
    return data


def test_energy_estimate_through_the_analysis():
    from thermomech.reliability import assess_reliability, reliability_summary

    data = _creeping(_two_plates(creep_substeps=50))
    summary = reliability_summary(assess_reliability(model_from_dict(data), solver="direct"))
    critical = summary["critical_joint"]
    assert summary["energy_material_point"].startswith("comparison only: anand (sac305)")
    assert summary["solder_model"].startswith("sac305 creep in the FE cycle")
    assert critical["energy_density_J_per_m3"] > 0
    assert critical["energy_density_material_point_J_per_m3"] > 0
    # strain control: the creep range stays below the total range (elastic part aside)
    assert 0 < critical["creep_shear_strain_range"] < critical["shear_strain_range"]
    hysteresis = summary["hysteresis"]
    assert len(hysteresis["energy_per_cycle_J_per_m3"]) == 2
    assert hysteresis["energy_per_cycle_J_per_m3"][-1] == pytest.approx(
        critical["energy_density_J_per_m3"], rel=1e-12)


def test_darveaux_life_from_the_energy_estimate():
    """Synthetic constants (not a published set: thermomech ships none); N_alpha per joint
    equals the closed form on the reported energy density."""
    from thermomech.reliability import assess_reliability, reliability_summary

    constants = {"k1": 100.0, "k2": -1.0, "k3": 1e-4, "k4": 1.0, "layer_thickness": "10 um",
                 "source": "synthetic test values", "energy_unit": "MPa",
                 "length_unit": "mm"}
    data = _creeping(_two_plates(model="darveaux", darveaux=constants, creep_substeps=50))
    summary = reliability_summary(assess_reliability(model_from_dict(data), solver="direct"))
    critical = summary["critical_joint"]
    w = critical["energy_density_J_per_m3"] / 1e6  # MPa
    diameter_mm = 2 * np.sqrt(WIDTH * WIDTH / np.pi)
    n0 = 100.0 * w ** -1.0
    assert critical["darveaux_initiation_cycles"] == pytest.approx(n0, rel=1e-12)
    assert critical["darveaux_cycles"] == pytest.approx(n0 + diameter_mm / (1e-4 * w),
                                                        rel=1e-12)


def test_submodel_of_a_joint_column_on_its_exact_faces():
    """The submodel region of a joint is its column, whose side faces border the void beside
    the ball: the global point search keeps points on those faces in the joint's cells (it
    raised 'a point lies in a void' before). The local model, driven by the global
    displacements on every face, returns them there (the cut-face values are prescribed)."""
    from thermomech.mechanics import solve_warpage
    from thermomech.model_file import mesh_model
    from thermomech.submodel import submodel

    data = _two_plates()
    data.pop("reliability")
    data["mechanical"] = {"stress_free_temperature": "125 degC", "temperature": "25 degC"}
    model = model_from_dict(data)
    result = solve_warpage(mesh_model(model), model.mechanical)
    mm = 1e-3
    region = ((L_D - WIDTH / 2) * mm, (L_D + WIDTH / 2) * mm), (0.0, WIDTH / 2 * mm), \
        (0.0, HEIGHT * mm)
    local = submodel(result, region, resolution=WIDTH / 8 * mm)
    corner = np.array([[(L_D + WIDTH / 2) * mm], [WIDTH / 2 * mm], [HEIGHT * mm]])
    global_u = result.space.evaluate(result.displacement, corner)[0]
    local_u = local.space.evaluate(local.displacement, corner)[0]
    np.testing.assert_allclose(local_u, global_u, rtol=1e-9, atol=1e-9 * np.abs(global_u).max())
