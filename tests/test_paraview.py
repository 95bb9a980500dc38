"""ParaView output: one named block per part, quadratic cells carrying the solved nodal
values, recovered nodal stress and heat flux, .pvd time series, written through the output
folder (atomic, in the manifest)."""

import dataclasses
import json
import threading
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import meshio
import numpy as np
import pytest
import skfem

from thermomech import export, paraview
from thermomech.analysis import run_model
from thermomech.cli import main
from thermomech.export import write_mesh
from thermomech.fem.space import make_space
from thermomech.files import MANIFEST, OutputFolder
from thermomech.model_file import load_model
from thermomech.vtk_xml import vtu_bytes

MESHES = Path(__file__).resolve().parents[1] / "meshes"
COARSE_2D = """
[mesh]
dimension = 2
symmetry = "half"
target_size = "1 mm"
min_cells_per_layer = 1
"""


def coarse_copy(tmp_path):
    """The default model as a coarse 2D file (a run in about a second)."""
    text = (MESHES / "flip_chip.toml").read_text()
    start = text.index("[mesh]")
    end = text.index("\n[", start + 1)
    path = tmp_path / "flip_chip.toml"
    path.write_text(text[:start] + COARSE_2D.strip() + "\n" + text[end:])
    return path


def coarse(dimension: int):
    model = load_model(MESHES / "flip_chip.toml")
    mesh = dataclasses.replace(model.mesh, dimension=dimension, min_cells_per_layer=1,
                               symmetry="quarter" if dimension == 3 else "half",
                               target_size=1.5e-3 if dimension == 3 else 1e-3)
    return run_model(model.with_values(mesh=mesh))


@pytest.fixture(scope="module")
def run3d():
    return coarse(3)


@pytest.fixture(scope="module")
def run2d():
    return coarse(2)


def write(tmp_path, package, thermal=None, mechanical=None, **series):
    with OutputFolder(tmp_path / "out") as folder:
        names = paraview.write_results(folder, package, thermal, mechanical, **series)
    return tmp_path / "out", names


def blocks(vtm):
    """(name, file) of each block of a .vtm."""
    root = ET.parse(vtm).getroot()
    return [(d.get("name"), d.get("file")) for d in root.iter("DataSet")]


def read_pieces(out, name="result"):
    return {part: meshio.read(out / file) for part, file in blocks(out / f"{name}.vtm")}


def test_one_block_per_part_named_after_it(run3d, tmp_path):
    out, names = write(tmp_path, run3d.package, run3d.thermal, run3d.mechanical)
    package = run3d.package
    assert [name for name, _ in blocks(out / "result.vtm")] == list(package.parts)
    materials = sorted(set(package.part_materials.values()))
    for part, mesh in read_pieces(out).items():
        i = package.parts.index(part)
        assert mesh.cells[0].type == "hexahedron20"  # HexS2: the 20-node hexahedron
        assert len(mesh.cells[0]) == np.sum(package.cell_part == i)
        np.testing.assert_array_equal(mesh.cell_data["part"][0], i)
        np.testing.assert_array_equal(mesh.cell_data["material"][0],
                                      materials.index(package.part_materials[part]))
        # the name table: every part and material name with its id
        assert {k: int(v[0]) for k, v in mesh.field_data.items() if k.startswith("part:")} \
            == {f"part:{p}": j for j, p in enumerate(package.parts)}
        assert {"temperature_C", "heat_flux_W_per_m2", "displacement_m", "stress_Pa",
                "von_mises_stress_Pa", "max_principal_stress_Pa"} <= set(mesh.point_data)
    assert set(names) == {"result.vtm", *(f for _, f in blocks(out / "result.vtm"))}


