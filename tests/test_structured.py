"""The structured fast path equals scikit-fem's generic assembly to round-off."""

import numpy as np
import pytest
import skfem

from thermomech.fem import structured, unit_cell
from thermomech.fem.space import space_of
from thermomech.geometry import Box, Layout
from thermomech.material_library import LIBRARY
from thermomech.materials import elasticity_matrix
from thermomech.meshing import MeshOptions, mesh_layout, skfem_facets

mm = 1e-3
LAYOUT = Layout((
    Box("substrate", "bt_laminate", (-10 * mm, 10 * mm), (-8 * mm, 8 * mm), (0, 1 * mm)),
    Box("mold", "mold", (-10 * mm, 10 * mm), (-8 * mm, 8 * mm), (1 * mm, 2.85 * mm)),
    Box("die", "silicon", (-5 * mm, 4 * mm), (-5 * mm, 5 * mm), (1.1 * mm, 1.8 * mm)),
))
ELEMENTS = [(3, skfem.ElementHex1), (3, skfem.ElementHex2), (3, skfem.ElementHexS2),
            (2, skfem.ElementQuad1), (2, skfem.ElementQuad2)]
ROUND_OFF = 1e-13  # relative to the largest entry: sums of a few dozen terms in double precision


def relative(a, b):
    return abs(a - b).max() / abs(b).max()


def p0(basis, values):
    return basis.with_element(skfem.ElementHex0() if basis.mesh.dim() == 3
                              else skfem.ElementQuad0()).interpolate(values)


@pytest.fixture(scope="module", params=ELEMENTS, ids=lambda e: e[1].__name__)
def case(request):
    dim, element = request.param
    package = mesh_layout(LAYOUT, MeshOptions(dimension=dim, target_size=2.5 * mm), LIBRARY)
    return package, element()


def test_diffusion_and_mass_equal_generic(case):
    package, element = case
    basis = skfem.Basis(package.mesh, element, intorder=4)
    dim = package.dimension
    axes = (0, 1, 2) if dim == 3 else (0, 2)
    k = np.array([package.material_values(
        lambda m, a=a: np.broadcast_to(m.conductivity, (3,))[a]) for a in axes])
    fields = {f"k{a}": p0(basis, k[a]) for a in range(dim)}
    generic = skfem.BilinearForm(
        lambda u, v, w: sum(w[f"k{a}"] * u.grad[a] * v.grad[a] for a in range(dim)))
    assert relative(structured.assemble_diffusion(package, basis, k),
                    generic.assemble(basis, **fields)) < ROUND_OFF
    c = package.material_values(lambda m: m.density * m.specific_heat)
    mass = skfem.BilinearForm(lambda u, v, w: w["c"] * u * v).assemble(basis, c=p0(basis, c))
    assert relative(structured.assemble_mass(package, basis, c), mass) < ROUND_OFF
    source = skfem.LinearForm(lambda v, w: w["q"] * v).assemble(basis, q=p0(basis, c))
    assert relative(structured.assemble_source(package, basis, c), source) < ROUND_OFF


def test_boundary_terms_equal_generic(case):
    package, element = case
    basis = skfem.Basis(package.mesh, element, intorder=4)
    faces = package.surface("top")
    fb = skfem.FacetBasis(package.mesh, element, facets=skfem_facets(package, faces),
                          intorder=4)
    robin = skfem.BilinearForm(lambda u, v, w: 7.0 * u * v).assemble(fb)
    assert relative(structured.assemble_boundary_mass(package, basis, faces, 7.0),
                    robin) < ROUND_OFF
    load = skfem.LinearForm(lambda v, w: 3.0 * v).assemble(fb)
    assert relative(structured.assemble_boundary_load(package, basis, faces, 3.0),
                    load) < ROUND_OFF


