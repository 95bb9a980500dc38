"""The mesher: conformal, graded, exact part volumes, complete boundary tags, symmetry."""

import numpy as np
import pytest
import skfem

from thermomech.errors import ModelError
from thermomech.geometry import Box, Layout
from thermomech.grid_lines import _sizes_at_breaks, axis_grid, estimated_cells
from thermomech.material_library import LIBRARY
from thermomech.meshing import (
    MeshOptions,
    face_areas,
    mesh_layout,
    skfem_facets,
)

mm = 1e-3
# mold everywhere, then a die and a heat sink wider than the die: overlaps, later wins
LAYOUT = Layout((
    Box("substrate", "bt_laminate", (-10 * mm, 10 * mm), (-10 * mm, 10 * mm), (0, 1 * mm)),
    Box("mold", "mold", (-8 * mm, 8 * mm), (-8 * mm, 8 * mm), (1 * mm, 2.85 * mm)),
    Box("die", "silicon", (-5 * mm, 5 * mm), (-4 * mm, 4 * mm), (1.05 * mm, 1.8 * mm)),
    Box("heat_sink", "copper", (-7 * mm, 7 * mm), (-6 * mm, 6 * mm), (1.85 * mm, 2.85 * mm)),
    Box("ball", "sac305", (-0.2 * mm, 0.2 * mm), (-0.2 * mm, 0.2 * mm), (-0.3 * mm, 0)),
))
OPTIONS = [(3, "none"), (3, "half"), (3, "quarter"), (2, "none"), (2, "half")]


def exact_part_volumes(layout, dimension, symmetry):
    """Independent reference: later-wins volumes on the breakpoint grid, plain Python."""
    clip_x = symmetry != "none"
    clip_y = symmetry == "quarter" and dimension == 3
    boxes = [b for b in layout.boxes if dimension == 3 or b.y[0] <= 0 < b.y[1]]
    axes = [0, 1, 2] if dimension == 3 else [0, 2]
    lines = [sorted({v for b in boxes for v in (b.lower[a], b.upper[a])}) for a in axes]
    if clip_x:
        lines[0] = [v for v in lines[0] if v >= 0] if 0 in lines[0] else [0.0] + [
            v for v in lines[0] if v > 0]
    if clip_y:
        lines[1] = [v for v in lines[1] if v >= 0] if 0 in lines[1] else [0.0] + [
            v for v in lines[1] if v > 0]
    volumes: dict[str, float] = {}
    import itertools
    for cell in itertools.product(*[range(len(ln) - 1) for ln in lines]):
        centre = [0.5 * (lines[i][c] + lines[i][c + 1]) for i, c in enumerate(cell)]
        size = np.prod([lines[i][c + 1] - lines[i][c] for i, c in enumerate(cell)])
        owner = None
        for b in boxes:
            if all(b.lower[a] < x < b.upper[a] for a, x in zip(axes, centre)):
                owner = b.part
        if owner is not None:
            volumes[owner] = volumes.get(owner, 0.0) + size
    return volumes


@pytest.fixture(scope="module", params=OPTIONS, ids=lambda o: f"{o[0]}d-{o[1]}")
def meshed(request):
    dim, symmetry = request.param
    return mesh_layout(LAYOUT, MeshOptions(dimension=dim, symmetry=symmetry,
                                           target_size=1.5 * mm), LIBRARY)


def test_part_volumes_equal_box_volumes(meshed):
    expected = exact_part_volumes(LAYOUT, meshed.dimension, meshed.symmetry)
    got = np.bincount(meshed.cell_part, meshed.cell_volumes, minlength=len(meshed.parts))
    for i, part in enumerate(meshed.parts):
        assert got[i] == pytest.approx(expected.get(part, 0.0), rel=1e-12, abs=1e-30), part


def test_conforming_every_interior_face_shared_by_two_cells(meshed):
    mesh = meshed.mesh
    f2t = mesh.f2t
    interior = f2t[1] >= 0
    # a face is interior iff two cells share it; boundary faces have one. A hanging node
    # would leave a face seen by one cell inside the domain: its centre would not lie on
    # the outer boundary of the union of cells. Check every one-cell face is a tagged face.
    tagged = np.concatenate([skfem_facets(meshed, meshed.surfaces[name])
                             for name in ("top", "bottom", "sides", "symmetry_x", "symmetry_y")
                             if name in meshed.surfaces])
    boundary = np.flatnonzero(~interior)
    assert np.array_equal(np.sort(tagged), boundary), "boundary tags must cover each face once"
    # each node is a vertex of a cell: no unused nodes
    assert np.array_equal(np.unique(mesh.t), np.arange(mesh.p.shape[1]))


