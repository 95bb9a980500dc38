"""The finite-element core (thermomech.fem): spaces, constraints, the solve verb, and both
physics on imported (non-box) meshes through it."""

import numpy as np
import pytest
import scipy.sparse as sp
import skfem

from thermomech.errors import ModelError
from thermomech.fem import constraints
from thermomech.fem.solve import solve
from thermomech.fem.space import make_space, space_of
from thermomech.geometry import Box, Layout
from thermomech.material_library import LIBRARY
from thermomech.mechanical_loads import MechanicalLoads, Support
from thermomech.mechanical_metrics import surface_warpage
from thermomech.mechanics import solve_warpage
from thermomech.mesh_import import import_mesh
from thermomech.meshing import MeshOptions, mesh_layout, skfem_facets

SI, CU = LIBRARY["silicon"], LIBRARY["copper"]


def bilayer(target=0.5e-3, layers=2):
    """Copper on silicon, 2 x 2 mm, 0.1 + 0.2 mm: a native box mesh."""
    layout = Layout((Box("si", "si", (-1e-3, 1e-3), (-1e-3, 1e-3), (0, 1e-4)),
                     Box("cu", "copper", (-1e-3, 1e-3), (-1e-3, 1e-3), (1e-4, 3e-4))))
    options = MeshOptions(target_size=target, min_cells_per_layer=layers)
    return mesh_layout(layout, options, {"si": SI, "copper": CU})


def imported(mesh: skfem.Mesh, native):
    """The same parts and materials on ``mesh`` as an imported package (no tensor grid)."""
    return import_mesh(mesh, native.part_materials, native.materials)


def tet_mesh(native):
    """Tetrahedra on the native mesh's vertices (each hexahedron split in six)."""
    mesh = skfem.MeshTet.init_tensor(*native.axes)
    centres = mesh.p[:, mesh.t].mean(axis=1)
    return mesh.with_subdomains({"si": np.flatnonzero(centres[2] < 1e-4),
                                 "cu": np.flatnonzero(centres[2] > 1e-4)})


CLAMP = MechanicalLoads(stress_free_temperature={"default": 125.0}, temperature=25.0,
                        supports=(Support("bottom", "xyz"),))


# --- supports on named surfaces of any mesh -------------------------------------------------

@pytest.mark.parametrize("kind", ["hex", "tet"])
def test_bottom_support_holds_exactly_the_bottom_facet_dofs(kind):
    native = bilayer()
    mesh = native.mesh if kind == "hex" else tet_mesh(native)
    package = imported(mesh, native)
    space = space_of(package, skfem.ElementVector(mesh.elem()), 2)
    assert not space.is_box
    dofs = constraints.face_dofs(space, package.surfaces["bottom"])
    on_bottom = np.flatnonzero(np.isclose(space.doflocs[2], 0.0, rtol=0, atol=1e-12))
    assert np.array_equal(dofs, on_bottom)  # every dof of z = 0 and nothing else
    z_only = constraints.face_dofs(space, package.surfaces["bottom"], component=2)
    assert np.array_equal(z_only, on_bottom[space.components[on_bottom] == 2])
    result = solve_warpage(package, CLAMP, order=1)  # tetrahedra: no "Incompatible Mesh"
    held = np.abs(result.displacement[on_bottom]).max()
    assert held == 0.0 and np.abs(result.displacement).max() > 1e-7


def test_face_dofs_of_box_faces_equal_facet_dofs():
    """The box fast path and scikit-fem's facet dofs agree on a native mesh."""
    native = bilayer()
    space = space_of(native, skfem.ElementVector(skfem.ElementHexS2()), 4)
    faces = native.surfaces["bottom"]
    as_facets = type(faces)(faces.cells, faces.sides, skfem_facets(native, faces))
    for component in (None, 0, 2):
        assert np.array_equal(constraints.face_dofs(space, faces, component),
                              constraints.face_dofs(space, as_facets, component))