def test_elasticity_equals_generic(case):
    package, element = case
    basis = skfem.Basis(package.mesh, skfem.ElementVector(element), intorder=4)
    dim = package.dimension
    D = np.array([elasticity_matrix(package.cell_material(p)) for p in package.parts])
    D = D[package.cell_part]
    if dim == 2:  # plane strain rows/columns xx, zz, xz of the 3D matrix
        D = D[:, [0, 2, 4]][:, :, [0, 2, 4]]
    voigt = structured.VOIGT_3D if dim == 3 else structured.VOIGT_2D
    nv = D.shape[1]
    fields = {f"d{i}{j}": p0(basis, D[:, i, j]) for i in range(nv) for j in range(nv)}

    def strain(u):
        out = [None] * nv
        for (a, q), i in voigt.items():
            if a <= q:
                out[i] = u.grad[a][q] if a == q else u.grad[a][q] + u.grad[q][a]
        return out

    @skfem.BilinearForm
    def form(u, v, w):
        eu, ev = strain(u), strain(v)
        return sum(w[f"d{i}{j}"] * eu[j] * ev[i] for i in range(nv) for j in range(nv))

    assert relative(structured.assemble_elasticity(package, basis, D),
                    form.assemble(basis, **fields)) < ROUND_OFF


def test_space_numbers_dofs_like_basis(case):
    package, element = case
    for e in (element, skfem.ElementVector(element)):
        basis, space = skfem.Basis(package.mesh, e), space_of(package, e, 2)
        assert space.N == basis.N
        assert np.array_equal(space.element_dofs, basis.element_dofs)


def test_face_dofs_lie_on_the_face(case):
    package, element = case
    basis = space_of(package, skfem.ElementVector(element), 2)
    dim = package.dimension
    dofs = structured.face_dofs(basis, package.surface("bottom"), component=dim - 1)
    assert np.allclose(basis.doflocs[dim - 1, dofs], 0.0)
    assert set(basis.components[dofs]) == {dim - 1}
    # every dof of the generic basis on the bottom plane, z component, is found
    on_plane = np.flatnonzero(np.isclose(basis.doflocs[dim - 1], 0.0))
    z_dofs = on_plane[basis.components[on_plane] == dim - 1]
    assert np.array_equal(np.sort(dofs), np.sort(z_dofs))


def _generic_stress_load(basis, density):
    """scikit-fem's ∫ eps(v) . s, s (nv, cells, points) in the Voigt order of the module."""
    nv = density.shape[0]
    voigt = structured.VOIGT_3D if nv == 6 else structured.VOIGT_2D
    fields = {f"s{i}": np.ascontiguousarray(density[i]) for i in range(nv)}

    @skfem.LinearForm
    def form(v, w):
        # each (a, p) pair once: engineering shears pair s_ap with dv_a/dx_p + dv_p/dx_a
        return sum(w[f"s{voigt[(a, p)]}"] * v.grad[a][p] for (a, p) in voigt)

    return form.assemble(basis, **fields)


def test_stress_load_equals_generic(case):
    package, element = case
    basis = skfem.Basis(package.mesh, skfem.ElementVector(element), intorder=4)
    space = space_of(package, skfem.ElementVector(element), 2)
    nv = 6 if package.dimension == 3 else 3
    rng = np.random.default_rng(1)
    stress = rng.normal(size=(nv, package.ncells)) * 1e6
    generic = _generic_stress_load(basis, np.repeat(stress[:, :, None], basis.X.shape[1], 2))
    assert relative(structured.assemble_stress_load(package, space, stress), generic) < ROUND_OFF


