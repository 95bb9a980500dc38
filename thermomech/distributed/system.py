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
from .partition import Numbering

RTOL = 1e-11
"""Relative residual ``||b - A x|| / ||b||`` of the distributed CG (unpreconditioned norm)."""

MAX_ITERATIONS = 5000

GAMG_OPTIONS = {"mg_levels_ksp_chebyshev_esteig": "0,0.1,0,1.3",
                "mg_levels_esteig_ksp_max_it": "30"}
"""GAMG's Chebyshev smoothers: the largest eigenvalue estimated with 30 CG steps (not 10)
and a 1.3 safety factor (not 1.1). With PETSc 3.18's defaults the 2-rank warpage of the
flip chip at 0.5 mm stopped with DIVERGED_INDEFINITE_PC (an underestimated eigenvalue makes
the smoother amplify); with these it converges (502 iterations). PETSC_OPTIONS overrides."""

PRECONDITIONERS = {"cg-gamg": "gamg", "cg-hypre": "hypre", "direct": "cholesky"}
"""Distributed solver name -> PETSc preconditioner (CG; ``direct``: MUMPS' distributed
Cholesky factor, no Krylov iteration)."""


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
    {rows_sent, entries_sent, bytes_sent}."""
    rank, size, n = comm.rank, comm.size, len(numbering.owner)
    position = numbering.position
    outgoing: list[list] = [[] for _ in range(size)]
    sent = {"rows_sent": 0, "entries_sent": 0, "bytes_sent": 0}
    for part in parts:
        owner = numbering.owner[part.rows]
        for dest in np.unique(owner):
            pick = np.flatnonzero(owner == dest)
            block = part.matrix[pick]
            local = position[part.rows[pick]] - numbering.bounds[dest]
            outgoing[dest].append((local, block))
            if dest != rank:
                sent["rows_sent"] += len(pick)
                sent["entries_sent"] += block.nnz
                sent["bytes_sent"] += block.data.nbytes + block.indices.nbytes + local.nbytes
    mine = outgoing[rank]
    outgoing[rank] = []
    received = comm.alltoall(outgoing)
    received[rank] = mine
    sent = {key: int(comm.allreduce(value)) for key, value in sent.items()}  # all ranks
    pieces = [(local, block.tocoo()) for blocks in received for local, block in blocks]
    count = numbering.bounds[rank + 1] - numbering.bounds[rank]
    if not pieces:
        return sp.csr_matrix((count, n)), sent
    rows = np.concatenate([local[c.row] for local, c in pieces])
    cols = np.concatenate([c.col for _, c in pieces])
    data = np.concatenate([c.data for _, c in pieces])
    return sp.csr_matrix((data, (rows, cols)), shape=(count, n)), sent


def _constrained_block(numbering: Numbering, rank: int, K_own: sp.csr_matrix, scale: float
                       ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """(owned rows x all dofs in the distributed order, owned free rows x fixed dofs, owned
    fixed-row mask): free rows without their fixed columns (those are lifted to the
    right-hand side), fixed rows ``scale`` times the identity. Keeping every dof keeps the
    node blocks of a vector field whole (GAMG aggregates them by block size)."""
    owned = numbering.owned(rank)
    fixed_row = numbering.is_fixed[owned]
    coupling = K_own[np.flatnonzero(~fixed_row)][:, numbering.fixed].tocsr()
    entries = K_own.tocoo()
    keep = ~fixed_row[entries.row] & ~numbering.is_fixed[entries.col]
    diagonal = np.flatnonzero(fixed_row)
    rows = np.r_[entries.row[keep], diagonal]
    cols = np.r_[numbering.position[entries.col[keep]], diagonal + numbering.bounds[rank]]
    data = np.r_[entries.data[keep], np.full(len(diagonal), scale)]
    block = sp.csr_matrix((data, (rows, cols)), shape=(len(owned), len(numbering.owner)))
    block.sort_indices()
    return block, coupling, fixed_row


def _petsc_matrix(PETSc, comm, block: sp.csr_matrix, block_size: int):
    index, n = PETSc.IntType, block.shape[1]
    matrix = PETSc.Mat().createAIJ(
        size=((block.shape[0], n), (block.shape[0], n)), bsize=block_size,
        csr=(block.indptr.astype(index), block.indices.astype(index), block.data), comm=comm)
    matrix.assemble()
    return matrix


def _near_null_space(PETSc, comm, matrix, modes: np.ndarray):
    """Rigid-body modes (owned free rows, k) made orthonormal over all ranks, set as the
    matrix's near null space (GAMG builds its coarse spaces from them)."""
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


