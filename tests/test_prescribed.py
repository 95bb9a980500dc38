"""Prescribed non-uniform displacements and temperatures on surfaces (issue 17): manufactured
solutions recovered to round-off, the model-file forms (expressions, sample files) and bad
input.

Tolerances: a solution in the element's space is reproduced by the discrete equations
exactly, so the error is round-off of a direct solve: 1e-9 of the field's largest value
(the observed errors are 1e-14 to 1e-12 relative, below).
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

from thermomech.errors import ModelError
from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads, PrescribedDisplacement
from thermomech.mechanics import solve_warpage
from thermomech.mesh_import import import_mesh
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.model_file import load_model, model_from_dict, model_to_dict
from thermomech.surface_values import expression_function
from thermomech.thermal import solve_thermal
from thermomech.thermal_loads import Convection, FixedTemperature, ThermalLoads

mm = 1e-3
ROUND_OFF = 1e-9
STEEL = Material("steel", youngs_modulus=200e9, poisson_ratio=0.3, cte=12e-6,
                 conductivity=50.0)
OUTER = ("top", "bottom", "sides")
G = np.array([[1e-3, 2e-4, -3e-4], [5e-4, -1e-3, 1e-4], [2e-4, 3e-4, 2e-3]])
C = np.array([1e-6, -2e-6, 3e-6])


def block(target=0.5 * mm):
    """A 2 x 2 x 1 mm homogeneous block, 4 x 4 x 2 cells at the default size."""
    layout = Layout((Box("block", "steel", (0, 2 * mm), (0, 2 * mm), (0, 1 * mm)),))
    return mesh_layout(layout, MeshOptions(target_size=target, min_cells_per_layer=2),
                       {"steel": STEEL})


def tet_block():
    """The same block as an imported tetrahedral mesh (the generic, facet-based path)."""
    mesh = skfem.MeshTet.init_tensor(*(np.linspace(0, s, n) for s, n in
                                       ((2 * mm, 4), (2 * mm, 4), (1 * mm, 3))))
    mesh = mesh.with_subdomains({"block": np.arange(mesh.t.shape[1])})
    return import_mesh(mesh, {"block": "steel"}, {"steel": STEEL})


def linear(x, y, z):
    return G @ np.array([x, y, z]) + C[:, None]


def quadratic(x, y, z):
    """Harmonic and divergence free (so in equilibrium without body force in a homogeneous
    isotropic body: mu lap u + (lambda + mu) grad div u = 0), plus the linear field."""
    a, b = 0.4, 0.3  # 1/m: displacements of a few um over the 2 mm block
    return linear(x, y, z) + np.array([a * (x**2 - y**2), -2 * a * x * y, b * x * y])


def nodal(result, field):
    """The exact field at the result's dofs."""
    loc, comp = result.space.doflocs, result.space.components
    return field(*loc)[comp, np.arange(result.space.N)]


def solve_with(package, field, element, assembly="auto"):
    loads = MechanicalLoads(stress_free_temperature=125.0, temperature=25.0,
                            displacements=tuple(PrescribedDisplacement(s, function=field)
                                                for s in OUTER))
    return solve_warpage(package, loads, element=element, assembly=assembly)


@pytest.mark.parametrize("element, assembly", [("Hex1", "structured"), ("Hex1", "generic"),
                                               ("HexS2", "structured"),
                                               ("HexS2", "generic"), ("Hex2", "auto")])