@pytest.mark.parametrize("order", [1, 2])
def test_stress_load_of_a_temperature_field_equals_generic(case, order):
    package, element = case
    dim = package.dimension
    basis = skfem.Basis(package.mesh, skfem.ElementVector(element), intorder=4)
    scalar = {(3, 1): skfem.ElementHex1, (3, 2): skfem.ElementHex2,
              (2, 1): skfem.ElementQuad1, (2, 2): skfem.ElementQuad2}[(dim, order)]()
    tbasis = skfem.Basis(package.mesh, scalar, quadrature=basis.quadrature)
    nv = 6 if dim == 3 else 3
    rng = np.random.default_rng(2)
    T = rng.uniform(20.0, 260.0, tbasis.N)
    rate = rng.normal(size=(nv, package.ncells)) * 1e4
    offset = rng.normal(size=(nv, package.ncells)) * 1e6
    Tq = np.asarray(tbasis.interpolate(T))  # (cells, points)
    generic = _generic_stress_load(basis, rate[:, :, None] * Tq + offset[:, :, None])
    space = space_of(package, skfem.ElementVector(element), 2)
    fast = structured.assemble_stress_load_field(package, space, rate, offset, tbasis, T)
    assert relative(fast, generic) < ROUND_OFF
    # a subset of cells assembles those cells only; the two halves add up to the whole
    half = np.arange(0, package.ncells, 2)
    rest = np.arange(1, package.ncells, 2)
    parts = [structured.assemble_stress_load_field(package, space, rate[:, c], offset[:, c],
                                                   tbasis, T, cells=c) for c in (half, rest)]
    assert relative(parts[0] + parts[1], generic) < ROUND_OFF


def test_dof_locations_equal_basis(case):
    package, element = case
    e = skfem.ElementVector(element)
    basis, space = skfem.Basis(package.mesh, e), space_of(package, e, 2)
    assert np.allclose(space.doflocs, basis.doflocs, rtol=0,
                       atol=1e-15)


def test_negative_lebesgue_bounds_the_field():
    assert unit_cell.negative_lebesgue(skfem.ElementHex1()) == 0.0
    # 1D quadratic Lagrange: sum_j |l_j| <= 5/4 on [0, 1]; the tensor product has
    # sum |psi_j| <= (5/4)^3 and sum psi_j = 1, so its negative part is <= ((5/4)^3 - 1) / 2
    quad = unit_cell.negative_lebesgue(skfem.ElementHex2())
    assert 0.0 < quad <= (1.25**3 - 1) / 2


def test_lean_elasticity_equals_assemble_elasticity(case, monkeypatch):
    package, element = case
    space = space_of(package, skfem.ElementVector(element), 2)
    D = np.array([elasticity_matrix(package.cell_material(p)) for p in package.parts])
    D = D[package.cell_part]
    if package.dimension == 2:
        D = D[:, [0, 2, 4]][:, :, [0, 2, 4]]
    reference = structured.assemble_elasticity(package, space, D)
    assert relative(structured.assemble_elasticity_lean(package, space, D), reference) < ROUND_OFF
    monkeypatch.setattr(structured, "LEAN_CHUNK_ENTRIES", 5000)  # many chunks, same sums
    assert relative(structured.assemble_elasticity_lean(package, space, D), reference) < ROUND_OFF


def test_elasticity_product_of_some_cells_equals_their_assembled_matrix(case, monkeypatch):
    # the birth load of a process step: K of one part's cells times a displacement
    package, element = case
    space = space_of(package, skfem.ElementVector(element), 2)
    D = _stiffness_matrices(package)
    cells = np.flatnonzero(package.cell_part == list(package.parts).index("die"))
    only = np.zeros_like(D)
    only[cells] = D[cells]
    u = np.random.default_rng(1).standard_normal(space.N)
    reference = structured.assemble_elasticity(package, space, only) @ u
    monkeypatch.setattr(structured, "PRODUCT_CHUNK_CELLS", 7)  # several chunks, same sums
    got = structured.elasticity_product(package, space, D[cells], u, cells)
    assert relative(got, reference) < ROUND_OFF


def _stiffness_matrices(package):
    D = np.array([elasticity_matrix(package.cell_material(p)) for p in package.parts])
    D = D[package.cell_part]
    return D if package.dimension == 3 else D[:, [0, 2, 4]][:, :, [0, 2, 4]]


