"""Process steps under a temperature field: ``temperature = "thermal"`` in a recipe step.

A step whose ``temperature`` is ``"thermal"`` ends at the steady temperature field of the
model's heat problem (``thermal.solve_thermal``: powers, convection, fixed temperatures),
given as nodal values on the heat solution's scalar space. Between increments the
temperature is linear node by node, ``T_k = T_begin + (T_end - T_begin) k / n`` (either end
may be uniform), so at every integration point it is the interpolated field.

Per-point activation. A part added while the temperature is a field is stress-free at that
field: its thermal strain is ``F(T(x)) - F(T_act(x))`` with ``T_act`` the field at its
birth, point by point (``F`` the integral of the instantaneous CTE, ``elasticity``). The
solver keeps the part's stress-free temperature ``T_r`` (a number: the field's mean) and an
activation eigenstrain ``delta(x) = F(T_act(x)) - F(T_r)``, fixed from the birth on:

    sigma = C (eps(u) - eps0 - [F(T) - F(T_r)] - eps_ch) + C delta,

whose load ``∫ eps(v) : C delta`` over the part is assembled once per birth (the field
load of the thermal-strain assembly with ``T_act`` as the temperature and ``T_r`` as the
stress-free temperature). A uniform field gives delta = 0 to round-off.

What a field step does not do (a ModelError naming the field): temperature tables (E, nu or
CTE as functions of T: the stiffness would vary point by point), solder solidifying while
the temperature is a field (its activation at the melting point is a uniform state), and 2D
generalized plane strain. A solder part melts as a whole once any of its nodes is above its
melting point. The history records a field increment's volume-mean temperature.

Units: degC, m, Pa.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .elasticity import ElasticModel
from .errors import ModelError
from .fem.space import Field
from .mechanical_loads import MechanicalLoads, step_path
from .mechanics import temperature_field, thermal_load

THERMAL = "thermal"


def uses_thermal(loads: MechanicalLoads) -> bool:
    """True when a step of the recipe ends at the thermal field."""
    return any(step.temperature == THERMAL for step in loads.steps)


def field_setup(setup, loads: MechanicalLoads, thermal) -> Field | None:
    """The heat problem's steady field (a ``Field`` on its scalar space) the recipe's
    ``"thermal"`` steps end at, None without such a step. ModelError (naming the field)
    without a thermal solution, for a transient one, a temperature table, or 2D generalized
    plane strain."""
    if not uses_thermal(loads):
        return None
    index = next(i for i, s in enumerate(loads.steps) if s.temperature == THERMAL)
    where = f"{step_path(index, loads.steps[index])}.temperature"
    if thermal is None:
        raise ModelError(where, '"thermal" needs the steady temperature field of the heat '
                                'problem: add a [thermal] section (or pass thermal=)')
    if getattr(thermal, "is_transient", False):
        raise ModelError(where, '"thermal" takes the steady field; the [thermal] section is '
                                'transient')
    for material in setup.model.materials:
        if material.temperature_table is not None:
            raise ModelError(f"materials.{material.name}.temperature_table",
                             'is not yet supported with a "thermal" process step (the '
                             'stiffness would vary point by point): give constant values')
    if setup.package.dimension == 2 and setup.model.plane == "generalized_strain":
        raise ModelError("mechanical.plane", 'a "thermal" process step needs plane = '
                                             '"stress" or "strain" in 2D')
    return temperature_field(setup.package, thermal)  # checked: the same mesh


def step_end(step, begin, field: Field | None):
    """The temperature at the end of ``step``: a float (degC), or nodal values (N_T,)."""
    if step.temperature is None:
        return begin
    if step.temperature == THERMAL:
        return field.values
    return float(step.temperature)


def is_field(T) -> bool:
    return isinstance(T, np.ndarray)


def as_load(T, field: Field | None):
    """The increment's temperature as the solver takes it: a float, or a ``Field``."""
    return Field(field.space, np.asarray(T, dtype=float)) if is_field(T) else float(T)


