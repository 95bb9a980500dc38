"""Units at the edge: parse "0.7 mm", "131 GPa", "2.6 ppm/K", "25 degC" into SI floats.

Inside thermomech every value is SI (m, W, Pa, 1/K, s, kg), except absolute temperatures,
which are degrees Celsius (only differences enter the physics). Each kind of quantity has a
default unit that bare numbers in model files are read in (lengths in mm, moduli in GPa, ...).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from .errors import ModelError

um = 1e-6
mm = 1e-3
GPa = 1e9
MPa = 1e6
ppm_per_K = 1e-6


@dataclass(frozen=True)
class Kind:
    """A kind of physical quantity: its default (file) unit and its internal SI unit."""

    name: str
    default_unit: str
    si_unit: str
    example: str


KINDS = {
    k.name: k
    for k in (
        Kind("length", "mm", "m", "0.7 mm"),
        Kind("temperature", "degC", "degC", "25 degC"),
        Kind("temperature_difference", "K", "K", "10 K"),
        Kind("power", "W", "W", "2 W"),
        Kind("conductivity", "W/(m*K)", "W/(m*K)", "150 W/(m*K)"),
        Kind("htc", "W/(m^2*K)", "W/(m^2*K)", "500 W/(m^2*K)"),
        Kind("modulus", "GPa", "Pa", "131 GPa"),
        Kind("stress", "MPa", "Pa", "50 MPa"),
        Kind("cte", "ppm/K", "1/K", "2.6 ppm/K"),
        Kind("density", "kg/m^3", "kg/m^3", "2329 kg/m^3"),
        Kind("specific_heat", "J/(kg*K)", "J/(kg*K)", "705 J/(kg*K)"),
        Kind("time", "s", "s", "0.5 s"),
        Kind("velocity", "m/s", "m/s", "1 m/s"),
        Kind("heat_flux", "W/m^2", "W/m^2", "1e4 W/m^2"),
        Kind("power_density", "W/m^3", "W/m^3", "1e9 W/m^3"),
        Kind("thermal_resistance", "K/W", "K/W", "1.5 K/W"),
        Kind("molar_energy", "kJ/mol", "J/mol", "261 kJ/mol"),
        Kind("dimensionless", "", "", "0.3"),
    )
}

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


@functools.cache
def _registry():
    import pint

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.define("ppm_unit = 1e-6 = ppm")  # pint's ppm is fine, but keep it explicit and stable
    return ureg


def _format(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


SI_FACTORS = {
    "m": {"mm": 1e-3, "um": 1e-6, "m": 1.0},
    "Pa": {"GPa": 1e9, "MPa": 1e6, "kPa": 1e3, "Pa": 1.0},
    "1/K": {"ppm/K": 1e-6, "1/K": 1.0},
    "W": {"W": 1.0, "mW": 1e-3},
    "W/(m*K)": {"W/(m*K)": 1.0},
    "W/(m^2*K)": {"W/(m^2*K)": 1.0},
    "kg/m^3": {"kg/m^3": 1.0},
    "J/(kg*K)": {"J/(kg*K)": 1.0},
    "s": {"s": 1.0},
    "m/s": {"m/s": 1.0},
    "W/m^2": {"W/m^2": 1.0},
    "W/m^3": {"W/m^3": 1.0},
    "K/W": {"K/W": 1.0},
    "J/mol": {"kJ/mol": 1e3, "J/mol": 1.0},
}
"""{SI unit: {unit: factor}}: pint's conversion factors (``ureg.Quantity(1.0, unit).to(si)``,
checked equal to the last bit in tests/test_units.py) of the units model files use most, so
a run reads its model without loading pint's registry (0.5 s of a 4 s run)."""
FROM_SI = {
    "m": {"mm": 1e3, "um": 1e6, "m": 1.0},
    "Pa": {"GPa": 1e-9, "MPa": 1e-6, "kPa": 1e-3, "Pa": 1.0},
    "1/K": {"ppm/K": 1e6, "1/K": 1.0},
    "W": {"W": 1.0, "mW": 1e3},
    "J/mol": {"kJ/mol": 1e-3, "J/mol": 1.0},
    "degC": {"degC": 1.0},
    "K": {"K": 1.0},
    **{unit: {unit: 1.0} for unit in ("W/(m*K)", "W/(m^2*K)", "kg/m^3", "J/(kg*K)", "s",
                                      "m/s", "W/m^2", "W/m^3", "K/W")},
}
"""{SI unit: {unit: factor}}: an SI value in ``unit`` is ``value * factor``, as pint computes
it (its factors and its single product, checked in tests/test_units.py): the report and
model dumps write values without loading pint's registry."""


