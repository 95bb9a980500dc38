"""Solder creep in a process recipe (issue 17; PHYSICS_NEXT.md 6.3): the parts given a
creep law (``solve_process(..., creep={part: law})``; ``[reliability] solder_creep`` for the
joints) carry, at every quadrature point of their cells, the creep strain (6), Anand's
deformation resistance s and the dissipated energy density (:class:`solder_creep.
CreepState`), zero when the part is present from the start or is added (strain-free
activation).

An increment of ``dt`` s ending at the uniform temperature T is the backward-Euler step of
:func:`solder_creep.creep_step` at every point; the displacement solves the nonlinear
equilibrium ``r(u) = F - ∫ eps(v) . sigma(u) = 0`` by Newton's method:

- the residual is exact: ``sigma = C (eps_m - eps_cr(eps_m))`` per point on the creep
  parts (``eps_m = eps(u) - eps0 - eps_th - eps_ch`` as in ``process``), the elastic
  stress elsewhere. With ``K`` the system matrix and ``C_t`` the creep cells' matrices in
  it, ``r = F - K u + ∫ eps(v) . (C_t eps(u) - C (eps(u) - eps_m) - sigma)`` over the creep
  cells (F: the process load, thermal, births, shrinkage, viscoelastic history);
- the matrix is the elastic one plus, on the creep cells, ``∫ eps(v) . (D - C) eps(u)``
  with ``D`` the consistent tangent of each point (plus ``FLOOR`` times the elastic
  matrix), assembled as batched products of each point's strain operator
  (``process_points.PointStiffness``). Every correction is the fresh tangent's, solved by
  CG preconditioned with the factor in use (the previous increment's, or this one's):
  the tangents differ only on the creep cells, so a few triangular solves replace a
  factorization. The fresh tangent is factorized when CG misses ``KRYLOV_TOLERANCE`` in
  ``KRYLOV_ITERATIONS`` or its correction does not descend; each correction is scaled by
  a backtracking line search on the residual norm;
- converged when ``|r|`` on the free dofs is below ``TOLERANCE`` times the larger of
  ``|F|`` and ``|K u|`` there. An increment whose Newton fails (``MAX_ITERATIONS``, or no
  descent along a factorized fresh tangent's correction) is retried in halves
  (temperature linear in time within it), down to ``2**-MAX_CUTS`` of it, as Abaqus cuts
  increments; the number of sub-increments is a result (``stats["substeps"]``, ``"cuts"``);
  beyond that a SolverError (exit 3).

Why the earlier modified Newton stalled on the F3 two-plate model (cold dwell, relative
residual 1.6e-5 after 60 iterations): the previous increment's tangent (other dt) raised
the residual 2.65e-3 -> 4.2e-3 and the step was taken; the tangent refreshed at that
overshot state raised it to 1.9e-2, which switched the increment to the elastic matrix,
a contraction of 0.92 per iteration (near sinh saturation the creep tangent is far softer
than the elastic one). The consistent tangent itself is right: finite differences of the
return mapping agree to 1e-8 (Anand and Garofalo), and fresh-tangent Newton converges
there in 5 iterations. Hence: no step that raises the residual, no elastic fallback.

Only 3D models; no temperature field steps (the creep rate per point would need T per
point): both ModelErrors. Units: m, s, Pa, degC, J/m^3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import ModelError, SolverError
from .mechanical_loads import MechanicalLoads, step_path
from .mechanics import force_balance
from .process_points import BasisPoints, BoxPoints, PointStiffness, points_of
from .solder_creep import Anand, CreepMaterial, CreepState, CreepStep, Garofalo, creep_step

MAX_ITERATIONS = 30
"""Newton iterations per attempt of an increment (or sub-increment) before it is cut."""
MAX_CUTS = 6
"""Halvings of an increment before a SolverError: sub-increments down to 1/64 of it."""
BACKTRACKS = 6
"""Halvings of a Newton correction in the line search (down to 1/64 of it)."""
TOLERANCE = 1e-10
"""Relative residual of a converged increment (each correction is solved to 1e-9 of its
own right-hand side, so the residual keeps falling below that)."""
KRYLOV_TOLERANCE = 1e-6
"""Relative residual of a Newton correction solved by CG on the factor of an older tangent
(an inexact Newton step: the residual falls about this much faster than linearly)."""
KRYLOV_ITERATIONS = 12
"""CG iterations on an older factor before the fresh tangent is factorized instead (a
triangular solve pair costs about 1/30 of a factorization on the benchmark's 150k
unknowns: 0.29 s against 8 s CPU)."""
FLOOR = 1e-4
"""Fraction of the elastic matrix kept in the cell tangents: a fully relaxed cell (the hot
dwell) has a deviatoric tangent near zero, which would make the matrix singular next to
stiff parts; the floor bounds its condition number at the price of a linear convergence
rate of about FLOOR C / C_t where C_t < FLOOR C (cells that carry almost no load)."""


@dataclass
class _Part:
    """One creep part: its cells, their quadrature points (the solve's quadrature,
    ``process_points``), the law and the state of its points (cells * points, flattened
    cell-major), the tangent matrix's pattern (built at first use); mutable, private."""

    index: int
    law: Garofalo | Anand
    cells: np.ndarray
    points: BasisPoints | BoxPoints
    state: CreepState
    trial: CreepStep | None = None
    stiffness: PointStiffness | None = None
    elastic: tuple | None = None  # (key, the elastic matrix): see tangent_matrix

    def tangent_stiffness(self) -> PointStiffness:
        if self.stiffness is None:
            self.stiffness = PointStiffness(self.points)
        return self.stiffness


