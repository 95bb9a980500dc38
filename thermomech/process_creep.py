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
  matrix): Newton's method. It is refactorized only when the residual falls by less than
  ``REFRESH`` per iteration (the previous increment's matrix is tried first: in a dwell
  it rarely changes), so a converging increment is a modified Newton; when a fresh
  tangent does not reduce the residual (``STALL``) the increment continues with the
  elastic matrix (stiffer than any creep tangent: a slow but sure contraction);
- converged when ``|r|`` on the free dofs is below ``TOLERANCE`` times the larger of
  ``|F|`` and ``|K u|`` there; after ``MAX_ITERATIONS`` a SolverError (exit 3).

Only 3D models; no temperature field steps (the creep rate per point would need T per
point): both ModelErrors. Units: m, s, Pa, degC, J/m^3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem

from .elasticity import voigt_strain
from .errors import ModelError, SolverError
from .mechanical_loads import MechanicalLoads, step_path
from .mechanics import force_balance
from .solder_creep import Anand, CreepMaterial, CreepState, CreepStep, Garofalo, creep_step

MAX_ITERATIONS = 60
"""Newton iterations per increment before a SolverError."""
TOLERANCE = 1e-10
"""Relative residual of a converged increment (each correction is solved to 1e-9 of its
own right-hand side, so the residual keeps falling below that)."""
REFRESH = 0.1
"""Refactorize the tangent when the residual falls by less than this factor."""
STALL = 0.9
"""A fresh tangent that reduces the residual by less than this falls back to the elastic
matrix for the rest of the increment."""
FLOOR = 1e-4
"""Fraction of the elastic matrix kept in the cell tangents: a fully relaxed cell (the hot
dwell) has a deviatoric tangent near zero, which would make the matrix singular next to
stiff parts; the floor bounds its condition number at the price of a linear convergence
rate of about FLOOR C / C_t where C_t < FLOOR C (cells that carry almost no load)."""


@dataclass
class _Part:
    """One creep part: its cells, their basis (the solve's quadrature), the law and the
    state of its points (cells * points, flattened cell-major); mutable, private."""

    index: int
    law: Garofalo | Anand
    cells: np.ndarray
    basis: skfem.CellBasis
    state: CreepState
    trial: CreepStep | None = None


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
    space = setup.basis
    out = []
    for name, law in creep.items():
        if name not in parts:
            raise ModelError("creep", f"no part {name!r}; parts: {', '.join(parts)}")
        if not isinstance(law, (Garofalo, Anand)):
            raise ModelError(f"creep.{name}", f"must be a Garofalo or Anand law, got {law!r}")
        index = parts.index(name)
        cells = np.flatnonzero(setup.part == index)
        basis = skfem.Basis(space.mesh, space.elem, intorder=space.intorder, elements=cells)
        count = len(cells) * basis.X.shape[-1]
        out.append(_Part(index, law, cells, basis, _initial(law, count)))
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


def _cells(flat: np.ndarray, basis) -> np.ndarray:
    """(cells * q, ...) -> (..., cells, q) (the inverse of ``_points`` for vectors)."""
    q = basis.X.shape[-1]
    return np.moveaxis(flat.reshape((-1, q) + flat.shape[1:]), (0, 1), (-2, -1))


def _trial(creep: CreepParts, model, u: np.ndarray, N: int, dt: float, T: float, active
           ) -> list[tuple]:
    """Per active part: (part, material, total strain (6, c, q), mechanical strain, step)."""
    out = []
    for part in creep.parts:
        if not active[part.index]:
            continue
        material = creep_material(part, model)
        total = voigt_strain(part.basis.interpolate(u[:N]).grad)
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
            mech -= voigt_strain(part.basis.interpolate(u_birth[:N]).grad)
    mech[:3] -= model.thermal_strain(np.full(len(part.cells), part.index), T)
    return mech


def _correction(trials, tangent: dict, model) -> list[tuple]:
    """(basis, (6, c, q) density) of ∫ eps(v) . (D eps(u) - C (eps(u) - eps_m) - sigma)."""
    out = []
    for part, total, mech, step in trials:
        C = model.stiffness[part.index]
        D = tangent.get(part.index)
        matrix_part = (np.einsum("ij,jcq->icq", C, total) if D is None else
                       np.einsum("cqij,jcq->icq", D, total))
        density = matrix_part - np.einsum("ij,jcq->icq", C, total - mech) \
            - _cells(step.stress, part.basis)
        out.append((part.basis, density))
    return out


def _stress_load(basis, density: np.ndarray) -> np.ndarray:
    fields = {f"s{i}": np.ascontiguousarray(density[i]) for i in range(6)}

    @skfem.LinearForm
    def load(v, w):
        ev = voigt_strain(v.grad)
        return sum(w[f"s{i}"] * ev[i] for i in range(6))

    return load.assemble(basis, **fields)


