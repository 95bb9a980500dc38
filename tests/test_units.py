import pytest

from thermomech.errors import ModelError
from thermomech.units import format_quantity, parse_quantity


@pytest.mark.parametrize("text, kind, expected", [
    ("0.7 mm", "length", 0.7e-3), ("150 um", "length", 150e-6), (0.7, "length", 0.7e-3),
    ("131 GPa", "modulus", 131e9), ("2.6 ppm/K", "cte", 2.6e-6), (2.6, "cte", 2.6e-6),
    ("25 degC", "temperature", 25.0), ("298.15 K", "temperature", 25.0),
    ("77 degF", "temperature", 25.0), ("500 W/(m^2*K)", "htc", 500.0),
    ("10 K", "temperature_difference", 10.0), ("2 W", "power", 2.0),
    ("1.5e-3 s", "time", 1.5e-3), ("148 W/(m*K)", "conductivity", 148.0),
    ("2.329 g/cm^3", "density", 2329.0), ("0.3", "dimensionless", 0.3),
])
def test_parse(text, kind, expected):
    assert parse_quantity(text, kind, "f") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value, kind, message", [
    ("131 GPa", "length", r'package.die_thickness: expected a length \(e.g. "0.7 mm"\), '
                          r'got "131 GPa"'),
    ("3 furlongs_per_fortnight", "length", "cannot read"),
    ("abc", "modulus", "cannot read"),
    (True, "length", "expected a length"),
    (float("nan"), "length", "must be finite"),
    ([1, 2], "length", "expected a length as a number or a string"),
])
def test_errors_name_the_field(value, kind, message):
    with pytest.raises(ModelError, match=message):
        parse_quantity(value, kind, "package.die_thickness")


@pytest.mark.parametrize("value, kind", [(2.5e-5, "length"), (0.7e-3, "length"),
                                         (131e9, "modulus"), (2.6e-6, "cte"),
                                         (175.0, "temperature"), (1 / 3, "length")])
def test_format_round_trip_is_exact(value, kind):
    assert parse_quantity(format_quantity(value, kind), kind) == value


def test_fast_path_equals_pint_to_the_last_bit():
    """Model files are read without loading pint for "number unit" in the common units
    (units.SI_FACTORS): every factor, and the parsed values of numbers written in every
    style, must be pint's own to the last bit, or a run's outputs would change."""
    from decimal import Decimal

    from thermomech import units

    ureg = units._registry()
    for si_unit, factors in units.SI_FACTORS.items():
        for unit, factor in factors.items():
            assert float(ureg.Quantity(1.0, unit).to(si_unit).magnitude) == factor, unit
    numbers = ["0.7", "2", "-3.25", "+5", ".5", "1e4", "1.5E-3", "0.025", "131", "1e-9",
               "333.333", "7.", "12345678.9012"]
    for kind in units.KINDS.values():
        units_of_kind = ([kind.default_unit] if kind.name.startswith("temperature") else
                         list(units.SI_FACTORS.get(kind.si_unit, {})))
        for unit in units_of_kind:
            for number in numbers:
                for text in (f"{number} {unit}", f"{number}  {unit}"):
                    fast = units._fast_parse(text, kind)
                    assert fast is not None, text
                    quantity = ureg.Quantity(text)
                    if kind.name.startswith("temperature"):
                        slow = float(quantity.to(kind.default_unit).magnitude)
                    else:
                        slow = units._to_si(quantity, kind.si_unit, ureg)
                    assert repr(fast) == repr(slow), text
                    assert Decimal(repr(fast)) == Decimal(repr(slow))
    assert units._fast_parse("298.15 K", units.KINDS["temperature"]) is None  # pint's path
    assert units._fast_parse("2.329 g/cm^3", units.KINDS["density"]) is None
    assert units._fast_parse("5J/mol", units.KINDS["molar_energy"]) is None  # 5j: complex


def test_a_run_reads_its_model_without_pint():
    """Start-up: reading a model in the common units does not import pint (0.5 s)."""
    import subprocess
    import sys

    code = ("import sys; from thermomech.model_file import load_model; "
            "load_model('meshes/flip_chip.toml'); print('pint' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_from_si_equals_pint_to_the_last_bit():
    """format_quantity and convert write SI values in a unit of units.FROM_SI without pint:
    pint's result is the value times its factor (one product); both must be pint's bits."""
    import numpy as np

    from thermomech import units

    ureg = units._registry()
    rng = np.random.default_rng(1)
    values = [*rng.uniform(-1e3, 1e3, 300), *10 ** rng.uniform(-12, 12, 300), 0.7e-3,
              2.5e-5, 131e9, 2.6e-6, 1 / 3, 0.0, -0.0, 25.0]
    for si_unit, factors in units.FROM_SI.items():
        for unit in factors:
            for value in values:
                slow = float(ureg.Quantity(value, si_unit).to(unit).magnitude)
                assert repr(units._from_si(value, si_unit, unit)) == repr(slow), (si_unit, unit)
