"""The z-line smoother on GAMG's finest level (``cg-gamg-lines``), with no copy of the matrix.

:class:`LineSmoother` runs one symmetric Gauss-Seidel sweep over the z lines of each rank's
own block of the matrix (the project's multigrid line smoother, :mod:`fem.multigrid`). It
needs that block in the multigrid's level order. The backend numbers each rank's dofs in
that order (``partition.Numbering``'s ``within``) and makes PETSc's matrix on the arrays of
the rank's diagonal block (``system.operator``), so the smoother's level matrix *is* that
block, arrays shared with PETSc; the fixed rows in it are ``scale`` times the identity,
decoupled, which the line solves treat exactly as the free rows' smoother did (``r /
scale``). Measured, 2 ranks, warpage at 336k HexS2 unknowns: the smoother's copy of the
block was 0.32 GB of a rank's 1.24 GB peak (docs/performance.md, "where the memory of a
rank goes").
"""

from __future__ import annotations

import numpy as np

from ..errors import SolverError
from ..fem.multigrid import _Level, level_order


class LineSmoother:
    """A PETSc ``python`` preconditioner for the finest level of GAMG: one symmetric
    Gauss-Seidel sweep over the z lines of each rank's own block (forward, then backward:
    the project's multigrid line smoother, :mod:`fem.multigrid`), the couplings between ranks
    taken in the next residual (hybrid Gauss-Seidel / Jacobi across ranks); fixed rows:
    their diagonal."""

    def __init__(self, op, grid, owned: np.ndarray):
        local = grid.restrict(owned)
        if not np.array_equal(level_order(local), np.arange(len(owned))):
            raise SolverError("line smoother: the rank's dofs are not in the level order "
                              "(partition.Numbering's within)")
        try:
            self.level = _Level(op.diagonal, local)
        except np.linalg.LinAlgError as exc:
            raise SolverError(f"line smoother set-up failed: {exc}") from None

    def apply(self, pc, x, y) -> None:
        b = x.getArray(readonly=True)
        z = np.zeros_like(b)
        self.level.sweep(z, b, reverse=False, zero=True)
        self.level.sweep(z, b, reverse=True)
        y.setArray(z)


def lines_on_finest(PETSc, ksp, op, grid, owned) -> None:
    """GAMG with :class:`LineSmoother` on its finest level (set up before GAMG: it holds
    only the lines' factors, the matrix is PETSc's)."""
    lines = LineSmoother(op, grid, owned)
    ksp.setUp()
    pc = ksp.getPC()
    smoother = pc.getMGSmoother(pc.getMGLevels() - 1)
    smoother.setType("richardson")
    smoother.setTolerances(max_it=1)
    smoother.getPC().setType("python")
    smoother.getPC().setPythonContext(lines)
