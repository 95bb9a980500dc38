"""Viscoelastic parts in a process recipe (PHYSICS_NEXT.md 3; ``viscoelastic`` has the
model and the recursive update).

A part whose material has a ``viscoelastic`` table carries a history at every quadrature
point of its cells: the mechanical strain of the last increment (6) and the internal stress
of every Prony term (6 each), zero when the part is present from the start or is added
(strain-free activation: its history starts at zero, the restriction Ansys has for
EALIVE does not apply). An increment of ``dt`` s at uniform temperature, shifted at its
mid temperature (``dxi = dt / a_T(T_mid)``), gives per part the algorithmic moduli
``G_alg``, ``K_alg``; the increment's solve is the elastic one with that isotropic
stiffness on the part (``with_moduli``) and the extra load ``-∫ eps(v) . sigma_hist``
(``history_load``), so

    sigma = C_alg (eps(u) - eps0 - eps_th - eps_ch) + sigma_hist

at the end of the increment, exact for strain linear in time over it. After the solve the
mechanical strains at the points advance the history (``advance``). Units: s, Pa, degC.
Supported: 3D, 2D plane strain, generalized plane strain and plane stress. In plane
stress ``sigma_yy = 0`` fixes the out-of-plane mechanical strain of every point,
``eps_yy = -(lambda_alg (eps_xx + eps_zz) + h_yy) / M_alg`` (``M = K + 4 G / 3``), so the
in-plane stress is the condensed ``C_ps eps + h - (lambda / M) h_yy`` (the history condensed
the same way); the condensed stiffness is linear in E only for an E(t) series with a
constant Poisson ratio, so shear and bulk series are refused in plane stress.

Under a temperature field (``temperature = "thermal"`` steps, ``process_temperature``) the
shift is per point: the nodal mid-increment temperatures are interpolated to the part's
quadrature points (a sparse matrix built once per part) and every point has its own
``dxi``, factors and algorithmic moduli ``G_alg(x)``, ``K_alg(x)``. The system keeps one
isotropic stiffness per part, at the reference moduli ``G_ref = (max + min) / 2`` of the
points (and K likewise); the rest, ``(C_alg(x) - C_ref) eps_m``, is a point stress added to
sigma_hist and iterated to convergence (``solve_increment``: each iteration one solve of
the same system; it contracts by ``max (G_max - G_min) / (G_max + G_min)`` per iteration,
zero for a uniform field, which is one solve and the uniform recipe to round-off). A
viscoelastic part cannot be added while the temperature is a field (its activation
eigenstrain would have to enter the history): a ModelError.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .elasticity import IN_PLANE, stiffness_arrays
from .errors import ModelError, SolverError
from .materials import Material
from .mechanical_loads import MechanicalLoads, ProcessStep, step_path
from .process_points import BasisPoints, BoxPoints, points_of
from .viscoelastic import (
    Increment,
    MaxwellState,
    MaxwellTerms,
    Viscoelastic,
    advanced,
    history_stress,
    increment,
    isotropic_matrix,
    isotropic_stress,
)

AUTO_PER_DECADE = 2
"""``increments = "auto"``: increments per decade of reduced time."""
AUTO_MAX = 50
"""``increments = "auto"``: at most this many increments in a step."""
FIELD_TOLERANCE = 1e-11
"""Per-point moduli under a field: iterations stop when the change of the correction load
is below this fraction of the increment's load."""
FIELD_MAX_ITERATIONS = 300


@dataclass
class _Part:
    """One viscoelastic part: its cells, their basis (the solve's quadrature), its Prony
    terms and the history of its points (mutable, private to the solve)."""

    index: int
    visco: Viscoelastic
    terms: MaxwellTerms
    cells: np.ndarray
    points: BasisPoints | BoxPoints  # the quadrature points of the cells (process_points)
    state: MaxwellState
    step: Increment | None = None
    offset: np.ndarray | None = None  # (6, cells, points) sigma_hist of the increment
    reference: tuple | None = None  # (G_ref, K_ref, E_ref) Pa under a field, else None
    history: np.ndarray | None = None  # (6, cells, points) sigma_hist alone (field)
    probe: object = None  # (cells * points, N_T) nodal temperatures -> the points
    plane_stress: bool = False  # 2D plane stress: eps_yy condensed per point


