"""Q1 heat systems written from stencils (thermomech.fem.stencil) equal the stored path.

The stored path assembles cell matrices (``fem.grid_assembly``), adds the convection matrix,
condenses and permutes into the multigrid's order, and forms coarse operators by sparse
products ``R (A P)``. The stencil path must give the same matrices to round-off (entries
are the same sums in another order) and the same temperatures to the solver tolerance.
Models: the flip-chip (thin layers, 1000:1 conductivity contrast) in 2D and 3D and the
stacked carriers (removed cells between the carriers), with and without fixed temperatures.
"""

import dataclasses

import numpy as np
import pytest
import skfem

from thermomech import thermal
from thermomech.fem import stencil, unit_cell
from thermomech.fem.constraints import free_dofs
from thermomech.fem.multigrid import Multigrid
from thermomech.fem.solve import solver_order
from thermomech.model_file import load_model, mesh_model
from thermomech.thermal_loads import FixedTemperature

CASES = [("meshes/flip_chip.toml", 2, 0.1e-3, True), ("meshes/flip_chip.toml", 3, 0.5e-3, False),
         ("meshes/stacked_carriers.toml", 3, 0.4e-3, True)]


@pytest.fixture(autouse=True)
def small_coarsest(monkeypatch):
    """Coarsen down to 150 unknowns so these small models get a real hierarchy."""
    monkeypatch.setattr("thermomech.fem.multigrid.COARSEST", 150)


def setup(path, dimension, target, fixed):
    model = load_model(path)
    options = dataclasses.replace(model.mesh, dimension=dimension, target_size=target,
                                  symmetry="quarter" if dimension == 3 else "half")
    package = mesh_model(model.with_values(mesh=options))
    loads = model.thermal
    if fixed:
        loads = dataclasses.replace(loads, fixed_temperature=(FixedTemperature("bottom", 40.0),))
    basis = thermal.thermal_space(package, 1)
    problem = thermal.assemble_problem(package, loads, basis, thermal.choose_assembly(basis))
    return package, loads, problem


def stored_and_stencil(problem, k):
    """The stored matrix (all dofs) and the stencil's blocks in the multigrid's order."""
    A = (problem.assembly.diffusion(problem.package, problem.basis, k) + problem.robin).tocsr()
    free, grid = solver_order(free_dofs(problem.basis.N, problem.fixed_dofs),
                              problem.basis.grid, "cg-gmg")
    K_free, K_fixed = thermal.stencil_system(problem, k)(free, problem.fixed_dofs)
    return A, free, grid, K_free, K_fixed


def relative(a, b) -> float:
    return abs(a - b).max() / abs(b).max()


