"""Process-aware warpage: a recipe of steps with parts added (born) and removed (killed).

Physics (PHYSICS_NEXT.md 1.1, total-strain form, small strains, linear elasticity), on
the cells active in a step:

    sigma = C : (eps(u) - eps0 - eps_th - eps_ch),

- ``eps0``: eps(u_birth), the strain of the displacement at the moment the cell's part was
  added, so a part is born stress-free in the deformed configuration (CalculiX ``*MODEL
  CHANGE, ADD=STRAIN FREE``); zero for parts present from the start. Its load
  ``∫ eps(v) : C eps0`` over the part is ``K_part u_birth``, computed once at the birth;
- ``eps_th = F(T) - F(T_act)``: the thermal strain of ``elasticity.ElasticModel`` (bilinear
  CTE around Tg) counted from the part's activation temperature ``T_act`` (the start parts:
  ``mechanical.initial_temperature``, or their ``stress_free_temperature``);
- ``eps_ch = -s I``: linear cure shrinkage ``s``, released over its step's increments, then kept.

Inactive cells contribute nothing (their stiffness is multiplied by zero) and every dof
touched by no active cell is fixed at zero. A removed part's stresses vanish at once (linear
elasticity: the end state is path independent, so one increment is exact). After every
change of the active set the rigid motion the supports leave free is held by a minimal
(3-2-1) set of dofs of each face-connected body of the active cells (``process_bodies``: a
die floating on molten bumps is a body of its own) and projected out of the displacement.
A solder part (``melting``) is removed at an increment above its melting point T_m and
born again strain-free at T_m (on the rest solved at T_m, T_act = T_m) at the first
increment at or below it (``mechanical.solder_melts``).

Each increment is one solve of the total problem (path independent between births); a
system is kept while the active set and stiffness do not change (``process_systems``; on 3D
quadratic box meshes matrix-free, ``process_cells``: E(T), nu(T) and viscoelastic moduli
only rescale its isotropic parts). E and nu tables are evaluated at each increment's uniform
temperature, total form: sigma = C(T) (eps - eps0 - eps_th(T) - eps_ch).

Units: m, Pa, degC, 1/K. 2D: plane stress, plane strain or generalized plane strain (the
born part's e_yy offset is g_birth . (1, x, z); the bordered system is solved without the
geometric multigrid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np
import scipy.sparse as sp

from . import process_cells as cells
from . import process_creep as creep_steps
from . import process_temperature as thermal_steps
from .elasticity import ElasticModel
from .errors import ModelError
from .fem import constraints, structured
from .heap import freed_memory_kept
from .mechanical_loads import MechanicalLoads, ProcessStep, check_steps, step_path
from .mechanical_supports import support_dofs
from .mechanics import generalized_blocks, generic_stiffness, solve_setup, thermal_load
from .melting import check_left, melt, melting_points, solidifying
from .meshing import MeshedPackage
from .process_bodies import body_supports, extended
from .process_model import ProcessModel
from .process_systems import Family, System, Systems, solve_system
from .process_visco import (
    advance,
    begin_increment,
    check_durations,
    history_fields,
    history_load,
    moduli,
    proportional_modulus,
    reset,
    scaled_parts,
    solve_increment,
    step_fractions,
    unit_matrices,
    visco_parts,
    with_matrices,
    with_moduli,
)
from .results import WarpageResult


@dataclass(frozen=True)
class Increment:
    """One solved increment: step index and name, increment (1-based), temperature (degC;
    a field's volume mean, ``process_temperature``), the warpage result (displacement m,
    rigid motion removed; its ``temperature`` the field) and the process time (s, from the
    start of the recipe: the sum of the steps' durations)."""

    step: int
    name: str
    increment: int
    temperature: float
    result: WarpageResult
    time: float = 0.0
    creep: tuple = ()  # process_creep.CreepRecord of each creep part


@dataclass(frozen=True)
class ProcessResult:
    """Every increment of a recipe, in order; ``final`` is the last one's result."""

    increments: tuple[Increment, ...]

    @property
    def final(self) -> WarpageResult:
        return self.increments[-1].result


@dataclass
class _State:
    """What the recipe carries between increments (mutable, private to the solve)."""

    active: np.ndarray        # (parts,) bool
    activation: np.ndarray    # (parts,) degC: T at which each part became stress-free
    shrinkage: np.ndarray     # (parts,) linear cure shrinkage released so far
    births: tuple             # ((part index, displacement at birth), ...)
    birth_loads: dict         # (part, its stiffness) -> (N,) ∫ eps(v) . C eps0 on it
    u: np.ndarray             # (N,) m
    temperature: float        # degC
    molten: np.ndarray = None  # (parts,) bool: present in the recipe but above T_m
    melting: np.ndarray = None  # (parts,) degC: melting point of the parts that melt, inf
    field: object = None      # the heat problem's Field ("thermal" steps), or None
    activation_fields: tuple = ()  # ((part, nodal T_act), ...) parts born at a field
    activation_loads: dict = None  # (part, its stiffness) -> (N,) load of its delta
    visco: object = None      # process_visco.ViscoParts, None: no viscoelastic part
    creep: object = None      # process_creep.CreepParts, None: no creep part
    creep_points: dict = None  # creep part -> (quadrature points, weights) of its records
    time: float = 0.0         # s since the start of the recipe


def initial_temperature(package: MeshedPackage, loads: MechanicalLoads,
                        stress_free: dict[str, float]) -> float:
    """degC the recipe starts at: ``initial_temperature``, else the one stress-free
    temperature; a ModelError when the stress-free temperatures differ and none is given."""
    if loads.initial_temperature is not None:
        return float(loads.initial_temperature)
    values = set(stress_free.values())
    if len(values) != 1:
        raise ModelError("mechanical.initial_temperature", "is needed by the process steps: "
                         "the parts' stress-free temperatures differ "
                         f"({', '.join(f'{k} {v:g} degC' for k, v in stress_free.items())})")
    return values.pop()


def solve_process(package: MeshedPackage, loads: MechanicalLoads, *,
                  order: int | None = None, element: str | None = None, solver="auto",
                  assembly: str = "auto", activation: str = "strain_free", thermal=None,
                  creep: dict | None = None) -> ProcessResult:
    """Solve the recipe ``loads.steps`` on ``package``: one result per increment.

    order, element, solver, assembly: as :func:`mechanics.solve_warpage`. activation:
    ``"strain_free"`` (CalculiX / Abaqus ADD=STRAIN FREE, the physics of the module doc) or
    ``"with_strain"`` (Abaqus ADD=WITH STRAIN: a born part takes the strain of the nodes it
    attaches to, eps0 = 0, and its thermal strain counts from the recipe's initial
    temperature; kept as the negative control of the verification). thermal: the
    ``ThermalResult`` the ``"thermal"`` steps end at (``process_temperature``). creep:
    part -> ``solder_creep.Garofalo`` or ``Anand`` law, parts that creep (``process_creep``:
    Newton per increment). ModelError for a bad recipe (naming the step's field) or an
    ambiguous start temperature.
    """
    if activation not in ("strain_free", "with_strain"):
        raise ValueError(f"unknown activation {activation!r}")
    if not loads.steps:
        raise ModelError("mechanical.steps", "a process solve needs at least one step")
    present = check_steps(loads, package.parts)
    setup = solve_setup(package, loads, order, element)
    start = float(initial_temperature(package, loads, dict(zip(
        package.parts, setup.model.stress_free.tolist()))))
    state = _initial_state(setup, loads, start)
    state.field = thermal_steps.field_setup(setup, loads, thermal)
    state.visco = visco_parts(setup, loads)
    check_durations(loads, present, package.parts, state.visco)
    state.creep, state.creep_points = creep_steps.creep_parts(setup, creep), {}
    creep_steps.check_creep(loads, present, list(package.parts), state.creep, state.field)
    solver_cache, out = Systems(), []
    with freed_memory_kept():  # the increments free and allocate the same large arrays
        for index, step in enumerate(loads.steps):
            _change_parts(setup, state, step, present[index], activation == "strain_free",
                          assembly)
            out += _run_step(setup, loads, state, index, step, solver, assembly, solver_cache)
    return ProcessResult(tuple(out))


def _initial_state(setup, loads: MechanicalLoads, start: float) -> _State:
    parts = setup.package.parts
    added = {p for step in loads.steps for p in step.add}
    active = np.array([p not in added for p in parts])
    activation = (np.full(len(parts), start) if loads.initial_temperature is not None
                  else setup.model.stress_free.astype(float).copy())
    state = _State(active, activation, np.zeros(len(parts)), (), {},
                   np.zeros(setup.basis.N + 3 * _generalized(setup)), start,
                   np.zeros(len(parts), dtype=bool), melting_points(setup.package, loads))
    melt(state, state.melting, start)
    return state


def _change_parts(setup, state: _State, step: ProcessStep, active_after: set[str],
                  strain_free: bool, assembly: str) -> None:
    """Births (strain-free: eps0 = eps(u) now, T_act = T now) and deaths of ``step``; a
    part present above its melting point is molten (inactive)."""
    parts = list(setup.package.parts)
    born = [parts.index(p) for p in step.add]
    if born and strain_free:
        _birth(setup, state, born, state.temperature)
    present = np.array([p in active_after for p in parts])
    state.molten = state.molten & present
    state.active = present & ~state.molten
    melt(state, state.melting, thermal_steps.part_maxima(state.temperature, state.field,
                                                         setup.part, len(parts)))


def _birth(setup, state: _State, born: list[int], T: float) -> None:
    """``born`` parts stress-free on ``state.u`` (eps0 = its strain), thermal strain from T."""
    cells = np.flatnonzero(np.isin(setup.part, born))
    old = np.flatnonzero(state.active[setup.part])
    state.u = extended(setup.basis, state.u, old, cells)
    state.births = tuple(b for b in state.births if b[0] not in born) + tuple(
        (p, state.u) for p in born)
    state.birth_loads = {k: v for k, v in state.birth_loads.items() if k[0] not in born}
    state.activation = state.activation.copy()
    state.activation[born] = thermal_steps.mean(T, state.field)
    state.activation_fields = tuple(f for f in state.activation_fields if f[0] not in born
                                    ) + thermal_steps.born_fields(born, T)
    reset(state.visco, born)
    creep_steps.reset_creep(state.creep, born)


def _solidify(setup, loads, state: _State, solver, assembly, cache: Systems, T: float
              ) -> None:
    """Molten parts at or below their melting point at ``T`` degC are born strain-free at
    their melting point T_m on the rest of the package solved at T_m (highest T_m first;
    the cure shrinkage released by the end of the increment, the end-temperature rule)."""
    parts = solidifying(state, state.melting, T)
    for Tm in sorted({float(state.melting[p]) for p in parts}, reverse=True):
        group = [p for p in parts if state.melting[p] == Tm]  # one solve per T_m
        if state.active.any():
            at = _at(setup, state, Tm)
            system = _system(at, loads, state, solver, assembly, cache)
            state.u = solve_system(system, _load(at, state, Tm, assembly),
                                   moduli(state.visco, state.active))[0]
        _birth(setup, state, group, Tm)
        state.molten, state.active = state.molten.copy(), state.active.copy()  # results
        state.molten[group], state.active[group] = False, True  # keep the earlier arrays


def _run_step(setup, loads, state: _State, index: int, step: ProcessStep, solver, assembly,
              cache: Systems) -> list[Increment]:
    begin = state.temperature
    end = thermal_steps.step_end(step, begin, state.field)
    released = state.shrinkage.copy()
    parts = list(setup.package.parts)
    out = []
    start, previous = state.time, 0.0
    duration = step.duration or 0.0
    for k, fraction in enumerate(step_fractions(step, state.visco, begin, end).tolist(), 1):
        T = begin + (end - begin) * fraction
        if state.visco is not None:  # the increment's moduli and history stress
            begin_increment(state.visco, state.active, duration * (fraction - previous),
                            begin + (end - begin) * 0.5 * (fraction + previous), state.field)
        state.time, dt, previous = (start + duration * fraction, duration * (
            fraction - previous), fraction)
        state.shrinkage = released.copy()
        for part, value in step.cure_shrinkage.items():
            state.shrinkage[parts.index(part)] += value * fraction
        tick = time.perf_counter()
        hottest = thermal_steps.part_maxima(T, state.field, setup.part, len(parts))
        melt(state, state.melting, hottest)
        thermal_steps.check_solidifying(solidifying(state, state.melting, hottest), T,
                                        parts, step_path(index, step))
        _solidify(setup, loads, state, solver, assembly, cache, hottest)
        mean = thermal_steps.mean(T, state.field)  # T itself when uniform
        check_left(state, step_path(index, step), mean)
        at = _at(setup, state, mean)  # E(T), nu(T), viscoelastic moduli: the stiffness at T
        if state.creep is None:
            system = _system(at, loads, state, solver, assembly, cache)
            u, stats = solve_increment(state.visco, system, partial(solve_system, system, moduli=
                                       moduli(state.visco, state.active)),
                                       _load(at, state, T, assembly), at,
                                       _model(at, state), T, state.active)
        else:  # uniform T (check_creep): the problem at any T of a cut increment
            u, stats = creep_steps.solve_creep_increment(state.creep, partial(
                _creep_problem, setup, loads, state, solver, assembly, cache), state.u,
                setup.basis.N, dt, state.temperature, T, state.active, solve_system)
        state.u, state.temperature = u, T
        if state.visco is not None:
            advance(state.visco, _model(at, state), u, setup.basis.N, T, state.active)
        stats["seconds"] = time.perf_counter() - tick
        out.append(Increment(index, step.name, k, mean, _result(at, loads, state, u, stats),
                             state.time, creep_steps.creep_records(
                                 state.creep, state.active, state.creep_points)))
    return out


def _creep_problem(setup, loads, state: _State, solver, assembly, cache, T: float):
    """(process model, load, system_for(tangent)) at the uniform temperature ``T``."""
    at = _at(setup, state, T)
    return _model(at, state), _load(at, state, T, assembly), partial(
        _system, at, loads, state, solver, assembly, cache)


def _at(setup, state: _State, T: float):
    """``setup`` with its stiffness at ``T`` degC: E(T), nu(T) and the algorithmic moduli
    of the viscoelastic parts for the current increment."""
    return replace(setup, model=with_moduli(setup.model.at(T), state.visco))


def _stiffness_key(setup, active: np.ndarray, scaled: np.ndarray,
                   tangent: tuple | None = None) -> bytes:
    """What the constrained stiffness depends on: the active parts, the elasticity matrices
    of the active parts not ``scaled`` (a scaled, viscoelastic, part's is its moduli times
    fixed unit matrices, which ``Family`` sums without a rebuild), the creep tangents."""
    kept = active & ~scaled
    creep = b"" if tangent is None else b"creep" + b"".join(t.tobytes() for _, t, _ in tangent)
    return active.tobytes() + setup.model.stiffness[kept].tobytes() + \
        setup.model.reduced[kept].tobytes() + creep


def _system(setup, loads, state: _State, solver, assembly, cache: Systems,
            tangent: tuple | None = None) -> System:
    """The system of the active parts at ``setup``'s stiffness (``process_systems``: built
    only when the active set or an active elastic part's elasticity matrix changed; on box
    meshes matrix-free, ``process_cells``). ``tangent``: the creep cells' matrices
    (``process_creep``; an empty tuple: the elastic matrix, assembled, for the Newton
    residual), None without creep: then no ``Family`` sum."""
    active = state.active
    if cells.applies(setup, assembly, solver, tangent):  # isotropic moduli are scalars
        return cells.system(setup, active, solver, cache, partial(
            _build_system, setup, loads, active, solver, assembly, scaled=((), ())))
    scaled = scaled_parts(state.visco, len(active)) & (tangent is None)
    units = unit_matrices(state.visco, setup.model, active) if tangent is None else []
    values = moduli(state.visco, active) if tangent is None else ()
    return cache.get(_stiffness_key(setup, active, scaled, tangent), lambda history:
                     _build_system(setup, loads, active, solver, assembly, history,
                                   (units, values), tangent))


def _fast(setup, assembly: str) -> bool:
    """The box-cell assembly: forced, or ``auto`` on a box mesh; not in generalized plane
    strain (its three extra unknowns)."""
    return not _generalized(setup) and (assembly in ("structured", "cells") or (
        assembly == "auto" and setup.basis.is_box))


def _generalized(setup) -> bool:
    """2D generalized plane strain: e_yy = g . (1, x, z), three unknowns after the N dofs."""
    return setup.package.dimension == 2 and setup.model.plane == "generalized_strain"


def _masked(setup, parts_on: np.ndarray):
    """``setup`` whose model has zero stiffness on the parts not in ``parts_on``."""
    scale = parts_on[:, None, None].astype(float)
    return replace(setup, model=replace(setup.model, stiffness=setup.model.stiffness * scale,
                                        reduced=setup.model.reduced * scale))


def _stiffness(setup, parts_on: np.ndarray, assembly: str, tangent: tuple = ()):
    """(n, n) stiffness of the parts where ``parts_on`` (parts,) is set (the others
    contribute zero: their elasticity matrix is multiplied by zero), plus the creep
    cells' ``tangent`` (``process_creep.tangent_matrix``, 3D); bordered by the three e_yy
    unknowns in generalized plane strain."""
    if tangent:
        return creep_steps.tangent_matrix(tangent, partial(_stiffness, setup, parts_on, assembly),
                                          parts_on.tobytes() + setup.model.reduced.tobytes())
    reduced = setup.model.reduced[setup.part] * parts_on[setup.part][:, None, None]
    if _fast(setup, assembly):
        return structured.assemble_elasticity_lean(setup.package, setup.basis, reduced)
    K = generic_stiffness(setup.basis.basis, reduced)
    if not _generalized(setup):
        return K
    coupling, out_of_plane, _, _ = generalized_blocks(_masked(setup, parts_on), [])
    return sp.bmat([[K, coupling], [coupling.T, sp.csr_matrix(out_of_plane)]], format="csr")


def _system_matrix(setup, active: np.ndarray, assembly: str):
    """The stiffness of the ``active`` parts: on a box mesh ``blocks(free, fixed)`` written
    straight in the multigrid's order (``structured.elasticity_blocks``), else assembled."""
    if not (_fast(setup, assembly) and setup.basis.grid is not None):
        return _stiffness(setup, active, assembly)
    reduced = setup.model.reduced[setup.part] * active[setup.part][:, None, None]

    def blocks(free, fixed):
        return structured.elasticity_blocks(setup.package, setup.basis, reduced,
                                            setup.basis.grid, free, fixed)
    return blocks


def _build_system(setup, loads, active: np.ndarray, solver, assembly, history: list,
                  scaled: tuple, tangent: tuple | None = None, family=None) -> System:
    """The system of ``active``; ``scaled``: ((part, unit 6x6 matrix) per modulus, the
    moduli of ``setup``) of the viscoelastic parts (``process_visco.unit_matrices``);
    ``tangent``: the creep cells' matrices (see ``_system``); ``family``: see ``cells``."""
    space, package = setup.basis, setup.package
    cell_active = active[setup.part]
    n = setup.basis.N + 3 * _generalized(setup)
    active_dofs = np.unique(space.dofs.element_dofs[:, cell_active])
    inactive = np.setdiff1d(np.arange(space.N), active_dofs, assume_unique=True)
    if loads.displacements:
        raise ModelError("mechanical.displacements", "prescribed displacements are not yet "
                                                     "supported with mechanical.steps")
    symmetry, clamped = support_dofs(package, space, loads)
    constrained = np.intersect1d(np.union1d(symmetry, clamped), active_dofs)
    on = np.zeros(space.N, dtype=bool)
    on[active_dofs] = True
    rigid = constraints.rigid_body_modes(space.doflocs, space.components) * on[:, None]
    held, modes, bodies = body_supports(package, space, cell_active, constrained)
    fixed = np.union1d(np.union1d(inactive, constrained), held)
    if _generalized(setup) and "symmetry_x" in package.surfaces:
        fixed = np.union1d(fixed, [space.N + 1])  # e_yy even in x on a half model
    pad = ((0, n - space.N), (0, 0))  # the e_yy unknowns are no rigid motion
    (units, values), parts = scaled, np.arange(len(active))
    K = None if tangent is None else _stiffness(setup, active, assembly, tangent)
    solve = family(fixed, n) if family else Family(
        _system_matrix(setup, active, assembly) if K is None else K, [
        _system_matrix(replace(setup, model=with_matrices(setup.model, {part: C})),
                       parts == part, assembly) for part, C in units], values, fixed, n=n,
        solver=solver, grid=None if _generalized(setup) else space.grid)
    return System(solve, history, fixed, held, np.pad(modes, pad), np.pad(rigid, pad),
                  active_dofs, bodies, [0], K)


def _load(setup, state: _State, T: float, assembly: str) -> np.ndarray:
    """(N,) ∫ eps(v) . C (eps0 + eps_th + eps_ch) over the active cells at ``T`` degC:
    the thermal and shrinkage part per cell (the structured fast path on box meshes), the
    birth offsets as the loads stored at each birth."""
    model = _model(setup, state)
    generalized = _generalized(setup)
    fast = _fast(setup, assembly)
    if thermal_steps.is_field(T):
        F = thermal_steps.field_thermal_load(replace(setup, model=model), model,
                                             thermal_steps.as_load(T, state.field), fast)
    else:
        F = thermal_load(replace(setup, model=model), T, fast)
    for part, values in state.activation_fields:
        if state.active[part]:
            F = F - thermal_steps.activation_load(setup, state, model, part, values, fast)
    if generalized:
        basis = setup.basis.basis
        strain = np.broadcast_to(model.thermal_strain(setup.part, T),
                                 (3,) + (setup.package.ncells, basis.X.shape[-1])).copy()
        extra = generalized_blocks(_masked(replace(setup, model=model), state.active),
                                    [strain])[2][:, 0]
        F = np.concatenate([F, extra])
    for part, u_birth in state.births:
        if state.active[part]:
            F = F + _birth_load(setup, state, part, u_birth, assembly)
    return F if state.visco is None else \
        F + history_load(setup, state.visco, state.active, generalized)


def _birth_load(setup, state: _State, part: int, u_birth: np.ndarray, assembly: str
                ) -> np.ndarray:
    """eps0 = eps(u_birth) on the part: its load K_part u_birth with the part's stiffness
    of ``setup`` (at the increment's temperature), kept while that stiffness is unchanged;
    for an E(t) viscoelastic part kept once and scaled by E_alg (its stiffness is E_alg
    times a fixed matrix), so a changing modulus assembles nothing."""
    modulus = proportional_modulus(state.visco, part)
    if modulus is not None:
        key = (part, "E_alg")
        if key not in state.birth_loads:
            state.birth_loads[key] = (modulus, _part_product(setup, part, u_birth, assembly))
        stored, load = state.birth_loads[key]
        return load if modulus == stored else load * (modulus / stored)
    key = (part, setup.model.stiffness[part].tobytes() + setup.model.reduced[part].tobytes())
    if key not in state.birth_loads:
        state.birth_loads = {k: v for k, v in state.birth_loads.items() if k[0] != part}
        state.birth_loads[key] = _part_product(setup, part, u_birth, assembly)
    return state.birth_loads[key]


def _part_product(setup, part: int, u: np.ndarray, assembly: str) -> np.ndarray:
    """K_part u with the part's stiffness of ``setup``: on the part's cells only on box
    meshes (``structured.elasticity_product``), else the part's assembled stiffness."""
    if _fast(setup, assembly):
        cells = np.flatnonzero(setup.part == part)
        return structured.elasticity_product(setup.package, setup.basis,
                                             setup.model.reduced[setup.part[cells]], u, cells)
    only = np.arange(len(setup.package.parts)) == part
    return _stiffness(setup, only, assembly) @ u


def _model(setup, state: _State) -> ProcessModel:
    base = {f.name: getattr(setup.model, f.name) for f in fields(ElasticModel)}
    base["stress_free"] = state.activation
    return ProcessModel(**base, shrinkage=state.shrinkage, active=state.active,
                        births=state.births, space=setup.basis,
                        activation_fields=state.activation_fields,
                        activation_space=state.field.space if state.field else None,
                        history=history_fields(state.visco, state.active)
                        + creep_steps.creep_fields(state.creep, setup.model, state.active))


def _result(setup, loads, state: _State, u: np.ndarray, stats: dict) -> WarpageResult:
    model = _model(setup, state)
    N = setup.basis.N
    return WarpageResult(
        package=setup.package, loads=loads, space=setup.basis, displacement=u[:N],
        stats=stats, element=setup.element, plane=model.plane,
        temperature=thermal_steps.as_load(state.temperature, state.field),
        stress_free_temperature=dict(zip(setup.package.parts, state.activation.tolist())),
        generalized_strain=u[N:].copy() if _generalized(setup) else None, model=model)