@dataclass
class CreepParts:
    """The creep parts of a recipe, their states and the matrix tangents in use
    (:func:`point_tangents`; empty: the elastic matrix)."""

    parts: list[_Part]
    tangent: tuple = ()

    @property
    def points(self) -> int:
        return sum(p.state.energy.size for p in self.parts)


@dataclass(frozen=True)
class CreepRecord:
    """One creep part at the end of an increment: its cells (n,), the points' dissipated
    energy density (n, q) J/m^3 (accumulated from the part's birth), creep strain
    (6, n, q) and stress (6, n, q) Pa (engineering Voigt), the points (3, n, q) m and their
    weights (n, q) m^3 (shared by every increment's record)."""

    part: int
    cells: np.ndarray
    energy: np.ndarray
    creep_strain: np.ndarray
    stress: np.ndarray
    points: np.ndarray
    weights: np.ndarray


def creep_parts(setup, creep: dict | None) -> CreepParts | None:
    """The parts named in ``creep`` (part -> Garofalo or Anand law) of ``setup``; None when
    there is none (the recipe stays elastic, unchanged). ModelError for an unknown part or
    a 2D model."""
    if not creep:
        return None
    parts = list(setup.package.parts)
    if setup.package.dimension != 3:
        raise ModelError("mechanical", "solder creep in process steps needs a 3D model")
    out = []
    for name, law in creep.items():
        if name not in parts:
            raise ModelError("creep", f"no part {name!r}; parts: {', '.join(parts)}")
        if not isinstance(law, (Garofalo, Anand)):
            raise ModelError(f"creep.{name}", f"must be a Garofalo or Anand law, got {law!r}")
        index = parts.index(name)
        cells = np.flatnonzero(setup.part == index)
        points = points_of(setup, cells)
        out.append(_Part(index, law, cells, points, _initial(law, int(np.prod(points.shape)))))
    return CreepParts(out)


def _initial(law, points: int) -> CreepState:
    s0 = law.s0 if isinstance(law, Anand) else 0.0
    return CreepState(np.zeros((points, 6)), np.full(points, float(s0)), np.zeros(points))


def check_creep(loads: MechanicalLoads, present: list[set[str]], names: list[str],
                creep: CreepParts | None, field) -> None:
    """ModelErrors: a step without ``duration`` while a creep part is present (creep needs
    time), a temperature-field step."""
    if creep is None:
        return
    if field is not None:
        raise ModelError("mechanical.steps", "creep parts under temperature = \"thermal\" "
                                             "steps are not yet supported: give the steps "
                                             "uniform temperatures")
    crept = {names[p.index] for p in creep.parts}
    for i, step in enumerate(loads.steps):
        there = sorted(crept & present[i])
        if there and step.duration is None:
            raise ModelError(f"{step_path(i, step)}.duration", f"is needed: part "
                             f"{there[0]!r} creeps over time. Give the time the step takes "
                             f"(\"0 s\": instantaneous, elastic)")


def reset_creep(creep: CreepParts | None, born: list[int]) -> None:
    """Zero the state of the ``born`` parts (strain-free activation)."""
    for part in creep.parts if creep is not None else ():
        if part.index in born:
            part.state, part.trial = _initial(part.law, len(part.state.energy)), None


