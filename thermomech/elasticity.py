"""The elastic material model of a solve: per-part stiffness, thermal expansion with a
glass transition, stress-free temperatures, and stress from strain.

Thermal strain ``e_th = F(T) - F(T_sf)`` per axis with ``F(T) = a_1 min(T, Tg) +
a_2 max(T - Tg, 0)`` (the integral of the instantaneous CTE), or for a material with a
``temperature_table`` listing ``cte`` the exact integral of that piecewise-linear
instantaneous CTE (``materials.cte_integral``). Temperature-dependent E and nu
(``temperature_table``) enter in the total form ``sigma = C(T) (eps - eps_th(T))`` (path
independent): ``elastic_model`` evaluates C at the load temperature, ``ElasticModel.at``
at any uniform temperature (the process steps). Voigt order xx, yy, zz, yz,
xz, xy with engineering shears (3D); in 2D the in-plane order xx, zz, xz with the plane
assumption of ``MechanicalLoads.plane`` (stress, strain, generalized strain). Units: Pa,
1/K, degC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import ModelError
from .material_library import library_material
from .materials import (
    Material,
    as_vector,
    cte_integral,
    elasticity_matrix,
    orthotropic_compliance,
)
from .mechanical_loads import SOLDER_MELTING_LIMIT, MechanicalLoads, MeltingReference
from .meshing import MeshedPackage

IN_PLANE = np.array([0, 2, 4])
"""3D Voigt indices of the 2D (x, z) components xx, zz, xz."""


@dataclass(frozen=True)
class ElasticModel:
    """Per-part constants of a solve (index = position in ``package.parts``).

    stiffness : (parts, 6, 6) Pa, 3D Voigt.  reduced : (parts, nv, nv) Pa, the matrix the
    stiffness is assembled with (3D: = stiffness; 2D: plane-stress or plane-strain reduction).
    cte_below, cte_above : (parts, 3) 1/K.  glass_transition, stress_free : (parts,) degC.
    cte_tables : per part None or (temperatures degC, instantaneous CTE 1/K): the thermal
    strain of that part is the exact integral of the table (isotropic), not the bilinear form.
    materials : per part the Material (with its temperature table), for ``at``;
    temperature : degC the stiffness was evaluated at (None: it does not depend on T).
    """

    stiffness: np.ndarray
    reduced: np.ndarray
    cte_below: np.ndarray
    cte_above: np.ndarray
    glass_transition: np.ndarray
    stress_free: np.ndarray
    dimension: int
    plane: str | None
    cte_tables: tuple = ()
    materials: tuple = ()
    temperature: float | None = None

    @property
    def temperature_dependent(self) -> bool:
        """True when a part's stiffness depends on temperature (E or nu tables)."""
        return any(m.temperature_table is not None and m.temperature_table.elastic
                   for m in self.materials)

    def at(self, T: float) -> ElasticModel:
        """The model with every temperature-dependent stiffness evaluated at ``T`` degC
        (uniform); itself when none depends on temperature (or it already is at ``T``)."""
        if not self.temperature_dependent or self.temperature == float(T):
            return self
        stiffness, reduced = stiffness_arrays(self.materials, self.dimension, self.plane,
                                              float(T))
        return replace(self, stiffness=stiffness, reduced=reduced, temperature=float(T))

    def thermal_strain(self, part: np.ndarray, T) -> np.ndarray:
        """(3, *part.shape[:1], ...) normal thermal strains at temperatures ``T`` (degC).

        ``part`` (cells,) part index; ``T`` a float or an array (cells, points).
        """
        T = np.asarray(T, dtype=float)
        if T.ndim == 0:
            T = np.full((len(part), 1), float(T))
        elif T.ndim == 1:
            T = T[:, None]
        shape = T.shape

        def integral(temp, p):
            tg = self.glass_transition[p][:, None]
            below = np.minimum(temp, tg)
            above = np.maximum(temp - tg, 0.0)
            return (self.cte_below[p].T[:, :, None] * below
                    + self.cte_above[p].T[:, :, None] * above)

        reference = np.broadcast_to(self.stress_free[part][:, None], shape)
        # one part (a ParaView piece): its constants once, broadcast (the same products)
        one = part[:1] if len(part) and np.all(part == part[0]) else part
        strain = integral(T, one) - integral(reference, one)
        for p, table in enumerate(self.cte_tables):
            if table is None or not np.any(part == p):
                continue
            mask = part == p
            strain[:, mask] = (cte_integral(*table, T[mask])
                               - cte_integral(*table, reference[mask]))[None]
        return strain

    def thermal_stress(self, part: np.ndarray, strain: np.ndarray) -> np.ndarray:
        """(nv, ...) the stress a free thermal strain would be resisted with (load density).

        3D: C e_th; plane stress: D_ps e_th,sub; plane strain: (C e_th)_sub.
        """
        full = np.zeros((6,) + strain.shape[1:])
        full[:3] = strain
        if self.dimension == 3:
            return apply_per_part(self.stiffness, part, full)
        if self.plane == "stress":
            return apply_per_part(self.reduced, part, full[IN_PLANE])
        return apply_per_part(self.stiffness, part, full)[IN_PLANE]

    def stress(self, part, grad, T, coords, generalized_strain=None, cells=None) -> np.ndarray:
        """(6, ...) stress (Pa, 3D Voigt) from the displacement gradient (dim, dim, ...).
        ``cells``: the cell of each point, for models whose strain offsets live per cell
        (``process_model.ProcessModel``); unused here."""
        strain = voigt_strain(grad)
        eth = self.thermal_strain(part, T)
        if self.dimension == 3:
            full = strain  # voigt_strain made a new array: no copy
            full[:3] -= eth
            return apply_per_part(self.stiffness, part, full)
        out = np.zeros((6,) + strain.shape[1:])
        if self.plane == "stress":
            mech = strain - np.array([eth[0], eth[2], np.zeros_like(eth[0])])
            out[IN_PLANE] = apply_per_part(self.reduced, part, mech)
            return out
        full = np.zeros_like(out)
        full[IN_PLANE] = strain
        if generalized_strain is not None:
            g = generalized_strain
            full[1] = g[0] + g[1] * coords[0] + g[2] * coords[1]
        full[:3] -= eth
        return apply_per_part(self.stiffness, part, full)


