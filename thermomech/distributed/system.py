"""The distributed linear system: rows sent to their owners, a PETSc matrix, a Krylov solve.

Each rank brings the matrix entries of its own cells (rows of the dofs those cells touch,
columns in the dofs' own numbering). :func:`owned_rows` sends the rows of dofs another rank
owns to that rank (the halo: the only rows that cross) and sums what arrives, so every rank
holds its owned rows of the global matrix. :func:`solve` condenses the fixed dofs out (their
values lifted to the right-hand side, as :func:`fem.constraints.condense` does), builds a
PETSc ``MPIAIJ`` matrix from the owned free rows, solves with CG and algebraic multigrid
(GAMG or hypre BoomerAMG; rigid-body modes as the near null space for elasticity) and
returns the whole solution and ``K x - F`` on every rank (the reactions at fixed dofs: heat
flows and force balances come from them as in a serial solve).

Tolerance: :data:`RTOL` on the true (unpreconditioned) relative residual. The serial solvers
stop at 1e-9 or solve directly; results must agree with them to 1e-8 relative, so the
distributed solve goes further (measured in tests/test_distributed.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError
from ..fem.multigrid import Multigrid
from .geometric import multigrid
from .partition import Numbering
from .smoother import lines_on_finest

RTOL = 1e-11
"""Relative residual ``||b - A x|| / ||b||`` of the distributed CG (unpreconditioned norm)."""

MAX_ITERATIONS = 5000

GAMG_OPTIONS = {"mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.3",
                "mg_levels_esteig_ksp_max_it": "30"}
"""GAMG's Chebyshev smoothers: the largest eigenvalue estimated with 30 CG steps (not 10)
and a 1.3 safety factor (not 1.1). With PETSc 3.18's defaults the 2-rank warpage of the
flip chip at 0.5 mm stopped with DIVERGED_INDEFINITE_PC (an underestimated eigenvalue makes
the smoother amplify); with these it converges (502 iterations). PETSC_OPTIONS overrides."""

METHOD_OPTIONS = {"cg-gamg": GAMG_OPTIONS, "cg-gamg-lines": GAMG_OPTIONS}
"""Options each method sets unless PETSC_OPTIONS names them."""

PRECONDITIONERS = {"cg-gamg": "gamg", "cg-gamg-lines": "gamg", "cg-hypre": "hypre",
                   "cg-gmg": "python", "cg-gmg-global": "mg",
                   "direct": "cholesky"}
"""Distributed solver name -> PETSc preconditioner (CG; ``direct``: MUMPS' distributed
Cholesky factor, no Krylov iteration; ``cg-gmg``: :class:`RankMultigrid`, the project's
geometric multigrid on each rank's own block; ``cg-gmg-global``: that hierarchy across the
ranks as PETSc's PCMG, :mod:`.geometric`)."""


@dataclass(frozen=True)
class Contribution:
    """Matrix entries of one rank: ``matrix`` rows are the dofs ``rows`` (columns: all dofs,
    their own numbering)."""

    rows: np.ndarray
    matrix: sp.csr_matrix


def owned_rows(comm, numbering: Numbering, parts: list[Contribution]) -> tuple[
        sp.csr_matrix, dict]:
    """This rank's owned rows of the summed matrix: (owned dofs x all dofs) CSR, rows in
    ``numbering.owned(rank)`` order; and the halo traffic of all ranks together
    {rows_sent, entries_sent, bytes_sent}. ``parts`` is emptied as it is read (each part
    freed once its rows are on their way: the matrix is held about twice at the peak)."""
    rank, size = comm.rank, comm.size
    position = numbering.position
    outgoing: list[list] = [[] for _ in range(size)]
    sent = {"rows_sent": 0, "entries_sent": 0, "bytes_sent": 0}
    while parts:
        part = parts.pop()
        owner = numbering.owner[part.rows]
        for dest in np.unique(owner):
            pick = np.flatnonzero(owner == dest)
            block = part.matrix if len(pick) == len(owner) else part.matrix[pick]
            local = position[part.rows[pick]] - numbering.bounds[dest]
            outgoing[dest].append((local, block))
            if dest != rank:
                sent["rows_sent"] += len(pick)
                sent["entries_sent"] += block.nnz
                sent["bytes_sent"] += block.data.nbytes + block.indices.nbytes + local.nbytes
        del part, block
    mine = outgoing[rank]
    outgoing[rank] = []
    received = comm.alltoall(outgoing)
    del outgoing
    received[rank] = mine
    sent = {key: int(comm.allreduce(value)) for key, value in sent.items()}  # all ranks
    pieces = [piece for blocks in received for piece in blocks]
    del received, mine
    count = numbering.bounds[rank + 1] - numbering.bounds[rank]
    n = len(numbering.owner)
    if not pieces:
        return sp.csr_matrix((count, n)), sent
    local = np.concatenate([local for local, _ in pieces])
    stacked = sp.vstack([block for _, block in pieces], format="csr")
    del pieces
    summing = sp.csr_matrix((np.ones(len(local)), (local, np.arange(len(local)))),
                            shape=(count, len(local)))
    return (summing @ stacked).tocsr(), sent


@dataclass(frozen=True, eq=False)
class Operator:
    """This rank's part of a condensed system: the PETSc matrix (owned free rows without
    their fixed columns, which are lifted to the right-hand side; owned fixed rows
    ``scale`` times the identity, so a vector field's node blocks stay whole for GAMG), and
    the few owned rows the residual needs besides it: ``coupling`` (owned rows x fixed dofs,
    nonzero on free rows) and ``fixed_rows`` (owned rows x all dofs, nonzero on fixed rows:
    the reactions). ``diagonal``: the rank's diagonal block as SciPy CSR sharing PETSc's
    arrays (PETSc holds them, not a copy: the line smoother reads it); ``off_diagonal``: the
    (indptr, indices, data) of the rest, whose indices PETSc renumbered to positions in
    ``ghosts`` (the sorted global columns they hold). ``traffic``: the halo rows sent to
    build it (all ranks)."""

    matrix: object
    coupling: sp.csr_matrix
    fixed_rows: sp.csr_matrix
    fixed_row: np.ndarray
    scale: float
    traffic: dict
    modes: np.ndarray | None = None
    diagonal: sp.csr_matrix | None = None
    off_diagonal: tuple = ()
    ghosts: np.ndarray | None = None

    def destroy(self) -> None:
        self.matrix.destroy()


def _rows_of_entries(indptr: np.ndarray, entries: np.ndarray) -> np.ndarray:
    return np.searchsorted(indptr, entries, side="right") - 1


def operator(comm, PETSc, numbering: Numbering, parts: list[Contribution], *,
             block_size: int = 1, near_null_space: np.ndarray | None = None) -> Operator:
    """The Operator of the summed ``parts`` (each rank's cells; ``parts`` is emptied).

    The owned rows are split into the rank's diagonal block (its own columns) and the rest
    (fixed columns and fixed rows' off-diagonal entries dropped), and PETSc's matrix is
    made on those arrays without a copy (``MatCreateMPIAIJWithSplitArrays``); the owned
    rows are freed. near_null_space : (n, m) rigid-body modes (elasticity) or None;
    block_size : dofs per node (3 for 3D elasticity: GAMG aggregates whole nodes)."""
    K, traffic = owned_rows(comm, numbering, parts)
    owned = numbering.owned(comm.rank)
    fixed_row = numbering.is_fixed[owned]
    counts = np.diff(K.indptr)
    row_fixed = np.repeat(fixed_row, counts)
    col_fixed = numbering.is_fixed[K.indices]
    diagonal = np.flatnonzero(row_fixed)
    diagonal = diagonal[K.indices[diagonal] == owned[_rows_of_entries(K.indptr, diagonal)]]
    on_free = np.flatnonzero(~fixed_row)
    free_diagonal = np.asarray(K[on_free, owned[on_free]]).ravel()
    total = comm.allreduce(np.array([free_diagonal.sum(), len(free_diagonal)]))
    scale = total[0] / max(total[1], 1)  # fixed rows: the mean diagonal (AMG sees no jump)
    pick = np.flatnonzero(~row_fixed & col_fixed)
    coupling = sp.csr_matrix(
        (K.data[pick], (_rows_of_entries(K.indptr, pick),
                        np.searchsorted(numbering.fixed, K.indices[pick]))),
        shape=(len(owned), len(numbering.fixed)))
    pick = np.flatnonzero(row_fixed)
    fixed_rows = sp.csr_matrix((K.data[pick], (_rows_of_entries(K.indptr, pick),
                                               K.indices[pick])), shape=K.shape)
    if len(diagonal) != fixed_row.sum():
        raise SolverError("a fixed dof has no diagonal entry on its owning rank")
    K.data[col_fixed | row_fixed] = 0.0  # in place: PETSc's matrix is built from K itself
    K.data[diagonal] = scale
    del row_fixed, col_fixed, pick, diagonal
    K.indices = numbering.position[K.indices].astype(PETSc.IntType)
    K.eliminate_zeros()
    K.has_sorted_indices = False
    K.sort_indices()
    lo, hi = numbering.bounds[comm.rank], numbering.bounds[comm.rank + 1]
    inner, outer = _split(PETSc, K, lo, hi)
    del K
    ghosts = np.unique(outer[1])  # PETSc renumbers outer[1] in place to their positions
    matrix = PETSc.Mat().createAIJWithArrays(
        size=((len(owned), len(numbering.owner)),) * 2, bsize=block_size, comm=comm,
        csr=((inner.indptr, inner.indices, inner.data), outer))
    matrix.setBlockSize(block_size)  # petsc4py's split-array constructor drops bsize
    matrix.assemble()
    # symmetric by construction: GAMG then builds its graph without A + A^T (measured at
    # 1.11M heat unknowns on 2 ranks: 57 MB less at its set-up's peak)
    matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    matrix.setOption(PETSc.Mat.Option.STRUCTURALLY_SYMMETRIC, True)
    modes = None if near_null_space is None else near_null_space[owned]
    if modes is not None:
        _near_null_space(PETSc, comm, matrix, modes)
    return Operator(matrix, coupling, fixed_rows, fixed_row, float(scale), traffic, modes,
                    inner, outer, ghosts)


def _split(PETSc, K: sp.csr_matrix, lo: int, hi: int) -> tuple[sp.csr_matrix, tuple]:
    """``K`` (owned rows, sorted global columns) as its diagonal block (columns ``lo:hi``,
    renumbered from 0: SciPy CSR) and the (indptr, indices, data) of the rest (global
    columns), PETSc's integer and scalar types: the arrays PETSc's matrix is made on."""
    index = PETSc.IntType
    inside = (K.indices >= lo) & (K.indices < hi)
    if np.any(np.diff(K.indptr) == 0):
        raise SolverError("an owned row of the matrix is empty")
    per_row = np.add.reduceat(inside, K.indptr[:-1], dtype=np.int64)  # no per-entry array
    inner_indptr = np.zeros(K.shape[0] + 1, dtype=index)
    np.cumsum(per_row, out=inner_indptr[1:])
    outer_indptr = (K.indptr - inner_indptr).astype(index)
    inner = sp.csr_matrix((K.shape[0], hi - lo))
    inner.indices = K.indices[inside].astype(index, copy=False)
    inner.indices -= index(lo)
    inner.data = K.data[inside].astype(PETSc.ScalarType, copy=False)
    inner.indptr = inner_indptr
    inner.has_sorted_indices = True
    np.logical_not(inside, out=inside)
    outer = (outer_indptr, K.indices[inside].astype(index, copy=False),
             K.data[inside].astype(PETSc.ScalarType, copy=False))
    return inner, outer


def _near_null_space(PETSc, comm, matrix, modes: np.ndarray):
    """Rigid-body modes (owned rows, k) made orthonormal over all ranks, set as the matrix's
    near null space (GAMG builds its coarse spaces from them)."""
    gram = comm.allreduce(modes.T @ modes)
    keep = np.flatnonzero(np.diag(gram) > 0)
    lower = np.linalg.cholesky(gram[np.ix_(keep, keep)])
    orthonormal = np.linalg.solve(lower, modes[:, keep].T).T
    vectors = []
    for column in orthonormal.T:
        vector = matrix.createVecLeft()
        vector.setArray(np.ascontiguousarray(column))
        vectors.append(vector)
    matrix.setNearNullSpace(PETSc.NullSpace().create(vectors=vectors, comm=comm))


class RankMultigrid:
    """A PETSc ``python`` preconditioner: the project's geometric multigrid V-cycle
    (:class:`fem.multigrid.Multigrid`: z-line Gauss-Seidel smoothing, in-plane
    semi-coarsening, Galerkin levels) on each rank's own block of the matrix (its owned free
    rows and columns; fixed rows: their diagonal), balanced by a global coarse space: each
    rank's rigid-body modes (elasticity) or constant (heat) on its own dofs, ``Z``, with
    ``E = Z^T A Z`` factorized on every rank. With ``Q = Z E^-1 Z^T`` and B the ranks'
    V-cycles it applies ``Q + (I - Q A) B (I - A Q)`` (the balancing / deflated two-level
    preconditioner: symmetric, so CG's): B alone (block Jacobi over the ranks) lets the
    ranks' slabs float against each other, 1,168 CG iterations on the 0.5 mm flip chip's
    warpage on 2 ranks against 29 on one (docs/mpi.md)."""

    def __init__(self, PETSc, comm, op, grid, owned: np.ndarray):
        indptr, indices, data = op.matrix.getDiagonalBlock().getValuesCSR()
        block = sp.csr_matrix((data, indices, indptr), shape=(len(owned), len(owned)))
        self.free, self.scale, self.comm = np.flatnonzero(~op.fixed_row), op.scale, comm
        try:
            self.multigrid = Multigrid(block[self.free][:, self.free],
                                       grid.restrict(owned[self.free]))
        except np.linalg.LinAlgError as exc:
            raise SolverError(f"cg-gmg (PETSc): the multigrid set-up failed: {exc}") from None
        del block
        local = np.ones((len(owned), 1)) if op.modes is None else op.modes
        local = np.where(op.fixed_row[:, None], 0.0, local)
        k, size, rank = local.shape[1], comm.size, comm.rank
        self.columns = slice(rank * k, (rank + 1) * k)  # this rank's columns of Z
        self.local, self.total = local, k * size
        self.x, self.y = op.matrix.createVecs()
        self.matrix = op.matrix
        E = np.zeros((self.total, self.total))
        for owner in range(size):  # A Z, column by column (k * ranks products, once)
            for c in range(k):
                E[:, owner * k + c] = self._coarse_residual(local[:, c] if owner == rank
                                                            else None)
        E = 0.5 * (E + E.T)
        keep = np.flatnonzero(np.diag(E) > 0)
        self.keep, self.factor = keep, np.linalg.cholesky(E[np.ix_(keep, keep)])

    def _coarse_residual(self, z: np.ndarray | None) -> np.ndarray:
        """``Z^T A z`` (z: this rank's owned part, None for zero), over all ranks."""
        self.x.setArray(np.zeros(len(self.local)) if z is None else z)
        self.matrix.mult(self.x, self.y)
        return self._restrict(self.y.getArray(readonly=True))

    def _restrict(self, r: np.ndarray) -> np.ndarray:
        out = np.zeros(self.total)
        out[self.columns] = self.local.T @ r
        return self.comm.allreduce(out)

    def _coarse(self, r: np.ndarray) -> np.ndarray:
        """``Q r`` on this rank's owned dofs."""
        c = self._restrict(r)[self.keep]
        e = np.zeros(self.total)
        e[self.keep] = np.linalg.solve(self.factor.T, np.linalg.solve(self.factor, c))
        return self.local @ e[self.columns]

    def _product(self, v: np.ndarray) -> np.ndarray:
        self.x.setArray(v)
        self.matrix.mult(self.x, self.y)
        return self.y.getArray().copy()

    def _smooth(self, r: np.ndarray) -> np.ndarray:
        out = r / self.scale
        out[self.free] = self.multigrid(r[self.free])
        return out

    def apply(self, pc, x, y) -> None:
        r = x.getArray(readonly=True).copy()
        q = self._coarse(r)
        t = self._smooth(r - self._product(q))
        y.setArray(q + t - self._coarse(self._product(t)))

    def destroy(self, pc) -> None:
        for item in (self.x, self.y):
            item.destroy()


def _ksp(PETSc, comm, op: Operator, method: str, rtol: float, grid=None, numbering=None):
    owned = numbering.owned(comm.rank)
    matrix = op.matrix
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(matrix)
    ksp.getPC().setType(PRECONDITIONERS[method])
    if method == "cg-gmg":
        if grid is None:
            raise SolverError("cg-gmg (PETSc) needs the tensor grid of a box mesh")
        ksp.getPC().setPythonContext(RankMultigrid(PETSc, comm, op, grid, owned))
    if method == "direct":
        matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        ksp.setType("preonly")
        ksp.getPC().setFactorSolverType("mumps")
        return ksp
    ksp.setType("cg")
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    options = PETSc.Options()
    for name, value in METHOD_OPTIONS.get(method, {}).items():
        if not options.hasName(name):
            options[name] = value
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=MAX_ITERATIONS)
    ksp.setFromOptions()  # PETSC_OPTIONS may tune it (e.g. -pc_gamg_threshold)
    if method == "cg-gamg-lines":
        if grid is None:
            raise SolverError("cg-gamg-lines needs the tensor grid of a box mesh")
        lines_on_finest(PETSc, ksp, op, grid, owned)
    if method == "cg-gmg-global":
        if grid is None:
            raise SolverError("cg-gmg-global needs the tensor grid of a box mesh")
        multigrid(PETSc, comm, ksp, op, grid, numbering)
    return ksp