def test_named_surfaces_have_the_right_normals(meshed):
    dim = meshed.dimension
    top, bottom = meshed.surfaces["top"], meshed.surfaces["bottom"]
    assert set(top.sides) == {2 * (dim - 1) + 1}
    assert set(bottom.sides) == {2 * (dim - 1)}
    assert set(meshed.surfaces["sides"].sides) <= set(range(2 * (dim - 1)))
    # the heat sink's exposed top: its own area (width x length), clipped by symmetry
    area = face_areas(meshed, meshed.surfaces["heat_sink.top"]).sum()
    full = 14 * mm * (12 * mm if dim == 3 else 1.0)
    assert area == pytest.approx(full / {"none": 1, "half": 2, "quarter": 4}[meshed.symmetry]
                                 * (2 if dim == 2 and meshed.symmetry == "quarter" else 1))
    if meshed.symmetry != "none":
        assert np.allclose(meshed.mesh.p[0, meshed.mesh.t[:, meshed.surfaces["symmetry_x"]
                                                          .cells]].min(axis=0), 0.0)


def test_layers_get_the_minimum_cells_and_sizes_respect_target(meshed):
    z = meshed.axes[-1]
    for lo, hi in [(1.05, 1.8), (1.8, 1.85), (0, 1)]:
        inside = np.sum((z > lo * mm + 1e-12) & (z < hi * mm - 1e-12))
        assert inside + 1 >= 2  # at least min_cells_per_layer = 2 cells through each layer
    for axis in meshed.axes:
        assert np.diff(axis).max() <= 1.5 * mm * (1 + 1e-9)


def test_grading_grows_geometrically():
    lines = axis_grid(np.array([0.0, 0.01, 10.0]), target=1.0, min_cells=1, growth=1.3)
    sizes = np.diff(lines)
    ratios = sizes[1:] / sizes[:-1]
    assert sizes.max() <= 1.0 + 1e-12
    assert ratios.max() < 1.3 * 1.1  # equidistribution of a piecewise-linear size: ~growth
    assert lines[0] == 0.0 and lines[-1] == 10.0 and 0.01 in lines


def test_deterministic():
    a = mesh_layout(LAYOUT, MeshOptions(target_size=2 * mm), LIBRARY)
    b = mesh_layout(LAYOUT, MeshOptions(target_size=2 * mm), LIBRARY)
    assert np.array_equal(a.mesh.p, b.mesh.p) and np.array_equal(a.mesh.t, b.mesh.t)


def test_mesh_is_valid_for_scikit_fem(meshed):
    element = skfem.ElementHex1() if meshed.dimension == 3 else skfem.ElementQuad1()
    basis = skfem.Basis(meshed.mesh, element)
    volume = skfem.Functional(lambda w: 1.0 + 0 * w.x[0]).assemble(basis)
    assert volume == pytest.approx(meshed.cell_volumes.sum(), rel=1e-12)
    assert np.all(basis.dx > 0)  # positive Jacobians: vertex order is right


def test_asymmetric_layout_refuses_symmetry():
    shifted = Layout(LAYOUT.boxes + (Box("cap", "mlcc", (6 * mm, 7 * mm), (0, 1 * mm),
                                         (1 * mm, 1.5 * mm)),))
    with pytest.raises(ModelError, match=r"mesh.symmetry: 'half' needs a layout symmetric"):
        mesh_layout(shifted, MeshOptions(symmetry="half"), LIBRARY)
    # symmetric about x = 0 but not about y = 0: half is fine, quarter is refused
    shifted_in_y = Layout(LAYOUT.boxes + (Box("cap", "mlcc", (-1 * mm, 1 * mm), (6 * mm, 7 * mm),
                                               (1 * mm, 1.5 * mm)),))
    assert mesh_layout(shifted_in_y, MeshOptions(symmetry="half", target_size=2 * mm),
                       LIBRARY).ncells > 0
    with pytest.raises(ModelError, match=r"mesh.symmetry: 'quarter'.*about y = 0"):
        mesh_layout(shifted_in_y, MeshOptions(symmetry="quarter"), LIBRARY)


def test_extra_grid_lines_are_added_and_the_volumes_kept():
    """``lines``: an extra x line (7.3 mm, inside the mold strip) is a grid line; one within
    1e-6 of the span of a box face (8 mm + 1 nm) and one outside the quarter (-3 mm) are
    not (no sliver cell); the part volumes stay the boxes' (exact_part_volumes)."""
    options = MeshOptions(symmetry="quarter", target_size=1.5 * mm)
    plain = mesh_layout(LAYOUT, options, LIBRARY)
    lined = mesh_layout(LAYOUT, options, LIBRARY, lines=([7.3 * mm, 8 * mm + 1e-9, -3 * mm],))
    added = np.setdiff1d(lined.axes[0], plain.axes[0])
    assert np.any(np.isclose(lined.axes[0], 7.3 * mm, rtol=0, atol=1e-15))
    assert np.all(np.diff(lined.axes[0]) > 1e-3 * mm) and np.all(lined.axes[0] >= 0)
    assert len(added) >= 1 and np.array_equal(lined.axes[1], plain.axes[1])
    expected = exact_part_volumes(LAYOUT, 3, "quarter")
    got = np.bincount(lined.cell_part, lined.cell_volumes, minlength=len(lined.parts))
    for i, part in enumerate(lined.parts):
        assert got[i] == pytest.approx(expected.get(part, 0.0), rel=1e-12, abs=1e-30), part