@pytest.mark.parametrize("order", [1, 2])
def test_imported_hex_mesh_warps_like_the_native_model(order):
    """The native box mesh re-imported (generic path, supports from facets) gives the
    native warpage: same mesh, same elements, so equal up to the round-off of a
    different assembly order (condition ~1e9 for thin layers: 1e-7 relative). Before the
    facet supports, the imported clamp held the nodes one cell up (23 % low)."""
    native = bilayer()
    ours = solve_warpage(native, CLAMP, order=order)
    theirs = solve_warpage(imported(native.mesh, native), CLAMP, order=order)
    assert ours.stats["rigid_modes_removed"] == theirs.stats["rigid_modes_removed"] == 0
    scale = np.abs(ours.displacement).max()
    assert np.abs(ours.displacement - theirs.displacement).max() < 1e-7 * scale
    assert surface_warpage(theirs, "top").peak_to_valley == pytest.approx(
        surface_warpage(ours, "top").peak_to_valley, rel=1e-7)


def test_vertex_temperature_on_a_tet_mesh():
    """A temperature given per vertex uses the mesh's own P1 element: a uniform vertex
    field is the uniform load, a linear one is exact on P1."""
    native = bilayer()
    package = imported(tet_mesh(native), native)
    loads = MechanicalLoads(stress_free_temperature={"default": 125.0})
    uniform = solve_warpage(package, loads, temperature=60.0, order=1)
    nodes = package.mesh.p.shape[1]
    field = solve_warpage(package, loads, temperature=np.full(nodes, 60.0), order=1)
    scale = np.abs(uniform.displacement).max()
    assert np.abs(field.displacement - uniform.displacement).max() < 1e-9 * scale
    linear = 60.0 + 1e5 * package.mesh.p[2]
    points = np.array([[0.3e-3], [0.2e-3], [1.5e-4]])
    result = solve_warpage(package, loads, temperature=linear, order=1)
    assert result.temperature_at(points)[0] == pytest.approx(60.0 + 1e5 * 1.5e-4, rel=1e-12)
    with pytest.raises(ModelError, match="mechanical.temperature"):
        solve_warpage(package, loads, temperature=np.zeros(nodes + 1))