def gather(comm, numbering: Numbering, owned_values: np.ndarray, root: int = 0):
    """The whole vector(s) on ``root`` from each rank's owned values (old dof order); None
    on the other ranks (only the root builds results and writes)."""
    pieces = comm.gather(owned_values, root=root)
    if comm.rank != root:
        return None
    out = np.zeros((len(numbering.owner),) + owned_values.shape[1:])
    for rank, values in enumerate(pieces):
        out[numbering.owned(rank)] = values
    return out


def values_at(comm, numbering: Numbering, owned_values: np.ndarray, dofs: np.ndarray
              ) -> np.ndarray:
    """``owned_values`` (this rank's owned dofs, owned order) at ``dofs`` (old numbering, any
    owners): the ghost exchange, two alltoalls of the indices asked and the values sent."""
    owner = numbering.owner[dofs]
    order = np.argsort(owner, kind="stable")
    local = numbering.position[dofs[order]] - numbering.bounds[owner[order]]
    cuts = np.searchsorted(owner[order], np.arange(comm.size + 1))
    asked = comm.alltoall([local[cuts[r]:cuts[r + 1]] for r in range(comm.size)])
    answers = comm.alltoall([owned_values[a] for a in asked])
    out = np.empty((len(dofs),) + owned_values.shape[1:])
    out[order] = np.concatenate(answers)
    return out


