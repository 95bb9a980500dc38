"""Heat and warpage of one model across MPI ranks, returning the serial result types.

Every rank reads and meshes the model and sets up the loads, supports and rigid modes with
the serial code (``heat_problem.assemble_problem``, ``mechanics.warpage_system``: vectors
and surface terms, O(unknowns) memory per rank). The matrices, which hold almost all of the
assembly's time and memory, are assembled by cell ownership: each rank writes the cells of
its partition straight into CSR on the tensor grid (``fem.grid_assembly`` with the rows of
the dofs those cells touch: ``structured.diffusion_terms`` / ``elasticity_terms``), then
:mod:`.system` sends the halo rows to their owners and PETSc solves. The solution comes
back whole to every rank, so the serial result builders (``thermal.steady_result``,
``mechanics.warpage_results``) give the same ThermalResult / WarpageResult on each.

Supported: steady heat (with k(T) by Picard, as ``solve_thermal``) and warpage (one
temperature, a temperature field from the heat solve, or a warpage curve) on box meshes of
our mesher, 3D and 2D plane strain. Transients, process steps, generalized plane strain and
imported meshes stay serial (a ModelError says so).
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import scipy.sparse as sp

from ..errors import ModelError, SolverError
from ..fem import structured
from ..fem.assembly import choose_assembly
from ..fem.grid_assembly import assemble_on_grid
from ..fem.solve import Solution
from ..heat_problem import assemble_problem, cell_mean, check_heat_path
from ..mechanics import warpage_results, warpage_system
from ..thermal import conductivity_field, is_nonlinear, steady_result, thermal_space
from . import system
from .mpi import agreed
from .partition import Numbering, metis_partition, owners, slab_partition

SLAB_RANKS = 2
"""Up to this many ranks the box grid is cut into slabs, beyond it METIS cuts it (when
pymetis is installed): measured halo dofs per rank, Q1, 50k cells per rank
(benchmarks/bench_mpi.py weak): 2 ranks slabs 756 / METIS 851, 4 ranks 1591 / 1218,
64 ranks 8289 / 2299."""


def cell_ranks(package, size: int) -> np.ndarray:
    """(cells,) rank of each cell: slabs of the box grid (:func:`slab_partition`) up to
    :data:`SLAB_RANKS` ranks, METIS beyond (deterministic: every rank computes the same)."""
    if getattr(package, "grid_cells", None) is None:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher; "
                                    "an imported mesh runs serially (omit --backend)")
    if size > SLAB_RANKS and importlib.util.find_spec("pymetis") is not None:
        return metis_partition(package.mesh.t, size, ncommon=2 ** (package.dimension - 1))
    return slab_partition(package.grid_cells, size)


def local_rows(dofs: np.ndarray, coefficients: np.ndarray, references: np.ndarray, grid,
               n: int) -> system.Contribution:
    """The matrix of some cells, only the rows of the dofs they touch (all columns)."""
    touched = np.unique(dofs)
    rows = np.full(n, -1, dtype=np.int64)
    rows[touched] = np.arange(len(touched))
    matrix = assemble_on_grid(dofs, coefficients, references, grid, rows,
                              np.arange(n, dtype=np.int64), len(touched), n)
    return system.Contribution(touched, matrix)


def _sum_product(comm, parts: list[system.Contribution], x: np.ndarray, n: int) -> np.ndarray:
    """(sum of the ranks' matrices) @ x, whole on every rank."""
    out = np.zeros(n)
    for part in parts:
        out[part.rows] += part.matrix @ x
    return comm.allreduce(out)


def _rows_of(matrix: sp.csr_matrix) -> system.Contribution:
    rows = np.flatnonzero(np.diff(matrix.indptr))
    return system.Contribution(rows, matrix[rows])


# --- heat ----------------------------------------------------------------------------------

def _heat_setup(comm, package, loads, cell_rank):
    basis = thermal_space(package)
    if not basis.is_box:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher")
    assembly = choose_assembly(basis)
    problem = assemble_problem(package, loads, basis, assembly)
    check_heat_path(list(problem.boundaries))
    numbering = Numbering(owners(basis.element_dofs, cell_rank, basis.N), problem.fixed_dofs,
                          comm.size)
    return problem, numbering


def _heat_parts(comm, problem, cell_rank, cell_temperature):
    package, basis = problem.package, problem.basis
    mine = np.flatnonzero(cell_rank == comm.rank)
    k = conductivity_field(package, cell_temperature)[:, mine]
    parts = [local_rows(*structured.diffusion_terms(package, basis, k, mine), basis.grid,
                        basis.N)]
    if comm.rank == 0:  # the convection terms once (surface only)
        parts.append(_rows_of(problem.robin))
    return parts


def solve_heat(comm, PETSc, package, loads, *, method: str = "cg-gamg", rtol=system.RTOL):
    """``thermal.solve_thermal`` across the ranks of ``comm``: the same ThermalResult on
    every rank (stats add ranks, halo traffic)."""
    start = time.perf_counter()
    cell_rank = agreed(comm, cell_ranks, package, comm.size)
    problem, numbering = agreed(comm, _heat_setup, comm, package, loads, cell_rank)
    b = problem.power + problem.load
    nonlinear = is_nonlinear(package)
    theta, linear, assembly_seconds, traffic = None, [], problem.seconds, {}
    for _ in range(loads.max_iterations if nonlinear else 1):
        tick = time.perf_counter()
        cell_t = None if theta is None else cell_mean(problem.basis, theta) + problem.reference
        if nonlinear and theta is None:
            cell_t = np.full(package.ncells, problem.reference)
        parts = _heat_parts(comm, problem, cell_rank, cell_t)
        K_own, traffic = system.owned_rows(comm, numbering, parts)
        assembly_seconds += time.perf_counter() - tick
        new, residual, stats = system.solve(comm, PETSc, numbering, K_own, b,
                                            problem.fixed_values, method=method, rtol=rtol)
        linear.append(agreed(comm, system.checked, stats, new))
        change = np.inf if theta is None else np.max(np.abs(new - theta))
        theta = new
        if not nonlinear or change <= loads.nonlinear_tolerance * max(np.max(np.abs(theta)),
                                                                      1e-300):
            break
    else:
        raise SolverError(f"k(T) iteration did not converge in {loads.max_iterations} "
                          f"iterations (last change {change:.3g} K)")
    nonlinear_residual = None
    if nonlinear:  # the residual of the nonlinear equations at the final field
        parts = _heat_parts(comm, problem, cell_rank, cell_mean(problem.basis, theta)
                            + problem.reference)
        r = _sum_product(comm, parts, theta, problem.basis.N) - b
        free, lifted = numbering.free, b.copy()
        lifted -= _sum_product(comm, parts, _fixed_only(numbering, problem.fixed_values),
                               problem.basis.N)
        nonlinear_residual = float(np.linalg.norm(r[free]) / max(
            np.linalg.norm(lifted[free]), 1e-300))
    result = agreed(comm, steady_result, problem, None, b, theta, linear, assembly_seconds,
                    nonlinear_residual, time.perf_counter() - start, residual)
    result.stats.update(ranks=int(comm.size), halo=traffic)
    return result


def _fixed_only(numbering: Numbering, values) -> np.ndarray:
    x = np.zeros(len(numbering.owner))
    x[numbering.fixed] = values
    return x


# --- warpage -------------------------------------------------------------------------------

def _warpage_setup(comm, package, loads, temperatures, cell_rank):
    built = warpage_system(package, loads, temperatures)
    if built.extra is not None:
        raise ModelError("mechanical.plane", "generalized plane strain runs serially (omit "
                                             "--backend petsc)")
    basis = built.setup.basis
    if not basis.is_box:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher")
    numbering = Numbering(owners(basis.element_dofs, cell_rank, basis.N), built.fixed,
                          comm.size)
    return built, numbering


def solve_warpage(comm, PETSc, package, loads, temperatures, *, method: str = "cg-gamg",
                  rtol=system.RTOL):
    """``mechanics.solve_warpage`` (one temperature) or ``solve_warpage_curve`` (several)
    across the ranks of ``comm``: the same WarpageResults on every rank."""
    cell_rank = agreed(comm, cell_ranks, package, comm.size)
    built, numbering = agreed(comm, _warpage_setup, comm, package, loads, temperatures,
                              cell_rank)
    setup = built.setup
    mine = np.flatnonzero(cell_rank == comm.rank)
    stiffness = setup.model.reduced[setup.part[mine]]
    parts = [local_rows(*structured.elasticity_terms(package, setup.basis, stiffness, mine),
                        setup.basis.grid, setup.basis.N)]
    K_own, traffic = system.owned_rows(comm, numbering, parts)
    assembly_seconds = time.perf_counter() - built.start
    x, residual, stats = system.solve(comm, PETSc, numbering, K_own, built.F, built.values,
                                      method=method, rtol=rtol, near_null_space=built.R,
                                      block_size=package.dimension)
    stats = agreed(comm, system.checked, stats, x)
    solution = Solution(x, residual, stats, numbering.free)
    results = agreed(comm, warpage_results, built, solution, assembly_seconds)
    for result in results:
        result.stats.update(ranks=int(comm.size), halo=traffic)
    return results
