"""Material properties (SI) and the mixture rules for homogenized patterned layers.

A property is a float for an isotropic material or a tuple ``(x, y, z)`` for an orthotropic
one (conductivity, Young's modulus, CTE). Orthotropic elasticity also takes Poisson's ratios
``(nu_xy, nu_yz, nu_xz)`` and shear moduli ``(G_xy, G_yz, G_xz)``.

Units: conductivity W/(m K), moduli Pa, CTE 1/K, density kg/m^3, specific heat J/(kg K),
temperatures degC, lengths m.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .errors import ModelError
from .viscoelastic import Viscoelastic

Scalar3 = float | tuple[float, float, float]


@dataclass(frozen=True)
class Material:
    """One material. ``None`` means "not given"; a solver that needs it raises a ModelError.

    Attributes
    ----------
    conductivity : W/(m K), scalar or (kx, ky, kz).
    conductivity_exponent : k(T) = k * ((T + 273.15) / (conductivity_reference_temperature
        + 273.15)) ** exponent (silicon: about -1.3); 0 = constant.
    youngs_modulus : Pa, scalar or (Ex, Ey, Ez).
    poisson_ratio : scalar or (nu_xy, nu_yz, nu_xz).
    shear_modulus : Pa, (G_xy, G_yz, G_xz); orthotropic only.
    cte : 1/K, scalar or (ax, ay, az); below ``glass_transition`` when that is given.
    cte_above_tg : 1/K, CTE above the glass transition (mold, underfill).
    glass_transition : degC.
    density : kg/m^3.  specific_heat : J/(kg K).
    melting_point : degC (solders; a solder joint's stress-free temperature).
    max_filler_size : m, largest filler particle of an encapsulant (000 claim 2).
    temperature_table : :class:`TemperatureTable`, isotropic E, nu and instantaneous CTE at
        temperatures (``[materials.NAME.temperature_table]``); a listed property replaces
        the constant one (the CTE also replaces cte_above_tg / glass_transition).
    viscoelastic : ``viscoelastic.Viscoelastic``, Prony series and time-temperature shift
        (``[materials.NAME.viscoelastic]``): used by process steps with durations and
        ``material_point``; an elastic solve uses ``youngs_modulus``.
    sources : where each value comes from, by property name ("*" for all).
    """

    name: str
    conductivity: Scalar3 | None = None
    youngs_modulus: Scalar3 | None = None
    poisson_ratio: Scalar3 | None = None
    shear_modulus: tuple[float, float, float] | None = None
    cte: Scalar3 | None = None
    cte_above_tg: Scalar3 | None = None
    glass_transition: float | None = None
    density: float | None = None
    specific_heat: float | None = None
    melting_point: float | None = None
    max_filler_size: float | None = None
    conductivity_exponent: float = 0.0
    conductivity_reference_temperature: float = 25.0
    temperature_table: TemperatureTable | None = None
    viscoelastic: Viscoelastic | None = None
    description: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        check_material(self)

    def __getstate__(self) -> dict:  # pickled (a run's figures in a helper process): the
        state = dict(self.__dict__)  # library's read-only sources (a mappingproxy) as a dict
        if isinstance(self.sources, MappingProxyType):
            state["sources"] = ("read-only", dict(self.sources))
        return state

    def __setstate__(self, state: dict) -> None:
        sources = state["sources"]
        if isinstance(sources, tuple):
            state = {**state, "sources": MappingProxyType(sources[1])}
        self.__dict__.update(state)

    @property
    def is_orthotropic(self) -> bool:
        return any(isinstance(getattr(self, n), tuple)
                   for n in ("conductivity", "youngs_modulus", "cte", "poisson_ratio"))

    def with_values(self, **changes) -> Material:
        """A copy with some properties changed (validated again)."""
        return dataclasses.replace(self, **changes)


PROPERTY_KINDS = {
    "conductivity": "conductivity",
    "youngs_modulus": "modulus",
    "poisson_ratio": "dimensionless",
    "shear_modulus": "modulus",
    "cte": "cte",
    "cte_above_tg": "cte",
    "glass_transition": "temperature",
    "density": "density",
    "specific_heat": "specific_heat",
    "melting_point": "temperature",
    "max_filler_size": "length",
    "conductivity_exponent": "dimensionless",
    "conductivity_reference_temperature": "temperature",
}
"""Each numeric property of :class:`Material` and the quantity kind its values have."""

DIRECTIONAL_PROPERTIES = ("conductivity", "youngs_modulus", "poisson_ratio", "shear_modulus",
                          "cte", "cte_above_tg")
"""Properties that take one value (isotropic) or three (x, y, z; shear and Poisson: xy, yz,
xz)."""


def _values(value) -> tuple[float, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,)


def check_material(material: Material, prefix: str | None = None) -> None:
    """Raise a ModelError naming the field for non-physical properties."""
    where = prefix if prefix is not None else f"materials.{material.name}"
    for name in DIRECTIONAL_PROPERTIES:
        value = getattr(material, name)
        if isinstance(value, tuple) and len(value) != 3:
            raise ModelError(f"{where}.{name}", f"needs 1 or 3 values, got {len(value)}")
    shear = material.shear_modulus
    if shear is not None and not (isinstance(shear, tuple) and len(shear) == 3):
        raise ModelError(f"{where}.shear_modulus", f"needs 3 values [G_xy, G_yz, G_xz], got "
                                                   f"{shear!r}")
    for name in ("conductivity", "youngs_modulus", "shear_modulus", "density", "specific_heat",
                 "max_filler_size"):
        value = getattr(material, name)
        if value is None:
            continue
        if isinstance(value, tuple) and len(value) != 3:
            raise ModelError(f"{where}.{name}", f"needs 1 or 3 values, got {len(value)}")
        if any(not np.isfinite(v) or v <= 0 for v in _values(value)):
            raise ModelError(f"{where}.{name}", f"must be > 0, got {value}")
    nu = material.poisson_ratio
    if nu is not None:
        if isinstance(nu, tuple) and len(nu) != 3:
            raise ModelError(f"{where}.poisson_ratio", f"needs 1 or 3 values, got {len(nu)}")
        if not isinstance(nu, tuple) and not -1.0 < nu < 0.5:
            raise ModelError(f"{where}.poisson_ratio", f"must be in (-1, 0.5), got {nu}")
    if isinstance(material.youngs_modulus, tuple) or isinstance(nu, tuple):
        _check_orthotropic(material, where)
    if material.viscoelastic is not None and material.temperature_table is not None and \
            material.temperature_table.elastic:
        raise ModelError(f"{where}.viscoelastic", "not with an E(T) / nu(T) temperature "
                                                  "table: the Prony series and its shift "
                                                  "give the temperature dependence")
    table = material.temperature_table
    if table is not None:
        check_temperature_table(table, f"{where}.temperature_table")
        if table.elastic and (isinstance(material.youngs_modulus, tuple)
                              or isinstance(nu, tuple)):
            raise ModelError(f"{where}.temperature_table", "E(T) and nu(T) tables are for "
                                                           "isotropic materials only")


def _check_orthotropic(material: Material, where: str) -> None:
    if material.youngs_modulus is None or material.poisson_ratio is None:
        return
    try:
        compliance = orthotropic_compliance(material)
    except ModelError:
        raise
    if not np.all(np.linalg.eigvalsh(compliance) > 0):
        raise ModelError(f"{where}.poisson_ratio",
                         f"orthotropic constants are not positive definite: E = "
                         f"{material.youngs_modulus}, nu = {material.poisson_ratio}")


def orthotropic_compliance(material: Material) -> np.ndarray:
    """6x6 compliance in Voigt order (xx, yy, zz, yz, xz, xy), 1/Pa."""
    E = np.broadcast_to(np.asarray(material.youngs_modulus, dtype=float), (3,))
    nu = np.broadcast_to(np.asarray(material.poisson_ratio, dtype=float), (3,))
    nu_xy, nu_yz, nu_xz = nu
    if material.shear_modulus is not None:
        G_xy, G_yz, G_xz = material.shear_modulus
    elif not isinstance(material.youngs_modulus, tuple) and not isinstance(
            material.poisson_ratio, tuple):
        G_xy = G_yz = G_xz = float(material.youngs_modulus) / (2 * (1 + float(nu_xy)))
    else:
        raise ModelError(f"materials.{material.name}.shear_modulus",
                         "an orthotropic material needs shear_modulus = [G_xy, G_yz, G_xz]")
    S = np.zeros((6, 6))
    S[0, 0], S[1, 1], S[2, 2] = 1 / E
    S[0, 1] = S[1, 0] = -nu_xy / E[0]
    S[1, 2] = S[2, 1] = -nu_yz / E[1]
    S[0, 2] = S[2, 0] = -nu_xz / E[0]
    S[3, 3], S[4, 4], S[5, 5] = 1 / G_yz, 1 / G_xz, 1 / G_xy
    return S


def elasticity_matrix(material: Material) -> np.ndarray:
    """6x6 stiffness in Voigt order (xx, yy, zz, yz, xz, xy) with engineering shears, Pa."""
    if material.youngs_modulus is None or material.poisson_ratio is None:
        field_name = "youngs_modulus" if material.youngs_modulus is None else "poisson_ratio"
        raise ModelError(f"materials.{material.name}.{field_name}", "is needed for a mechanical "
                         "analysis but was not given")
    return np.linalg.inv(orthotropic_compliance(material))


def as_vector(value: Scalar3) -> np.ndarray:
    """A scalar or (x, y, z) property as a length-3 array."""
    return np.broadcast_to(np.asarray(value, dtype=float), (3,)).copy()


def lame_from_youngpoisson(E: float, nu: float) -> tuple[float, float]:
    """Lame parameters (lambda, mu) in Pa from Young's modulus (Pa) and Poisson's ratio."""
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


# --- temperature-dependent elastic constants ---------------------------------------------

TABLE_PROPERTIES = {"youngs_modulus": "modulus", "poisson_ratio": "dimensionless",
                    "cte": "cte"}
"""The properties a ``[materials.NAME.temperature_table]`` may list, and their kinds."""


@dataclass(frozen=True)
class TemperatureTable:
    """Isotropic elastic constants at temperatures: piecewise linear in between, constant
    outside (``[materials.NAME.temperature_table]``).

    temperature : (n,) degC, increasing.  youngs_modulus : (n,) Pa.  poisson_ratio : (n,).
    cte : (n,) 1/K, the instantaneous (tangent) CTE: the thermal strain from T_sf to T is
    its exact integral (``cte_integral``). A property not listed keeps the material's value.
    """

    temperature: tuple[float, ...]
    youngs_modulus: tuple[float, ...] | None = None
    poisson_ratio: tuple[float, ...] | None = None
    cte: tuple[float, ...] | None = None

    @property
    def elastic(self) -> bool:
        """True when the stiffness depends on temperature (E or nu listed)."""
        return self.youngs_modulus is not None or self.poisson_ratio is not None

    def value(self, name: str, T: float) -> float:
        """The listed property ``name`` at ``T`` degC (piecewise linear, constant outside)."""
        return float(np.interp(T, self.temperature, getattr(self, name)))


def check_temperature_table(table: TemperatureTable, where: str) -> None:
    """Raise a ModelError naming the field: lists of different lengths, temperatures not
    increasing, a modulus <= 0, a Poisson ratio outside (-1, 0.5), no property listed."""
    T = np.asarray(table.temperature, float)
    if T.ndim != 1 or len(T) < 1:
        raise ModelError(f"{where}.temperature", "needs a list of at least one temperature")
    if not np.all(np.isfinite(T)) or np.any(np.diff(T) <= 0):
        raise ModelError(f"{where}.temperature", f"must be strictly increasing, got "
                                                 f"{list(table.temperature)}")
    listed = [n for n in TABLE_PROPERTIES if getattr(table, n) is not None]
    if not listed:
        raise ModelError(where, f"lists no property: give one or more of "
                                f"{', '.join(TABLE_PROPERTIES)} with the temperatures")
    for name in listed:
        values = np.asarray(getattr(table, name), float)
        if values.shape != T.shape:
            raise ModelError(f"{where}.{name}", f"has {values.size} values but temperature "
                                                f"has {len(T)}: the lists must have the same "
                                                f"length")
        if not np.all(np.isfinite(values)):
            raise ModelError(f"{where}.{name}", f"must be finite, got {list(values)}")
    if table.youngs_modulus is not None and min(table.youngs_modulus) <= 0:
        raise ModelError(f"{where}.youngs_modulus", f"must be > 0 at every temperature, got "
                                                    f"{list(table.youngs_modulus)}")
    if table.poisson_ratio is not None and not all(-1.0 < v < 0.5
                                                    for v in table.poisson_ratio):
        raise ModelError(f"{where}.poisson_ratio", f"must be in (-1, 0.5) at every "
                                                   f"temperature, got "
                                                   f"{list(table.poisson_ratio)}")


def cte_integral(temperature, cte, T) -> np.ndarray:
    """G(T) = integral of the piecewise-linear instantaneous CTE (``cte`` at
    ``temperature``, constant outside) from ``temperature[0]`` to ``T`` (exact: a quadratic
    on each interval). ``T`` any shape; the thermal strain from T_sf is G(T) - G(T_sf)."""
    t = np.asarray(temperature, float)
    a = np.asarray(cte, float)
    T = np.asarray(T, float)
    if len(t) == 1:
        return a[0] * (T - t[0])
    at_nodes = np.concatenate([[0.0], np.cumsum(0.5 * (a[1:] + a[:-1]) * np.diff(t))])
    i = np.clip(np.searchsorted(t, T, side="right") - 1, 0, len(t) - 2)
    x = np.clip(T, t[0], t[-1]) - t[i]
    slope = (a[i + 1] - a[i]) / (t[i + 1] - t[i])
    inside = at_nodes[i] + a[i] * x + 0.5 * slope * x * x
    return inside + a[0] * np.minimum(T - t[0], 0.0) + a[-1] * np.maximum(T - t[-1], 0.0)


# --- mixture rules for homogenized patterned layers (bumps, balls, vias, RDL) --------------

def column_layer_properties(column: Material, matrix: Material, fraction: float,
                            name: str) -> Material:
    """Effective orthotropic material of a layer of parallel z-columns in a matrix.

    ``fraction`` is the metal area fraction f of the columns (0 < f < 1). Formulas:

    - conductivity: through the layer (z) the columns and matrix conduct in parallel,
      ``kz = f kc + (1 - f) km``; in-plane (x, y) Maxwell-Garnett / Rayleigh for cylinders
      (exact to first order in f and bounded by Hashin-Shtrikman):
      ``kx = km (kc (1 + f) + km (1 - f)) / (kc (1 - f) + km (1 + f))``.
    - density and heat capacity: volume averages.
    - stiffness: ``Ez = f Ec + (1 - f) Em`` (Voigt, parallel); in-plane the series (Reuss)
      estimate ``Ex = 1 / (f / Ec + (1 - f) / Em)`` (the soft matrix carries in-plane load).
      Poisson ratios by volume average; shear moduli: Reuss.
    - CTE: through the layer Schapery's parallel estimate
      ``az = (f Ec ac + (1 - f) Em am) / (f Ec + (1 - f) Em)``; in-plane Schapery's transverse
      estimate ``ax = (1 + nu_c) ac f + (1 + nu_m) am (1 - f) - az nu_avg``.
    """
    if not 0.0 < fraction < 1.0:
        raise ModelError(f"materials.{name}", f"metal fraction must be in (0, 1), got {fraction}")
    f, g = fraction, 1.0 - fraction
    props: dict = {"name": name, "description": (f"homogenized {column.name} columns "
                                                  f"({100 * f:.1f} %) in {matrix.name}")}
    kc, km = column.conductivity, matrix.conductivity
    if kc is not None and km is not None:
        kc, km = float(np.mean(as_vector(kc))), float(np.mean(as_vector(km)))
        k_in = km * (kc * (1 + f) + km * g) / (kc * g + km * (1 + f))
        props["conductivity"] = (k_in, k_in, f * kc + g * km)
    for name_ in ("density",):
        a, b = getattr(column, name_), getattr(matrix, name_)
        if a is not None and b is not None:
            props[name_] = f * a + g * b
    if None not in (column.density, matrix.density, column.specific_heat, matrix.specific_heat):
        rho_cp = (f * column.density * column.specific_heat
                  + g * matrix.density * matrix.specific_heat)
        props["specific_heat"] = rho_cp / props["density"]
    mech = (column.youngs_modulus, matrix.youngs_modulus, column.poisson_ratio,
            matrix.poisson_ratio, column.cte, matrix.cte)
    if None not in mech:
        Ec, Em = (float(np.mean(as_vector(v))) for v in mech[:2])
        nuc, num = (float(np.mean(as_vector(v))) for v in mech[2:4])
        ac, am = (float(np.mean(as_vector(v))) for v in mech[4:6])
        Ez = f * Ec + g * Em
        Ex = 1.0 / (f / Ec + g / Em)
        nu = f * nuc + g * num
        Gc, Gm = Ec / (2 * (1 + nuc)), Em / (2 * (1 + num))
        G = 1.0 / (f / Gc + g / Gm)
        az = (f * Ec * ac + g * Em * am) / Ez
        ax = (1 + nuc) * ac * f + (1 + num) * am * g - az * nu
        nu_xz = nu * Ex / Ez  # reciprocity: nu_zx / Ez = nu_xz / Ex with nu_zx = nu
        props.update(youngs_modulus=(Ex, Ex, Ez), poisson_ratio=(nu, nu_xz, nu_xz),
                     shear_modulus=(G, G, G), cte=(ax, ax, az))
    # the layer's joints freeze at the column metal's melting point (solder bumps, balls)
    props["melting_point"] = column.melting_point
    props["sources"] = {"*": "mixture rules of thermomech.materials.column_layer_properties",
                        "melting_point": f"that of {column.name}"}
    return Material(**props)