def _from_si(si_value: float, si_unit: str, unit: str) -> float:
    """``si_value`` (in ``si_unit``) expressed in ``unit``: pint's result to the last bit."""
    factor = FROM_SI.get(si_unit, {}).get(unit)
    if factor is None:
        return float(_registry().Quantity(si_value, si_unit).to(unit).magnitude)
    return float(si_value) * factor


_FAST = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s+(\S+)$")


def _fast_parse(text: str, kind: Kind) -> float | None:
    """``text`` in SI as pint's path below computes it, for "number unit" in a unit of
    :data:`SI_FACTORS` (degC for temperatures, K for differences); None otherwise (also
    for "5J/mol", glued: pint reads 5J as a complex number and refuses it)."""
    match = _FAST.match(text)
    if match is None:
        return None
    number, unit = match.groups()
    if kind.name in ("temperature", "temperature_difference"):
        return float(number) if unit == kind.default_unit else None
    factor = SI_FACTORS.get(kind.si_unit, {}).get(unit)
    if factor is None:
        return None
    from decimal import Decimal

    return float(Decimal(repr(float(number))) * Decimal(repr(factor)))


@functools.cache
def _parse_text(text: str, kind_name: str, field: str) -> float:
    kind = KINDS[kind_name]
    fast = _fast_parse(text, kind)
    if fast is not None:
        return fast
    ureg = _registry()
    try:
        quantity = ureg.Quantity(text.replace("µ", "u"))
    except Exception as exc:  # pint raises several types for unknown units and bad syntax
        raise ModelError(field, f"cannot read {_format(text)} as a {kind.name} "
                                f"(e.g. {_format(kind.example)}): {exc}") from None
    if quantity.dimensionless and not isinstance(quantity.magnitude, int | float):
        raise ModelError(field, f"cannot read {_format(text)} as a number")
    if quantity.unitless and kind.default_unit:
        quantity = ureg.Quantity(float(quantity.magnitude), kind.default_unit)
    try:
        if kind.name == "temperature":
            return float(quantity.to("degC").magnitude)
        if kind.name == "temperature_difference":
            # "10 K" and "10 delta_degC" are differences; "10 degC" read as a difference too
            unit = str(quantity.units)
            if unit in ("degree_Celsius", "degree_Fahrenheit"):
                quantity = ureg.Quantity(quantity.magnitude, "delta_" + unit)
            return float(quantity.to("K").magnitude)
        return _to_si(quantity, kind.si_unit or "dimensionless", ureg)
    except Exception:
        raise ModelError(field, f"expected a {kind.name.replace('_', ' ')} "
                                f"(e.g. {_format(kind.example)}), got {_format(text)}") from None


def _to_si(quantity, si_unit: str, ureg) -> float:
    """Multiplicative conversion in decimal arithmetic: "0.025 mm" is exactly 2.5e-05, not
    the 2.4999999999999998e-05 of a binary product, so format(parse(x)) round-trips."""
    from decimal import Decimal

    factor = float(ureg.Quantity(1.0, quantity.units).to(si_unit).magnitude)
    return float(Decimal(repr(float(quantity.magnitude))) * Decimal(repr(factor)))