@pytest.mark.parametrize("path, dimension, target, fixed", CASES)
def test_stencil_blocks_equal_the_assembled_matrix(path, dimension, target, fixed):
    """Free block (level order) and fixed rows equal the stored matrix's to round-off, with
    the same stored entries; a cell's conductivity doubled shows (the comparison can fail)."""
    package, _, problem = setup(path, dimension, target, fixed)
    if "stacked" in path:
        assert np.any(package.grid_cells < 0)  # removed cells
    k = thermal.conductivity_field(package)
    A, free, _, K_free, K_fixed = stored_and_stencil(problem, k)
    stored = A[free][:, free]
    assert K_free.nnz == stored.nnz
    assert relative(K_free, stored) < 1e-14
    if fixed:
        assert len(problem.fixed_dofs) and relative(K_fixed, A[problem.fixed_dofs]) < 1e-14
    changed = k.copy()
    changed[:, package.ncells // 2] *= 2.0
    _, _, _, other, _ = stored_and_stencil(problem, changed)
    assert relative(other, stored) > 1e-6


@pytest.mark.parametrize("kernel", ["csr_matvecs", "numpy"])
@pytest.mark.parametrize("path, dimension, target, fixed", CASES)
def test_stencil_coarse_operators_equal_the_galerkin_products(path, dimension, target, fixed,
                                                              kernel, monkeypatch):
    """Every level of the hierarchy from stencils equals ``R (A P)`` of the stored path
    (renormalized prolongation next to removed cells and fixed dofs included), also when
    the hierarchy is built a second time from the same matrix; a perturbed fine stencil
    shows on the coarse levels. Both ways of adding the axis products: SciPy's kernel
    accumulating in place, and the plain ``Y += K @ X`` it falls back to."""
    if kernel == "numpy":
        monkeypatch.setattr(stencil, "_csr_matvecs", None)
    package, _, problem = setup(path, dimension, target, fixed)
    k = thermal.conductivity_field(package)
    A, free, grid, K_free, _ = stored_and_stencil(problem, k)
    stored = Multigrid(A[free][:, free], grid)
    for _ in range(2):
        mg = Multigrid(K_free, grid)
        assert mg.sizes == stored.sizes and len(mg.sizes) >= 4
        for a, b in zip([lv.A for lv in mg.levels] + [mg.coarse_matrix],
                        [lv.A for lv in stored.levels] + [stored.coarse_matrix]):
            assert a.nnz == b.nnz and relative(a, b) < 1e-13
    galerkin = K_free.galerkin
    perturbed = stencil.StencilGalerkin(galerkin.fine * (1 + 1e-3 * (np.arange(
        galerkin.fine.size).reshape(galerkin.fine.shape) % 7 == 0)))
    coarse = perturbed(grid, stored.levels[1].grid, tuple(range(dimension - 1)))
    assert relative(coarse, stored.levels[1].A) > 1e-6


@pytest.mark.parametrize("path, dimension, target, fixed", CASES)
def test_solve_thermal_from_stencils_equals_the_stored_path(path, dimension, target, fixed):
    """Temperatures and heat flows equal the stored path's to the solver tolerance (both CG
    solves stop at relative residual 1e-9; measured differences ~1e-12 of the rise); the
    flip-chip's silicon has k(T), so the Picard loop runs on the stencil path too."""
    package, loads, problem = setup(path, dimension, target, fixed)
    new = thermal.solve_thermal(package, loads, solver="cg-gmg")
    old = thermal.solve_thermal(package, loads, solver="cg-gmg", assembly="structured")
    assert new.stats["system"] == "stencil" and old.stats["system"] == "matrix"
    rise = old.temperature.max() - (40.0 if fixed else loads.ambient)
    assert np.max(np.abs(new.temperature - old.temperature)) < 1e-10 * rise
    for name, value in old.heat_out.items():
        assert new.heat_out[name] == pytest.approx(value, rel=1e-9, abs=1e-12)
    if "flip_chip" in path:
        assert new.stats["nonlinear_iterations"] > 1


def test_small_models_and_other_solvers_keep_the_stored_path():
    package, loads, problem = setup("meshes/flip_chip.toml", 2, 0.1e-3, False)
    assert not thermal.uses_stencil(problem, "auto")  # 1824 unknowns: direct
    assert not thermal.uses_stencil(problem, "direct")
    assert thermal.uses_stencil(problem, "cg-gmg")
    assert not thermal.uses_stencil(problem, "cg-gmg", "structured")


def test_offset_weights_refuse_terms_that_depend_on_the_corner():
    """Only Q1 box terms are Toeplitz per axis; a matrix that is not is refused."""
    package, _, problem = setup("meshes/flip_chip.toml", 2, 0.1e-3, False)
    dofs = problem.basis.element_dofs
    reference = np.eye(4)[None] * np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="depend on the cell corner"):
        stencil.offset_weights(problem.basis.grid, dofs, reference)


@pytest.mark.parametrize("element", [skfem.ElementHex1, skfem.ElementQuad1])
def test_closed_form_q1_references_equal_scikit_fems_quadrature(element):
    """The Q1 unit-cell matrices in closed form (products of the 1D linear element's
    integrals) equal scikit-fem's quadrature of the same forms to round-off, in the same
    local dof order; a subclass of the element takes scikit-fem's path."""
    fast = unit_cell.reference(unit_cell.element_key(element()))
    slow = unit_cell.reference.__wrapped__(("scalar", type("Same", (element,), {}), None))
    for name, value in slow.items():
        if name == "face_dofs":
            assert all(np.array_equal(a, b) for a, b in zip(value, fast[name]))
        elif isinstance(value, np.ndarray):
            assert np.shape(fast[name]) == value.shape
            assert np.abs(fast[name] - value).max() <= 1e-15
        else:
            assert fast[name] == value
    assert np.abs(fast["grad"][0, 1]).max() > 0.04  # the mixed terms are not all zero
