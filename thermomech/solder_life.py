"""Solder-joint thermal-cycling fatigue life: Engelmaier (IPC-D-279) and Darveaux.

Engelmaier (IPC-D-279 form; Engelmaier, IEEE CHMT-6(3), 1983, with the dwell-time form of
1988; PHYSICS_NEXT.md 6.1)::

    N50 = 1/2 (dgamma / (2 eps_f)) ** (1 / c)
    c   = -0.442 - 6e-4 T_SJ + 1.74e-2 ln(1 + 360 / t_D)
    dgamma = F L_D dalpha dT / h          (the distance-to-neutral-point estimate)

with ``eps_f`` the fatigue ductility coefficient (0.325 for eutectic / 60-40 SnPb; the often
quoted 0.65 is 2 eps_f), ``T_SJ`` the mean cyclic solder-joint temperature (degC), ``t_D``
the half-cycle dwell (minutes), ``L_D`` the distance to the neutral point, ``h`` the joint
height and ``F`` an empirical factor (0.5-1.5).

Darveaux (energy-based crack growth; PHYSICS_NEXT.md 6.2)::

    N0 = K1 dW ** K2,   da/dN = K3 dW ** K4,   N_alpha = N0 + a / (da/dN)

with ``dW`` the inelastic strain-energy density per stabilized cycle, volume-averaged over a
layer of elements at the pad interface, and ``a`` the joint diameter at the pad. K1-K4 are
only valid with the layer thickness they were fitted with, so :class:`DarveauxConstants`
carries that thickness and its source; thermomech ships no set (none could be transcribed
from a retrievable source).

Every argument accepts a number in the documented unit, a unit string (``"10 mm"``) or a
pint quantity; arrays are evaluated element-wise (one value per joint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .parameters import param
from .units import parse_quantity

DEFAULT_FATIGUE_DUCTILITY = 0.325
"""eps_f' of eutectic / 60-40 SnPb (Engelmaier; PHYSICS_NEXT.md 6.1)."""

_SI = {"length": "m", "temperature": "degC", "temperature_difference": "K", "cte": "1/K",
       "time": "s", "dimensionless": "", "stress": "Pa"}


def quantity_value(value, kind: str, field: str) -> float | np.ndarray:
    """``value`` in SI (temperatures degC; see :mod:`thermomech.units`): a number or array
    (already SI), a unit string, or a pint quantity (converted with its own registry)."""
    if hasattr(value, "magnitude") and hasattr(value, "to"):
        unit = _SI[kind]
        if kind == "temperature_difference" and str(value.units) == "degree_Celsius":
            value = value.magnitude * value._REGISTRY.delta_degC
        try:
            return _finite(np.asarray(value.to(unit).magnitude, dtype=float), field)
        except Exception as exc:  # pint's DimensionalityError and friends
            raise ModelError(field, f"expected a {kind.replace('_', ' ')}, got {value}: "
                                    f"{exc}") from None
    if isinstance(value, str):
        return parse_quantity(value, kind, field)
    if isinstance(value, bool):
        raise ModelError(field, f"expected a number, got {value!r}")
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(field, f"expected a number, a unit string or a pint quantity, got "
                                f"{value!r}") from None
    return _finite(out, field)


def _finite(array: np.ndarray, field: str):
    if not np.all(np.isfinite(array)):
        raise ModelError(field, f"must be finite, got {array}")
    return float(array) if array.ndim == 0 else array


def _positive(value, field: str):
    if np.any(np.asarray(value) <= 0):
        raise ModelError(field, f"must be > 0, got {value}")
    return value


def engelmaier_exponent(mean_temperature_C, dwell_minutes):
    """The fatigue ductility exponent c (dimensionless, negative) of IPC-D-279:
    c = -0.442 - 6e-4 T_SJ + 1.74e-2 ln(1 + 360 / t_D), T_SJ degC, t_D minutes."""
    T = quantity_value(mean_temperature_C, "temperature", "mean_temperature_C")
    dwell = _dwell_minutes(dwell_minutes)
    c = -0.442 - 6e-4 * np.asarray(T) + 1.74e-2 * np.log1p(360.0 / np.asarray(dwell))
    if np.any(c >= 0):
        raise ModelError("mean_temperature_C", f"gives a fatigue exponent c = {c} >= 0 "
                                               f"(outside the Engelmaier fit)")
    return float(c) if np.ndim(c) == 0 else c


def _dwell_minutes(dwell):
    if hasattr(dwell, "magnitude") or isinstance(dwell, str):
        seconds = quantity_value(dwell, "time", "dwell_minutes")
        return _positive(np.asarray(seconds) / 60.0, "dwell_minutes")
    return _positive(quantity_value(dwell, "dimensionless", "dwell_minutes"), "dwell_minutes")


def engelmaier_cycles(shear_strain_range, mean_temperature_C, dwell_minutes,
                      fatigue_ductility: float = DEFAULT_FATIGUE_DUCTILITY):
    """Median cycles to failure N50 = 1/2 (dgamma / (2 eps_f)) ** (1 / c) (IPC-D-279).

    Parameters
    ----------
    shear_strain_range : dgamma, dimensionless (engineering shear strain range), scalar or
        array (one per joint).
    mean_temperature_C : T_SJ, degC (mean cyclic solder-joint temperature).
    dwell_minutes : t_D, half-cycle dwell, minutes (or a time quantity / string).
    fatigue_ductility : eps_f' (0.325 eutectic SnPb).
    """
    gamma = _positive(quantity_value(shear_strain_range, "dimensionless",
                                     "shear_strain_range"), "shear_strain_range")
    ductility = _positive(quantity_value(fatigue_ductility, "dimensionless",
                                         "fatigue_ductility"), "fatigue_ductility")
    c = engelmaier_exponent(mean_temperature_C, dwell_minutes)
    n50 = 0.5 * (np.asarray(gamma) / (2.0 * ductility)) ** (1.0 / np.asarray(c))
    return float(n50) if np.ndim(n50) == 0 else n50