# --- spaces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("element", [skfem.ElementTetP1(), skfem.ElementTetP2()])
def test_point_evaluation_matches_scikit_fem_probes(element):
    native = bilayer()
    mesh = tet_mesh(native)
    space = make_space(mesh, element, 2)
    values = np.sin(3e3 * space.doflocs[0]) + space.doflocs[2] * 1e3
    rng = np.random.default_rng(0)
    points = rng.uniform([-1e-3, -1e-3, 0], [1e-3, 1e-3, 3e-4], size=(20, 3)).T
    expected = skfem.Basis(mesh, element).probes(points) @ values
    assert np.allclose(space.point_matrix(points) @ values, expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(space.evaluate(values, points)[0], expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ModelError, match="probe"):
        space.locate(np.array([[5e-3], [0.0], [0.0]]), field="probe")


def test_box_locate_keeps_points_on_a_face_next_to_a_void():
    """A point on the grid line between a cell and a void (the side face of a ball, the cut
    face of a submodel on it) belongs to the cell, whichever side the void is on; a point
    inside the void or off the mesh is refused, naming the field."""
    from thermomech.fem.space import BoxCells

    axes = (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    grid = np.array([[0, -1], [-1, 1]])  # cells at (0, 0) and (1, 1), voids elsewhere
    box = BoxCells(axes, grid, np.array([[0, 1], [0, 1]]))
    points = np.array([[0.5, 1.0, 1.0, 1.0, 2.0, 1.5, 0.0],
                       [0.5, 0.5, 1.0, 1.5, 2.0, 1.0, 1.0]])
    # (1, 1) touches both cells: the + side one, as before; (1, 0.5) and (0, 1) only cell 0
    np.testing.assert_array_equal(box.locate(points), [0, 0, 1, 1, 1, 1, 0])
    with pytest.raises(ModelError, match="probe.*void"):
        box.locate(np.array([[1.5], [0.5]]), field="probe")
    with pytest.raises(ModelError, match="probe.*outside"):
        box.locate(np.array([[2.5], [0.5]]), field="probe")


@pytest.mark.parametrize("element", [skfem.ElementHex2(), skfem.ElementHex1()])
def test_vector_gradient_from_the_scalar_basis_is_scikit_fems(element):
    """Space.gradient (scalar gradients and one einsum, no vector basis) against scikit-fem's
    vector basis, on the active cells of a restricted space too: the same sums of the same
    products, equal to round-off (1e-12 of the largest entry)."""
    native = bilayer()
    for space in (space_of(native, skfem.ElementVector(element), 2),
                  space_of(native, skfem.ElementVector(element), 2).restricted(
                      native.part_cells("si"))):
        values = np.sin(np.arange(space.N) * 0.37)
        expected = space.basis.interpolate(values).grad
        got = space.gradient(values)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-12 * np.abs(expected).max()


def test_space_is_lazy_and_restricts_to_active_cells():
    native = bilayer()
    space = space_of(native, skfem.ElementHex1(), 2)
    assert space.is_box and "basis" not in vars(space)
    si = native.part_cells("si")
    sub = space.restricted(si)
    assert np.array_equal(sub.element_dofs, space.element_dofs[:, si])
    assert np.array_equal(sub.active_dofs, np.unique(space.element_dofs[:, si]))
    mass = skfem.BilinearForm(lambda u, v, w: u * v)
    whole = mass.assemble(space.basis)
    part = mass.assemble(sub.basis)  # only the silicon cells
    volume = 2e-3 * 2e-3 * 1e-4
    assert part.sum() == pytest.approx(volume, rel=1e-12)
    assert whole.sum() == pytest.approx(3 * volume, rel=1e-12)


def test_box_space_grid_and_dof_locations():
    native = bilayer()
    space = space_of(native, skfem.ElementVector(skfem.ElementHexS2()), 4)
    basis = skfem.Basis(native.mesh, space.elem, intorder=1)
    assert np.allclose(space.doflocs, basis.doflocs, rtol=0, atol=1e-15)
    grid = space.grid
    assert grid.ncomp == 3 and grid.reach == 2 and len(grid.node) == space.N
    positions = np.array([grid.axes[a][np.unravel_index(grid.node, grid.shape)[a]]
                          for a in range(3)])
    assert np.allclose(positions, space.doflocs, rtol=0, atol=1e-15)


# --- the solve verb and constraints ---------------------------------------------------------

def test_solve_with_nonzero_dirichlet_values_matches_scikit_fem():
    mesh = skfem.MeshQuad().refined(3)
    basis = skfem.Basis(mesh, skfem.ElementQuad2())
    K = skfem.BilinearForm(lambda u, v, w: u.grad[0] * v.grad[0] + u.grad[1] * v.grad[1]
                           ).assemble(basis)
    F = skfem.LinearForm(lambda v, w: 1.0 * v).assemble(basis)
    fixed = basis.get_dofs().all()
    values = basis.doflocs[0, fixed] ** 2
    x = np.zeros(basis.N)
    x[fixed] = values
    expected = skfem.solve(*skfem.condense(K, F, x=x, D=fixed))
    ours = solve(K, F, np.sort(fixed), values[np.argsort(fixed)], solver="direct")
    assert np.allclose(ours.x, expected, rtol=1e-10, atol=1e-12)
    assert np.allclose(ours.reactions, K @ ours.x - F, atol=1e-10)
    assert abs(ours.reactions[ours.free]).max() < 1e-10


def test_minimal_supports_remove_the_rigid_motion_only():
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1, size=(3, 30))
    locations, components = np.repeat(points, 3, axis=1), np.tile(np.arange(3), 30)
    held, free = constraints.supports_removing_rigid_motion(locations, components,
                                                            np.zeros(0, dtype=np.int64))
    R = constraints.rigid_body_modes(locations, components)
    assert len(held) == 6 and np.linalg.matrix_rank(R[held]) == 6 and free.shape[1] == 6
    fixed = np.flatnonzero(components == 2)  # every z held: x, y and rotation about z free
    held, free = constraints.supports_removing_rigid_motion(locations, components, fixed)
    assert len(held) == 3 and free.shape[1] == 3
    assert np.linalg.matrix_rank(free[np.union1d(fixed, held)]) == 3


def test_condense_is_the_two_step_indexing():
    K = sp.random(40, 40, density=0.2, random_state=2, format="csr")
    K = (K + K.T).tocsr()
    fixed = np.array([3, 7, 8, 20])
    free = np.setdiff1d(np.arange(40), fixed)[::-1]
    block, rows = constraints.condense(K, free, fixed, chunk=17)
    assert np.array_equal(block.toarray(), K[free][:, free].toarray())
    assert np.array_equal(rows.toarray(), K[fixed].toarray())