def point_tangents(trials, elastic: np.ndarray) -> tuple:
    """((cells, (cells, q, 6, 6) Pa, the part's elastic (6, 6) Pa), ...): the consistent
    tangent of every point (symmetrized: the J2 return-map tangent is symmetric) plus
    ``FLOOR`` times the elastic matrix, of ``elastic`` (parts, 6, 6) Pa."""
    out = []
    for part, _, _, step in trials:
        tangent = step.tangent.reshape(part.basis.dx.shape + (6, 6))
        tangent = 0.5 * (tangent + np.swapaxes(tangent, -1, -2))
        C = elastic[part.index]
        out.append((part.cells, (1 - FLOOR) * tangent + FLOOR * C, C))
    return tuple(out)


def tangent_matrix(space, tangent: tuple, n: int) -> sp.csr_matrix:
    """(n, n) ∫ eps(v) . (D - C) eps(u) over the creep cells: added to the elastic matrix
    it makes the consistent tangent (``tangent`` from :func:`point_tangents`)."""
    K = sp.csr_matrix((n, n))
    for cells, D, C in tangent:
        basis = skfem.Basis(space.mesh, space.elem, intorder=space.intorder, elements=cells)
        delta = D - C
        fields = {f"d{i}{j}": np.ascontiguousarray(delta[..., i, j])
                  for i in range(6) for j in range(6)}

        @skfem.BilinearForm
        def form(u, v, w):
            eu, ev = voigt_strain(u.grad), voigt_strain(v.grad)
            return sum(w[f"d{i}{j}"] * ev[i] * eu[j] for i in range(6) for j in range(6))

        A = form.assemble(basis, **fields).tocsr()
        A.resize((n, n))
        K = K + A
    return K.tocsr()


def solve_creep_increment(creep: CreepParts, model, F: np.ndarray, u: np.ndarray, N: int,
                          dt: float, T: float, active: np.ndarray, system_for, solve
                          ) -> tuple[np.ndarray, dict]:
    """Newton's method for the increment ending at ``T`` degC after ``dt`` s from the
    previous solution ``u`` (n,): ``system_for(tangent)`` the process system with those
    cell matrices (cached), ``solve(system, r)`` its correction (dofs, stats). Commits the
    points' states and returns (u, stats: the last solve's, the Newton residuals and the
    force balance of the reactions -r)."""
    system = system_for(creep.tangent)
    norms, factorizations, stats = [], 0, {}
    refreshed = stalled = False
    for iteration in range(MAX_ITERATIONS + 1):
        trials = _trial(creep, model, u, N, dt, T, active)
        tangent = {part.index: D for (_, D, _), part in zip(creep.tangent, creep.parts)}
        r = F - system.K @ u
        for basis, density in _correction(trials, tangent, model):
            r[:N] += _stress_load(basis, density)
        free = np.ones(len(r), dtype=bool)
        free[system.fixed] = False
        scale = max(np.linalg.norm(F[free]), np.linalg.norm((system.K @ u)[free]), 1e-300)
        norms.append(float(np.linalg.norm(r[free]) / scale))
        if norms[-1] <= TOLERANCE:
            break
        if iteration == MAX_ITERATIONS:
            raise SolverError(f"creep Newton at {T:g} degC (dt {dt:g} s) did not converge in "
                              f"{MAX_ITERATIONS} iterations: relative residuals "
                              f"{', '.join(f'{n:.2e}' for n in norms[-4:])}")
        if iteration and norms[-1] > REFRESH * norms[-2]:
            # the tangent, or, when even a fresh tangent did not reduce the residual, the
            # elastic matrix: stiffer than every creep tangent, a contraction (slow but sure)
            stalled = stalled or (refreshed and norms[-1] > STALL * norms[-2])
            creep.tangent = () if stalled else point_tangents(trials, model.stiffness)
            system, factorizations = system_for(creep.tangent), factorizations + 1
        refreshed = iteration and norms[-1] > REFRESH * norms[-2]
        du, stats = solve(system, np.where(free, r, 0.0))
        u = u + du
    for part, _, _, step in trials:
        part.state, part.trial = step.state, step
    return u, {**stats, **force_balance(system.rigid, -r, F, system.held),
               "newton_iterations": iteration, "newton_residuals": norms,
               "tangent_factorizations": factorizations}


def creep_fields(creep: CreepParts | None, model, active: np.ndarray) -> tuple:
    """((cells, sigma - C eps_m = -C eps_cr (6, cells, q)), ...) of the active creep parts:
    what the stress of the increment's result adds to C eps_m (``ProcessModel.history``)."""
    if creep is None:
        return ()
    out = []
    for part in creep.parts:
        if active[part.index]:
            eps = _cells(part.state.creep_strain, part.basis)
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
            cache[part.index] = (np.asarray(part.basis.global_coordinates()), part.basis.dx)
        points, weights = cache[part.index]
        state = part.state
        out.append(CreepRecord(part.index, part.cells, _cells(state.energy[:, None],
                                                              part.basis)[0],
                               _cells(state.creep_strain, part.basis),
                               _cells(part.trial.stress, part.basis),
                               points, weights))
    return tuple(out)