def test_vtk_reads_the_blocks_by_name_with_positive_volumes(run3d, tmp_path):
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    out, _ = write(tmp_path, run3d.package, run3d.thermal, run3d.mechanical)
    reader = vtk.vtkXMLMultiBlockDataReader()
    reader.SetFileName(str(out / "result.vtm"))
    reader.Update()
    data = reader.GetOutput()
    names = [data.GetMetaData(i).Get(vtk.vtkCompositeDataSet.NAME())
             for i in range(data.GetNumberOfBlocks())]
    assert names == list(run3d.package.parts)
    volume = 0.0
    for i in range(data.GetNumberOfBlocks()):
        sizes = vtk.vtkCellSizeFilter()
        sizes.SetInputData(data.GetBlock(i))
        sizes.Update()
        cells = vtk_to_numpy(sizes.GetOutput().GetCellData().GetArray("Volume"))
        assert cells.min() > 0  # VTK's node order, no cell inside out
        volume += cells.sum()
        stress = data.GetBlock(i).GetPointData().GetArray("stress_Pa")
        assert [stress.GetComponentName(k) for k in range(6)] == list(paraview.TENSOR_NAMES)
    mesh = run3d.package.mesh
    assert volume == pytest.approx(np.prod(np.ptp(mesh.p, axis=1)), rel=1e-12)


def dof_values(result, points):
    """(dim, n) the solver's dof values at points (dim, n), found by position."""
    space = result.space
    key = {tuple(np.round(x * 1e9).astype(np.int64)): None for x in points.T}
    positions = np.round(space.doflocs * 1e9).astype(np.int64).T
    out = {}
    for dof, (where, component) in enumerate(zip(map(tuple, positions), space.components)):
        if where in key:
            out.setdefault(where, {})[component] = result.displacement[dof]
    return np.array([[out[tuple(np.round(x * 1e9).astype(np.int64))][c]
                      for x in points.T] for c in range(space.ncomp)])


def test_mid_edge_displacement_is_the_solved_dof(run3d, tmp_path):
    out, _ = write(tmp_path, run3d.package, mechanical=run3d.mechanical)
    mesh = read_pieces(out)["die"]
    cells = mesh.cells[0].data
    mid = np.unique(cells[:, 8:])  # VTK: nodes 8-19 are the edge midpoints
    solved = dof_values(run3d.mechanical, mesh.points[mid].T)
    np.testing.assert_allclose(mesh.point_data["displacement_m"][mid].T, solved,
                               rtol=0, atol=1e-12 * np.abs(solved).max())
    # the solved field is quadratic: the mid-edge values are not the corners' mean
    ends = np.array(paraview._HEX_EDGES)
    corner_mean = mesh.point_data["displacement_m"][cells[:, ends]].mean(axis=2)
    assert np.abs(corner_mean - mesh.point_data["displacement_m"][cells[:, 8:]]).max() \
        > 1e-4 * np.abs(solved).max()


def linear_displacement(result):
    """The result with u = G x (a uniform strain, in the element space: exact)."""
    space = result.space
    gradient = np.array([[2e-3, 5e-4, -1e-3], [3e-4, -1e-3, 7e-4], [1e-4, 2e-4, 4e-3]])
    gradient = gradient[:space.ncomp, :space.ncomp]
    values = (gradient @ space.doflocs)[space.components, np.arange(space.N)]
    return dataclasses.replace(result, displacement=values)