def creep_material(part: _Part, model) -> CreepMaterial:
    """The part's law with the elasticity of ``model`` (at the increment's temperature)."""
    C = model.stiffness[part.index]
    G = C[3, 3]
    K = C[0, 0] - 4.0 * G / 3.0
    return CreepMaterial(9 * K * G / (3 * K + G), (3 * K - 2 * G) / (2 * (3 * K + G)),
                         part.law)


def _points(field: np.ndarray) -> np.ndarray:
    """(6, cells, q) -> (cells * q, 6)."""
    return field.reshape(6, -1).T


def _cells(flat: np.ndarray, points) -> np.ndarray:
    """(cells * q, ...) -> (..., cells, q) (the inverse of ``_points`` for vectors)."""
    q = points.shape[1]
    return np.moveaxis(flat.reshape((-1, q) + flat.shape[1:]), (0, 1), (-2, -1))


def _trial(creep: CreepParts, model, u: np.ndarray, N: int, dt: float, T: float, active
           ) -> list[tuple]:
    """Per active part: (part, material, total strain (6, c, q), mechanical strain, step)."""
    out = []
    for part in creep.parts:
        if not active[part.index]:
            continue
        material = creep_material(part, model)
        total = part.points.strain(u[:N])
        mech = _mechanical_strain(part, model, total, N, T)
        step = creep_step(material, part.state, _points(mech), dt, T)
        out.append((part, total, mech, step))
    return out


def _mechanical_strain(part, model, total: np.ndarray, N: int, T: float) -> np.ndarray:
    """(6, cells, points) eps(u) - eps0 - eps_th - eps_ch at the part's points (3D), from
    the total strain ``total`` of u; ``model`` the increment's ``ProcessModel`` (births,
    activation temperatures, shrinkage)."""
    mech = total.copy()
    for index, u_birth in model.births:
        if index == part.index:
            mech -= part.points.strain(u_birth[:N])
    mech[:3] -= model.thermal_strain(np.full(len(part.cells), part.index), T)
    return mech


def _correction(trials, tangent: dict, model) -> list[tuple]:
    """(points, (6, c, q) density) of ∫ eps(v) . (D eps(u) - C (eps(u) - eps_m) - sigma)."""
    out = []
    for part, total, mech, step in trials:
        C = model.stiffness[part.index]
        D = tangent.get(part.index)
        matrix_part = (np.einsum("ij,jcq->icq", C, total) if D is None else
                       np.einsum("cqij,jcq->icq", D, total))
        density = matrix_part - np.einsum("ij,jcq->icq", C, total - mech) \
            - _cells(step.stress, part.points)
        out.append((part.points, density))
    return out


def point_tangents(trials, elastic: np.ndarray) -> tuple:
    """((part, (cells, q, 6, 6) Pa, the part's elastic (6, 6) Pa), ...): the consistent
    tangent of every point (symmetrized: the J2 return-map tangent is symmetric) plus
    ``FLOOR`` times the elastic matrix, of ``elastic`` (parts, 6, 6) Pa."""
    out = []
    for part, _, _, step in trials:
        tangent = step.tangent.reshape(part.points.shape + (6, 6))
        tangent = 0.5 * (tangent + np.swapaxes(tangent, -1, -2))
        C = elastic[part.index]
        out.append((part, (1 - FLOOR) * tangent + FLOOR * C, C))
    return tuple(out)


def tangent_matrix(tangent: tuple, elastic, key: bytes) -> sp.csr_matrix:
    """The elastic matrix plus ∫ eps(v) . (D - C) eps(u) over the creep cells (``tangent``
    from :func:`point_tangents`): the consistent tangent. ``elastic()`` builds the elastic
    matrix, kept with the first creep part under ``key`` (its active set and moduli): a
    Newton refresh changes only the creep cells' part."""
    holder = tangent[0][0]
    if holder.elastic is None or holder.elastic[0] != key:
        holder.elastic = None  # release the old one before building
        holder.elastic = (key, sp.csr_matrix(elastic()))
    K = holder.elastic[1]
    for part, D, C in tangent:
        A = part.tangent_stiffness().matrix(D - C)
        A.resize(K.shape)
        K = K + A
    return K.tocsr()


class _NewtonFailedError(Exception):
    """A Newton attempt failed: the increment is cut (private)."""

    def __init__(self, message: str, iterations: int, factorizations: int):
        super().__init__(message)
        self.iterations, self.factorizations = iterations, factorizations


@dataclass
class _Iterate:
    """u with its residual r (n,), relative norm on the free dofs and point trials."""

    u: np.ndarray
    r: np.ndarray
    norm: float
    trials: list