def mean(T, field: Field | None) -> float:
    """degC: ``T`` itself if uniform, else the field's volume mean over the mesh."""
    if not is_field(T):
        return float(T)
    basis = field.space.basis
    values = np.asarray(basis.interpolate(T))
    return float(np.sum(values * basis.dx) / np.sum(basis.dx))


def born_fields(born: list[int], T) -> tuple:
    """((part, nodal T_act), ...) of the parts ``born`` at ``T``: stress-free at a field
    point by point; () at a uniform temperature (the number is the activation)."""
    return tuple((p, T) for p in born) if is_field(T) else ()


def part_maxima(T, field: Field | None, cell_part: np.ndarray, parts: int):
    """``T`` if uniform, else (parts,) the largest nodal temperature of each part (degC):
    what melting compares with the melting points (a part melts as a whole)."""
    if not is_field(T):
        return T
    nodal = T[field.space.element_dofs].max(axis=0)  # (cells,)
    out = np.full(parts, -np.inf)
    np.maximum.at(out, cell_part, nodal)
    return out


def check_solidifying(parts: list[int], T, names, where: str) -> None:
    if parts and is_field(T):
        raise ModelError(f"{where}.temperature", f"part(s) {', '.join(names[p] for p in parts)}"
                                                 " would solidify while the temperature is a "
                                                 "field: not supported (end the step at a "
                                                 "uniform temperature first)")


def activation_load(setup, state, model, part: int, values: np.ndarray, fast: bool
                    ) -> np.ndarray:
    """(N,) ∫ eps(v) : C delta over ``part``, delta = F(T_act) - F(T_r) with T_act the
    nodal ``values`` of the part's activation field and T_r = ``model.stress_free[part]``;
    kept in ``state.activation_loads`` while the part's stiffness is unchanged."""
    key = (part, setup.model.stiffness[part].tobytes() + setup.model.reduced[part].tobytes())
    cache = state.activation_loads if state.activation_loads is not None else {}
    if key not in cache:
        cache = {k: v for k, v in cache.items() if k[0] != part}
        only = np.arange(len(model.active)) == part
        base = replace(model, shrinkage=np.zeros_like(model.shrinkage), active=only,
                       births=(), activation_fields=())
        cache[key] = thermal_load(replace(setup, model=base),
                                  Field(model.activation_space, values), fast)
    state.activation_loads = cache
    return cache[key]


def field_thermal_load(setup, model, T: Field, fast: bool) -> np.ndarray:
    """(N,) ∫ eps(v) : C (F(T) - F(T_r) + eps_ch) on the active cells for a field ``T``: the
    field assembly (which takes the CTE only) plus the cure shrinkage, uniform per part."""
    plain = replace(model, shrinkage=np.zeros_like(model.shrinkage))
    F = thermal_load(replace(setup, model=plain), T, fast)
    if np.any(model.shrinkage):
        zero = np.zeros_like(model.cte_below)
        shrink = replace(model, cte_below=zero, cte_above=zero,
                         cte_tables=(None,) * len(model.cte_below))
        F = F + thermal_load(replace(setup, model=shrink), 0.0, fast)
    return F


def activation_stress(model, part: np.ndarray, coords: np.ndarray, cells,
                      generalized_strain) -> np.ndarray:
    """(6, ...) -C delta at the points of ``coords`` (dim, points, k) of the parts with an
    activation field (zero elsewhere): the stress of a zero strain at T = T_act with the
    stress-free temperature T_r. ``cells`` (points,) or None: the quadrature points of
    ``model.space.basis``."""
    base = replace(model, shrinkage=np.zeros_like(model.shrinkage), births=(),
                   activation_fields=())
    out = np.zeros((6,) + coords.shape[1:])
    dim = coords.shape[0]
    for index, values in model.activation_fields:
        mask = part == index
        if not np.any(mask):
            continue
        field = Field(model.activation_space, values)
        if cells is None:
            T = field.at_quadrature(model.space.basis)[mask]
        else:
            T = field.at(coords[:, mask, 0], np.asarray(cells)[mask])[:, None]
        grad = np.zeros((dim, dim) + T.shape)
        g = None if generalized_strain is None else np.zeros(3)
        out[:, mask] = ElasticModel.stress(base, part[mask], grad, T, coords[:, mask], g)
    return out
