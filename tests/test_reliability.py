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
    ({"model": "darveaux"}, "reliability.model"),
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