def parse_quantity(value, kind: str, field: str = "") -> float:
    """Return ``value`` in SI units (temperatures in degC).

    Parameters
    ----------
    value : str | float | int
        A unit string such as ``"0.7 mm"`` or a bare number in the kind's default unit.
    kind : str
        One of :data:`KINDS` (``"length"``, ``"modulus"``, ``"cte"``, ...).
    field : str
        Dotted path of the value in the model, used in error messages.
    """
    if kind not in KINDS:
        raise KeyError(f"unknown quantity kind {kind!r}")
    if isinstance(value, bool):
        raise ModelError(field, f"expected a {kind.replace('_', ' ')}, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ModelError(field, f"must be finite, got {value!r}")
        if kind == "dimensionless":
            return check_physical(number, kind, field, value)
        text = f"{number!r} {KINDS[kind].default_unit}"
        return check_physical(_parse_text(text, kind, field), kind, field, text)
    if not isinstance(value, str):
        raise ModelError(field, f"expected a {kind.replace('_', ' ')} as a number or a string "
                                f"like {_format(KINDS[kind].example)}, got {value!r}")
    if _NUMBER.match(value):
        return parse_quantity(float(value), kind, field)
    result = _parse_text(value.strip(), kind, field)
    if not math.isfinite(result):
        raise ModelError(field, f"must be finite, got {_format(value)}")
    return check_physical(result, kind, field, value)


ABSOLUTE_ZERO = -273.15
"""degC."""
LARGEST_LENGTH = 10.0
"""m: no package dimension or coordinate is larger (a panel is 0.6 m); beyond it a value is
a unit mistake, and a mesh of it would not fit in any memory."""
LARGEST_MAGNITUDE = 1e30
"""SI: no quantity of a package model comes near (a modulus is 1e12 Pa, a power density
1e15 W/m^3); beyond it a value is a mistake, and its products overflow float64."""


def check_physical(si_value: float, kind: str, field: str = "", given=None) -> float:
    """``si_value`` if it can be a value of ``kind``: a ModelError for a temperature below
    absolute zero, a length beyond :data:`LARGEST_LENGTH` or any value beyond
    :data:`LARGEST_MAGNITUDE`."""
    shown = _format(given) if given is not None else f"{si_value:g} {KINDS[kind].si_unit}"
    if kind == "temperature" and si_value < ABSOLUTE_ZERO:
        raise ModelError(field, f"{shown} is below absolute zero (-273.15 degC = 0 K)")
    if kind == "length" and abs(si_value) > LARGEST_LENGTH:
        raise ModelError(field, f"{shown} ({si_value * 1e3:g} mm) is larger than any package: "
                                f"lengths are limited to {LARGEST_LENGTH:g} m (a unit mistake?)")
    if abs(si_value) > LARGEST_MAGNITUDE:
        raise ModelError(field, f"{shown} is beyond any physical value (|value| <= 1e30 in SI "
                                f"units: a unit mistake?)")
    return si_value


def format_quantity(si_value: float, kind: str, unit: str | None = None) -> str:
    """Inverse of :func:`parse_quantity`: an SI value as a unit string in ``unit``.

    ``unit`` defaults to the kind's default unit. The shortest text that parses back to
    exactly ``si_value`` is chosen; if none does, the value is written in SI units.
    """
    target = unit or KINDS[kind].default_unit
    if kind == "dimensionless" or not target:
        return repr(float(si_value))
    si_unit = "degC" if kind == "temperature" else KINDS[kind].si_unit
    magnitude = _from_si(si_value, si_unit, target)
    for digits in (12, 15, 16, 17):
        text = f"{float(f'{magnitude:.{digits}g}')!r} {target}"
        if parse_quantity(text, kind) == si_value:
            return text
    return f"{float(si_value)!r} {si_unit}"


def convert(si_value: float, kind: str, unit: str) -> float:
    """An SI value expressed in ``unit`` (for reports: m -> um, Pa -> MPa)."""
    return _from_si(si_value, KINDS[kind].si_unit, unit)
