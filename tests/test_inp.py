"""The CalculiX / Abaqus deck writer: node order, face labels, materials, supports, and (when
``ccx`` is installed) CalculiX runs of decks with exact solutions."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from thermomech.errors import ModelError
from thermomech.fem.constraints import rigid_body_modes
from thermomech.inp import FACE_LABEL, export_model, minimal_supports, read_dat, write_inp
from thermomech.inp_materials import engineering_constants, expansion_integral, expansion_lines
from thermomech.inp_mesh import deck_mesh, face_nodes
from thermomech.material_library import LIBRARY
from thermomech.materials import orthotropic_compliance
from thermomech.model_file import mesh_model, model_from_dict

HEX_FACES = {1: (1, 2, 3, 4), 2: (5, 8, 7, 6), 3: (1, 5, 6, 2), 4: (2, 6, 7, 3),
             5: (3, 7, 8, 4), 6: (4, 8, 5, 1)}
"""Abaqus / CalculiX hexahedron faces (1-based vertex numbers), from the Abaqus manual."""
QUAD_EDGES = {1: (1, 2), 2: (2, 3), 3: (3, 4), 4: (4, 1)}

needs_ccx = pytest.mark.skipif(shutil.which("ccx") is None, reason="ccx (calculix-ccx) absent")


def blocks_model(dim=3, symmetry="none", size="0.5 mm", layers=None, thermal=True,
                 mechanical=True, plane="strain", materials=("copper", "silicon")):
    """Two stacked boxes (2 mm x 2 mm; 0.3 mm + 0.2 mm) of two materials."""
    data = {"package": {"family": "blocks", "blocks": [
        {"name": "base", "material": materials[0], "x": [-1, 1], "y": [-1, 1], "z": [0, 0.3]},
        {"name": "die", "material": materials[1], "x": [-1, 1], "y": [-1, 1],
         "z": [0.3, 0.5]}]},
        "mesh": {"dimension": dim, "symmetry": symmetry, "target_size": size,
                 "min_cells_per_layer": layers or 1}}
    if thermal:
        data["thermal"] = {"ambient": 20, "power": {"die": "2 W"},
                           "convection": [{"surface": "bottom", "h": 1e4}]}
    if mechanical:
        data["mechanical"] = {"stress_free_temperature": 120, "temperature": 20,
                              "plane": plane}
    return model_from_dict(data)


# --- mesh and node order ---------------------------------------------------------------------

@pytest.mark.parametrize("dim,order", [(3, 1), (3, 2), (2, 1), (2, 2)])
def test_elements_are_positive_and_midside_nodes_are_midpoints(dim, order):
    model = blocks_model(dim=dim)
    package = mesh_model(model)
    deck = deck_mesh(package, order)
    x = deck.points[deck.cells]  # (cells, nodes, dim)
    if dim == 3:
        # Jacobian at node 1: edges 1-2, 1-4, 1-5 must form a right-handed frame whose
        # volume is the box cell's
        volume = np.einsum("ci,ci->c", np.cross(x[:, 1] - x[:, 0], x[:, 3] - x[:, 0]),
                           x[:, 4] - x[:, 0])
    else:
        a, b = x[:, 1] - x[:, 0], x[:, 3] - x[:, 0]
        volume = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    np.testing.assert_allclose(volume, package.cell_volumes, rtol=1e-12)  # round-off
    if order == 2:
        edges = ([(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4),
                  (1, 5), (2, 6), (3, 7)] if dim == 3 else [(0, 1), (1, 2), (2, 3), (3, 0)])
        nv = 8 if dim == 3 else 4
        for k, (a, b) in enumerate(edges):
            np.testing.assert_allclose(x[:, nv + k], 0.5 * (x[:, a] + x[:, b]), atol=1e-15)
    assert len(np.unique(deck.cells)) == len(deck.points)  # every node used once at least


@pytest.mark.parametrize("dim", [3, 2])
def test_face_labels_name_the_faces_of_each_side(dim):
    """Abaqus' face node lists (independent of the writer) lie on the side we label."""
    package = mesh_model(blocks_model(dim=dim))
    deck = deck_mesh(package, 1)
    faces = HEX_FACES if dim == 3 else QUAD_EDGES
    x = deck.points[deck.cells]
    for side, label in FACE_LABEL[dim].items():
        axis, plus = divmod(side, 2)
        plane = x[:, :, axis].max(axis=1) if plus else x[:, :, axis].min(axis=1)
        on = x[:, [n - 1 for n in faces[label]], axis]
        np.testing.assert_allclose(on, np.repeat(plane[:, None], on.shape[1], axis=1))


