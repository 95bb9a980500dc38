"""The matrix-free fine level (``fem.cell_operator``) against the assembled one.

Every piece is compared with what the stored path computes from the assembled free block:
the product (to 1e-12 of its largest entry: the same sums in another order), the Galerkin
operator of the linear level (``P^T K P``), the z-line blocks' factors, and the solved
warpage (to 1e-8: two different CG preconditioners stopped at relative residual 1e-9).
"""

import dataclasses

import numpy as np
import pytest

from thermomech.fem import structured
from thermomech.fem.cell_operator import CellOperator, cell_multigrid, galerkin_p1, line_bands
from thermomech.fem.constraints import free_dofs
from thermomech.fem.multigrid import _coarsen, _Level
from thermomech.fem.solve import solver_order
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.mechanical_metrics import surface_warpage
from thermomech.mechanics import solve_warpage, warpage_system
from thermomech.model_file import load_model, mesh_model


@pytest.fixture(scope="module")
def package():
    model = load_model("meshes/flip_chip.toml")
    options = dataclasses.replace(model.mesh, target_size=1.5e-3, symmetry="quarter")
    return mesh_model(model.with_values(mesh=options))


@pytest.fixture(scope="module")
def system(package):
    """(operator, assembled free block, free grid, terms, rows) of the HexS2 warpage."""
    loads = MechanicalLoads()
    warpage = warpage_system(package, loads, [loads.temperature])
    setup, basis = warpage.setup, warpage.setup.basis
    free, grid = solver_order(free_dofs(basis.N, warpage.fixed), basis.grid, "cg-gmg")
    stiffness = setup.model.reduced[setup.part]
    K, _ = structured.elasticity_blocks(package, basis, stiffness, basis.grid, free,
                                        warpage.fixed)
    op, fixed_rows = structured.elasticity_operator(package, basis, stiffness, basis.grid,
                                                    free, warpage.fixed)
    _, K_fixed = structured.elasticity_blocks(package, basis, stiffness, basis.grid, free,
                                              warpage.fixed)
    assert abs(fixed_rows - K_fixed).max() <= 1e-12 * abs(K_fixed).max()
    return op, K, grid, basis


def test_product_equals_the_assembled_block(system):
    op, K, _, _ = system
    assert isinstance(op, CellOperator)
    x = np.random.default_rng(1).standard_normal(K.shape[0])
    expected = K @ x
    assert np.abs(op @ x - expected).max() <= 1e-12 * np.abs(expected).max()
    columns = np.column_stack([x, -2 * x])
    assert np.allclose(op @ columns, K @ columns, rtol=0, atol=1e-12 * np.abs(expected).max())
    # the backward-error scale: sum of |K_c| |x| bounds |K| |x| from above
    absolute = abs(K) @ np.abs(x)
    assert np.all(op.abs_matvec(np.abs(x)) >= absolute * (1 - 1e-12))


def test_linear_level_equals_the_galerkin_product(system):
    """P^T K P from the cells, with the rows of P next to fixed dofs renormalized as the
    multigrid does (the quarter model's symmetry planes fix one component on two faces)."""
    op, K, grid, basis = system
    P, coarse = _coarsen(grid, (0, 1, 2))
    expected = (P.T @ (K @ P)).tocsr()
    A1 = galerkin_p1(op, coarse)
    assert A1.shape == expected.shape
    assert abs(A1 - expected).max() <= 1e-12 * abs(expected).max()


def test_line_blocks_equal_the_stored_levels(system):
    op, K, grid, basis = system
    bands = line_bands(op, basis.grid, grid)
    stored = _Level(K, grid)
    top = cell_multigrid(op, grid).levels[0]
    assert bands.shape == (9, K.shape[0])
    for (_, _, expected), (_, _, factor) in zip(stored.factors, top.factors, strict=True):
        assert np.abs(factor - expected).max() <= 1e-12 * np.abs(expected).max()


def test_v_cycle_is_symmetric(system):
    op, _, grid, _ = system
    mg = cell_multigrid(op, grid)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, op.n))
    assert abs(x @ mg(y) - y @ mg(x)) <= 1e-10 * abs(x @ mg(x))
    assert x @ mg(x) > 0