def engelmaier_shear_strain(dnp, cte_mismatch, temperature_swing, joint_height,
                            factor: float = 1.0):
    """The distance-to-neutral-point estimate dgamma = F L_D dalpha dT / h (dimensionless).

    dnp : L_D, m.  cte_mismatch : dalpha, 1/K.  temperature_swing : dT, K.
    joint_height : h, m.  factor : F (empirical, 0.5-1.5).
    """
    L = quantity_value(dnp, "length", "dnp")
    if np.any(np.asarray(L) < 0):
        raise ModelError("dnp", f"must be >= 0, got {L}")
    alpha = quantity_value(cte_mismatch, "cte", "cte_mismatch")
    swing = quantity_value(temperature_swing, "temperature_difference", "temperature_swing")
    h = _positive(quantity_value(joint_height, "length", "joint_height"), "joint_height")
    F = _positive(quantity_value(factor, "dimensionless", "factor"), "factor")
    gamma = F * np.asarray(L) * np.abs(alpha) * np.abs(swing) / h
    return float(gamma) if np.ndim(gamma) == 0 else gamma


@dataclass(frozen=True)
class DarveauxConstants:
    """K1-K4 of Darveaux's model with the averaging layer they were fitted with.

    k1 : cycles / energy_unit**k2.  k2 : dimensionless.
    k3 : length_unit / cycle / energy_unit**k4.  k4 : dimensionless.
    energy_unit : the unit dW is expressed in for the fit ("psi", "MPa", "J/m^3").
    length_unit : the unit of the crack growth rate ("mm", "mil", "in").
    layer_thickness : m, thickness of the element layer dW was averaged over in the fit.
    source : where the constants come from (required: never unsourced).
    """

    k1: float = param(None, "dimensionless", "N0 = K1 dW^K2 (cycles)")
    k2: float = param(None, "dimensionless", "initiation exponent")
    k3: float = param(None, "dimensionless", "da/dN = K3 dW^K4 (length_unit / cycle)")
    k4: float = param(None, "dimensionless", "growth exponent")
    layer_thickness: float = param(None, "length", "averaging-layer thickness of the fit")
    source: str = param("", None, "publication the constants come from")
    energy_unit: str = param("MPa", None, "unit of dW in the fit (psi, MPa, J/m^3)")
    length_unit: str = param("mm", None, "unit of da/dN in the fit (mm, mil, in)")

    def __post_init__(self):
        for name in ("k1", "k2", "k3", "k4", "layer_thickness"):
            value = getattr(self, name)
            if value is None or isinstance(value, bool) or not np.isfinite(value):
                raise ModelError(name, f"a finite number is required, got {value!r}")
        for name in ("k1", "k3", "layer_thickness"):
            if getattr(self, name) <= 0:
                raise ModelError(name, f"must be > 0, got {getattr(self, name)}")
        if not str(self.source).strip():
            raise ModelError("source", "name the publication the Darveaux constants come "
                                       "from (K1-K4 depend on the fit)")
        parse_quantity(f"1 {self.energy_unit}", "stress", "energy_unit")
        parse_quantity(f"1 {self.length_unit}", "length", "length_unit")


@dataclass(frozen=True)
class DarveauxLife:
    """Darveaux's life, per joint: initiation N0 (cycles), growth rate da/dN (m / cycle),
    characteristic life N_alpha = N0 + a / (da/dN) (cycles)."""

    initiation: float | np.ndarray
    growth_rate: float | np.ndarray
    cycles: float | np.ndarray


def darveaux_cycles(energy_density, joint_diameter, constants: DarveauxConstants,
                    layer_thickness=None) -> DarveauxLife:
    """Darveaux's life from the volume-averaged inelastic energy density per cycle.

    energy_density : dW, J/m^3 (= Pa), scalar or array (one per joint).
    joint_diameter : a, m (the crack path: the joint diameter at the pad).
    layer_thickness : m, the thickness dW was averaged over; must equal the constants'
        (a ModelError otherwise: K1-K4 are only valid for their own layer).
    """
    if layer_thickness is not None:
        t = quantity_value(layer_thickness, "length", "layer_thickness")
        if not np.isclose(t, constants.layer_thickness, rtol=1e-6):
            raise ModelError("layer_thickness", f"{t * 1e6:g} um differs from the "
                             f"{constants.layer_thickness * 1e6:g} um the Darveaux constants "
                             f"were fitted with ({constants.source})")
    dW = _positive(quantity_value(energy_density, "stress", "energy_density"),
                   "energy_density")
    a = _positive(quantity_value(joint_diameter, "length", "joint_diameter"), "joint_diameter")
    w = np.asarray(dW) / parse_quantity(f"1 {constants.energy_unit}", "stress")
    unit_length = parse_quantity(f"1 {constants.length_unit}", "length")
    n0 = constants.k1 * w ** constants.k2
    rate = constants.k3 * w ** constants.k4 * unit_length
    cycles = n0 + np.asarray(a) / rate
    scalar = np.ndim(cycles) == 0
    return DarveauxLife(*(float(v) if scalar else v for v in (n0, rate, cycles)))