def test_face_nodes_of_the_bottom():
    package = mesh_model(blocks_model(dim=3, size="1 mm"))
    deck = deck_mesh(package, 2)
    nodes = face_nodes(deck, package.surfaces["bottom"])
    assert np.all(deck.points[nodes, 2] == 0.0)
    # 2 x 2 cells of 8-node faces: 9 vertices + 12 edge midpoints
    assert len(nodes) == 21


# --- materials -------------------------------------------------------------------------------

@pytest.mark.parametrize("initial", [150.0, 260.0])
def test_secant_expansion_reproduces_the_bilinear_strain(initial):
    """CalculiX: e = a(T)(T - ZERO) - a(T_I)(T_I - ZERO) with ZERO = T_I; at every table
    temperature this equals thermomech's F(T) - F(T_sf), also across Tg (to round-off)."""
    mold = LIBRARY["mold"]  # Tg 150 degC, 10 / 40 ppm/K
    stress_free = 150.0 if initial == 150.0 else 175.0
    temperatures = [25.0, 100.0, 149.0, 150.0, 151.0, 200.0]
    lines = expansion_lines(mold, 3, stress_free, initial, temperatures).splitlines()
    assert lines[0] == f"*EXPANSION,ZERO={initial:g}"
    integral = expansion_integral(mold, 3)[0]
    for row, t in zip(lines[1:], temperatures):
        alpha, temperature = (float(v) for v in row.split(","))
        assert temperature == t
        expected = integral(t)[0] - integral(stress_free)[0]
        assert alpha * (t - initial) == pytest.approx(expected, rel=1e-10, abs=1e-18)


@pytest.mark.parametrize("dim", [3, 2])
def test_engineering_constants_give_back_the_compliance(dim):
    laminate = LIBRARY["bt_laminate"]
    E1, E2, E3, nu12, nu13, nu23, G12, G13, G23 = engineering_constants(laminate, dim)
    S = np.zeros((6, 6))
    S[:3, :3] = [[1 / E1, -nu12 / E1, -nu13 / E1], [-nu12 / E1, 1 / E2, -nu23 / E2],
                 [-nu13 / E1, -nu23 / E2, 1 / E3]]
    S[3, 3], S[4, 4], S[5, 5] = 1 / G23, 1 / G13, 1 / G12
    ours = orthotropic_compliance(laminate)
    if dim == 2:  # CalculiX axes (x, z, y): permute normals and shears
        normal, shear = [0, 2, 1], [3, 5, 4]  # yz -> zy (same), xz <-> xy
        ours = ours[np.ix_(normal + shear, normal + shear)]
    np.testing.assert_allclose(S, ours, rtol=1e-10)


# --- supports --------------------------------------------------------------------------------

def test_minimal_supports_remove_exactly_the_rigid_motion():
    package = mesh_model(blocks_model(dim=3))
    deck = deck_mesh(package, 1)
    free = np.zeros((len(deck.points), 3), dtype=bool)
    held = minimal_supports(deck.points, free)
    assert len(held) == 6
    modes = rigid_body_modes(np.repeat(deck.points.T, 3, axis=1),
                             np.tile(np.arange(3), len(deck.points)))
    rows = np.array([modes[3 * n + c] for n, c in held])
    assert np.linalg.matrix_rank(rows) == 6  # no rigid motion survives, none over-held
    quarter = mesh_model(blocks_model(dim=3, symmetry="quarter"))
    deck = deck_mesh(quarter, 1)
    fixed = np.zeros((len(deck.points), 3), dtype=bool)
    fixed[face_nodes(deck, quarter.surfaces["symmetry_x"]), 0] = True
    fixed[face_nodes(deck, quarter.surfaces["symmetry_y"]), 1] = True
    held = minimal_supports(deck.points, fixed)
    assert [c for _, c in held] == [2]  # only the z translation is left


# --- decks -----------------------------------------------------------------------------------

def test_export_model_writes_one_deck_per_analysis(tmp_path):
    paths = export_model(blocks_model(), tmp_path / "model.inp")
    assert [p.name for p in paths] == ["model_heat.inp", "model_warpage.inp"]
    heat, warpage = (p.read_text() for p in paths)
    assert "*ELEMENT, TYPE=DC3D8" in heat and "*HEAT TRANSFER,STEADY STATE" in heat
    assert "*FILM" in heat and ",BF," in heat
    assert "*ELEMENT, TYPE=C3D20" in warpage and "*EXPANSION,ZERO=120" in warpage
    assert "*TEMPERATURE\nNALL,20" in warpage