def residual(comm, PETSc, numbering: Numbering, op: Operator, x: np.ndarray,
             F: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Owned rows of ``K x - F`` (x, F: owned rows, (owned, k); lift: ``coupling @
    fixed values``): free rows from PETSc's matrix, fixed rows (reactions) from
    ``fixed_rows`` with the ghost values of x they touch."""
    out = np.empty_like(F)
    vector, product = op.matrix.createVecs()
    for j in range(F.shape[1]):
        vector.setArray(np.ascontiguousarray(x[:, j]))
        op.matrix.mult(vector, product)
        out[:, j] = product.getArray() + lift - F[:, j]
    for item in (vector, product):
        item.destroy()
    touched = np.unique(op.fixed_rows.indices)
    ghosts = values_at(comm, numbering, x, touched)
    compact = sp.csr_matrix((op.fixed_rows.data, np.searchsorted(touched,
                             op.fixed_rows.indices), op.fixed_rows.indptr),
                            shape=(op.fixed_rows.shape[0], len(touched)))
    out[op.fixed_row] = (compact @ ghosts)[op.fixed_row] - F[op.fixed_row]
    return out


def lifted_norms(comm, op: Operator, F: np.ndarray, lift: np.ndarray,
                 r: np.ndarray) -> np.ndarray:
    """(k,) ``||r||`` over the free equations / ``||F - lift||`` (the right-hand side with
    the fixed values lifted, as the serial solvers measure it), over all ranks."""
    free = ~op.fixed_row
    squares = comm.allreduce(np.c_[(r[free] ** 2).sum(axis=0),
                                   ((F[free] - lift[free, None]) ** 2).sum(axis=0)])
    return np.sqrt(squares[:, 0]) / np.maximum(np.sqrt(squares[:, 1]), 1e-300)


def solve(comm, PETSc, numbering: Numbering, op: Operator, F: np.ndarray,
          fixed_values: np.ndarray | float, *, method: str = "cg-gamg", rtol: float = RTOL,
          grid=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Solve ``K x = F`` with ``x[fixed] = fixed_values``, K given as each rank's Operator.

    F : (n,) or (n, k) the load (only this rank's owned rows are read). Returns this rank's
    owned rows (``numbering.owned(rank)`` order) of x and of ``K x - F``, each (owned,) or
    (owned, k) like F, and stats: method, unknowns (free), iterations (the most of any
    column), relative_residual (the largest true one over the free equations),
    converged_reason (PETSc's, per column), seconds, ranks. :func:`gather` brings them
    whole to rank 0. grid : the tensor grid of all dofs (``cg-gmg``).
    """
    start = time.perf_counter()
    owned = numbering.owned(comm.rank)
    F_own = F.reshape(len(F), -1)[owned]
    fixed_row = op.fixed_row
    values = np.broadcast_to(fixed_values, numbering.fixed.shape)
    owned_values = np.zeros(len(owned))
    owned_values[fixed_row] = values[np.searchsorted(numbering.fixed, owned[fixed_row])]
    lift = op.coupling @ values
    ksp = _ksp(PETSc, comm, op, method, rtol, grid, numbering)
    setup = time.perf_counter() - start
    b, x = op.matrix.createVecs()
    solution = np.empty_like(F_own)
    iterations, reasons = [], []
    for j in range(F_own.shape[1]):
        b.setArray(np.where(fixed_row, op.scale * owned_values, F_own[:, j] - lift))
        x.set(0.0)
        ksp.solve(b, x)
        solution[:, j] = x.getArray()
        solution[fixed_row, j] = owned_values[fixed_row]  # exact, not the solver's round-off
        iterations.append(int(ksp.getIterationNumber()))
        reasons.append(int(ksp.getConvergedReason()))
    for item in (ksp, b, x):
        item.destroy()
    r = residual(comm, PETSc, numbering, op, solution, F_own, lift)
    relative = lifted_norms(comm, op, F_own, lift, r)
    stats = {"method": method, "backend": "petsc", "ranks": int(comm.size),
             "unknowns": int(len(numbering.free)), "iterations": max(iterations),
             "iterations_per_rhs": iterations, "converged_reason": reasons,
             "relative_residual": float(relative.max()), "setup_seconds": setup,
             "seconds": time.perf_counter() - start, "rtol": rtol}
    shape = (len(owned),) + F.shape[1:]
    return solution.reshape(shape), r.reshape(shape), stats


def checked(stats: dict, x: np.ndarray) -> dict:
    """``stats`` of a distributed solve, or a SolverError when PETSc diverged, the true
    relative residual misses ten times the tolerance or ``x`` is not finite (the serial
    solvers' checks). Replicated: every rank decides alike."""
    where = f"{stats['method']} (PETSc, {stats['ranks']} ranks)"
    if not np.all(np.isfinite(x)):
        raise SolverError(f"{where}: the solution is not finite")
    if min(stats["converged_reason"]) < 0 or stats["relative_residual"] > 10 * stats["rtol"]:
        raise SolverError(f"{where} did not converge: PETSc reason "
                          f"{stats['converged_reason']}, relative residual "
                          f"{stats['relative_residual']:.2e} after {stats['iterations']} "
                          f"iterations (tolerance {stats['rtol']:.0e}); try --solver "
                          f"cg-hypre")
    return stats