@pytest.mark.parametrize("threads", [1, 2])
def test_grid_blocks_equal_condensed_coo(case, threads, monkeypatch):
    """Elasticity assembled straight into the free block (any order) and the fixed rows
    equals the COO assembly condensed; bitwise the same for any thread count."""
    from thermomech.fem import grid_assembly
    from thermomech.fem import space as fem_space
    from thermomech.fem.constraints import condense

    package, element = case
    monkeypatch.setenv("THERMOMECH_NUM_THREADS", str(threads))
    monkeypatch.setattr(grid_assembly, "CELL_BLOCK", 64)  # many blocks of cells
    basis = space_of(package, skfem.ElementVector(element), 2)
    D = _stiffness_matrices(package)
    K = structured.assemble_elasticity(package, basis, D)
    grid = fem_space.element_grid(package.axes, package.cell_index, package.mesh, element,
                                  package.dimension)
    rng = np.random.default_rng(5)
    fixed = np.sort(rng.choice(basis.N, basis.N // 7, replace=False))
    free = rng.permutation(np.setdiff1d(np.arange(basis.N), fixed))
    block, rows = structured.elasticity_blocks(package, basis, D, grid, free, fixed)
    reference_block, reference_rows = condense(K, free, fixed)
    assert block.nnz == reference_block.nnz and rows.nnz == reference_rows.nnz
    assert relative(block, reference_block) < ROUND_OFF
    assert relative(rows, reference_rows) < ROUND_OFF
    one, _ = structured.elasticity_blocks(package, basis, D, grid, free, fixed)
    monkeypatch.setenv("THERMOMECH_NUM_THREADS", "1")
    serial, _ = structured.elasticity_blocks(package, basis, D, grid, free, fixed)
    assert np.array_equal(one.data, serial.data) and np.array_equal(one.indices, serial.indices)


def test_grid_assembly_refuses_a_grid_of_another_layout(case):
    from thermomech.fem import grid_assembly
    from thermomech.fem import space as fem_space

    package, element = case
    basis = space_of(package, element, 2)
    grid = fem_space.element_grid(package.axes, package.cell_index, package.mesh, element)
    shuffled = basis.element_dofs.copy()
    shuffled[:, 1:] = shuffled[::-1, 1:]  # every cell but the first in another local order
    n = basis.N
    with pytest.raises(ValueError, match="local dof layout"):
        grid_assembly.assemble_on_grid(shuffled, np.ones((shuffled.shape[1], 1)),
                                       np.ones((1,) + shuffled.shape[:1] * 2), grid,
                                       np.arange(n), np.arange(n), n, n)


def test_boundary_mass_of_faces_sharing_cells(case):
    """Faces of several sides of one cell (edges and corners of the box) are merged per
    cell before the grid assembly writes each row once per cell: equal to the COO build."""
    package, element = case
    basis = space_of(package, element, 2)
    names = [n for n in package.surfaces if not n.startswith("symmetry")]
    faces = package.surfaces[names[0]]
    for name in names[1:]:
        other = package.surfaces[name]
        faces = type(faces)(np.r_[faces.cells, other.cells], np.r_[faces.sides, other.sides],
                            None if faces.facets is None or other.facets is None
                            else np.r_[faces.facets, other.facets])
    assert len(np.unique(faces.cells)) < len(faces.cells)  # the case this test is about
    ref = unit_cell.reference(unit_cell.element_key(basis.elem))
    dofs = basis.element_dofs[:, faces.cells]
    coefficients = np.zeros((len(faces), 2 * ref["dim"]))
    coefficients[np.arange(len(faces)), faces.sides] = 1.0 + np.arange(len(faces)) % 7
    coo = structured._coo_chunks(dofs, coefficients, ref["face_mass"], basis.N)
    grid = structured._assemble(package, basis, dofs, coefficients, ref["face_mass"])
    assert relative(grid, coo) < ROUND_OFF