@pytest.mark.parametrize("which", ["run3d", "run2d"])
def test_recovered_stress_keeps_each_parts_uniform_stress(which, request, tmp_path):
    run = request.getfixturevalue(which)
    result = linear_displacement(run.mechanical)
    out, _ = write(tmp_path, run.package, mechanical=result)
    pieces = read_pieces(out)
    at_node = {}
    for part, mesh in pieces.items():
        i = run.package.parts.index(part)
        points = mesh.points.T if run.package.dimension == 3 else mesh.points.T[[0, 2]]
        cells = np.flatnonzero(run.package.cell_part == i)  # the piece's cells, in order
        rows = np.unique(mesh.cells[0].data.ravel(), return_index=True)[1]
        owner = cells[rows // mesh.cells[0].data.shape[1]]  # a cell of the part at each node
        exact = result.stress_at(points, owner)
        got = mesh.point_data["stress_Pa"].T
        scale = np.abs(exact).max()
        np.testing.assert_allclose(got, exact[paraview.PARAVIEW_TENSOR], rtol=0,
                                   atol=1e-9 * scale)
        at_node[part] = dict(zip(map(tuple, np.round(mesh.points * 1e9)), got.T))
    # a node on the die / bumps interface keeps both parts' stresses: the jump
    shared = set(at_node["die"]) & set(at_node["bumps"])
    node = next(iter(shared))
    assert np.abs(at_node["die"][node] - at_node["bumps"][node]).max() > 1e6


def test_von_mises_and_principal_stresses(run3d, tmp_path):
    out, _ = write(tmp_path, run3d.package, mechanical=run3d.mechanical)
    for mesh in read_pieces(out).values():
        xx, yy, zz, xy, yz, xz = mesh.point_data["stress_Pa"].T
        tensor = np.stack([np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1),
                           np.stack([xz, yz, zz], -1)], -2)
        eigen = np.linalg.eigvalsh(tensor)
        scale = np.abs(eigen).max()
        for k, name in enumerate(("min", "mid", "max")):
            np.testing.assert_allclose(mesh.point_data[f"{name}_principal_stress_Pa"],
                                       eigen[:, k], rtol=0, atol=1e-9 * scale)
        deviator = tensor - np.trace(tensor, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
        np.testing.assert_allclose(mesh.point_data["von_mises_stress_Pa"],
                                   np.sqrt(1.5 * np.sum(deviator**2, axis=(1, 2))), rtol=1e-12,
                                   atol=1e-9 * scale)


@pytest.mark.parametrize("which", ["run3d", "run2d"])
def test_heat_flux_is_minus_k_grad_t_through_a_wall(which, request, tmp_path):
    """T = 25 degC + 1000 K/m z through every layer (a 1-D wall): grad T = (0, 0, 1000) K/m
    and q = -k_z grad T in each part, to round-off (the field is in the element space)."""
    run = request.getfixturevalue(which)
    space = run.thermal.space
    thermal = dataclasses.replace(run.thermal, temperature=25.0 + 1000.0 * space.doflocs[-1])
    out, _ = write(tmp_path, run.package, thermal=thermal)
    nonlinear = []
    for part, mesh in read_pieces(out).items():
        material = run.package.cell_material(part)
        T = mesh.point_data["temperature_C"]
        np.testing.assert_allclose(T, 25.0 + 1000.0 * mesh.points[:, 2], rtol=1e-13)
        np.testing.assert_allclose(mesh.point_data["temperature_gradient_K_per_m"],
                                   np.broadcast_to([0, 0, 1000.0], mesh.points.shape),
                                   rtol=0, atol=1e-9)
        flux = mesh.point_data["heat_flux_W_per_m2"]
        np.testing.assert_allclose(flux[:, :2], 0, atol=1e-9)
        k_z = np.ravel(material.conductivity)[-1]
        if material.conductivity_exponent == 0:
            np.testing.assert_allclose(flux[:, 2], -k_z * 1000.0, rtol=1e-12)
            continue
        # k(T) at each cell's mean temperature, as the solve has it: within k(T) of the
        # part's coldest and hottest node
        nonlinear.append(part)
        k = k_z * ((T + 273.15) / (material.conductivity_reference_temperature + 273.15)
                   ) ** material.conductivity_exponent
        assert np.all(-flux[:, 2] <= k.max() * 1000.0 * (1 + 1e-12))
        assert np.all(-flux[:, 2] >= k.min() * 1000.0 * (1 - 1e-12))
    assert nonlinear == ["die"]  # silicon's k(T): the path with cell temperatures ran


def test_transient_is_a_pvd_with_one_entry_per_output_time(run2d, tmp_path):
    times = np.array([0.5, 2.0, 10.0])
    final = run2d.thermal.temperature
    thermal = dataclasses.replace(run2d.thermal, times=times,
                                  snapshots=np.array([25 + f * (final - 25) for f in (.2, .6, 1)]))
    out, names = write(tmp_path, run2d.package, thermal=thermal)
    root = ET.parse(out / "transient.pvd").getroot()
    entries = [(float(d.get("timestep")), d.get("file")) for d in root.iter("DataSet")]
    assert [t for t, _ in entries] == times.tolist()
    peaks = []
    for _, file in entries:
        pieces = [meshio.read(out / "transient" / f)
                  for _, f in blocks(out / file)]
        peaks.append(max(p.point_data["temperature_C"].max() for p in pieces))
    rise = final.max() - 25
    np.testing.assert_allclose(peaks, [25 + f * rise for f in (.2, .6, 1)], rtol=1e-12)
    assert "transient.pvd" in names and "transient/0002.vtm" in names


def test_warpage_curve_is_a_pvd_over_the_load_temperatures(run2d, tmp_path):
    curve = (run2d.mechanical, linear_displacement(run2d.mechanical))
    out, _ = write(tmp_path, run2d.package, mechanical=run2d.mechanical, curve=curve,
                   temperatures=(125.0, 25.0))
    root = ET.parse(out / "warpage_curve.pvd").getroot()
    assert [float(d.get("timestep")) for d in root.iter("DataSet")] == [125.0, 25.0]


def test_run_writes_them_atomically_and_lists_them(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(coarse_copy(tmp_path)), "--out", str(out), "--no-figures"]) == 0
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    pieces = {f for _, f in blocks(out / "result.vtm")}
    assert {"result.vtm", "result.vtu", *pieces} <= set(manifest)
    for name in ("result.vtm", *pieces):
        assert manifest[name]["size"] == (out / name).stat().st_size
    assert not [p for p in out.rglob("*") if ".thermomech-staging" in str(p)]
    # a piece the user edited is theirs: the next run refuses to overwrite it
    (out / "result" / "die.vtu").write_text("my notes")
    assert main(["run", str(coarse_copy(tmp_path)), "--out", str(out), "--no-figures"]) == 2
    assert (out / "result" / "die.vtu").read_text() == "my notes"