@pytest.mark.parametrize("element", ["HexS2", "Hex2"])
def test_warpage_equals_the_assembled_path(package, element):
    """Serendipity and full quadratic cells (Hex2: face and centre dofs, bilinear and
    trilinear weights in the linear level's prolongation)."""
    assembled = solve_warpage(package, element=element, solver="cg-gmg", assembly="structured")
    cells = solve_warpage(package, element=element, solver="cg-gmg", assembly="cells")
    assert cells.stats["linear_solver"]["method"] == "cg-gmg"
    assert cells.stats["linear_solver"]["iterations"] <= 30
    peak = np.abs(assembled.displacement).max()
    assert np.abs(cells.displacement - assembled.displacement).max() <= 1e-8 * peak
    w_a = surface_warpage(assembled, "bottom").peak_to_valley
    w_c = surface_warpage(cells, "bottom").peak_to_valley
    assert abs(w_c - w_a) <= 1e-8 * abs(w_a)
    assert cells.stats["force_balance"] < 1e-8


def test_classes_merge_round_off_only():
    """Coefficient rows equal up to the last bits (sizes from sums of grid spacings) share a
    class; rows apart by 1e-10 (a real difference) or a chain of close values spanning more
    than round-off do not."""
    from thermomech.fem.cell_operator import _classes

    base = np.array([[2.0, 1.0e9, 0.0], [3.0, 1.0e9, 0.0]])
    ulp = np.array([[2.0 * (1 + 2**-50), 1.0e9 * (1 - 2**-51), 0.0],
                    [3.0, 1.0e9 * (1 + 2**-49), 0.0]])
    apart = np.array([[2.0 * (1 + 1e-10), 1.0e9, 0.0]])
    first, cls = _classes(np.vstack([base, ulp, apart]))
    assert len(first) == 3
    assert cls[0] == cls[2] and cls[1] == cls[3] and len({cls[0], cls[1], cls[4]}) == 3
    # a chain of values each 5e-14 from the next spans 5e-12: not round-off, kept apart
    chain = (1.0 + 5e-14 * np.arange(101))[:, None]
    assert len(_classes(chain)[0]) == 101
    # exactly equal rows: one class (the tolerance only ever merges)
    assert len(_classes(np.ones((4, 2)))[0]) == 1


def test_banded_solve_without_the_gil_equals_scipy():
    """LAPACK dpbtrs through ctypes (the GIL released, line solves on threads) gives SciPy's
    wrapper's bits; the halves of a colour cut at a line boundary solve it exactly."""
    from scipy.linalg.lapack import dpbtrf, dpbtrs

    from thermomech.threads import banded_solve

    rng = np.random.default_rng(3)
    kd, n = 8, 300
    ab = rng.standard_normal((kd + 1, n))
    ab[kd] = 20.0 + np.abs(ab[kd])
    ab[:, :1] = ab[:, :1] * (np.arange(kd + 1) == kd)[:, None]  # column 0: diagonal only
    factor, info = dpbtrf(ab, lower=0)
    assert info == 0
    b = rng.standard_normal(n)
    x = banded_solve(factor, b)
    assert np.array_equal(x, dpbtrs(factor, b, lower=0)[0])
    # a block-diagonal band (no coupling across column 150): its factor splits there
    ab[:, 150:] = np.where(np.arange(kd + 1)[:, None] + np.arange(150, n) - kd < 150, 0.0,
                           ab[:, 150:])
    ab[kd, 150:] = 20.0 + np.abs(ab[kd, 150:])
    factor, info = dpbtrf(ab, lower=0)
    whole = banded_solve(factor, b)
    halves = np.r_[banded_solve(factor[:, :150], b[:150]), banded_solve(factor[:, 150:], b[150:])]
    assert np.array_equal(whole, halves)
    # negative control: cut where the band couples, the halves are not the solve
    assert not np.allclose(np.r_[banded_solve(factor[:, :149], b[:149]),
                                 banded_solve(factor[:, 149:], b[149:])], whole)


def test_product_in_many_blocks_and_chunks(system, monkeypatch):
    """Blocks of mesh cells (each sorted by class inside) and chunks far smaller than the
    model, so every block boundary, class run and both thread parts are exercised; a wrong
    class order inside a block (the negative control) breaks the equality."""
    from thermomech.fem import cell_operator

    op, K, _, _ = system
    dofs, coefficients, references, grid, rows = op.source
    monkeypatch.setattr(cell_operator, "BLOCK", 64)
    monkeypatch.setattr(cell_operator, "CHUNK", 5)
    small = CellOperator(dofs, coefficients, references, rows, op.n, grid)
    assert sum(len(part) for part in small.parts) > 4 and all(small.parts)
    x = np.random.default_rng(4).standard_normal(K.shape[0])
    expected = K @ x
    assert np.abs(small @ x - expected).max() <= 1e-12 * np.abs(expected).max()
    lo, hi, within, runs = small.parts[0][0]
    small.parts[0][0] = (lo, hi, within[::-1].copy(), runs)
    assert np.abs(small @ x - expected).max() > 1e-6 * np.abs(expected).max()