@dataclass
class ViscoParts:
    """The viscoelastic parts of a recipe and their histories."""

    parts: list[_Part]

    @property
    def doubles_per_point(self) -> dict[int, int]:
        """Part index -> doubles stored per quadrature point (6 + 6 n)."""
        return {p.index: p.state.doubles_per_point for p in self.parts}

    @property
    def history_bytes(self) -> int:
        """Bytes of every part's history arrays."""
        return sum(p.state.strain.nbytes + p.state.history.nbytes for p in self.parts)


def visco_parts(setup, loads: MechanicalLoads) -> ViscoParts | None:
    """The viscoelastic parts of ``setup`` (None when there is none: the recipe stays
    elastic, unchanged). ModelError for plane stress."""
    materials = setup.model.materials
    indices = [i for i, m in enumerate(materials) if m.viscoelastic is not None]
    if not indices:
        return None
    stress = setup.package.dimension == 2 and setup.model.plane == "stress"
    for i in indices:
        if stress and materials[i].viscoelastic.separate:
            raise ModelError("mechanical.plane", f"\"stress\" needs an E(t) Prony series "
                             f"(constant Poisson ratio) on viscoelastic part "
                             f"{setup.package.parts[i]!r}: its shear and bulk series make the "
                             f"condensed stiffness nonlinear in the moduli; use \"strain\" "
                             f"or \"generalized_strain\"")
    out = []
    for i in indices:
        cells = np.flatnonzero(setup.part == i)
        points = points_of(setup, cells)
        terms = materials[i].viscoelastic.terms(materials[i].poisson_ratio)
        state = MaxwellState.zero(len(terms.tau), points.shape)
        out.append(_Part(i, materials[i].viscoelastic, terms, cells, points, state,
                         plane_stress=stress))
    return ViscoParts(out)


def check_durations(loads: MechanicalLoads, present: list[set[str]], parts, visco
                    ) -> None:
    """A ModelError for a step without ``duration`` while a viscoelastic part is present,
    or adding a viscoelastic part while the temperature is the thermal field."""
    if visco is None:
        return
    names = {parts[p.index] for p in visco.parts}
    at_field = False  # the temperature at the step's start (where parts are born)
    for i, step in enumerate(loads.steps):
        there = sorted(names & present[i])
        if there and step.duration is None:
            raise ModelError(f"{step_path(i, step)}.duration", f"is needed: part {there[0]!r} "
                             f"is viscoelastic and relaxes over time. Give the time the step "
                             f"takes; \"0 s\" makes it instantaneous (the glassy response, no "
                             f"relaxation), which is what a step without a duration would "
                             f"assume")
        born = sorted(names & set(step.add))
        if born and at_field:
            raise ModelError(f"{step_path(i, step)}.add", f"viscoelastic part {born[0]!r} "
                             f"would be added while the temperature is the thermal field: not "
                             f"supported (its stress-free state would differ point by point); "
                             f"end the step before at a uniform temperature")
        if step.temperature is not None:
            at_field = step.temperature == "thermal"
        if step.increments == "auto" and step.duration is None:
            raise ModelError(f"{step_path(i, step)}.increments", "\"auto\" needs the step's "
                                                                 "duration")