def apply_per_part(matrices: np.ndarray, part: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``matrices[part[c]] @ vectors[:, c, ...]`` for every cell c (one product per part).

    matrices : (parts, m, n); part : (cells,); vectors : (n, cells, ...) -> (m, cells, ...).
    """
    parts = np.unique(part)
    if len(parts) == 1:  # one part (a ParaView piece): no masked copies in and out
        return np.tensordot(matrices[parts[0]], vectors, axes=(1, 0))
    out = np.zeros((matrices.shape[1],) + vectors.shape[1:])
    for p in parts:  # parts, not cells
        mask = part == p
        out[:, mask] = np.tensordot(matrices[p], vectors[:, mask], axes=(1, 0))
    return out


def voigt_strain(grad: np.ndarray) -> np.ndarray:
    """Engineering strains from a displacement gradient ``grad[i, j] = du_i/dx_j``.

    3D -> (6, ...) xx, yy, zz, yz, xz, xy; 2D (x, z) -> (3, ...) xx, zz, xz.
    """
    if grad.shape[0] == 3:
        return np.array([grad[0, 0], grad[1, 1], grad[2, 2], grad[1, 2] + grad[2, 1],
                         grad[0, 2] + grad[2, 0], grad[0, 1] + grad[1, 0]])
    return np.array([grad[0, 0], grad[1, 1], grad[0, 1] + grad[1, 0]])


def stress_free_temperatures(package: MeshedPackage, loads: MechanicalLoads) -> dict[str, float]:
    """degC per part, with melting-point expressions resolved (ModelError naming the field)."""
    out = {}
    for part in package.parts:
        material = package.cell_material(part)
        where = f"mechanical.stress_free_temperature.{part}"
        melting = material.melting_point
        if (loads.solders_at_melting_point and not loads.stress_free_named(part)
                and melting is not None and melting < SOLDER_MELTING_LIMIT):
            out[part] = float(melting)
            continue
        entry = loads.stress_free_entry(part)
        if entry is None:
            raise ModelError(where, "no stress-free temperature for this part and no "
                                    "'default' entry in the table")
        out[part] = _melting_value(package, part, entry, where) if isinstance(
            entry, MeltingReference) else float(entry)
    return out


def _melting_value(package, part, entry: MeltingReference, where: str) -> float:
    if entry.ref is None:
        material = package.cell_material(part)
    elif entry.ref in package.parts:
        material = package.cell_material(entry.ref)
    elif entry.ref in package.materials:
        material = package.materials[entry.ref]
    else:
        material = library_material(entry.ref, where)
    if material.melting_point is None:
        raise ModelError(f"materials.{material.name}.melting_point",
                         f"is needed by {where} = {str(entry)!r} but was not given")
    return float(material.melting_point) + entry.offset


def elastic_model(package: MeshedPackage, loads: MechanicalLoads,
                  temperature: float | None = None) -> ElasticModel:
    """The per-part constants of ``package`` under ``loads`` (ModelError on missing data).

    Temperature tables (``materials.TemperatureTable``): the stiffness is evaluated at
    ``temperature`` degC, else at the uniform ``loads.temperature`` (a process recipe
    re-evaluates it per increment with ``ElasticModel.at``). A ModelError for a table with
    ``temperature = "thermal"`` or a warpage curve (``temperatures``): not yet supported."""
    materials = tuple(package.cell_material(p) for p in package.parts)
    below, above, tg, tables = [], [], [], []
    for part, material in zip(package.parts, materials):
        if material.cte is None and not (material.temperature_table is not None
                                         and material.temperature_table.cte is not None):
            raise ModelError(f"materials.{material.name}.cte",
                             f"is needed for a mechanical analysis (part {part!r}) but was "
                             f"not given")
        table = material.temperature_table
        tables.append((np.array(table.temperature), np.array(table.cte))
                      if table is not None and table.cte is not None else None)
        if tables[-1] is not None:
            _check_table_loads(loads, material)
        cte = material.cte if material.cte is not None else table.cte[0]
        below.append(as_vector(cte))
        has_tg = material.glass_transition is not None and material.cte_above_tg is not None
        above.append(as_vector(material.cte_above_tg) if has_tg else as_vector(cte))
        tg.append(float(material.glass_transition) if has_tg else np.inf)
    at = None
    if any(m.temperature_table is not None and m.temperature_table.elastic
           for m in materials):
        for m in materials:
            if m.temperature_table is not None and m.temperature_table.elastic:
                _check_table_loads(loads, m)
        at = float(temperature if temperature is not None else
                   loads.initial_temperature if loads.steps and
                   loads.initial_temperature is not None else loads.temperature)
    free = stress_free_temperatures(package, loads)
    dim = package.dimension
    plane = loads.plane if dim == 2 else None
    stiffness, reduced = stiffness_arrays(materials, dim, plane, at)
    return ElasticModel(stiffness, reduced, np.array(below), np.array(above), np.array(tg),
                        np.array([free[p] for p in package.parts]), dim, plane,
                        tuple(tables), materials, at)


def _check_table_loads(loads: MechanicalLoads, material: Material) -> None:
    where = f"materials.{material.name}.temperature_table"
    if loads.temperature == "thermal":
        raise ModelError(where, 'is not yet supported with mechanical.temperature = '
                                '"thermal" (uniform temperatures only)')
    if loads.temperatures:
        raise ModelError(where, "is not yet supported with mechanical.temperatures (a "
                                "warpage curve): give the temperatures as "
                                "[[mechanical.steps]]")


def material_at(material: Material, T: float | None) -> Material:
    """``material`` with its tabulated E and nu evaluated at ``T`` degC (itself without a
    table of them, or when ``T`` is None)."""
    table = material.temperature_table
    if table is None or not table.elastic or T is None:
        return material
    values = {name: table.value(name, T) for name in ("youngs_modulus", "poisson_ratio")
              if getattr(table, name) is not None}
    return replace(material, temperature_table=None, **values)


def stiffness_arrays(materials, dimension: int, plane: str | None, T: float | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(parts, 6, 6) stiffness and the reduced matrices the 2D/3D solve assembles with, of
    ``materials`` with their temperature tables evaluated at ``T`` degC."""
    materials = [material_at(m, T) for m in materials]
    stiffness = np.array([elasticity_matrix(m) for m in materials])
    if dimension == 3:
        reduced = stiffness
    elif plane == "stress":
        compliance = np.array([orthotropic_compliance(m) for m in materials])
        reduced = np.linalg.inv(compliance[:, IN_PLANE][:, :, IN_PLANE])
    else:
        reduced = stiffness[:, IN_PLANE][:, :, IN_PLANE]
    return stiffness, np.ascontiguousarray(reduced)