def test_result_vtu_hexahedra_are_in_vtk_order(run3d, tmp_path):
    """scikit-fem's corner order written as VTK's made tangled hexahedra."""
    write_mesh(run3d.package, tmp_path / "m.vtu")
    mesh = meshio.read(tmp_path / "m.vtu")
    corners = mesh.points[mesh.cells[0].data]  # (cells, 8, 3)
    # VTK: corners 0-3 go round one face, 4-7 round the opposite one, 0 -> 4 an edge
    face, opposite = corners[:, :4], corners[:, 4:]
    normal = np.cross(face[:, 1] - face[:, 0], face[:, 3] - face[:, 0])
    assert np.allclose(np.einsum("cd,ckd->ck", normal, face - face[:, :1]), 0, atol=1e-18)
    edge = opposite - face
    assert np.allclose(np.cross(edge, edge[:, :1]), 0, atol=1e-18)
    spans = corners[:, [1, 3, 4]] - corners[:, :1]
    assert np.all(np.linalg.det(spans) > 0)



@pytest.mark.parametrize("which", ["run3d", "run2d"])
def test_vtu_holds_the_meshio_arrays_and_the_name_table(which, request, tmp_path):
    """write_mesh's .vtu (vtk_xml, not meshio's writer) reads back as the arrays of
    to_meshio, bit for bit, with the part and material name table meshio's writer drops."""
    run = request.getfixturevalue(which)
    package = run.package
    values = np.asarray(run.thermal.temperature)[:package.mesh.p.shape[1]]
    stress = np.arange(6.0 * package.mesh.t.shape[1]).reshape(-1, 6)
    write_mesh(package, tmp_path / "m.vtu", point_data={"temperature_C": values},
               cell_data={"stress_MPa": stress})
    got = meshio.read(tmp_path / "m.vtu")
    want = export.to_meshio(package, {"temperature_C": values}, {"stress_MPa": stress})
    np.testing.assert_array_equal(got.points, want.points)
    assert got.cells[0].type == want.cells[0].type
    np.testing.assert_array_equal(got.cells[0].data, want.cells[0].data)
    np.testing.assert_array_equal(got.point_data["temperature_C"], values)
    for name in ("part", "material", "stress_MPa"):
        np.testing.assert_array_equal(got.cell_data[name][0], want.cell_data[name][0])
    assert sorted(got.field_data) == sorted(want.field_data)
    for name, ids in want.field_data.items():
        np.testing.assert_array_equal(got.field_data[name], ids)
    assert got.field_data["part:die"][0] == list(package.parts).index("die")