def step_fractions(step: ProcessStep, visco: ViscoParts | None, begin: float, end: float
                   ) -> np.ndarray:
    """(n,) fractions of the step at the ends of its increments (the last is 1): evenly
    spaced for a number of increments; for ``"auto"`` evenly in log reduced time from a
    tenth of the shortest relaxation time to the step's reduced time (the part with the
    most decades decides; ``AUTO_PER_DECADE`` per decade, at most ``AUTO_MAX``)."""
    if step.increments != "auto":
        return np.arange(1, step.increments + 1) / step.increments
    if visco is None or not step.duration:
        return np.array([1.0])
    grid = np.linspace(0.0, 1.0, 2001)
    best = np.array([1.0])
    begin, end = float(np.max(begin)), float(np.max(end))  # a field: its hottest node
    for part in visco.parts:
        T = begin + (end - begin) * 0.5 * (grid[1:] + grid[:-1])
        xi = np.concatenate([[0.0], np.cumsum(part.visco.reduced_time(
            step.duration * np.diff(grid), T))])
        first = 0.1 * float(part.terms.tau.min()) if len(part.terms.tau) else xi[-1]
        if xi[-1] <= first:
            continue
        n = int(min(AUTO_MAX, max(1, np.ceil(AUTO_PER_DECADE * np.log10(xi[-1] / first)))))
        targets = np.geomspace(first, xi[-1], n) if n > 1 else np.array([xi[-1]])
        fractions = np.interp(targets, xi, grid)
        fractions[-1] = 1.0
        if len(fractions) > len(best):
            best = fractions
    return best


def begin_increment(visco: ViscoParts, active: np.ndarray, dt: float, T_mid, field=None
                    ) -> None:
    """The factors and sigma_hist of an increment of ``dt`` s shifted at ``T_mid`` degC (a
    number, or nodal values (N_T,) on ``field``'s space: the shift per point)."""
    for part in visco.parts:
        T = point_temperatures(part, T_mid, field)
        dxi = part.visco.reduced_time(dt, T) if dt > 0 else np.zeros(np.shape(T))
        part.step = increment(part.terms, dxi)
        part.reference = _reference(part) if np.ndim(T) else None
        part.history = history_stress(part.terms, part.state, part.step) if active[
            part.index] else np.zeros_like(part.state.strain)
        part.offset = _condensed(part, part.history)
        if part.reference is not None and active[part.index]:  # predictor: the last strain
            part.offset = part.offset + _extra(part, part.state.strain)


def _condensed(part: _Part, history: np.ndarray) -> np.ndarray:
    """``history`` (6, cells, points) Pa as the in-plane solve takes it: itself, or in plane
    stress ``h - (lambda_alg / M_alg) h_yy`` on xx and zz and zero yy."""
    if not part.plane_stress:
        return history
    G, K = part.step.G_alg, part.step.K_alg
    ratio = (K - 2 * G / 3) / (K + 4 * G / 3)
    out = history.copy()
    out[0] -= ratio * history[1]
    out[2] -= ratio * history[1]
    out[1] = 0.0
    return out


def point_temperatures(part: _Part, T, field=None):
    """``T`` (degC) if a number, else (cells, points) the nodal ``T`` on ``field``'s space
    interpolated to the part's quadrature points (the matrix built once per part)."""
    if not np.ndim(T):
        return float(T)
    if part.probe is None:
        X = part.points.coordinates()  # (dim, cells, points)
        part.probe = field.space.point_matrix(X.reshape(X.shape[0], -1),
                                              np.repeat(part.cells, X.shape[2]))
    return (part.probe @ np.asarray(T, dtype=float)).reshape(part.points.shape)


def _reference(part: _Part) -> tuple:
    """(G_ref, K_ref, E_ref) Pa: the middle of the points' algorithmic moduli (E_ref of an
    E(t) part, whose G and K are proportional to E; NaN for shear and bulk series)."""
    step = part.step
    G, K = (0.5 * (float(np.max(a)) + float(np.min(a))) for a in (step.G_alg, step.K_alg))
    if part.visco.separate:
        return G, K, float("nan")
    E_alg = part.visco.long_term_modulus + np.tensordot(part.visco.prony_moduli, step.gamma,
                                                        axes=1)
    return G, K, 0.5 * (float(np.max(E_alg)) + float(np.min(E_alg)))


