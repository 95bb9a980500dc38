"""Process steps under the heat problem's temperature field (``temperature = "thermal"``,
issue 14): exact cases (a uniform field equals the uniform step; a linear-in-z field bends a
free plate by alpha dT/dz without stress; a part born at that field is stress-free at it
point by point) and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from thermomech import process_temperature
from thermomech.errors import ModelError
from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.parameters import from_dict
from thermomech.process import solve_process
from thermomech.thermal import solve_thermal
from thermomech.thermal_loads import ThermalLoads

L = 4e-3  # plate width (m)
SI = Material("si", youngs_modulus=130e9, poisson_ratio=0.28, cte=2.6e-6, conductivity=150.0)
EMC = Material("emc", youngs_modulus=20e9, poisson_ratio=0.3, cte=10e-6, conductivity=0.8,
               glass_transition=140.0, cte_above_tg=40e-6)


def _plate(layers, dimension=3, per_layer=2):
    """Layers [(part, Material, thickness m)] bottom-up over a free L x L plate."""
    boxes, z = [], 0.0
    for part, material, t in layers:
        boxes.append(Box(part, material.name, (-L / 2, L / 2), (-L / 2, L / 2), (z, z + t)))
        z += t
    options = MeshOptions(dimension=dimension, target_size=L / 6, min_cells_per_layer=per_layer,
                          symmetry="none", growth=1.5)
    return mesh_layout(Layout(tuple(boxes)), options, {m.name: m for _, m, _ in layers})


def _recipe(steps, plane="stress"):
    return from_dict(MechanicalLoads, {"initial_temperature": 25.0, "plane": plane,
                                       "steps": steps}, "mechanical")


def _heat(package, **values):
    loads = from_dict(ThermalLoads, values, "thermal")
    return solve_thermal(package, loads, solver="direct")


def _stress_max(result):
    stress, _, _ = result.quadrature_stress()
    return float(np.abs(stress).max())


@pytest.mark.parametrize("dimension", [3, 2])
def test_a_uniform_field_equals_the_uniform_step_to_round_off(dimension):
    # no power and one convecting face: the heat problem's solution is the ambient, 150 degC
    package = _plate([("die", SI, 0.3e-3), ("mold", EMC, 0.4e-3)], dimension)
    thermal = _heat(package, ambient=150.0, convection=[{"surface": "top", "h": 1e3}])
    assert np.ptp(thermal.temperature) < 1e-9 and abs(thermal.temperature[0] - 150) < 1e-9

    def steps(hot):
        return [{"name": "heat", "temperature": hot, "increments": 2},
                {"name": "mold", "add": ["mold"], "cure_shrinkage": {"mold": "0.1 %"}},
                {"name": "power", "temperature": hot},
                {"name": "cool", "temperature": 25.0, "increments": 2}]

    field = solve_process(package, _recipe(steps("thermal")), thermal=thermal).increments
    uniform = solve_process(package, _recipe(steps(150.0))).increments
    assert [i.temperature for i in field] == pytest.approx([i.temperature for i in uniform],
                                                          abs=1e-9)
    scale = max(np.abs(u.result.displacement).max() for u in uniform)
    sigma = max(_stress_max(u.result) for u in uniform)
    for a, b in zip(field, uniform):
        # round-off: the heat solve's 1e-12 relative error times E alpha dT / (E alpha dT)
        assert np.abs(a.result.displacement - b.result.displacement).max() < 1e-9 * scale
        stress_a, _, _ = a.result.quadrature_stress()
        stress_b, _, _ = b.result.quadrature_stress()
        assert np.abs(stress_a - stress_b).max() < 1e-8 * sigma
    assert field[-1].result.model.activation_fields  # the mold was born at the field


def _linear_field(package, bottom, top):
    """The heat problem with fixed temperatures on the plate's faces: linear in z."""
    return _heat(package, fixed_temperature=[{"surface": "bottom", "temperature": bottom},
                                             {"surface": "top", "temperature": top}])


def _curvatures(result, top=None):
    """(kappa_x, kappa_y) of u_z = w0 - (kappa_x x^2 + kappa_y y^2) / 2 + ... on the plane
    z = ``top`` (default the top surface; exact fit: a free plate under a linear T(z) bends
    into a paraboloid)."""
    space = result.space
    loc, comp = space.doflocs, space.components
    top = loc[-1].max() if top is None else top
    sel = (comp == space.ncomp - 1) & np.isclose(loc[-1], top)
    x = loc[0, sel]
    y = loc[1, sel] if space.ncomp == 3 else np.zeros_like(x)
    A = np.column_stack([np.ones_like(x), x, y, -x**2 / 2, -y**2 / 2, x * y])
    return np.linalg.lstsq(A, result.displacement[sel], rcond=None)[0][3:5]


def test_a_linear_field_bends_a_free_plate_by_alpha_gradient_without_stress():
    # T = 60 + 200 z/h degC through a free silicon plate: eps_th = alpha (T - 25) is linear in
    # z, compatible, so u is quadratic (exact for the quadratic elements) and stress-free:
    # kappa_x = kappa_y = alpha dT/dz (centre up when the top is hotter)
    h = 0.5e-3
    package = _plate([("plate", SI, h)], per_layer=2)
    thermal = _linear_field(package, 60.0, 260.0)
    result = solve_process(package, _recipe([{"name": "power", "temperature": "thermal",
                                              "increments": 2}]), thermal=thermal)
    exact = SI.cte * 200.0 / h
    half, full = result.increments
    assert _curvatures(full.result) == pytest.approx([exact, exact], rel=1e-9)
    assert _curvatures(half.result) == pytest.approx([exact / 2] * 2, rel=1e-9)  # linear in k
    assert _stress_max(full.result) < 1e-9 * SI.youngs_modulus * SI.cte * 200
    assert full.temperature == pytest.approx(160.0, rel=1e-12)  # the volume mean