ZOO = [(skfem.MeshHex, skfem.ElementHex1), (skfem.MeshHex, skfem.ElementHexS2),
       (skfem.MeshHex, skfem.ElementHex2), (skfem.MeshQuad, skfem.ElementQuad1),
       (skfem.MeshQuad, skfem.ElementQuad2), (skfem.MeshTet, skfem.ElementTetP1),
       (skfem.MeshTet, skfem.ElementTetP2), (skfem.MeshTri, skfem.ElementTriP1),
       (skfem.MeshTri, skfem.ElementTriP2), (skfem.MeshWedge1, skfem.ElementWedge1)]


@pytest.mark.parametrize("mesh_type, element", ZOO, ids=lambda x: x.__name__)
def test_every_element_becomes_vtk_cells_of_the_right_volume(mesh_type, element, tmp_path):
    """Imported meshes too: each cell in VTK's node order, none inside out, the nodes where
    the element's dofs are (a twisted unit mesh: no symmetry hides a wrong order)."""
    mesh = mesh_type() if mesh_type is skfem.MeshWedge1 else mesh_type().refined(1)
    mesh = mesh_type(mesh.p + 0.05 * np.sin(3 * mesh.p[::-1]), mesh.t)
    space = make_space(mesh, element(), 2)
    piece = paraview.piece_of(space, np.arange(mesh.t.shape[1]))
    name, reference, _ = paraview.VTK_CELLS[element]
    # each VTK node is the image of its parametric point under the cell's own map
    first = piece.points[:, piece.connectivity[0]]
    mapped = mesh._mapping().F(reference.T[:, None, :], tind=[0])[:, 0, :]
    flipped = mesh._mapping().F(paraview_mirror(reference).T[:, None, :], tind=[0])[:, 0, :]
    assert np.allclose(first, mapped, atol=1e-14) or np.allclose(first, flipped, atol=1e-14)
    path = tmp_path / "zoo.vtu"
    path.write_bytes(vtu_bytes(paraview.vectors_3d(piece.points), name, piece.connectivity))
    assert meshio.read(path).cells[0].type == name
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    sizes = vtk.vtkCellSizeFilter()
    sizes.SetInputData(reader.GetOutput())
    sizes.Update()
    kind = "Area" if mesh.dim() == 2 else "Volume"
    measure = vtk_to_numpy(sizes.GetOutput().GetCellData().GetArray(kind))
    if mesh_type is skfem.MeshWedge1:  # two wedges of the (slightly twisted) unit cube
        np.testing.assert_allclose(measure.sum(), 1.0, rtol=0.05)
    else:
        exact = skfem.Functional(lambda w: 1.0 + 0 * w.x[0]).elemental(
            skfem.Basis(mesh, element()))
        np.testing.assert_allclose(np.abs(measure), exact, rtol=1e-6)
    assert measure.min() > 0 or mesh.dim() == 2  # a 2D cell's sign is its normal's side
    cell = reader.GetOutput().GetCell(0)
    parametric = cell.GetParametricCoords()
    vtk_reference = np.array([parametric[i] for i in range(3 * cell.GetNumberOfPoints())])
    np.testing.assert_array_equal(vtk_reference.reshape(-1, 3)[:, :mesh.dim()], reference)


def paraview_mirror(reference):
    out = reference.copy()
    if np.any(np.all(reference[:, :2] == 1, axis=1)):
        out[:, 0] = 1 - out[:, 0]
    else:
        out[:, [0, 1]] = out[:, [1, 0]]
    return out