def test_linear_patch_test_on_box_meshes(element, assembly):
    """A linear displacement prescribed on every outer face of a homogeneous block under a
    uniform temperature change is the exact solution: recovered at every interior dof."""
    result = solve_with(block(), linear, element, assembly)
    exact = nodal(result, linear)
    interior = np.setdiff1d(np.arange(result.space.N), _outer_dofs(result))
    assert len(interior) > 0
    assert np.abs(result.displacement - exact).max() < ROUND_OFF * np.abs(exact).max()
    # the stress there is C (grad u - alpha dT I), uniform
    point = np.array([[1.1 * mm], [0.9 * mm], [0.45 * mm]])
    strain = 0.5 * (G + G.T) - STEEL.cte * (25.0 - 125.0) * np.eye(3)
    lam, mu = _lame(STEEL)
    sigma = lam * np.trace(strain) * np.eye(3) + 2 * mu * strain
    voigt = sigma[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    assert result.stress_at(point)[:, 0] == pytest.approx(voigt, abs=ROUND_OFF * np.abs(
        voigt).max())


def test_quadratic_displacement_is_exact_for_quadratic_elements_only():
    """The quadratic field needs its mid-edge values: exact (at the dofs and between them)
    with 20-node serendipity and 27-node Lagrange hexahedra. Trilinear ones are the control:
    their nodal values happen to be exact on this uniform grid (the harmonic quadratic is
    superconvergent there), but between the nodes they cannot hold x^2 - y^2."""
    package = block()
    points = np.array([[0.3, 0.7, 1.1, 1.6], [0.4, 1.3, 0.6, 1.7], [0.1, 0.5, 0.7, 0.85]]) * mm
    inside = quadratic(*points)
    for element in ("HexS2", "Hex2"):
        result = solve_with(package, quadratic, element)
        exact = nodal(result, quadratic)
        assert np.abs(result.displacement - exact).max() < ROUND_OFF * np.abs(exact).max()
        assert np.abs(result.displacement_at(points) - inside).max() < ROUND_OFF * np.abs(
            exact).max()
    coarse = solve_with(package, quadratic, "Hex1")
    assert np.abs(coarse.displacement_at(points) - inside).max() > 1e-3 * np.abs(inside).max()


def test_imported_tetrahedra_take_the_facet_path():
    package = tet_block()
    result = solve_with(package, linear, "Tet1")
    assert np.abs(result.displacement - nodal(result, linear)).max() < ROUND_OFF * 3e-6
    result = solve_with(package, quadratic, "Tet2")
    exact = nodal(result, quadratic)
    assert np.abs(result.displacement - exact).max() < ROUND_OFF * np.abs(exact).max()


def test_expression_and_directions_and_clamp_combined():
    """u_z = 2 um * x / mm on the top, bottom clamped: the expression form, one direction,
    and the prescribed values win over nothing else (the rest of the top is free)."""
    loads = MechanicalLoads(stress_free_temperature=25.0, temperature=25.0, supports=(),
                            displacements=(
                                PrescribedDisplacement("bottom", expression=("0", "0", "0")),
                                PrescribedDisplacement("top", "z", expression=("2 * x",))))
    result = solve_warpage(block(), loads)
    top = (result.space.components == 2) & np.isclose(result.space.doflocs[2], 1 * mm)
    assert result.displacement[top] == pytest.approx(2e-6 * result.space.doflocs[0, top] /
                                                     mm, abs=1e-18)
    assert result.stats["rigid_modes_removed"] == 0


def _outer_dofs(result):
    loc = result.space.doflocs
    on = np.zeros(loc.shape[1], dtype=bool)
    for axis, top in enumerate((2 * mm, 2 * mm, 1 * mm)):
        on |= np.isclose(loc[axis], 0.0, atol=1e-12) | np.isclose(loc[axis], top)
    return np.flatnonzero(on)


def _lame(material):
    E, nu = material.youngs_modulus, material.poisson_ratio
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


# --- temperatures ------------------------------------------------------------------------

def temperature(x, y, z):
    return 40.0 + 5e3 * x - 8e3 * y  # degC, x and y in m: 40 to 50 degC over the block


@pytest.mark.parametrize("order", [1, 2])
def test_linear_temperature_on_the_sides_is_recovered(order):
    """T linear in x and y prescribed on the four side faces, top and bottom adiabatic: the
    linear field is the solution (no z gradient), recovered at every dof."""
    loads = ThermalLoads(fixed_temperature=(FixedTemperature("sides", function=temperature),))
    result = solve_thermal(block(), loads, order=order)
    exact = temperature(*result.space.doflocs)
    assert np.abs(result.temperature - exact).max() < ROUND_OFF * 50.0
    assert result.stats["energy_balance_error"] < 1e-8


def test_temperature_map_from_a_sample_file(tmp_path):
    """A board temperature map as samples (CSV, mm) on a coarser grid than the mesh,
    interpolated linearly: the linear field is reproduced; the NPZ form gives the same."""
    x, y = np.meshgrid(np.linspace(0, 2, 5), np.linspace(0, 2, 3))
    rows = []
    for z in (0.0, 0.25, 0.5, 0.75, 1.0):
        for face in ("x0", "x1", "y0", "y1"):
            fixed = {"x0": (0 * x, y), "x1": (0 * x + 2, y), "y0": (x, 0 * y),
                     "y1": (x, 0 * y + 2)}[face]
            for a, b in zip(fixed[0].ravel(), fixed[1].ravel()):
                rows.append((a, b, z, temperature(a * mm, b * mm, z * mm)))
    rows = np.array(rows)
    np.savetxt(tmp_path / "map.csv", rows, delimiter=",", header="x,y,z,T", comments="")
    np.savez(tmp_path / "map.npz", **dict(zip("xyzT", rows.T)))
    for name in ("map.csv", "map.npz"):
        loads = ThermalLoads(fixed_temperature=(FixedTemperature("sides",
                                                                 file=str(tmp_path / name)),))
        result = solve_thermal(block(), loads, order=2)
        exact = temperature(*result.space.doflocs)
        assert np.abs(result.temperature - exact).max() < ROUND_OFF * 50.0


def test_samples_must_cover_the_surface(tmp_path):
    np.savetxt(tmp_path / "half.csv", [[0, 0, 0, 1], [1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 1]],
               delimiter=",", header="x,y,z,T", comments="")
    loads = ThermalLoads(fixed_temperature=(FixedTemperature("sides",
                                                             file=str(tmp_path / "half.csv")),))
    with pytest.raises(ModelError, match=r"thermal.fixed_temperature\[0\].file: .*outside the "
                                         r"sampled region"):
        solve_thermal(block(), loads)


# --- model file ----------------------------------------------------------------------------

BASE = {"package": {"family": "blocks", "blocks": [
    {"name": "block", "material": "steel", "x": [0, 2], "y": [0, 2], "z": [0, 1]}]},
    "materials": {"steel": {"youngs_modulus": "200 GPa", "poisson_ratio": 0.3,
                            "cte": "12 ppm/K", "conductivity": 50}}}


def test_model_file_keys_round_trip_and_relative_files(tmp_path):
    np.savetxt(tmp_path / "top.csv", [[0, 0, 1, 0], [2, 0, 1, 0], [0, 2, 1, 2], [2, 2, 1, 2]],
               delimiter=",", header="x,y,z,uz", comments="")
    text = """
[package]
family = "blocks"
[[package.blocks]]
name = "block"
material = "silicon"
x = [0, 2]
y = [0, 2]
z = [0, 1]
[[mechanical.displacements]]
surface = "bottom"
expression = ["0", "0", "0"]
[[mechanical.displacements]]
surface = "top"
directions = "z"
file = "top.csv"
[[thermal.fixed_temperature]]
surface = "sides"
expression = "40 + 5 * x - 8 * y"
"""
    (tmp_path / "m.toml").write_text(text)
    model = load_model(tmp_path / "m.toml")
    top = model.mechanical.displacements[1]
    assert top.file == str(tmp_path / "top.csv") and top.value_unit == "um"
    f = top.point_function(3)
    assert f(np.array([[1 * mm], [1 * mm], [1 * mm]]))[0, 0] == pytest.approx(1e-6)
    back = model_from_dict(model_to_dict(model))
    assert back.mechanical.displacements == model.mechanical.displacements
    assert back.thermal.fixed_temperature == model.thermal.fixed_temperature
    fixed = model.thermal.fixed_temperature[0].point_function(3)
    assert fixed(np.array([[1 * mm], [0.0], [0.0]]))[0, 0] == pytest.approx(45.0)


@pytest.mark.parametrize("expression, message", [
    ("__import__('os').system('true')", "only one-argument calls"),
    ("x.real", "not Attribute"),
    ("(lambda: 1)()", "only one-argument calls"),
    ("q + 1", "unknown name 'q'"),
    ("'a' * 3", "is not a number"),
    ("1 +", "cannot read"),
])
def test_expressions_are_never_code(expression, message):
    data = {**BASE, "thermal": {"fixed_temperature": [{"surface": "top",
                                                       "expression": expression}]}}
    with pytest.raises(ModelError, match=r"thermal\.fixed_temperature\[0\]\.expression: .*"
                                         + message):
        model_from_dict(data)


@pytest.mark.parametrize("entry, field, message", [
    ({"surface": "top"}, "expression", "give the displacement"),
    ({"surface": "top", "expression": ["1", "2"]}, "expression", "expected 3 expression"),
    ({"surface": "top", "expression": ["0"], "directions": "w"}, "directions", "letters"),
    ({"surface": "top", "expression": ["0", "0", "0"], "file": "a.csv"}, "file",
     "give one of"),
    ({"surface": "top", "expression": ["0", "0", "0"], "value_unit": "parsec/K"},
     "value_unit", "expected a length"),
    ({"surface": "top", "file": "missing.csv"}, "file", "cannot read"),
])
def test_bad_displacement_entries_name_the_field(entry, field, message, tmp_path,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = {**BASE, "mechanical": {"displacements": [entry]}}
    with pytest.raises(ModelError, match=rf"mechanical\.displacements\[0\]\.{field}: .*"
                                         + message):
        model_from_dict(data)


def test_a_function_cannot_be_written_and_bad_values_are_caught():
    loads = MechanicalLoads(displacements=(PrescribedDisplacement("top", function=linear),))
    with pytest.raises(ModelError, match="function: a Python function cannot be written"):
        model_to_dict(model_from_dict(BASE).with_values(mechanical=loads))
    nan = MechanicalLoads(displacements=(PrescribedDisplacement(
        "top", function=lambda x, y, z: np.full((3, len(x)), np.nan)),))
    with pytest.raises(ModelError, match=r"mechanical.displacements\[0\]: a value is not "
                                         r"finite"):
        solve_warpage(block(), nan)
    unknown = MechanicalLoads(displacements=(PrescribedDisplacement("lid", function=linear),))
    with pytest.raises(ModelError, match=r"mechanical.displacements\[0\].surface: no "
                                         r"surface 'lid'"):
        solve_warpage(block(), unknown)


def test_expression_units():
    """x, y, z in length_unit (mm by default), values in value_unit."""
    f = expression_function(["2 * x + sqrt(y) - z**2"], "e", length_scale=1e-3,
                            value_scale=1e-6)
    assert f(np.array([[1e-3], [4e-3], [3e-3]]))[0, 0] == pytest.approx(-5e-6)


def test_two_dimensional_section_patch_test():
    """The x-z section (plane strain): f(x, z) -> (ux, uz) on its outer edges, Quad1/Quad2."""
    layout = Layout((Box("block", "steel", (0, 2 * mm), (-1 * mm, 1 * mm), (0, 1 * mm)),))
    package = mesh_layout(layout, MeshOptions(dimension=2, target_size=0.5 * mm,
                                              min_cells_per_layer=2), {"steel": STEEL})

    def section(x, z):
        return np.array([1e-3 * x - 2e-4 * z + 1e-6, 5e-4 * x + 2e-3 * z])
    loads = MechanicalLoads(stress_free_temperature=125.0, temperature=25.0, plane="strain",
                            displacements=tuple(PrescribedDisplacement(s, "xz",
                                                                       function=section)
                                                for s in OUTER))
    for element in ("Quad1", "Quad2"):
        result = solve_warpage(package, loads, element=element)
        loc, comp = result.space.doflocs, result.space.components
        exact = section(*loc)[comp, np.arange(result.space.N)]
        assert np.abs(result.displacement - exact).max() < ROUND_OFF * np.abs(exact).max()
    with pytest.raises(ModelError, match=r"displacements\[0\]\.directions: a 2D model"):
        solve_warpage(package, MechanicalLoads(displacements=(
            PrescribedDisplacement("top", "y", expression=("0",)),)))


def test_a_function_may_return_numbers_for_some_components():
    loads = MechanicalLoads(stress_free_temperature=25.0, temperature=25.0, displacements=(
        PrescribedDisplacement("bottom", function=lambda x, y, z: (0, 0, 0)),
        PrescribedDisplacement("top", "z", function=lambda x, y, z: (0, 0, 1e-3 * x))))
    result = solve_warpage(block(), loads)
    top = (result.space.components == 2) & np.isclose(result.space.doflocs[2], 1 * mm)
    assert result.displacement[top] == pytest.approx(1e-3 * result.space.doflocs[0, top],
                                                     abs=1e-18)


def test_a_section_map_needs_only_x_and_z(tmp_path):
    """A 2D model's samples have no y column: accepted when the entry is made and solved."""
    np.savetxt(tmp_path / "edge.csv", [[0, 1, 0], [2, 1, 4]], delimiter=",",
               header="x,z,uz", comments="")
    layout = Layout((Box("block", "steel", (0, 2 * mm), (-1 * mm, 1 * mm), (0, 1 * mm)),))
    package = mesh_layout(layout, MeshOptions(dimension=2, target_size=0.5 * mm),
                          {"steel": STEEL})
    loads = MechanicalLoads(plane="strain", displacements=(
        PrescribedDisplacement("bottom", "xz", expression=("0", "0")),
        PrescribedDisplacement("top", "z", file=str(tmp_path / "edge.csv"))))
    result = solve_warpage(package, loads)
    assert result.displacement_at(np.array([[1 * mm], [1 * mm]]))[1, 0] == pytest.approx(
        2e-6, rel=1e-9)


@pytest.mark.parametrize("text, message", [
    ("x,y,z,T\n0,0,a,1\n", "a value is not a number"),
    ("x,y,z,T\n0,0,1\n", "every line needs 4 values"),
    ("x,y,z\n0,0,1\n", "has no column 'T'"),
    ("x,y,z,T\n", "no samples after the header line"),
    ("x,y,z,T\n0,0,0,nan\n", "column 'T' holds a value that is not a finite number"),
])
def test_bad_sample_files_name_the_field(tmp_path, text, message):
    (tmp_path / "map.csv").write_text(text)
    with pytest.raises(ModelError, match=r"fixed_temperature\[0\]\.file: .*" + message):
        model_from_dict({**BASE, "thermal": {"fixed_temperature": [
            {"surface": "top", "file": str(tmp_path / "map.csv")}]}})


def test_samples_with_printed_decimals_cover_their_face(tmp_path):
    """A map on the top face whose edge samples were printed short of the edge (1.999999 mm:
    5e-7 of the extent, within the 1e-6 tolerance) still covers it: a point outside the
    hull is pulled towards the samples' centre by 2e-6 of its distance (<= 2.8e-6 mm here).
    The values there are off by the gradient (9.4 K/mm) times the rounding (1.4e-6 mm) and
    the pull (2.8e-6 mm): <= 4e-5 K."""
    grid = np.linspace(0, 2, 7)
    x, y = (np.minimum(a, 1.999999).ravel() for a in np.meshgrid(grid, grid))
    np.savetxt(tmp_path / "top.csv", np.c_[x, y, np.ones_like(x),
                                          temperature(x * mm, y * mm, 0)],
               delimiter=",", header="x,y,z,T", comments="", fmt="%.6f")
    loads = ThermalLoads(fixed_temperature=(FixedTemperature("top",
                                                             file=str(tmp_path / "top.csv")),),
                         convection=(Convection("bottom", 100.0),))
    result = solve_thermal(block(), loads)
    top = np.isclose(result.space.doflocs[2], 1 * mm)
    assert result.temperature[top] == pytest.approx(temperature(*result.space.doflocs[:, top]),
                                                    abs=4e-5)
