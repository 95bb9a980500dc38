"""The project's geometric multigrid across the ranks: PETSc's ``PCMG`` (``cg-gmg-global``).

The hierarchy is the serial one (:mod:`fem.multigrid`: quadratic -> linear on the same mesh,
then in-plane semi-coarsening, every z line kept; linear interpolation restricted to the
unknowns that exist, rows renormalized), built on every rank from the replicated tensor
grid of the free dofs (:func:`hierarchy`: pure NumPy, the same on every rank). What is
distributed:

* the prolongations ``P_l``: PETSc ``MPIAIJ`` matrices whose rows are the fine level's dofs
  in the distributed numbering (level 0: the matrix's own rows, the fixed ones empty) and
  whose columns are the coarse dofs, each owned by the rank that owns the coincident fine
  dof (a coarse node sits on a fine node; with slabs a rank keeps its slab on every level)
  and numbered rank by rank, in the coarse level order within a rank;
* the coarse operators ``P^T A P``: PETSc's ``MatPtAP`` (Galerkin, as the serial solver);
* the smoothers: on every level one Gauss-Seidel sweep over the z lines (forward before
  the coarse correction, backward after it: the V-cycle stays symmetric, a CG
  preconditioner), colour by colour over all ranks with the ghost values exchanged after
  each colour: the serial sweep itself (:class:`smoother.LineLevel`). Every z line lies on
  one rank (``solves`` cuts slabs across an in-plane axis, :func:`whole_lines` gives each
  line to one rank, and coarse lines follow their fine ones), so no level needs another
  smoother; a rank that owns nothing on a level only takes part in the exchanges;
* the coarsest level (at most :data:`fem.multigrid.COARSEST` unknowns, or where no axis
  can be coarsened) gathered on every rank and factorized there (``PCREDUNDANT``, LU).

Measured against ``cg-gamg-lines`` in docs/mpi.md.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError
from ..fem.multigrid import COARSEST, _coarsen, axis_lines
from ..fem.space import Grid
from .partition import Numbering
from .smoother import LineLevel, LineSweep


@dataclass(frozen=True, eq=False)
class Level:
    """One level of the distributed hierarchy on one rank.

    grid : the tensor grid of this rank's unknowns of the level (its rows, level order);
    bounds : (ranks + 1,) start of each rank's rows; prolongation : this rank's rows of the
    prolongation from the next coarser level (CSR, columns: the coarser level's global
    numbering), None on the coarsest."""

    grid: Grid
    bounds: np.ndarray
    prolongation: sp.csr_matrix | None = None


def whole_lines(owner: np.ndarray, grid: Grid) -> np.ndarray:
    """(n,) ``owner`` (rank of each dof of ``grid``) with every z line given to the lowest
    rank owning a dof of it: the line smoother solves whole lines on its rank. With slabs
    across an in-plane axis a line's dofs already share their owner, unless a void next to
    the cut leaves some of them to the higher rank's cells alone."""
    line = grid.node // grid.shape[-1]
    lowest = np.full(int(line.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(lowest, line, owner)
    return lowest[line]


def _axes(grid: Grid) -> tuple[int, ...]:
    """The axes the serial multigrid coarsens next (``fem.multigrid.Multigrid``)."""
    if grid.reach > 1:
        return tuple(range(len(grid.shape)))
    return tuple(a for a in range(len(grid.shape) - 1) if grid.shape[a] > 3)


def coincident(fine: Grid, coarse: Grid, axes: tuple[int, ...]) -> np.ndarray:
    """(coarse unknowns,) the fine unknown at the same node and component as each coarse
    one (``_coarsen`` makes a coarse unknown only where that fine unknown exists)."""
    multi = list(np.unravel_index(coarse.node, coarse.shape))
    for a in axes:
        multi[a] = axis_lines(fine.axes[a])[0][multi[a]]
    key = np.ravel_multi_index(tuple(multi), fine.shape) * fine.ncomp + coarse.component
    fine_key = fine.node * fine.ncomp + fine.component
    order = np.argsort(fine_key)
    at = np.searchsorted(fine_key[order], key)
    found = order[np.minimum(at, len(order) - 1)]
    if not np.array_equal(fine_key[found], key):
        raise SolverError("cg-gmg-global: a coarse unknown has no coincident fine unknown")
    return found


def hierarchy(grid: Grid, numbering: Numbering, rank: int, *, coarsest: int = COARSEST,
              max_levels: int = 20) -> list[Level]:
    """This rank's levels, finest first. grid : the tensor grid of all dofs (old
    numbering); the finest level is the distributed matrix's rows (fixed dofs included:
    their prolongation rows are empty, as their equations are decoupled), the coarser
    ones hold free unknowns only. The same as the serial hierarchy of the free dofs up to
    the order of the unknowns (tests/test_distributed_gmg.py)."""
    size = numbering.size
    owned = numbering.owned(rank)
    levels = [Level(grid.restrict(owned), numbering.bounds)]
    g = grid.restrict(numbering.free)  # the free dofs, rank by rank
    owner = numbering.owner[numbering.free]
    lo, hi = np.searchsorted(owner, [rank, rank + 1])
    # level 0's rows of the free dofs within this rank's block
    rows = numbering.position[numbering.free[lo:hi]] - numbering.bounds[rank]
    count = len(owned)
    while len(g.node) > coarsest and len(levels) < max_levels:
        axes = _axes(g)
        if not axes:
            break
        mine, coarse = _coarsen(g, axes, rows=np.arange(lo, hi))  # this rank's rows only
        coarse_owner = owner[coincident(g, coarse, axes)]
        order = np.argsort(coarse_owner, kind="stable")  # rank by rank, level order within
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        coarse = coarse.restrict(order)
        coarse_owner = coarse_owner[order]
        mine = sp.csr_matrix((mine.data, position[mine.indices], mine.indptr),
                             shape=(hi - lo, len(order)))
        mine.sort_indices()
        prolongation = sp.csr_matrix((count, len(order)))  # the level's rows (fixed: empty)
        lengths = np.zeros(count, dtype=np.int64)
        lengths[rows] = np.diff(mine.indptr)
        prolongation.indptr = np.r_[0, np.cumsum(lengths)]
        prolongation.indices, prolongation.data = mine.indices, mine.data
        levels[-1] = Level(levels[-1].grid, levels[-1].bounds, prolongation)
        bounds = np.searchsorted(coarse_owner, np.arange(size + 1))
        lo, hi = int(bounds[rank]), int(bounds[rank + 1])
        rows, count = np.arange(hi - lo), hi - lo
        levels.append(Level(coarse.restrict(np.arange(lo, hi)), bounds))
        g, owner = coarse, coarse_owner
    return levels


def _petsc_rows(PETSc, comm, matrix: sp.csr_matrix, rows: np.ndarray, columns: np.ndarray):
    """A PETSc MPIAIJ matrix from this rank's rows (global columns)."""
    index = PETSc.IntType
    return PETSc.Mat().createAIJ(
        size=((matrix.shape[0], int(rows[-1])), (int(columns[comm.rank + 1] - columns[
            comm.rank]), int(columns[-1]))),
        csr=(matrix.indptr.astype(index), matrix.indices.astype(index),
             matrix.data.astype(PETSc.ScalarType)), comm=comm)


_HIERARCHIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""numbering -> (grid, rank, levels): the levels of the last solve on that numbering, kept
while the numbering lives (the Picard iterations of k(T) solve one numbering again and
again; only the matrices change)."""


def multigrid(PETSc, comm, ksp, op, grid: Grid, numbering: Numbering) -> dict:
    """Make ``ksp``'s preconditioner the distributed geometric V-cycle (``PCMG``) on
    ``op`` (``system.Operator``: the finest level's smoother reads its diagonal block).
    Returns {levels: unknowns per level, finest first}."""
    kept = _HIERARCHIES.get(numbering)
    if kept is not None and kept[0] is grid and kept[1] == comm.rank:
        levels = kept[2]
    else:
        levels = hierarchy(grid, numbering, comm.rank)
        _HIERARCHIES[numbering] = (grid, comm.rank, levels)
    pc = ksp.getPC()
    pc.setType("mg")
    pc.setMGLevels(len(levels))
    pc.setMGType(PETSc.PC.MGType.MULTIPLICATIVE)
    pc.setMGCycleType(PETSc.PC.MGCycleType.V)
    top = len(levels) - 1  # PETSc numbers the levels from the coarsest (0)
    matrix = op.matrix
    for i, level in enumerate(levels):
        if i:
            coarser = levels[i - 1]
            P = _petsc_rows(PETSc, comm, coarser.prolongation, coarser.bounds, level.bounds)
            pc.setMGInterpolation(top - i + 1, P)
            product = matrix.ptap(P)  # (PtAP in petsc4py <= 3.18 only; ptap in both)
            matrix = product.duplicate(copy=True)  # without PtAP's data kept for a reuse
            product.destroy()
            matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
            P.destroy()  # the preconditioner holds it
        if i == top:
            coarse = pc.getMGCoarseSolve()
            coarse.setOperators(matrix)
            coarse.setType("preonly")
            coarse.getPC().setType("redundant")
            continue
        lines = LineLevel(PETSc, level.grid, (op.diagonal, op.off_diagonal, op.ghosts) if i == 0
                           else None)
        for smoother, reverse in ((pc.getMGSmootherDown(top - i), False),
                                  (pc.getMGSmootherUp(top - i), True)):
            smoother.setOperators(matrix)
            smoother.setType("python")
            smoother.setPythonContext(LineSweep(lines, reverse))
            # the python KSP accepts no NORM_NONE; no norm is computed by the sweep
            smoother.setNormType(PETSc.KSP.NormType.PRECONDITIONED)
            smoother.getPC().setType("none")
    return {"levels": [int(level.bounds[-1]) for level in levels]}
