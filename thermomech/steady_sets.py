"""Steady heat solves of one meshed package under many boundary-condition sets (JEDEC
characterization, compact-model training), reusing what the sets share.

:class:`SteadyHeat` holds the space, the assembly and (for constant k) the conductivity
matrix K0 of one package; each :meth:`SteadyHeat.solve` assembles only the set's boundary
terms (:func:`heat_problem.assemble_problem`) and adds them to K0. With silicon's k(T) a set
is a Picard iteration (as :func:`thermal.solve_thermal`), started from the previous set's
converged cell temperatures instead of the ambient (fewer iterations), each iteration's CG
started from the previous iterate, and the geometric multigrid built once per set of fixed
dofs and kept while the matrix changes only by k(T) or by convection coefficients (a
preconditioner need not be the matrix's own: CG still converges to the same tolerance, the
true residual is checked by :func:`linear_solvers.solve_linear`).

The converged fields satisfy the same checks as ``solve_thermal`` (linear residual, energy
balance, k(T) change below ``loads.nonlinear_tolerance`` of the largest rise); they differ
from it by no more than that tolerance (tests/test_characterization.py).
"""

from __future__ import annotations

import time

import numpy as np

from .errors import SolverError
from .fem.assembly import choose_assembly
from .fem.constraints import condense, free_dofs
from .fem.multigrid import Multigrid
from .heat_problem import assemble_problem, cell_mean, check_heat_path
from .linear_solvers import choose_method, preconditioned_cg, solve_linear
from .meshing import MeshedPackage
from .results import ThermalResult
from .sparse_cholesky import direct_factor
from .thermal import (
    conductivity_field,
    is_nonlinear,
    nonlinear_residual,
    steady_result,
    thermal_space,
)
from .thermal_loads import ThermalLoads

COARSEST = 1000
"""Unknowns at which the reused multigrid stops coarsening (the solver's default 4000 makes
a dense coarse Cholesky of up to 4000 unknowns per hierarchy, 1.1 s each, and 14 ms per
V-cycle's coarse solve): on the flip-chip characterization 35.4 -> 30.1 s CPU, the same
theta values to 1e-13 (benchmarks/bench_characterize.py)."""


class SteadyHeat:
    """Steady solves of ``package`` (one mesh, one material set) under many loads.

    solver : as :func:`thermal.solve_thermal`; "auto" or "cg-gmg" on a box mesh large enough
    for the multigrid use the reused hierarchy, anything else the ordinary solve per
    iteration. ``warm_start`` : start k(T) from the previous solve's cell temperatures.
    """

    def __init__(self, package: MeshedPackage, *, order: int | None = None, solver="auto",
                 assembly=None, warm_start: bool = True):
        self.package = package
        self.basis = thermal_space(package, order)
        self.assembly = choose_assembly(self.basis, assembly)
        self.solver, self.warm_start = solver, warm_start
        self.nonlinear = is_nonlinear(package)
        self._K0 = None
        self._cell_t = None  # degC per cell of the last converged solve
        self._preconditioner = None  # (fixed dofs, multigrid)
        self.solves = 0

    def stiffness(self, cell_t: np.ndarray | None):
        """The conductivity matrix (W/K) at cell temperatures ``cell_t`` (degC; None: k_ref)."""
        if not self.nonlinear:
            if self._K0 is None:
                self._K0 = self.assembly.diffusion(self.package, self.basis,
                                                   conductivity_field(self.package))
            return self._K0
        return self.assembly.diffusion(self.package, self.basis,
                                       conductivity_field(self.package, cell_t))

    def solve(self, loads: ThermalLoads) -> ThermalResult:
        """The steady field under ``loads`` (same checks and result as ``solve_thermal``)."""
        start = time.perf_counter()
        problem = assemble_problem(self.package, loads, self.basis, self.assembly)
        check_heat_path(list(problem.boundaries))
        b = problem.power + problem.load
        cell_t = None
        if self.nonlinear:
            cell_t = self._cell_t if self.warm_start and self._cell_t is not None else \
                np.full(self.package.ncells, problem.reference)
        theta, linear, assembly_seconds = None, [], problem.seconds
        for _ in range(loads.max_iterations if self.nonlinear else 1):
            tick = time.perf_counter()
            A = self.stiffness(cell_t) + problem.robin
            assembly_seconds += time.perf_counter() - tick
            new, stats = self._linear(problem, A, b, theta)
            linear.append(stats)
            change = np.inf if theta is None else np.max(np.abs(new - theta))
            theta = new
            cell_t = cell_mean(self.basis, theta) + problem.reference
            if not self.nonlinear or change <= loads.nonlinear_tolerance * max(
                    np.max(np.abs(theta)), 1e-300):
                break
        else:
            raise SolverError(f"k(T) iteration did not converge in {loads.max_iterations} "
                              f"iterations (last change {change:.3g} K)")
        self._cell_t = cell_t
        self.solves += 1
        residual = None
        if self.nonlinear:
            A_final = self.stiffness(cell_t) + problem.robin
            residual = nonlinear_residual(problem, A_final, b, theta)
        return steady_result(problem, A, b, theta, linear, assembly_seconds, residual,
                              time.perf_counter() - start)

    def _linear(self, problem, A, b, theta0):
        """``A theta = b`` with the problem's fixed dofs; (theta, solver stats)."""
        n, fixed = self.basis.N, problem.fixed_dofs
        free = free_dofs(n, fixed)
        grid = self.basis.grid
        method = self.solver
        if method == "auto":
            method = choose_method(len(free), None if grid is None else grid.restrict(free))
        A_free, A_fixed = condense(A.tocsr(), free, fixed)
        x = np.zeros(n)
        x[fixed] = problem.fixed_values
        rhs = b[free] - (A_fixed[:, free].T @ x[fixed] if len(fixed) else 0.0)
        if method == "cg-gmg" and grid is not None:
            strategy = self._reused_multigrid(A_free, grid.restrict(free), fixed,
                                              None if theta0 is None else theta0[free])
        else:
            strategy = method
        x[free], stats = solve_linear(A_free, rhs, strategy, grid=None if grid is None
                                      else grid.restrict(free))
        return x, stats

    def _reused_multigrid(self, A_free, grid, fixed, x0):
        """A ``solve_linear`` strategy: CG preconditioned by the multigrid of the first
        matrix seen with these fixed dofs, started from ``x0``."""
        kept = self._preconditioner
        if kept is None or not np.array_equal(kept[0], fixed):
            kept = self._preconditioner = (fixed.copy(), Multigrid(
                A_free, grid, coarsest=COARSEST, coarse_factor=direct_factor))
        M = kept[1].operator()
        levels = len(kept[1].sizes)

        def strategy(A, rhs, tol):
            x, iterations = preconditioned_cg(A, rhs, M, tol, None, x0)
            return x, {"method": "cg-gmg", "iterations": iterations, "levels": levels,
                       "preconditioner": "reused"}
        return strategy