def _extra(part: _Part, strain: np.ndarray) -> np.ndarray:
    """(6, cells, points) Pa (C_alg(x) - C_ref) ``strain``: the per-point moduli's stress
    beyond the system's reference stiffness."""
    G_ref, K_ref, _ = part.reference
    if part.plane_stress:  # C_alg(x) = (E(x) / E_ref) C_ref: condensed with the same eps_yy
        G, K = part.step.G_alg, part.step.K_alg
        strain = strain.copy()
        strain[1] = -(K - 2 * G / 3) / (K + 4 * G / 3) * (strain[0] + strain[2])
    out = isotropic_stress(part.step.G_alg - G_ref, part.step.K_alg - K_ref, strain)
    if part.plane_stress:
        out[1] = 0.0
    return out


def reset(visco: ViscoParts | None, born: list[int]) -> None:
    """Zero the history of the ``born`` parts (strain-free activation)."""
    for part in visco.parts if visco is not None else ():
        if part.index in born:
            part.state = MaxwellState.zero(*part.state.history.shape[:1],
                                           part.state.strain.shape[1:])


def with_moduli(model, visco: ViscoParts | None):
    """``model`` (an ElasticModel) with the isotropic algorithmic stiffness of the current
    increment on every viscoelastic part."""
    if visco is None or visco.parts[0].step is None:
        return model
    return with_matrices(model, {part.index: _algorithmic_matrix(
        part, model.materials[part.index]) for part in visco.parts})


def with_matrices(model, matrices: dict):
    """``model`` with the 6x6 elasticity matrix (Pa) ``matrices[part]`` on those parts, or
    a ``Material``'s (its reduced matrix condensed as the elastic solver does: plane stress
    through the compliance)."""
    stiffness, reduced = model.stiffness.copy(), model.reduced.copy()
    for index, C in matrices.items():
        if isinstance(C, Material):
            stiffness[index], reduced[index] = (a[0] for a in stiffness_arrays(
                [C], model.dimension, model.plane, None))
            continue
        stiffness[index] = C
        reduced[index] = C if model.dimension == 3 else C[np.ix_(IN_PLANE, IN_PLANE)]
    return replace(model, stiffness=stiffness, reduced=reduced)


def scaled_parts(visco: ViscoParts | None, nparts: int) -> np.ndarray:
    """(parts,) bool: the parts whose stiffness is a sum of moduli of the increment times
    fixed unit matrices (``moduli``, ``unit_matrices``): the viscoelastic ones."""
    out = np.zeros(nparts, dtype=bool)
    for part in visco.parts if visco is not None else ():
        out[part.index] = part.step is not None
    return out


def moduli(visco: ViscoParts | None, active: np.ndarray) -> np.ndarray:
    """(k,) Pa the algorithmic moduli of the increment on the active viscoelastic parts, in
    part order: E_alg of an E(t) part, (G_alg, K_alg) of a shear-and-bulk one."""
    out = []
    for part in visco.parts if visco is not None else ():
        if active[part.index] and part.step is not None:
            out += list(_moduli(part)[:2]) if part.visco.separate else [young_alg(part)]
    return np.array(out)


def unit_matrices(visco: ViscoParts | None, model, active: np.ndarray) -> list[tuple]:
    """(part, 6x6 matrix or Material) per entry of ``moduli``: the part's elasticity at
    that modulus 1 Pa and the part's other moduli zero (its matrix is their sum weighted by
    the moduli)."""
    out = []
    for part in visco.parts if visco is not None else ():
        if active[part.index] and part.step is not None:
            if part.visco.separate:
                out += [(part.index, isotropic_matrix(1.0, 0.0)),
                        (part.index, isotropic_matrix(0.0, 1.0))]
            else:
                material = model.materials[part.index]
                out.append((part.index, Material(material.name, youngs_modulus=1.0,
                                                 poisson_ratio=material.poisson_ratio)))
    return out


def _algorithmic_matrix(part: _Part, material: Material):
    """The increment's algorithmic stiffness: the E(t) form as the material at E_alg =
    E_inf + sum E_i Gamma_i and its Poisson ratio (a Material: so all Prony moduli zero is
    the elastic solver bit for bit, plane stress included); shear and bulk: the 6x6 matrix
    (Pa) of (G_alg, K_alg)."""
    if part.visco.separate:
        return isotropic_matrix(*_moduli(part)[:2])
    return Material(material.name, youngs_modulus=young_alg(part),
                    poisson_ratio=material.poisson_ratio)


