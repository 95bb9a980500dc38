"""Heat and warpage of one model across MPI ranks, returning the serial result types.

Every rank reads and meshes the model and sets up the loads, supports and rigid modes with
the serial code (``heat_problem.assemble_problem``, ``mechanics.warpage_system``: vectors
and surface terms, O(unknowns) memory per rank). The matrices, which hold almost all of the
assembly's time and memory, are assembled by cell ownership: each rank writes the cells of
its partition straight into CSR on the tensor grid (``fem.grid_assembly`` with the rows of
the dofs those cells touch: ``structured.diffusion_terms`` / ``elasticity_terms``), then
:mod:`.system` sends the halo rows to their owners and PETSc solves. The solution comes
back whole to rank 0 only, where the serial result builders (``thermal.steady_result``,
``mechanics.warpage_results``) give the same ThermalResult / WarpageResult. The heat solve
keeps only its right-hand side of the load set-up; rank 0 assembles the per-boundary terms
again for the heat flows (:func:`_solve_only`, :func:`_heat_result`).

Supported: steady heat (with k(T) by Picard, as ``solve_thermal``) and warpage (one
temperature, a temperature field from the heat solve, or a warpage curve) on box meshes of
our mesher, 3D and 2D plane strain. Transients, process steps, generalized plane strain and
imported meshes stay serial (a ModelError says so).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time

import numpy as np
import scipy.sparse as sp

from ..errors import ModelError, SolverError
from ..fem import structured
from ..fem.assembly import choose_assembly, unit_cell_weights
from ..fem.grid_assembly import assemble_on_grid
from ..fem.multigrid import level_order
from ..fem.solve import Solution
from ..heat_problem import assemble_problem, check_heat_path
from ..mechanics import warpage_results, warpage_system
from ..thermal import conductivity_field, is_nonlinear, steady_result, thermal_space
from . import pvtu, system
from .geometric import whole_lines
from .mpi import agreed
from .partition import Numbering, metis_partition, owners, slab_partition

SLAB_RANKS = 2
"""Up to this many ranks the box grid is cut into slabs, beyond it METIS cuts it (when
pymetis is installed): measured halo dofs per rank, Q1, 50k cells per rank
(benchmarks/bench_mpi.py weak): 2 ranks slabs 756 / METIS 851, 4 ranks 1591 / 1218,
64 ranks 8289 / 2299."""


def chosen(method: str, package, size: int) -> str:
    """``method``, with ``auto`` resolved: ``cg-gmg-global`` (the geometric multigrid across
    the ranks) when the box grid has at least ``size`` cell layers across an in-plane axis
    to cut into slabs, else ``cg-gamg-lines`` (measured: docs/mpi.md)."""
    if method != "auto":
        return method
    grid_cells = getattr(package, "grid_cells", None)
    if grid_cells is not None and max(grid_cells.shape[:-1]) >= size:
        return "cg-gmg-global"
    return "cg-gamg-lines"


def cell_ranks(package, size: int, method: str = "") -> np.ndarray:
    """(cells,) rank of each cell: slabs of the box grid (:func:`slab_partition`) up to
    :data:`SLAB_RANKS` ranks, METIS beyond (deterministic: every rank computes the same).
    ``cg-gmg-global``: slabs across the in-plane axis with the most cell layers for any
    number of ranks, so that no rank splits a z line on any level (its smoother solves
    whole lines: ``distributed.geometric``)."""
    if getattr(package, "grid_cells", None) is None:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher; "
                                    "an imported mesh runs serially (omit --backend)")
    if method == "cg-gmg-global":
        shape = package.grid_cells.shape[:-1]
        return slab_partition(package.grid_cells, size, axis=int(np.argmax(shape)))
    if size > SLAB_RANKS and importlib.util.find_spec("pymetis") is not None:
        return metis_partition(package.mesh.t, size, ncommon=2 ** (package.dimension - 1))
    return slab_partition(package.grid_cells, size)


def _owners(basis, cell_rank: np.ndarray, method: str) -> np.ndarray:
    """(dofs,) owning rank of each dof (``partition.owners``; ``cg-gmg-global``: whole z
    lines, ``geometric.whole_lines``)."""
    owner = owners(basis.element_dofs, cell_rank, basis.N)
    return whole_lines(owner, basis.grid) if method == "cg-gmg-global" else owner


def local_rows(dofs: np.ndarray, coefficients: np.ndarray, references: np.ndarray, grid,
               n: int) -> system.Contribution:
    """The matrix of some cells, only the rows of the dofs they touch (all columns)."""
    touched = np.unique(dofs)
    rows = np.full(n, -1, dtype=np.int64)
    rows[touched] = np.arange(len(touched))
    matrix = assemble_on_grid(dofs, coefficients, references, grid, rows,
                              np.arange(n, dtype=np.int64), len(touched), n)
    return system.Contribution(touched, matrix)


def _rows_of(matrix: sp.csr_matrix) -> system.Contribution:
    rows = np.flatnonzero(np.diff(matrix.indptr))
    return system.Contribution(rows, matrix[rows])


def on_root(comm, build, *args):
    """``build(*args)`` on rank 0 alone (the result builders: whole vectors live there
    only); None on the other ranks. Run through ``agreed``, so a failure reaches all."""
    return build(*args) if comm.rank == 0 else None


# --- heat ----------------------------------------------------------------------------------

def _heat_setup(comm, package, loads, cell_rank, method):
    basis = thermal_space(package)
    if not basis.is_box:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher")
    assembly = choose_assembly(basis)
    problem = assemble_problem(package, loads, basis, assembly)
    check_heat_path(list(problem.boundaries))
    numbering = Numbering(_owners(basis, cell_rank, method), problem.fixed_dofs, comm.size,
                          level_order(basis.grid))
    return problem, numbering


def _solve_only(problem, rank: int):
    """The heat problem as the solve needs it: the package, space, fixed dofs and values
    and, on rank 0 (which adds them to its rows), the convection terms; the load vectors
    and the per-boundary terms are dropped (rank 0 assembles them again for the results,
    :func:`_heat_result`). Measured at 1.11M Q1 unknowns: 0.10 GB less on every rank
    while GAMG sets up (docs/performance.md)."""
    return dataclasses.replace(problem, robin=problem.robin if rank == 0 else None,
                               load=None, power=None, terms=(), boundaries=(),
                               fixed_owner=())


def _heat_result(solved, loads, *args):
    """Rank 0: ``thermal.steady_result`` on the whole problem, assembled again (the same
    deterministic code as the solve's set-up, so the same numbers)."""
    problem = assemble_problem(solved.package, loads, solved.basis, solved.assembly)
    return steady_result(dataclasses.replace(problem, seconds=solved.seconds), *args)


def _heat_parts(comm, problem, mine, cell_temperature):
    """This rank's conductivity rows (its cells ``mine``; cell_temperature theirs or None)
    and, on rank 0, the convection terms (surface only)."""
    package, basis = problem.package, problem.basis
    k = conductivity_field(package, cell_temperature, cells=mine)
    parts = [local_rows(*structured.diffusion_terms(package, basis, k, mine), basis.grid,
                        basis.N)]
    if comm.rank == 0:
        parts.append(_rows_of(problem.robin))
    return parts


def solve_heat(comm, PETSc, package, loads, *, method: str = "cg-gamg", rtol=system.RTOL,
               local: bool = False):
    """``thermal.solve_thermal`` across the ranks of ``comm``: the ThermalResult on rank 0
    (stats add ranks, halo traffic), None on the others. Each rank holds the conductivity
    rows and the temperatures of its own dofs (and, for k(T), of its cells' ghost dofs);
    the field comes whole to rank 0 alone. ``local``: (that, the rank's pvtu.LocalField)."""
    start = time.perf_counter()
    cell_rank = agreed(comm, cell_ranks, package, comm.size, method)
    problem, numbering = agreed(comm, _heat_setup, comm, package, loads, cell_rank,
                                method)
    b = problem.power + problem.load
    problem = _solve_only(problem, comm.rank)
    nonlinear = is_nonlinear(package)
    mine = np.flatnonzero(cell_rank == comm.rank)
    del cell_rank
    if nonlinear:  # k(T): the cells' mean temperatures need their ghost dofs' values
        cell_dofs = problem.basis.element_dofs[:, mine]
        touched, inverse = np.unique(cell_dofs, return_inverse=True)
        inverse = inverse.reshape(cell_dofs.shape)
        weights = unit_cell_weights(problem.basis.elem)
        del cell_dofs
    theta, linear, assembly_seconds, traffic = None, [], problem.seconds, {}
    cell_t = np.full(len(mine), problem.reference) if nonlinear else None
    for _ in range(loads.max_iterations if nonlinear else 1):
        tick = time.perf_counter()
        op = system.operator(comm, PETSc, numbering, _heat_parts(comm, problem, mine, cell_t))
        traffic = op.traffic
        assembly_seconds += time.perf_counter() - tick
        new, residual, stats = system.solve(comm, PETSc, numbering, op, b,
                                            problem.fixed_values, method=method, rtol=rtol,
                                            grid=problem.basis.grid)
        op.destroy()
        linear.append(agreed(comm, system.checked, stats, new))
        change = np.inf if theta is None else max(comm.allgather(
            float(np.max(np.abs(new - theta), initial=0.0))))
        theta = new
        if not nonlinear:
            break
        cell_t = weights @ system.values_at(comm, numbering, theta, touched)[inverse] + \
            problem.reference
        if change <= loads.nonlinear_tolerance * max(max(comm.allgather(
                float(np.max(np.abs(theta), initial=0.0)))), 1e-300):
            break
    else:
        raise SolverError(f"k(T) iteration did not converge in {loads.max_iterations} "
                          f"iterations (last change {change:.3g} K)")
    nonlinear_residual = None
    if nonlinear:  # the residual of the nonlinear equations at the final field
        op = system.operator(comm, PETSc, numbering, _heat_parts(comm, problem, mine, cell_t))
        owned = numbering.owned(comm.rank)
        F = b[owned, None]
        values = np.broadcast_to(problem.fixed_values, numbering.fixed.shape)
        lift = op.coupling @ values
        r = system.residual(comm, PETSc, numbering, op, theta[:, None], F, lift)
        nonlinear_residual = float(system.lifted_norms(comm, op, F, lift, r)[0])
        op.destroy()
    field = pvtu.LocalField(numbering, theta, problem.reference)
    theta = system.gather(comm, numbering, theta)
    residual = system.gather(comm, numbering, residual)
    result = agreed(comm, on_root, comm, _heat_result, problem, loads, None, b, theta,
                    linear, assembly_seconds, nonlinear_residual,
                    time.perf_counter() - start, residual)
    if result is not None:
        result.stats.update(ranks=int(comm.size), halo=traffic)
    return (result, field) if local else result


# --- warpage -------------------------------------------------------------------------------

def _warpage_setup(comm, package, loads, temperatures, cell_rank, method):
    built = warpage_system(package, loads, temperatures)
    if built.extra is not None:
        raise ModelError("mechanical.plane", "generalized plane strain runs serially (omit "
                                             "--backend petsc)")
    basis = built.setup.basis
    if not basis.is_box:
        raise ModelError("backend", "--backend petsc needs a box mesh of thermomech's mesher")
    numbering = Numbering(_owners(basis, cell_rank, method), built.fixed, comm.size,
                          level_order(basis.grid))
    return built, numbering


def solve_warpage(comm, PETSc, package, loads, temperatures, *, method: str = "cg-gamg",
                  rtol=system.RTOL, local: bool = False):
    """``mechanics.solve_warpage`` (one temperature) or ``solve_warpage_curve`` (several)
    across the ranks of ``comm``: the WarpageResults on rank 0, None on the others. Each
    rank holds the stiffness rows and displacements of its own dofs; they come whole to
    rank 0 alone. ``local``: (those, the first temperature's displacement as this rank's
    pvtu.LocalField, free rigid modes removed as ``warpage_results`` removes them)."""
    cell_rank = agreed(comm, cell_ranks, package, comm.size, method)
    built, numbering = agreed(comm, _warpage_setup, comm, package, loads, temperatures,
                              cell_rank, method)
    setup = built.setup
    mine = np.flatnonzero(cell_rank == comm.rank)
    del cell_rank
    stiffness = setup.model.reduced[setup.part[mine]]
    op = system.operator(
        comm, PETSc, numbering,
        [local_rows(*structured.elasticity_terms(package, setup.basis, stiffness, mine),
                    setup.basis.grid, setup.basis.N)],
        block_size=package.dimension, near_null_space=built.R)
    del stiffness
    assembly_seconds = time.perf_counter() - built.start
    x, residual, stats = system.solve(comm, PETSc, numbering, op, built.F, built.values,
                                      method=method, rtol=rtol, grid=setup.basis.grid)
    traffic = op.traffic
    op.destroy()
    stats = agreed(comm, system.checked, stats, x)
    field = _displacement(comm, numbering, built, x) if local else None
    x = system.gather(comm, numbering, x)
    residual = system.gather(comm, numbering, residual)
    solution = Solution(x, residual, stats, numbering.free)
    results = agreed(comm, on_root, comm, warpage_results, built, solution, assembly_seconds)
    for result in results or ():
        result.stats.update(ranks=int(comm.size), halo=traffic)
    return (results, field) if local else results


def _displacement(comm, numbering, built, x: np.ndarray) -> pvtu.LocalField:
    """The first load case's owned displacement without the free rigid modes (the
    least-squares fit of ``warpage_results``, its normal equations summed over ranks)."""
    u = x.reshape(len(x), -1)[:, 0]
    modes = built.free_modes[numbering.owned(comm.rank)]
    if modes.shape[1]:
        normal = comm.allreduce(np.c_[modes.T @ modes, modes.T @ u])
        u = u - modes @ np.linalg.solve(normal[:, :-1], normal[:, -1])
    return pvtu.LocalField(numbering, u, 0.0, built.setup.basis.nodal_dofs)
