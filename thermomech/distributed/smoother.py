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

:class:`LineLevel` and :class:`LineSweep` are ``cg-gmg-global``'s smoothers (every level of
``distributed.geometric``'s PCMG): one sweep, forward or backward, colour by colour over all
ranks with the ghost values exchanged after each colour, which is the serial sweep itself.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError
from ..fem.multigrid import _colours, _Level, _line_solve, level_order


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


class LineLevel:
    """The z lines of one level of the distributed geometric multigrid on this rank
    (``distributed.geometric``), shared by the level's two sweeps: the lines' factors (of
    the rank's diagonal block), the rank's couplings to other ranks' dofs (``off``: owned
    rows x ghosts) and the scatter that brings the ghosts' current values. ``rows`` =
    (diagonal block, off-rank (indptr, indices, data), ghosts) on the finest level
    (``system.Operator``'s, shared with PETSc: indices are positions in the sorted global
    columns ``ghosts``); else both are read from the level's matrix (a copy) at the first
    sweep.

    The sweeps go colour by colour over all ranks at once, the ghosts' values exchanged
    after each colour: a colour's lines couple to no line of the same colour on any rank
    (the colours come from the global grid), so this is the serial multicolour line
    Gauss-Seidel sweep itself, whatever the ranks. The first version took the other ranks'
    couplings from the previous iterate instead (Jacobi across ranks): not a convergent
    smoother where a slab cut crosses thin, stiff layers (0.5 mm flip chip's warpage, 2
    ranks: DIVERGED_INDEFINITE_PC after 3 CG iterations; with the l1 term added to the
    lines' diagonal 112 iterations, against 29 on one rank)."""

    def __init__(self, PETSc, grid, rows=None):
        self.PETSc, self.grid, self.rows, self.level = PETSc, grid, rows, None

    def of(self, matrix):
        """Set up (once) from the level's PETSc matrix; returns self."""
        if self.level is not None:
            return self
        PETSc, grid, n = self.PETSc, self.grid, len(self.grid.node)
        lo, hi = matrix.getOwnershipRange()
        if self.rows is None:  # the couplings to other ranks, then the block on its own
            indptr, indices, data = matrix.getValuesCSR()  # (the level's rows: a copy)
            outside = (indices < lo) | (indices >= hi)
            counts = np.add.reduceat(outside, indptr[:-1], dtype=np.int64) if n else []
            rows = np.repeat(np.arange(n), counts)
            indices, data = indices[outside], data[outside]
            del indptr, outside
            ghosts, indices = np.unique(indices, return_inverse=True)
            indptr, columns, values = matrix.getDiagonalBlock().getValuesCSR()
            block = sp.csr_matrix((values, columns, indptr), shape=(n, n))
            del indptr, columns, values
        else:  # PETSc renumbered the off-diagonal columns to positions in ghosts
            block, (indptr, indices, data), ghosts = self.rows
            rows = np.repeat(np.arange(n), np.diff(indptr))
        self.rows = None
        off = sp.csr_matrix((data, (rows, indices)), shape=(n, len(ghosts)))
        del rows, indices, data
        if not np.array_equal(level_order(grid), np.arange(n)):
            raise SolverError("line smoother: the rank's dofs of a level are not in the "
                              "level order")
        count = (grid.reach + 1) ** (len(grid.shape) - 1)  # colours of the global grid
        self.colours = [[] for _ in range(count)]
        if n:
            try:
                level = _Level(block, grid)
            except np.linalg.LinAlgError as exc:
                raise SolverError(f"line smoother set-up failed: {exc}") from None
            self.tridiagonal = level.tridiagonal
            present = np.unique(_colours(grid)[1])
            for colour, pieces in zip(present, level.colours):
                self.colours[colour] = [(s, e, rows, factor, off[s:e])
                                        for s, e, rows, factor in pieces]
            self.level = level
        else:
            self.level = False
        self.vector = matrix.createVecRight()
        self.ghosts = PETSc.Vec().createSeq(len(ghosts), comm=PETSc.COMM_SELF)
        where = PETSc.IS().createGeneral(ghosts.astype(PETSc.IntType), comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(self.vector, where, self.ghosts, None)
        where.destroy()
        self.exchange = matrix.getComm().getSize() > 1
        return self

    def ghost_values(self, x: np.ndarray) -> np.ndarray:
        """The ghosts' values of the distributed vector whose owned part is ``x``
        (collective)."""
        if not self.exchange:
            return self.ghosts.getArray(readonly=True)
        self.vector.placeArray(x)
        self.scatter.scatter(self.vector, self.ghosts, addv=self.PETSc.InsertMode.INSERT,
                             mode=self.PETSc.ScatterMode.FORWARD)
        self.vector.resetArray()
        return self.ghosts.getArray(readonly=True)

    def sweep(self, x: np.ndarray, b: np.ndarray, reverse: bool, zero: bool) -> None:
        """One Gauss-Seidel sweep over the colours of lines, all ranks together (in
        place; ``zero``: x is zero on entry)."""
        ghost = np.zeros(self.ghosts.getLocalSize()) if zero else self.ghost_values(x)
        colours = self.colours[::-1] if reverse else self.colours
        for i, pieces in enumerate(colours):
            for s, e, rows, factor, off in pieces:
                r = b[s:e] if zero and i == 0 else b[s:e] - rows @ x
                if off.nnz:
                    r = r - off @ ghost
                x[s:e] += _line_solve(factor, self.tridiagonal, r)
            if i < len(colours) - 1:
                ghost = self.ghost_values(x)

    def destroy(self) -> None:
        """Free the PETSc objects (each of the level's two sweeps calls it; the second
        finds them destroyed, which petsc4py allows)."""
        for item in (getattr(self, name, None) for name in ("vector", "ghosts", "scatter")):
            if item is not None:
                item.destroy()


class LineSweep:
    """A PETSc ``python`` KSP, a smoother of ``PCMG``: one Gauss-Seidel sweep over the z
    lines of every rank (:meth:`LineLevel.sweep`: forward, or backward with ``reverse``;
    PCMG's smoothers before and after the coarse correction are then each other's
    transposes, so the V-cycle is symmetric). It starts from ``x`` when PETSc passes a
    nonzero initial guess (the smoother after the coarse correction), else from zero."""

    def __init__(self, lines: LineLevel, reverse: bool):
        self.lines, self.reverse = lines, reverse

    def solve(self, ksp, b, x) -> None:
        lines = self.lines.of(ksp.getOperators()[0])
        nonzero = ksp.getInitialGuessNonzero()
        rhs = b.getArray(readonly=True)
        z = x.getArray(readonly=True).copy() if nonzero else np.zeros(len(rhs))
        lines.sweep(z, rhs, self.reverse, zero=not nonzero)
        x.setArray(z)
        ksp.setConvergedReason(ksp.ConvergedReason.CONVERGED_ITS)

    def destroy(self, ksp) -> None:
        self.lines.destroy()
