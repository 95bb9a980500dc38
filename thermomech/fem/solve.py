"""The solve verb: a constrained linear system in, the field, its reactions and the solver's
checks out.

``solve(system, F, fixed, values, solver=..., grid=...)`` condenses the fixed dofs out (one
path: :func:`constraints.condense`, or the caller's fast writer of the same blocks), numbers
the free dofs in the geometric multigrid's level order when that solver runs (so the block
is assembled straight into the order the solver uses), solves with the strategy passed as a
value (a name or a scikit-fem style callable, :func:`linear_solvers.solve_linear`, which
checks the true residual and finiteness) and returns the reactions ``K x - F``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..linear_solvers import choose_method, factorized, solve_linear, two_level
from ..threads import RowSplit
from . import multigrid, simplex
from .cell_operator import CellOperator
from .constraints import condense, free_dofs
from .space import Grid, Space

Blocks = Callable[[np.ndarray, np.ndarray], tuple[sp.csr_matrix, sp.csr_matrix]]
"""``blocks(free, fixed) -> (K[free][:, free], K[fixed])``, free in the order given."""


@dataclass(frozen=True)
class Solution:
    """x : (n,) or (n, k) the solution; reactions : ``K x - F`` (zero at free dofs up to the
    solver's residual; the force a fixed dof carries); stats : the linear solver's."""

    x: np.ndarray
    reactions: np.ndarray
    stats: dict
    free: np.ndarray


def solver_order(free: np.ndarray, grid: Grid | None, solver, reorder: bool = True
                 ) -> tuple[np.ndarray, Grid | None]:
    """The free dofs in the order the solver runs on and their grid (None without one).

    With the geometric multigrid (``cg-gmg``, or ``auto`` choosing it) and ``reorder``, the
    free dofs are numbered in its level order, so the block it works on is used as is.
    """
    if grid is None or not isinstance(solver, str):
        return free, None
    # dofs past the grid's (e.g. the generalized plane strain terms) stay last, off the grid:
    # the solver borders the multigrid with them
    on_grid = free[free < len(grid.node)]
    restricted = grid.restrict(on_grid)
    method = solver if solver != "auto" else choose_method(len(free), restricted)
    if reorder and method == "cg-gmg" and len(on_grid) == len(free):
        order = multigrid.level_order(restricted)
        return free[order], restricted.restrict(order)
    return free, restricted


def solve(system: sp.spmatrix | Blocks, F: np.ndarray, fixed: np.ndarray,
          values: np.ndarray | float = 0.0, *, n: int | None = None, solver="auto",
          grid: Grid | None = None, near_null_space: np.ndarray | None = None,
          reorder: bool = True) -> Solution:
    """Solve ``K x = F`` with ``x[fixed] = values`` for symmetric positive definite ``K``.

    system : K (sparse, n x n), or ``blocks(free, fixed)`` writing the two blocks straight
    from the cells (the box-mesh fast path; ``n`` then gives the size). F : (n,) or (n, k).
    fixed : sorted unique dofs. solver : a :func:`linear_solvers.solve_linear` method name
    or callable. grid : the tensor grid of all n dofs (geometric multigrid), or None.
    near_null_space : (n, m) rigid-body modes (AMG on elasticity).
    """
    n = system.shape[0] if n is None else n
    fixed = np.asarray(fixed, dtype=np.int64)
    free, free_grid = solver_order(free_dofs(n, fixed), grid, solver, reorder)
    if callable(system) and not sp.issparse(system):
        K_free, K_fixed = system(free, fixed)
    elif not len(fixed) and np.array_equal(free, np.arange(n)):  # nothing to condense
        K_free, K_fixed = sp.csr_matrix(system), sp.csr_matrix((0, n))
    else:
        K_free, K_fixed = condense(system, free, fixed)
        del system  # the solve keeps the free block only; reactions come from the blocks
    F = np.asarray(F, dtype=float)
    x = np.zeros(F.shape)
    x[fixed] = values if np.ndim(values) == 0 else np.reshape(values, (-1,) + F.shape[1:])
    coupling = K_fixed[:, free].T.tocsr() if np.any(x[fixed]) else None
    rhs = F[free] if coupling is None else F[free] - coupling @ x[fixed]
    near = None if near_null_space is None else near_null_space[free]
    x[free], stats = solve_linear(K_free, rhs, solver, near_null_space=near, grid=free_grid)
    reactions = np.empty_like(F)
    # on threads, bitwise equal; a matrix-free operator (box-mesh cells) as it is
    reactions[free] = (K_free if isinstance(K_free, CellOperator) else RowSplit(K_free)) @ \
        x[free] - rhs
    reactions[fixed] = K_fixed @ x - F[fixed]
    return Solution(x, reactions, stats, free)


def quadratic_simplex_solver(space: Space, fixed: np.ndarray, n: int, solver):
    """``auto`` on quadratic simplices where it would pick cg-amg: ``two_level`` over the
    vertex P1 field (103k Tet2: 94 iterations, 6.8 s CPU; cg-amg 257, 21.7 s); else
    ``solver``."""
    if not (isinstance(solver, str) and solver == "auto" and n == space.N
            and simplex.supports(space) and space.scalar_element.maxdeg == 2):
        return solver
    free = free_dofs(n, fixed)
    if choose_method(len(free)) != "cg-amg":
        return solver
    P = simplex.vertex_prolongation(space)[free]
    own = P.copy()  # coarse unknowns whose own vertex dof is free: full column rank
    own.data = (own.data == 1.0).astype(float)
    return two_level(P[:, np.flatnonzero(np.asarray(own.sum(axis=0)).ravel() > 0)])


def factorized_condensed(K: sp.spmatrix | Blocks, fixed: np.ndarray, *, solver="auto",
                         grid: Grid | None = None, n: int | None = None):
    """``solve(F, x_fixed, x0) -> (x, stats)`` for many right-hand sides of one constrained
    matrix (time steps): condensed once, factorized (or the multigrid built) once.

    K : the matrix, or ``blocks(free, fixed)`` writing the two blocks straight from the
    cells (then ``n`` gives the size, and the free dofs come in the multigrid's level order,
    so it needs no permuted copy). ``solve.reactions(x, F)`` is ``K x - F`` from the
    blocks (zero at free dofs up to the solver's residual)."""
    blocks = callable(K) and not sp.issparse(K)
    n = K.shape[0] if n is None else n
    fixed = np.asarray(fixed, dtype=np.int64)
    free, free_grid = solver_order(free_dofs(n, fixed), grid, solver, reorder=blocks)
    K_free, K_fixed = K(free, fixed) if blocks else condense(sp.csr_matrix(K), free, fixed)
    coupling = K_fixed[:, free].T.tocsr()
    inner = factorized(K_free, solver, grid=free_grid)

    def solve_one(F: np.ndarray, x_fixed: np.ndarray, x0: np.ndarray):
        x = np.empty(n)
        x[fixed] = x_fixed
        x[free], stats = inner(F[free] - coupling @ x_fixed, x0[free])
        return x, stats

    def reactions(x: np.ndarray, F: np.ndarray) -> np.ndarray:
        out = np.empty_like(F)
        out[free] = K_free @ x[free] + coupling @ x[fixed] - F[free]
        out[fixed] = K_fixed @ x - F[fixed]
        return out

    solve_one.reactions = reactions
    return solve_one