def young_alg(part: _Part) -> float:
    """E_alg = E_inf + sum E_i Gamma_i (Pa) of an E(t) part in the current increment (E_ref
    under a field)."""
    return _moduli(part)[2]


def _moduli(part: _Part) -> tuple[float, float, float]:
    """(G, K, E) Pa the part's stiffness in the system: its algorithmic moduli at a uniform
    temperature, the reference ones under a field (E NaN for shear and bulk series)."""
    if part.reference is not None:
        return part.reference
    visco = part.visco
    E = float("nan") if visco.separate else visco.long_term_modulus + float(
        np.dot(visco.prony_moduli, part.step.gamma))
    return float(part.step.G_alg), float(part.step.K_alg), E


def proportional_modulus(visco: ViscoParts | None, index: int) -> float | None:
    """E_alg (Pa) when part ``index`` is viscoelastic in the E(t) form (its stiffness is
    proportional to E_alg: a load linear in it scales), else None."""
    for part in visco.parts if visco is not None else ():
        if part.index == index and not part.visco.separate and part.step is not None:
            return young_alg(part)
    return None


def history_load(setup, visco: ViscoParts, active: np.ndarray, generalized: bool
                 ) -> np.ndarray:
    """(n,) -∫ eps(v) . sigma_hist over the active viscoelastic parts (+ the three e_yy
    rows ``-∫ sigma_hist_yy (1, x, z)`` in generalized plane strain)."""
    N = setup.basis.N
    F = np.zeros(N + (3 if generalized else 0))
    for part in visco.parts:
        if not active[part.index]:
            continue
        offset = part.offset if setup.package.dimension == 3 else part.offset[IN_PLANE]
        F[:N] -= part.points.load(offset)
        if generalized:
            x, z = part.points.coordinates()
            yy, dx = part.offset[1], part.points.dx
            F[N:] -= [np.sum(yy * dx), np.sum(yy * x * dx), np.sum(yy * z * dx)]
    return F


def mechanical_strain(part: _Part, model, u: np.ndarray, N: int, T) -> np.ndarray:
    """(6, cells, points) eps(u) - eps0 - eps_th - eps_ch at the part's points; ``model``
    the increment's ``process_model.ProcessModel`` (births, activation, shrinkage); ``T``
    degC, or nodal values on the field's space (``point_temperatures``)."""
    for index, u_birth in model.births:
        if index == part.index:
            u = u - u_birth
    strain, g = part.points.strain(u[:N]), u[N:]
    if strain.shape[0] == 6:
        full = strain
    else:
        full = np.zeros((6,) + strain.shape[1:])
        full[IN_PLANE] = strain
        if len(g):  # generalized plane strain: e_yy = g . (1, x, z)
            x, z = part.points.coordinates()
            full[1] = g[0] + g[1] * x + g[2] * z
    cells_part = np.full(len(part.cells), part.index)
    full[:3] -= model.thermal_strain(cells_part, point_temperatures(part, T))
    if part.plane_stress:  # sigma_yy = 0 at every point
        G, K = part.step.G_alg, part.step.K_alg
        full[1] = -((K - 2 * G / 3) * (full[0] + full[2]) + part.history[1]) / (K + 4 * G / 3)
    return full


def advance(visco: ViscoParts, model, u: np.ndarray, N: int, T, active: np.ndarray) -> None:
    """Advance the history of the active parts to the end of the increment (solution
    ``u``, end temperature ``T`` degC or nodal values)."""
    for part in visco.parts:
        if active[part.index]:
            strain = mechanical_strain(part, model, u, N, T)
            part.state = advanced(part.terms, part.state, part.step, strain)


def history_fields(visco: ViscoParts | None, active: np.ndarray) -> tuple:
    """((cells, sigma_hist (6, cells, points)), ...) of the active parts: what the stress of
    an increment's result adds to C_alg eps_m (``process_model.ProcessModel``)."""
    if visco is None:
        return ()
    return tuple((p.cells, p.offset.astype(np.float32)) for p in visco.parts
                 if active[p.index] and p.offset is not None)