def _iterate(creep, model, F, u, N, dt, T, active, system) -> _Iterate:
    """The exact residual at ``u`` (the correction of the creep cells to ``system.K u``,
    whose creep cells carry ``creep.tangent``); an infinite norm where the return mapping
    fails (a trial far outside the converging region)."""
    free = np.ones(len(u), dtype=bool)
    free[system.fixed] = False
    try:
        trials = _trial(creep, model, u, N, dt, T, active)
    except SolverError:
        return _Iterate(u, np.zeros_like(u), np.inf, [])
    tangent = {part.index: D for part, D, _ in creep.tangent}
    Ku = system.K @ u
    r = F - Ku
    for points, density in _correction(trials, tangent, model):
        r[:N] += points.load(density)
    scale = max(np.linalg.norm(F[free]), np.linalg.norm(Ku[free]), 1e-300)
    norm = float(np.linalg.norm(r[free]) / scale)
    return _Iterate(u, r, norm if np.isfinite(norm) else np.inf, trials)


def _krylov(system, old: tuple, new: tuple, r: np.ndarray) -> tuple[np.ndarray, dict]:
    """The Newton correction of the tangent ``new`` by CG preconditioned with the factor of
    ``system`` (whose creep cells carry ``old``): the tangents differ only on the creep
    cells, so a nearby factor needs a few iterations where a new one costs a
    factorization. Stats: the CG iterations and whether it reached ``KRYLOV_TOLERANCE``."""
    from scipy.sparse.linalg import LinearOperator, cg

    family, n = system.solve, len(r)
    previous = {part.index: D for part, D, _ in old}
    delta = sp.csr_matrix((n, n))
    for part, D, C in new:
        change = part.tangent_stiffness().matrix(D - previous.get(part.index, C))
        change.resize((n, n))
        delta = delta + change
    free = family.free
    B = sp.csr_matrix(family.block + delta.tocsr()[free][:, free])
    M = LinearOperator(B.shape, matvec=lambda b: family.inner(b)[0], dtype=float)
    count = [0]
    x, _ = cg(B, r[free], rtol=KRYLOV_TOLERANCE, atol=0.0, M=M, maxiter=KRYLOV_ITERATIONS,
              callback=lambda _: count.__setitem__(0, count[0] + 1))
    reached = np.linalg.norm(r[free] - B @ x) <= 2 * KRYLOV_TOLERANCE * np.linalg.norm(r[free])
    du = np.zeros(n)
    du[free] = x
    if system.modes.shape[1]:  # the free rigid motion of every body, as solve_system does
        rows = system.active_dofs
        du -= system.modes @ np.linalg.lstsq(system.modes[rows], du[rows], rcond=None)[0]
    return du, {"krylov_iterations": count[0], "krylov_converged": bool(reached)}


def _newton(creep, model, F, u, N, dt, T, active, system_for, solve):
    """Newton's method with a backtracking line search for one (sub-)increment: every
    correction is the fresh tangent's, solved by CG on the factor in use (``_krylov``); the
    factor is rebuilt at the fresh tangent when CG does not reach its tolerance within
    ``KRYLOV_ITERATIONS`` or its correction does not descend. Returns (the converged
    iterate, system, last solve's stats, residual norms, iterations, factorizations,
    CG iterations); _NewtonFailedError after ``MAX_ITERATIONS`` or when a factored fresh
    tangent's correction does not reduce the residual even at ``2**-BACKTRACKS`` of it."""
    system = system_for(creep.tangent)
    now = _iterate(creep, model, F, u, N, dt, T, active, system)
    norms, factorizations, krylov, stats = [now.norm], 0, 0, {}
    refresh = False
    if not np.isfinite(now.norm):
        raise _NewtonFailedError("the return mapping failed at the increment's start", 0, 0)
    for iteration in range(1, MAX_ITERATIONS + 1):
        if now.norm <= TOLERANCE:
            return now, system, stats, norms, iteration - 1, factorizations, krylov
        fresh = point_tangents(now.trials, model.stiffness)
        r = now.r.copy()
        r[system.fixed] = 0.0
        if refresh:
            creep.tangent = fresh
            system, factorizations = system_for(creep.tangent), factorizations + 1
            du, stats = solve(system, r)
        else:
            du, stats = _krylov(system, creep.tangent, fresh, r)
            krylov += stats["krylov_iterations"]
            if not stats["krylov_converged"]:
                refresh = True
                continue
        alpha = 1.0
        while True:
            trial = _iterate(creep, model, F, now.u + alpha * du, N, dt, T, active, system)
            if trial.norm < now.norm:
                break
            if alpha <= 2.0 ** -BACKTRACKS:
                break
            alpha *= 0.5
        if trial.norm >= now.norm:
            if refresh:
                raise _NewtonFailedError(f"no descent along a fresh tangent's correction "
                                         f"(relative residual {now.norm:.2e})", iteration,
                                         factorizations)
            refresh = True  # the CG correction: factor the fresh tangent, stay at u
            continue
        refresh, now = False, trial
        norms.append(now.norm)
    if now.norm <= TOLERANCE:
        return now, system, stats, norms, MAX_ITERATIONS, factorizations, krylov
    raise _NewtonFailedError(f"{MAX_ITERATIONS} iterations: relative residuals "
                             f"{', '.join(f'{n:.2e}' for n in norms[-4:])}", MAX_ITERATIONS,
                             factorizations)