def test_a_part_born_at_a_field_counts_its_thermal_strain_from_it_point_by_point(monkeypatch):
    # a silicon plate bent by a linear T(z); a second silicon layer born strain-free on it at
    # that field; cooled to a uniform 25 degC. Per-point activation makes the top layer's
    # stress-free strain eps0 + alpha (25 - T_act(z)) compatible (zero in-plane), so the
    # two-layer plate returns flat and stress-free. An activation at one temperature per
    # part (the layer's mean) leaves alpha (T(z) - mean) in the top layer: it stays bent.
    package = _plate([("base", SI, 0.3e-3), ("top", SI, 0.3e-3)], per_layer=2)
    thermal = _linear_field(package, 60.0, 180.0)
    steps = [{"name": "power", "temperature": "thermal"},
             {"name": "bond", "add": ["top"]},
             {"name": "cool", "temperature": 25.0, "increments": 2}]
    result = solve_process(package, _recipe(steps), thermal=thermal).increments
    bent = SI.cte * 120.0 / 0.6e-3
    assert _curvatures(result[0].result, 0.3e-3) == pytest.approx([bent] * 2, rel=1e-9)
    assert np.abs(_curvatures(result[-1].result)).max() < 1e-9 * bent
    scale = SI.youngs_modulus * SI.cte * 120.0
    assert _stress_max(result[1].result) < 1e-9 * scale  # born stress-free at the field
    assert _stress_max(result[-1].result) < 1e-9 * scale
    # negative control: the top layer stress-free at its mean temperature instead of the
    # field (its activation field dropped): alpha (T(z) - mean) in it bends the plate
    monkeypatch.setattr(process_temperature, "born_fields", lambda born, T: ())
    wrong = solve_process(package, _recipe(steps), thermal=thermal).increments[-1]
    assert np.abs(_curvatures(wrong.result)).min() > 0.1 * bent


def test_thermal_steps_refuse_what_they_cannot_do():
    package = _plate([("die", SI, 0.3e-3), ("mold", EMC, 0.4e-3)], dimension=2)
    steps = [{"name": "power", "temperature": "thermal"}]
    with pytest.raises(ModelError) as info:
        solve_process(package, _recipe(steps))
    assert info.value.field == "mechanical.steps[0] (power).temperature"
    assert "[thermal]" in str(info.value)
    thermal = _heat(package, ambient=50.0, convection=[{"surface": "top", "h": 10.0}])
    with pytest.raises(ModelError) as info:
        solve_process(package, _recipe(steps, plane="generalized_strain"), thermal=thermal)
    assert info.value.field == "mechanical.plane"


FIELD_MODEL = """
[package]
family = "blocks"
[[package.blocks]]
name = "die"
material = "si"
x = ["-2 mm", "2 mm"]
y = ["-2 mm", "2 mm"]
z = ["0 mm", "0.3 mm"]
[[package.blocks]]
name = "mold"
material = "emc"
x = ["-2 mm", "2 mm"]
y = ["-2 mm", "2 mm"]
z = ["0.3 mm", "0.7 mm"]
[materials.si]
youngs_modulus = "130 GPa"
poisson_ratio = 0.28
cte = "2.6 ppm/K"
conductivity = 150
[materials.emc]
youngs_modulus = "20 GPa"
poisson_ratio = 0.3
cte = "10 ppm/K"
conductivity = 0.8
[mesh]
dimension = 2
target_size = "0.5 mm"
min_cells_per_layer = 2
[thermal]
ambient = "25 degC"
power = { die = "0.5 W" }
[[thermal.convection]]
surface = "bottom"
h = "2000 W/(m^2*K)"
[mechanical]
plane = "stress"
initial_temperature = "25 degC"
warpage_surfaces = ["top"]
[[mechanical.steps]]
name = "mold"
add = ["mold"]
[[mechanical.steps]]
name = "power on"
temperature = "thermal"
increments = 2
[[mechanical.steps]]
name = "power off"
temperature = "25 degC"
"""


def test_a_model_file_with_a_thermal_step_runs_and_records_the_mean_temperature(tmp_path):
    import json

    from thermomech.analysis import run_model, write_outputs
    from thermomech.model_file import load_model

    path = tmp_path / "model.toml"
    path.write_text(FIELD_MODEL)
    run = run_model(load_model(path))
    write_outputs(run, tmp_path / "out", figures=False, report=False)
    history = json.loads((tmp_path / "out" / "summary.json").read_text())[
        "mechanical"]["history"]
    mean = run.history[2].temperature
    T = run.thermal.temperature
    assert T.min() < mean < T.max() and mean > 25.5  # the die heats the package
    assert [r["temperature_C"] for r in history] == pytest.approx(
        [25.0, 25.0 + (mean - 25.0) / 2, mean, 25.0], rel=1e-12)
    # linear elasticity: power off returns the stress-free start
    assert history[-1]["warpage_um"]["top"] < 1e-9 * history[2]["warpage_um"]["top"]