@pytest.mark.parametrize("mesh_type, element", ZOO[:-1], ids=lambda x: x.__name__)
def test_point_evaluation_is_scikit_fems_to_the_bit(mesh_type, element):
    """``Space.evaluate`` (the inverse Jacobian once per call, what makes the export fast)
    gives scikit-fem's ``gbasis`` sums exactly, scalar and vector fields."""
    mesh = mesh_type().refined(1)
    mesh = mesh_type(mesh.p + 0.03 * np.sin(4 * mesh.p[::-1]), mesh.t)
    rng = np.random.default_rng(1)
    for elem in (element(), skfem.ElementVector(element(), mesh.dim())):
        space = make_space(mesh, elem, 2)
        values = rng.standard_normal(space.N)
        cells = rng.integers(0, mesh.t.shape[1], 20)
        points = mesh.p[:, mesh.t[:, cells]].mean(axis=1)
        value, grad = space.evaluate(values, points, cells)
        cells, phi = space.shape_functions(points, cells)
        coefs = [values[space.dofs.element_dofs[k, cells]][:, None] for k in range(len(phi))]
        np.testing.assert_array_equal(value, sum(np.asarray(f) * c for f, c in zip(phi, coefs))[
            ..., 0])
        np.testing.assert_array_equal(grad, sum(f.grad * c for f, c in zip(phi, coefs))[..., 0])


def test_run_writes_the_transient_and_the_warpage_curve_as_series(tmp_path):
    """A transient model with a warpage curve, through ``thermomech run``: one .pvd entry
    per output time and per curve temperature, each a multiblock of the parts."""
    text = coarse_copy(tmp_path).read_text()
    text = text.replace('power = { die = "5 W" }', 'power = { die = "5 W" }\n\n'
                        '[thermal.transient]\nend_time = "2 s"\ntime_step = "0.25 s"\n'
                        'output_times = ["0.5 s", "2 s"]\n', 1)
    text = text.replace('temperature = "25 degC"',
                        'temperature = "25 degC"\ntemperatures = ["25 degC", "125 degC"]')
    assert "[thermal.transient]" in text and "temperatures =" in text
    (tmp_path / "series.toml").write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "series.toml"), "--out", str(out), "--no-figures"]) == 0
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    for name, times in (("transient", [0.5, 2.0]), ("warpage_curve", [25.0, 125.0])):
        entries = [(float(d.get("timestep")), d.get("file"))
                   for d in ET.parse(out / f"{name}.pvd").getroot().iter("DataSet")]
        assert [t for t, _ in entries] == times and f"{name}.pvd" in manifest
        for _, file in entries:
            parts = blocks(out / file)
            assert [p for p, _ in parts] == [p for p, _ in blocks(out / "result.vtm")]
            assert all(f"{name}/{f}" in manifest for _, f in parts)
    early, late = ([meshio.read(out / "transient" / f).point_data["temperature_C"].max()
                    for _, f in blocks(out / "transient" / vtm)]
                   for vtm in ("0000.vtm", "0001.vtm"))
    assert max(early) < max(late)  # the package heats up


def counted_inversions(monkeypatch) -> list:
    """A list that gets an entry for each Newton inversion of the isoparametric map."""
    from thermomech.fem import space as space_module

    calls = []
    real = space_module._mapping

    def counted(mesh):
        mapping = real(mesh)
        invert = mapping.invF
        mapping.invF = lambda *a, **k: calls.append(1) or invert(*a, **k)
        return mapping

    monkeypatch.setattr(space_module, "_mapping", counted)
    return calls


def test_box_nodes_are_evaluated_from_the_reference_cell(run3d, monkeypatch):
    """On box meshes the export evaluates the fields at each cell's nodes from the element's
    shape functions at its reference dof points and the cell's inverse Jacobian (no Newton
    inversion): the nodal values are the solved dofs exactly, and the values and gradients
    agree with ``Space.evaluate`` to its Newton tolerance (1e-12 in reference coordinates:
    1e-11 of the largest gradient)."""
    package, thermal, mechanical = run3d.package, run3d.thermal, run3d.mechanical
    pieces = paraview.part_pieces(package, paraview.export_space(thermal, mechanical))
    calls = counted_inversions(monkeypatch)
    paraview.multiblock_files("r", package, pieces, thermal, mechanical)
    assert calls == []
    for piece in pieces.values():
        for space, values in ((thermal.space, thermal.temperature),
                              (mechanical.space, mechanical.displacement)):
            assert paraview.by_reference(space, piece)
            value, grad = paraview.pair_values(space, values, piece)
            expected_value, expected_grad = space.evaluate(values, piece.pair_points,
                                                           piece.pair_cell)
            expected_value = np.atleast_2d(expected_value)
            expected_grad = expected_grad.reshape(grad.shape)
            np.testing.assert_allclose(value, expected_value, rtol=0,
                                       atol=1e-13 * np.abs(expected_value).max())
            np.testing.assert_allclose(grad, expected_grad, rtol=0,
                                       atol=1e-11 * np.abs(expected_grad).max())
    # the displacement at a node is the solved dof value, bit for bit
    piece = pieces["die"]
    value, _ = paraview.pair_values(mechanical.space, mechanical.displacement, piece)
    np.testing.assert_array_equal(value[:, piece.owner_pair].T,
                                  dof_values(mechanical, piece.points).T)