def solve_creep_increment(creep: CreepParts, problem, u: np.ndarray, N: int, dt: float,
                          T0: float, T: float, active: np.ndarray, solve
                          ) -> tuple[np.ndarray, dict]:
    """The increment from ``T0`` to ``T`` degC over ``dt`` s from the previous solution
    ``u`` (n,): ``problem(T)`` gives (the process model at T, the load F (n,) at T,
    ``system_for(tangent)``: the process system with those creep-cell matrices, cached);
    ``solve(system, r)`` a correction (dofs, stats). Newton per (sub-)increment; a failed
    one is retried in halves (T linear in time), grown back after quick convergence.
    Commits the points' states and returns (u, stats: the last solve's, the last Newton
    residuals, the totals of iterations and factorizations, the sub-increments and cuts,
    the force balance of the reactions -r)."""
    units = 2 ** MAX_CUTS
    done, size, substeps, cuts, iterations, factorizations, krylov = 0, units, 0, 0, 0, 0, 0
    while done < units:
        end = min(done + size, units)
        T_end = T0 + (T - T0) * end / units
        model, F, system_for = problem(T_end)
        try:
            now, system, stats, norms, its, facts, cg_its = _newton(
                creep, model, F, u, N, dt * (end - done) / units, T_end, active, system_for,
                solve)
        except _NewtonFailedError as failure:
            iterations += failure.iterations
            factorizations += failure.factorizations
            if size == 1:
                raise SolverError(f"creep Newton at {T_end:g} degC (dt {dt / units:g} s, "
                                  f"the increment cut {MAX_CUTS} times) did not converge: "
                                  f"{failure}") from None
            size, cuts = size // 2, cuts + 1
            continue
        for part, _, _, step in now.trials:
            part.state, part.trial = step.state, step
        u, done, substeps = now.u, end, substeps + 1
        iterations, factorizations = iterations + its, factorizations + facts
        krylov += cg_its
        if its <= 4:
            size = min(2 * size, units)
    return u, {**stats, **force_balance(system.rigid, -now.r, F, system.held),
               "newton_iterations": iterations, "newton_residuals": norms,
               "tangent_factorizations": factorizations, "krylov_iterations": krylov,
               "substeps": substeps, "cuts": cuts}


def creep_fields(creep: CreepParts | None, model, active: np.ndarray) -> tuple:
    """((cells, sigma - C eps_m = -C eps_cr (6, cells, q)), ...) of the active creep parts:
    what the stress of the increment's result adds to C eps_m (``ProcessModel.history``)."""
    if creep is None:
        return ()
    out = []
    for part in creep.parts:
        if active[part.index]:
            eps = _cells(part.state.creep_strain, part.points)
            offset = -np.einsum("ij,jcq->icq", model.stiffness[part.index], eps)
            out.append((part.cells, offset.astype(np.float32)))
    return tuple(out)


def creep_records(creep: CreepParts | None, active: np.ndarray, cache: dict) -> tuple:
    """The :class:`CreepRecord` of every active creep part after an increment."""
    if creep is None:
        return ()
    out = []
    for part in creep.parts:
        if not active[part.index] or part.trial is None:
            continue
        if part.index not in cache:
            cache[part.index] = (part.points.coordinates(), part.points.dx)
        points, weights = cache[part.index]
        state = part.state
        out.append(CreepRecord(part.index, part.cells, _cells(state.energy[:, None],
                                                              part.points)[0],
                               _cells(state.creep_strain, part.points),
                               _cells(part.trial.stress, part.points),
                               points, weights))
    return tuple(out)
