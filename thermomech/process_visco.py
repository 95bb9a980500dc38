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
Supported: 3D, 2D plane strain and generalized plane strain (plane stress would need the
out-of-plane strain condensed per point with its history: a ModelError).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .elasticity import IN_PLANE
from .errors import ModelError
from .materials import Material, elasticity_matrix
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
)

AUTO_PER_DECADE = 2
"""``increments = "auto"``: increments per decade of reduced time."""
AUTO_MAX = 50
"""``increments = "auto"``: at most this many increments in a step."""


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
    if setup.package.dimension == 2 and setup.model.plane == "stress":
        raise ModelError("mechanical.plane", f"\"stress\" is not supported with viscoelastic "
                         f"parts ({setup.package.parts[indices[0]]!r}): use "
                         f"\"generalized_strain\" or \"strain\"")
    out = []
    for i in indices:
        cells = np.flatnonzero(setup.part == i)
        points = points_of(setup, cells)
        terms = materials[i].viscoelastic.terms(materials[i].poisson_ratio)
        state = MaxwellState.zero(len(terms.tau), points.shape)
        out.append(_Part(i, materials[i].viscoelastic, terms, cells, points, state))
    return ViscoParts(out)


def check_durations(loads: MechanicalLoads, present: list[set[str]], parts, visco
                    ) -> None:
    """A ModelError for a step without ``duration`` while a viscoelastic part is present,
    or ending at the thermal field (not yet supported: the shift would vary per point)."""
    if visco is None:
        return
    names = {parts[p.index] for p in visco.parts}
    for i, step in enumerate(loads.steps):
        there = sorted(names & present[i])
        if there and step.duration is None:
            raise ModelError(f"{step_path(i, step)}.duration", f"is needed: part {there[0]!r} "
                             f"is viscoelastic and relaxes over time. Give the time the step "
                             f"takes; \"0 s\" makes it instantaneous (the glassy response, no "
                             f"relaxation), which is what a step without a duration would "
                             f"assume")
        later = sorted(names & set().union(*present[i:]))
        if later and step.temperature == "thermal":  # the field lasts to the recipe's end
            raise ModelError(f"{step_path(i, step)}.temperature", f"\"thermal\" is not yet "
                             f"supported with viscoelastic parts ({later[0]!r}): the shift "
                             f"factor and the algorithmic modulus would vary point by point; "
                             f"give a uniform temperature")
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


def begin_increment(visco: ViscoParts, active: np.ndarray, dt: float, T_mid: float
                    ) -> None:
    """The factors and sigma_hist of an increment of ``dt`` s shifted at ``T_mid`` degC."""
    for part in visco.parts:
        dxi = part.visco.reduced_time(dt, T_mid) if dt > 0 else 0.0
        part.step = increment(part.terms, dxi)
        part.offset = history_stress(part.terms, part.state, part.step) if active[
            part.index] else np.zeros_like(part.state.strain)


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


def with_matrices(model, matrices: dict[int, np.ndarray]):
    """``model`` with the 6x6 elasticity matrix (Pa) ``matrices[part]`` on those parts."""
    stiffness, reduced = model.stiffness.copy(), model.reduced.copy()
    for index, C in matrices.items():
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
            out += [float(part.step.G_alg), float(part.step.K_alg)] if part.visco.separate \
                else [young_alg(part)]
    return np.array(out)


def unit_matrices(visco: ViscoParts | None, model, active: np.ndarray
                  ) -> list[tuple[int, np.ndarray]]:
    """(part, 6x6 matrix) per entry of ``moduli``: the part's elasticity matrix at that
    modulus 1 Pa and the part's other moduli zero (its matrix is their sum weighted by the
    moduli)."""
    out = []
    for part in visco.parts if visco is not None else ():
        if active[part.index] and part.step is not None:
            if part.visco.separate:
                out += [(part.index, isotropic_matrix(1.0, 0.0)),
                        (part.index, isotropic_matrix(0.0, 1.0))]
            else:
                material = model.materials[part.index]
                out.append((part.index, elasticity_matrix(Material(
                    material.name, youngs_modulus=1.0, poisson_ratio=material.poisson_ratio))))
    return out


def _algorithmic_matrix(part: _Part, material: Material) -> np.ndarray:
    """6x6 Pa of the increment's algorithmic moduli. The E(t) form: the material's own
    elasticity matrix at E_alg = E_inf + sum E_i Gamma_i and its Poisson ratio (so all
    Prony moduli zero is the elastic solver bit for bit); shear and bulk: (G_alg, K_alg)."""
    if part.visco.separate:
        return isotropic_matrix(float(part.step.G_alg), float(part.step.K_alg))
    E = young_alg(part)
    return elasticity_matrix(Material(material.name, youngs_modulus=E,
                                      poisson_ratio=material.poisson_ratio))


def young_alg(part: _Part) -> float:
    """E_alg = E_inf + sum E_i Gamma_i (Pa) of an E(t) part in the current increment."""
    visco = part.visco
    return visco.long_term_modulus + float(np.dot(visco.prony_moduli, part.step.gamma))


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


def mechanical_strain(part: _Part, model, u: np.ndarray, N: int, T: float) -> np.ndarray:
    """(6, cells, points) eps(u) - eps0 - eps_th - eps_ch at the part's points; ``model``
    the increment's ``process_model.ProcessModel`` (births, activation, shrinkage)."""
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
    full[:3] -= model.thermal_strain(cells_part, T)
    return full


def advance(visco: ViscoParts, model, u: np.ndarray, N: int, T: float,
            active: np.ndarray) -> None:
    """Advance the history of the active parts to the end of the increment (solution
    ``u``, end temperature ``T`` degC)."""
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
