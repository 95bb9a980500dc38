"""Closed-form cell matrices on straight simplices (fem.simplex) against scikit-fem's forms."""

import numpy as np
import pytest
import skfem

from thermomech.elasticity import voigt_strain
from thermomech.fem import simplex
from thermomech.fem.assembly import GENERIC, SIMPLEX, choose_assembly
from thermomech.fem.space import make_space
from thermomech.mechanics import generic_stiffness

# round-off of sums of a few hundred terms; scikit-fem's quadrature is exact for these
# polynomial integrands, so the two differ only by the order of the additions
ROUND_OFF = 1e-13


def _distorted(mesh_class, refinements):
    mesh = (skfem.MeshTet() if mesh_class is skfem.MeshTet1 else skfem.MeshTri()).refined(
        refinements)
    rng = np.random.default_rng(1)
    return mesh_class(mesh.p + 0.03 * rng.standard_normal(mesh.p.shape), mesh.t)


CASES = [(skfem.MeshTet1, skfem.ElementTetP1, 2), (skfem.MeshTet1, skfem.ElementTetP2, 1),
         (skfem.MeshTri1, skfem.ElementTriP1, 3), (skfem.MeshTri1, skfem.ElementTriP2, 2)]


def _relative(a, b):
    a, b = (x.toarray() if hasattr(x, "toarray") else x for x in (a, b))
    return np.abs(a - b).max() / np.abs(a).max()


def _cell_field(basis, values):
    return np.repeat(values[:, None], basis.X.shape[-1], axis=1)


@pytest.mark.parametrize("mesh_class, element, refinements", CASES)
def test_scalar_terms_equal_scikit_fem_forms(mesh_class, element, refinements):
    mesh = _distorted(mesh_class, refinements)
    rng = np.random.default_rng(2)
    dim, cells = mesh.dim(), mesh.t.shape[1]
    space = make_space(mesh, element(), 4)
    basis = skfem.Basis(mesh, element(), intorder=4)
    k, c = rng.uniform(1, 3, (dim, cells)), rng.uniform(1, 2, cells)

    @skfem.BilinearForm
    def diffusion(u, v, w):
        return sum(w[f"k{p}"] * u.grad[p] * v.grad[p] for p in range(dim))

    expected = diffusion.assemble(basis, **{f"k{p}": _cell_field(basis, k[p])
                                            for p in range(dim)})
    assert _relative(expected, simplex.diffusion(space, k)) < ROUND_OFF
    w = _cell_field(basis, c)
    mass = skfem.BilinearForm(lambda u, v, w: w["c"] * u * v).assemble(basis, c=w)
    assert _relative(mass, simplex.mass(space, c)) < ROUND_OFF
    load = skfem.LinearForm(lambda v, w: w["c"] * v).assemble(basis, c=w)
    assert _relative(load, simplex.source(space, c)) < ROUND_OFF
    volumes = skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).elemental(basis)
    assert _relative(volumes, simplex.cell_volumes(mesh)) < ROUND_OFF


@pytest.mark.parametrize("mesh_class, element, refinements", CASES)
def test_elasticity_and_stress_load_equal_scikit_fem_forms(mesh_class, element, refinements):
    mesh = _distorted(mesh_class, refinements)
    rng = np.random.default_rng(3)
    dim, cells = mesh.dim(), mesh.t.shape[1]
    nv = 6 if dim == 3 else 3
    vector = skfem.ElementVector(element(), dim)
    space, basis = make_space(mesh, vector, 4), skfem.Basis(mesh, vector, intorder=4)
    D = rng.uniform(0, 1, (cells, nv, nv))
    D = D + D.transpose(0, 2, 1)
    assert _relative(generic_stiffness(basis, D), simplex.elasticity(space, D)) < ROUND_OFF
    stress = rng.uniform(-1, 1, (nv, cells))
    fields = {f"s{i}": _cell_field(basis, stress[i]) for i in range(nv)}
    load = skfem.LinearForm(lambda v, w: sum(
        w[f"s{i}"] * voigt_strain(v.grad)[i] for i in range(nv))).assemble(basis, **fields)
    assert _relative(load, simplex.stress_load(space, stress)) < ROUND_OFF


def test_active_cells_and_the_choice_of_strategy():
    mesh = _distorted(skfem.MeshTet1, 2)
    space = make_space(mesh, skfem.ElementTetP1(), 2)
    assert choose_assembly(space) is SIMPLEX and choose_assembly(space, "generic") is GENERIC
    hexes = make_space(skfem.MeshHex1(), skfem.ElementHex1(), 2)
    assert not simplex.supports(hexes) and choose_assembly(hexes) is GENERIC
    active = np.arange(0, mesh.t.shape[1], 3)
    sub = make_space(mesh, skfem.ElementTetP1(), 2).restricted(active)
    basis = skfem.Basis(mesh, skfem.ElementTetP1(), intorder=2, elements=active)
    expected = skfem.BilinearForm(lambda u, v, w: u * v).assemble(basis)
    assert _relative(expected, simplex.mass(sub, 1.0)) < ROUND_OFF


def test_vertex_prolongation_interpolates_linear_fields_exactly():
    mesh = _distorted(skfem.MeshTet1, 2)
    space = make_space(mesh, skfem.ElementVector(skfem.ElementTetP2(), 3), 4)
    P = simplex.vertex_prolongation(space)
    field = np.array([1 + 2 * mesh.p[0], 3 - mesh.p[1], mesh.p[2] - mesh.p[0]])
    expected = np.array([1 + 2 * space.doflocs[0], 3 - space.doflocs[1],
                         space.doflocs[2] - space.doflocs[0]])[space.components,
                                                               np.arange(space.N)]
    assert np.abs(P @ field.T.ravel() - expected).max() < 1e-14


@pytest.mark.parametrize("supports", [(), (("bottom", "xyz"),)])
def test_quadratic_tet_warpage_two_level_equals_direct(monkeypatch, supports):
    from test_fem import bilayer, imported, tet_mesh

    from thermomech import linear_solvers
    from thermomech.mechanical_loads import MechanicalLoads, Support
    from thermomech.mechanics import solve_warpage

    native = bilayer()
    package = imported(tet_mesh(native), native)
    loads = MechanicalLoads(stress_free_temperature={"default": 125.0}, temperature=25.0,
                            supports=tuple(Support(s, d) for s, d in supports))
    direct = solve_warpage(package, loads, order=2, solver="direct")
    monkeypatch.setattr(linear_solvers, "DIRECT_LIMIT", 0)  # auto past the direct factor
    iterative = solve_warpage(package, loads, order=2)
    assert iterative.stats["linear_solver"]["method"] == "cg-two-level"
    scale = np.abs(direct.displacement).max()
    # CG to a relative residual of 1e-9 (ITERATIVE_TOLERANCE); the field agrees to about
    # the condition number times that
    assert np.abs(iterative.displacement - direct.displacement).max() < 1e-6 * scale


@pytest.mark.parametrize("element", [skfem.ElementTetP1, skfem.ElementTetP2])
def test_cell_means_on_tets_equal_the_quadrature_means(element):
    from thermomech.heat_problem import cell_mean

    mesh = _distorted(skfem.MeshTet1, 2)
    space = make_space(mesh, element(), 4)
    field = np.sin(3 * space.doflocs[0]) + space.doflocs[1] * space.doflocs[2]
    basis = skfem.Basis(mesh, element(), intorder=4)
    integral = skfem.Functional(lambda w: w["T"]).elemental(basis, T=basis.interpolate(field))
    volume = skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).elemental(basis)
    assert _relative(integral / volume, cell_mean(space, field)) < ROUND_OFF