def _ksp(PETSc, comm, matrix, method: str, rtol: float):
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(matrix)
    ksp.getPC().setType(PRECONDITIONERS[method])
    if method == "direct":
        matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        ksp.setType("preonly")
        ksp.getPC().setFactorSolverType("mumps")
        return ksp
    ksp.setType("cg")
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    if method == "cg-gamg":
        options = PETSc.Options()
        for name, value in GAMG_OPTIONS.items():
            if not options.hasName(name):
                options[name] = value
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=MAX_ITERATIONS)
    ksp.setFromOptions()  # PETSC_OPTIONS may tune it (e.g. -pc_gamg_threshold)
    return ksp


def _gathered(comm, numbering: Numbering, local: np.ndarray, dofs_of_rank) -> np.ndarray:
    """The whole vector(s) on every rank from each rank's owned values."""
    out = np.zeros((len(numbering.owner),) + local.shape[1:])
    for rank, values in enumerate(comm.allgather(local)):
        out[dofs_of_rank(rank)] = values
    return out


def solve(comm, PETSc, numbering: Numbering, K_own: sp.csr_matrix, F: np.ndarray,
          fixed_values: np.ndarray | float, *, method: str = "cg-gamg", rtol: float = RTOL,
          near_null_space: np.ndarray | None = None, block_size: int = 1
          ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Solve ``K x = F`` with ``x[fixed] = fixed_values``, K given as each rank's owned rows.

    F : (n,) or (n, k) the whole load on every rank; near_null_space : (n, m) rigid-body
    modes (elasticity) or None; block_size : dofs per node (3 for 3D elasticity: GAMG
    aggregates whole nodes). Returns (x, K x - F, stats) on every rank, x and K x - F shaped
    like F; stats: method, unknowns (free), iterations (the most of any column),
    relative_residual (the largest true one over the free equations, the right-hand side
    with the fixed values lifted, as the serial solvers measure it), converged_reason
    (PETSc's, per column), seconds, ranks.
    """
    start = time.perf_counter()
    rank = comm.rank
    columns = F.reshape(len(F), -1)
    owned = numbering.owned(rank)
    diagonal = K_own[np.arange(len(owned)), owned]
    free_diagonal = np.asarray(diagonal).ravel()[~numbering.is_fixed[owned]]
    total = comm.allreduce(np.array([free_diagonal.sum(), len(free_diagonal)]))
    scale = total[0] / max(total[1], 1)  # fixed rows: the mean diagonal (AMG sees no jump)
    block, coupling, fixed_row = _constrained_block(numbering, rank, K_own, scale)
    matrix = _petsc_matrix(PETSc, comm, block, block_size)
    if near_null_space is not None:
        _near_null_space(PETSc, comm, matrix, near_null_space[owned])
    ksp = _ksp(PETSc, comm, matrix, method, rtol)
    setup = time.perf_counter() - start
    b, x = matrix.createVecs()
    values = np.broadcast_to(fixed_values, numbering.fixed.shape)
    owned_values = np.zeros(len(owned))
    owned_values[fixed_row] = _fixed_value_of(numbering, values)[owned[fixed_row]]
    solution = np.empty((len(owned), columns.shape[1]))
    iterations, reasons, rhs_squares = [], [], []
    for j in range(columns.shape[1]):
        rhs = scale * owned_values
        rhs[~fixed_row] = columns[owned[~fixed_row], j] - coupling @ values
        rhs_squares.append(float(rhs[~fixed_row] @ rhs[~fixed_row]))
        b.setArray(rhs)
        x.set(0.0)
        ksp.solve(b, x)
        solution[:, j] = x.getArray()
        solution[fixed_row, j] = owned_values[fixed_row]  # exact, not the solver's round-off
        iterations.append(int(ksp.getIterationNumber()))
        reasons.append(int(ksp.getConvergedReason()))
    whole = _gathered(comm, numbering, solution, numbering.owned)
    owned_residual = K_own @ whole - columns[owned]
    squares = comm.allreduce(np.c_[(owned_residual[~fixed_row]**2).sum(axis=0),
                                   rhs_squares])  # (k, 2)
    relative = np.sqrt(squares[:, 0]) / np.maximum(np.sqrt(squares[:, 1]), 1e-300)
    residual = _gathered(comm, numbering, owned_residual, numbering.owned)
    for item in (ksp, matrix, b, x):
        item.destroy()
    stats = {"method": method, "backend": "petsc", "ranks": int(comm.size),
             "unknowns": int(len(numbering.free)), "iterations": max(iterations),
             "iterations_per_rhs": iterations, "converged_reason": reasons,
             "relative_residual": float(relative.max()), "setup_seconds": setup,
             "seconds": time.perf_counter() - start, "rtol": rtol}
    return whole.reshape(F.shape), residual.reshape(F.shape), stats


def _fixed_value_of(numbering: Numbering, values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(numbering.owner))
    out[numbering.fixed] = values
    return out


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