def test_linear_displacement_gives_the_exact_nodal_stress(run3d):
    """u = G x lies in the element space, so the stress is C (G_sym - alpha dT) in each
    part: the recovered nodal stress of the export (reference-cell gradients and the cell's
    inverse Jacobian) has it to rounding (measured 3e-14 of the largest stress, as the
    Newton-inverted evaluation: 4e-14; a wrong Jacobian or node order is off by O(1))."""
    result = linear_displacement(run3d.mechanical)
    package = run3d.package
    pieces = paraview.part_pieces(package, paraview.export_space(None, result))
    G = np.array([[2e-3, 5e-4, -1e-3], [3e-4, -1e-3, 7e-4], [1e-4, 2e-4, 4e-3]])
    for part, piece in pieces.items():
        fields = paraview.mechanical_fields(result, piece)
        i = package.parts.index(part)
        n = len(piece.nodes)
        exact = result.model.stress(np.full(n, i), np.broadcast_to(G[:, :, None, None],
                                                                   (3, 3, n, 1)),
                                    result.temperature, piece.points[..., None])[..., 0]
        np.testing.assert_allclose(fields["stress_Pa"].T, exact[paraview.PARAVIEW_TENSOR],
                                   rtol=0, atol=1e-12 * np.abs(exact).max())


def test_reused_mappings_give_the_same_files_with_one_inversion_per_chunk(run3d, monkeypatch):
    """Where the export inverts the isoparametric map (meshes other than boxes: here forced
    on a box mesh), it does so once per (points, cells) chunk, not again for each field
    (temperature, its gradient, displacement, stress): the same bytes."""
    import contextlib

    monkeypatch.setattr(paraview, "by_reference", lambda space, piece: False)
    package, thermal, mechanical = run3d.package, run3d.thermal, run3d.mechanical
    pieces = paraview.part_pieces(package, paraview.export_space(thermal, mechanical))
    calls = counted_inversions(monkeypatch)
    reused = paraview.multiblock_files("r", package, pieces, thermal, mechanical)
    reused_calls = len(calls)
    monkeypatch.setattr(paraview, "reused_mappings", contextlib.nullcontext)
    calls.clear()
    assert paraview.multiblock_files("r", package, pieces, thermal, mechanical) == reused
    # the coarse 3D flip-chip: 994 inversions without, 231 with (fields of the temperature
    # dependent stress evaluate the temperature at the same points again)
    assert 0 < reused_calls <= len(calls) / 4


def test_vtu_blocks_compressed_on_threads_are_the_same_bytes(monkeypatch, tmp_path):
    """An array over 1 MiB is compressed in 1 MiB zlib blocks on every core: the same file
    as on one thread, and it reads back to the same values."""
    rng = np.random.default_rng(5)
    points = rng.standard_normal((200_000, 3))  # 4.8 MB: five blocks
    cells = np.arange(200_000).reshape(-1, 4)
    files = []
    for threads in ("1", "2"):
        monkeypatch.setenv("THERMOMECH_NUM_THREADS", threads)
        files.append(vtu_bytes(points, "tetra", cells, point_data={"x": points[:, 0]}))
    assert files[0] == files[1]
    (tmp_path / "big.vtu").write_bytes(files[1])
    mesh = meshio.read(tmp_path / "big.vtu")
    np.testing.assert_array_equal(mesh.points, points)
    np.testing.assert_array_equal(mesh.point_data["x"], points[:, 0])