def solve_increment(visco: ViscoParts | None, system, solve, F: np.ndarray, setup, model, T,
                    active: np.ndarray) -> tuple[np.ndarray, dict]:
    """(u, stats) of the increment: ``solve(F)`` once; under a field (per-point moduli) the
    rest by conjugate gradients on ``A = K_ref + dK`` (``dK`` the stiffness of ``C_alg(x) -
    C_ref``, applied point by point) preconditioned by the system's own solve with
    ``K_ref`` (``K_ref p`` is carried along the recursion: no matrix product), until the
    residual is below ``FIELD_TOLERANCE`` of the load. Stats (the first solve's) gain
    ``field_iterations`` and the relative residuals. ``system``: its ``fixed`` and ``held``
    dofs (the residual counts on every dof but the constrained ones: balanced, so the
    rigid motion the solve projects out does no work); ``setup``: the increment's (basis,
    stiffness); ``model`` its ProcessModel."""
    u, stats = solve(F)
    parts = [p for p in (visco.parts if visco is not None else ())
             if active[p.index] and p.reference is not None]
    if not parts:
        return u, stats
    N, norms = setup.basis.N, []
    free = np.ones(len(F), dtype=bool)
    free[np.setdiff1d(system.fixed, system.held)] = False
    predicted = history_load(setup, visco, active, False)
    _correct(parts, model, u, N, T)
    r = history_load(setup, visco, active, False) - predicted  # F - A u (M u = F)
    scale = max(np.linalg.norm(F), 1e-300)
    z = p = Mp = rz = None
    for _ in range(FIELD_MAX_ITERATIONS):
        norms.append(float(np.linalg.norm(r[free]) / scale))
        if norms[-1] <= FIELD_TOLERANCE:
            break
        z = solve(np.where(free, r, 0.0))[0]
        rz, previous = float(r[free] @ z[free]), rz
        if p is None:
            p, Mp = z, r.copy()
        else:
            beta = rz / previous
            p, Mp = z + beta * p, r + beta * Mp
        Ap = Mp + _stiffness_change(parts, p, N)
        curvature = float(p[free] @ Ap[free])
        if not curvature > 0:  # A is positive definite: only a broken solve gets here
            raise SolverError(f"the per-point viscoelastic moduli: CG lost positive "
                              f"definiteness (p.Ap = {curvature:.3g}) at relative residual "
                              f"{norms[-1]:.2e}")
        alpha = rz / curvature
        u, r = u + alpha * p, r - alpha * Ap
    else:
        raise SolverError(f"the per-point viscoelastic moduli did not converge in "
                          f"{FIELD_MAX_ITERATIONS} iterations: relative residuals "
                          f"{', '.join(f'{c:.2e}' for c in norms[-3:])}")
    _correct(parts, model, u, N, T)  # the stress the result reports: C_ref eps_m + offset
    return u, {**stats, "field_iterations": len(norms), "field_residuals": norms}


def _correct(parts: list[_Part], model, u: np.ndarray, N: int, T) -> None:
    """offset = sigma_hist + (C_alg(x) - C_ref) eps_m(u) on every part of ``parts``."""
    for part in parts:
        part.offset = _condensed(part, part.history) + _extra(
            part, mechanical_strain(part, model, u, N, T))


def _stiffness_change(parts: list[_Part], p: np.ndarray, N: int) -> np.ndarray:
    """(n,) dK p = ∫ eps(v) . (C_alg(x) - C_ref) eps(p) over ``parts``."""
    out = np.zeros(len(p))
    for part in parts:
        strain = part.points.strain(p[:N])
        full = strain if strain.shape[0] == 6 else np.zeros((6,) + strain.shape[1:])
        if strain.shape[0] != 6:
            full[IN_PLANE] = strain
        stress = _extra(part, full)
        out[:N] += part.points.load(stress if strain.shape[0] == 6 else stress[IN_PLANE])
    return out