def test_generalized_plane_strain_has_no_calculix_element(tmp_path):
    model = blocks_model(dim=2, plane="generalized_strain")
    with pytest.raises(ModelError, match="mechanical.plane"):
        write_inp(model, None, tmp_path / "w.inp", "warpage")


def read_block(dat, kind):
    return read_dat(dat)[kind]


def run_ccx(path):
    done = subprocess.run(["ccx", path.stem], cwd=path.parent, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "*ERROR" not in done.stdout, done.stdout[-2000:]


@needs_ccx
@pytest.mark.parametrize("dim", [3, 2])
def test_ccx_heat_deck_gives_the_one_dimensional_solution(tmp_path, dim):
    """Uniform power in the top layer, convection h on the bottom, adiabatic elsewhere:
    T(bottom) = T_a + q'' / h, and the top rises by q'' t_die / (2 k_die) + q'' t_base /
    k_base with q'' = P / A. Q1 is exact for the linear part and nodally exact for the
    quadratic one in 1D, so CalculiX must match to its print precision (1e-6)."""
    model = blocks_model(dim=dim, materials=("copper", "sio2"))
    deck = write_inp(model, None, tmp_path / "heat.inp", "heat", element_order=1)
    run_ccx(deck.path)
    T = read_block(tmp_path / "heat.dat", "temperatures")
    z = deck.mesh.points[T[:, 0].astype(int) - 1, dim - 1]
    flux = 2.0 / 4e-6  # W/m^2 through the 2 mm x 2 mm footprint (2D: the same density)
    bottom = 20.0 + flux / 1e4
    top = bottom + flux * 0.3e-3 / 398.0 + flux * 0.2e-3 / (2 * 1.4)
    np.testing.assert_allclose(T[z == 0.0, 1], bottom, rtol=1e-6)
    np.testing.assert_allclose(T[z == z.max(), 1], top, rtol=1e-6)


@needs_ccx
@pytest.mark.parametrize("order", [1, 2])
def test_ccx_free_expansion_is_exact(tmp_path, order):
    """One material, uniform cooling, free body: u = alpha dT (x - x0) up to a rigid
    motion, zero stress (CalculiX prints 7 digits)."""
    model = blocks_model(dim=3, thermal=False, materials=("copper", "copper"))
    deck = write_inp(model, None, tmp_path / "w.inp", "warpage", element_order=order)
    run_ccx(deck.path)
    U = read_block(tmp_path / "w.dat", "displacements")
    x = deck.mesh.points[U[:, 0].astype(int) - 1]
    strain = 17e-6 * (20.0 - 120.0)
    for c in range(3):  # gradient of u_c is strain * e_c: fit and compare
        fit = np.linalg.lstsq(np.c_[x, np.ones(len(x))], U[:, 1 + c], rcond=None)[0]
        expected = np.zeros(3)
        expected[c] = strain
        np.testing.assert_allclose(fit[:3], expected, atol=1e-6 * abs(strain))
    S = read_block(tmp_path / "w.dat", "stresses")
    assert np.abs(S[:, 2:]).max() < 1e-6 * 117e9 * abs(strain)


def test_export_solves_the_heat_for_a_warpage_deck_at_the_thermal_field(tmp_path):
    """mechanical.temperature = "thermal": the CLI solves the heat (the deck writer solves
    nothing) and the warpage deck carries a nodal temperature field, not one value."""
    from thermomech.cli import main

    text = Path("meshes/flip_chip.toml").read_text()
    text = re.sub(r'(?m)^temperature = .*$', 'temperature = "thermal"', text, count=1)
    model = tmp_path / "fc.toml"
    model.write_text(text)
    assert main(["export", str(model), "-o", str(tmp_path / "out" / "fc.inp")]) == 0
    deck = (tmp_path / "out" / "fc_warpage.inp").read_text()
    temperature_block = deck.split("*TEMPERATURE")[-1].split("*")[0].strip().splitlines()
    values = {float(line.split(",")[1]) for line in temperature_block}
    assert len(temperature_block) > 100 and len(values) > 100  # a field, not a uniform value


def _patch_model(dim):
    """One copper block with a linear field prescribed on its outer faces (issue 17): u =
    (1e-3 x + 2e-4 z, 3e-4 y, -5e-4 x + 1e-3 z) (x, y, z in mm, u in um... scaled below)
    and T = 40 + 5 x - 8 y (degC, x and y in mm)."""
    ux, uy, uz = "1 * x + 0.2 * z", "0.3 * y", "-0.5 * x + 1 * z"  # um
    expressions = [ux, uy, uz] if dim == 3 else [ux, uz]
    data = {"package": {"family": "blocks", "blocks": [
        {"name": "block", "material": "copper", "x": [0, 2], "y": [0, 2], "z": [0, 1]}]},
        "mesh": {"dimension": dim, "target_size": "0.5 mm", "min_cells_per_layer": 2},
        "mechanical": {"stress_free_temperature": 20, "temperature": 20, "plane": "strain",
                       "displacements": [{"surface": s, "directions": "xyz"[:3] if dim == 3
                                          else "xz", "expression": expressions}
                                         for s in ("top", "bottom", "sides")]},
        "thermal": {"fixed_temperature": [{"surface": "sides",
                                           "expression": "40 + 5 * x - 8 * y"}]}}
    return model_from_dict(data)


def test_prescribed_fields_are_written_per_node(tmp_path):
    model = _patch_model(3)
    heat = write_inp(model, None, tmp_path / "h.inp", "heat", element_order=2)
    text = heat.path.read_text()
    lines = re.findall(r"^(\d+),11,11,([-0-9.e+]+)$", text, re.M)
    nodes = np.array([int(n) - 1 for n, _ in lines])
    x, y = heat.mesh.points[nodes, 0] / 1e-3, heat.mesh.points[nodes, 1] / 1e-3
    assert np.array([float(v) for _, v in lines]) == pytest.approx(40 + 5 * x - 8 * y)
    warpage = write_inp(model, None, tmp_path / "w.inp", "warpage", element_order=2)
    moved = re.findall(r"^(\d+),3,3,([-0-9.e+]+)$", warpage.path.read_text(), re.M)
    nodes = np.array([int(n) - 1 for n, _ in moved])
    x, z = warpage.mesh.points[nodes, 0] / 1e-3, warpage.mesh.points[nodes, 2] / 1e-3
    assert np.array([float(v) for _, v in moved]) == pytest.approx(1e-6 * (z - 0.5 * x),
                                                                   abs=1e-18)
    assert "minimal support" not in warpage.path.read_text()  # no rigid motion left


@needs_ccx
@pytest.mark.parametrize("dim", [3, 2])
def test_ccx_recovers_the_prescribed_linear_fields(tmp_path, dim):
    """CalculiX on the exported decks recovers the linear displacement and temperature
    prescribed on the outer faces at every node (its print precision, 1e-6 relative)."""
    model = _patch_model(dim)
    heat = write_inp(model, None, tmp_path / "h.inp", "heat", element_order=1)
    run_ccx(heat.path)
    T = read_block(tmp_path / "h.dat", "temperatures")
    x = heat.mesh.points[T[:, 0].astype(int) - 1] / 1e-3
    expected = 40 + 5 * x[:, 0] - (8 * x[:, 1] if dim == 3 else 0)
    np.testing.assert_allclose(T[:, 1], expected, rtol=1e-6)
    warpage = write_inp(model, None, tmp_path / "w.inp", "warpage", element_order=2)
    run_ccx(warpage.path)
    U = read_block(tmp_path / "w.dat", "displacements")
    p = warpage.mesh.points[U[:, 0].astype(int) - 1] / 1e-3
    if dim == 3:
        exact = 1e-6 * np.c_[p[:, 0] + 0.2 * p[:, 2], 0.3 * p[:, 1], -0.5 * p[:, 0] + p[:, 2]]
    else:
        exact = 1e-6 * np.c_[p[:, 0] + 0.2 * p[:, 1], -0.5 * p[:, 0] + p[:, 1]]
    np.testing.assert_allclose(U[:, 1:1 + dim], exact, atol=1e-6 * np.abs(exact).max())


def test_quadratic_section_faces_include_their_midside_nodes():
    """An 8-node quadrilateral is second order (it was taken for a linear hexahedron by its
    node count, so 2D quadratic decks clamped and prescribed only the corners)."""
    package = mesh_model(_patch_model(2))
    deck = deck_mesh(package, 2)
    assert deck.order == 2
    bottom = face_nodes(deck, package.surfaces["bottom"])
    assert len(bottom) == 2 * 4 + 1  # 4 edges: 5 corners and 4 midside nodes
    assert np.all(deck.points[bottom, 1] == 0.0)