def _block_sizes(vtu: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(uncompressed, compressed) bytes of each zlib block of array ``name`` in a vtu."""
    import base64

    text = vtu.decode()
    start = text.index(f'Name="{name}"')
    data = text[text.index(">", start) + 1:text.index("</DataArray>", start)]
    blocks = int(np.frombuffer(base64.b64decode(data[:16])[:8], dtype="<u8")[0])
    length = 4 * -(-(3 + blocks) * 8 // 3)  # the header's base64, padded
    header = np.frombuffer(base64.b64decode(data[:length]), dtype="<u8")
    full, last = int(header[1]), int(header[2])
    return np.array([full] * (blocks - 1) + [last]), header[3:]


def test_incompressible_blocks_are_stored_and_every_reader_gets_the_same_values(tmp_path):
    """A block whose first 64 KiB zlib cannot shrink below half their size (random
    doubles, like a computed stress field; a smooth temperature-like field, which level 1
    shrinks to 80 %) is stored (zlib level 0), the others compressed: meshio and VTK read
    both back to the bit."""
    rng = np.random.default_rng(6)
    points = rng.standard_normal((100_000, 3))  # 2.4 MB of random doubles: three blocks
    cells = np.arange(100_000).reshape(-1, 4)  # 0.8 MB of counting int64: compresses
    smooth = 25 + 30 * np.sin(np.linspace(0, 20, 300_000))  # 2.4 MB: 80 % at level 1
    assert 0.7 < len(zlib.compress(smooth.tobytes(), 1)) / smooth.nbytes < 0.9
    vtu = vtu_bytes(points, "tetra", cells, point_data={"x": points[:, 0]},
                    field_data={"smooth": smooth})
    for name in ("Points", "smooth"):
        raw, packed = _block_sizes(vtu, name)
        assert len(raw) == 3 and np.all(packed >= raw)  # stored: the bytes plus framing
        assert np.all(packed < raw + 100)
    raw, packed = _block_sizes(vtu, "connectivity")
    assert packed.sum() < 0.3 * raw.sum()  # compressed
    (tmp_path / "mixed.vtu").write_bytes(vtu)
    mesh = meshio.read(tmp_path / "mixed.vtu")
    np.testing.assert_array_equal(mesh.points, points)
    np.testing.assert_array_equal(mesh.cells[0].data, cells)
    np.testing.assert_array_equal(mesh.point_data["x"], points[:, 0])
    np.testing.assert_array_equal(mesh.field_data["smooth"], smooth)
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(tmp_path / "mixed.vtu"))
    reader.Update()
    grid = reader.GetOutput()
    np.testing.assert_array_equal(vtk_to_numpy(grid.GetPoints().GetData()), points)
    np.testing.assert_array_equal(vtk_to_numpy(grid.GetPointData().GetArray("x")),
                                  points[:, 0])
    np.testing.assert_array_equal(vtk_to_numpy(grid.GetCells().GetConnectivityArray()),
                                  cells.ravel())
    np.testing.assert_array_equal(vtk_to_numpy(grid.GetFieldData().GetArray("smooth")),
                                  smooth)


@pytest.mark.parametrize("which", ["run3d", "run2d"])
def test_pieces_made_on_threads_are_the_same_files(which, request, monkeypatch):
    """Box meshes: the parts' pieces are made on every core, largest first; the same files
    in the same order as one after the other, and every piece really went to a thread."""
    run = request.getfixturevalue(which)
    package, thermal, mechanical = run.package, run.thermal, run.mechanical
    pieces = paraview.part_pieces(package, paraview.export_space(thermal, mechanical))
    assert len(pieces) >= 5
    made = []
    original = paraview.piece_file
    monkeypatch.setattr(paraview, "piece_file", lambda *args: (
        made.append(threading.current_thread().name), original(*args))[1])
    files = []
    for threads in ("1", "2"):
        monkeypatch.setenv("THERMOMECH_NUM_THREADS", threads)
        made.clear()
        files.append(paraview.multiblock_files("r", package, pieces, thermal, mechanical))
    assert list(files[0]) == list(files[1]) and files[0] == files[1]
    assert len(made) == len(pieces)
    assert all(name.startswith("thermomech-apart") for name in made)