def test_cell_limit_is_checked_before_building():
    with pytest.raises(ModelError, match=r"mesh.max_cells: this mesh would have about 1.8e\+06 "
                                         r"cells \(200 x 200 x 45 grid\)"):
        mesh_layout(LAYOUT, MeshOptions(target_size=0.1 * mm, max_cells=1000), LIBRARY)


@pytest.mark.parametrize("target, min_cells, growth", [
    (0.5 * mm, 1, 1.3), (0.1 * mm, 2, 1.3), (2 * mm, 3, 1.01), (0.3 * mm, 1, 3.0)])
def test_estimate_counts_the_cells_axis_grid_makes(target, min_cells, growth):
    """The closed-form count equals the built grid's, interval by interval."""
    breakpoints = np.array([-10, -8, -7, -5, -0.2, 0.2, 5, 7, 8, 10]) * mm
    lines = axis_grid(breakpoints, target, min_cells, growth)
    built = np.diff(np.searchsorted(lines, breakpoints))
    np.testing.assert_array_equal(estimated_cells(breakpoints, target, min_cells, growth), built)


def test_sizes_at_breaks_equal_the_pairwise_minimum():
    x = np.sort(np.random.default_rng(3).uniform(0, 20e-3, 40))
    cap = np.minimum(0.5e-3, np.diff(x))
    at_break = np.minimum(np.r_[cap, np.inf], np.r_[np.inf, cap])
    table = np.min(at_break[None, :] + 0.3 * np.abs(x[:, None] - x[None, :]), axis=1)
    np.testing.assert_allclose(_sizes_at_breaks(x, cap, 0.3), table, rtol=1e-12)


@pytest.mark.parametrize("options, advice", [
    (dict(target_size=1e-9), "raise mesh.target_size (now 1e-06 mm)"),
    (dict(min_cells_per_layer=10**9), "lower mesh.min_cells_per_layer (now 1000000000)"),
    (dict(min_cells_per_feature=10**5), "lower mesh.min_cells_per_feature (now 100000)")])
def test_absurd_meshes_are_refused_at_once_without_allocating(options, advice):
    """Refused from the breakpoints in milliseconds, with a peak of a few MB: the grid
    lines (billions here) are never made."""
    import time
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ModelError, match="mesh.max_cells: this mesh would have about") as error:
        mesh_layout(LAYOUT, MeshOptions(**options), LIBRARY)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 20e6
    assert advice in str(error.value) and "GB" in str(error.value)


@pytest.mark.parametrize("boxes, dimension, message", [
    ([("lid", (5, 6), (-5, 5), (1, 2))], 3, "part 'lid' touches the rest of the package only "
                                            "along an edge or at a corner"),
    ([("cap", (5, 6), (5, 6), (1, 2))], 3, "part 'cap' touches"),
    ([("cap", (5, 6), (-5, 5), (1, 2))], 2, "part 'cap' touches"),
    ([("sink", (-5, 5), (-5, 5), (1.5, 2))], 3, "part 'sink' has no contact"),
    ([("board", (7, 9), (-5, 5), (0, 1)), ("chip", (7.5, 8.5), (-1, 1), (1, 1.5))], 3,
     "parts 'board', 'chip' have no contact")])
def test_parts_without_a_shared_face_are_refused(boxes, dimension, message):
    base = Box("base", "fr4", (-5 * mm, 5 * mm), (-5 * mm, 5 * mm), (0, 1 * mm))
    layout = Layout((base, *(Box(name, "copper", *((a * mm, b * mm) for a, b in extent))
                             for name, *extent in boxes)))
    with pytest.raises(ModelError, match=f"package: {message}"):
        mesh_layout(layout, MeshOptions(dimension=dimension, target_size=1 * mm), LIBRARY)


def test_parts_sharing_a_face_anywhere_are_connected():
    """A lid on a corner of the base shares a face: fine, as is a chain base-die-sink."""
    layout = Layout((Box("base", "fr4", (-5 * mm, 5 * mm), (-5 * mm, 5 * mm), (0, 1 * mm)),
                     Box("die", "silicon", (4 * mm, 6 * mm), (4 * mm, 6 * mm), (1 * mm, 2 * mm)),
                     Box("sink", "copper", (5.5 * mm, 7 * mm), (5.5 * mm, 7 * mm),
                         (2 * mm, 3 * mm))))
    package = mesh_layout(layout, MeshOptions(target_size=1 * mm), LIBRARY)
    assert set(package.mesh.subdomains) == {"base", "die", "sink"}


@pytest.mark.parametrize("field, value, message", [
    ("dimension", 4, "must be 2 or 3"), ("symmetry", "eighth", "must be one of"),
    ("target_size", -1e-3, "must be > 0, got -1 mm"), ("min_cells_per_layer", 0, ">= 1"),
    ("growth", 0.9, "must be in"), ("growth", 1 + 1e-10, r"must be in \[1.01, 3\], got "
                                                         r"1.0000000001"),
    ("element_order", 3, "must be 1 or 2")])
def test_bad_options(field, value, message):
    with pytest.raises(ModelError, match=f"mesh.{field}: .*{message}"):
        MeshOptions(**{field: value})
