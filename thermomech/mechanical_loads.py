"""The ``[mechanical]`` section: the thermal load of a warpage analysis, supports, 2D assumption.

Temperatures in degC. The thermal strain of a part is zero at its stress-free temperature
(the temperature at which it became solid and bonded: mold cure, adhesive cure, solder
freezing) and follows ``alpha`` to the load temperature (see ``mechanics.thermal_strain``).

``stress_free_temperature`` is one value for every part, or a table per part::

    stress_free_temperature = "175 degC"
    stress_free_temperature = { default = "175 degC", adhesive = "150 degC",
                                bumps = "sac305.melting_point",
                                encapsulant = "sac305.melting_point - 10 K" }

An entry ``"melting_point"`` is the part's own material's melting point; ``"<name>.melting_point
[+- offset]"`` names a material or a part (000 claim 25: the mold is molded 10 K below the bump
melting point). With ``solders_at_melting_point = true`` every part whose material melts below
450 degC (a solder) is stress-free at its melting point unless the table names it.

2D default ``plane = "generalized_strain"``: the section is a long strip whose out-of-plane
strain is ``e_yy = e0 + k_x x + k_z z`` with free force and moments. At the centre of a square
package the state is equi-biaxial, which this reproduces exactly (curvature of the 3D wide
plate), while plane strain (``e_yy = 0``) over-predicts warpage by about ``1 + nu`` and plane
stress (``s_yy = 0``) is exact only for layers of equal Poisson ratio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .parameters import item_path, param
from .surface_values import PointFunction, point_function, unit_scale
from .units import check_physical, parse_quantity

PLANES = ("strain", "stress", "generalized_strain")
SIGN_CONVENTIONS = ("center_up_positive", "center_down_positive")
SOLDER_MELTING_LIMIT = 450.0
"""degC: a material melting below this is a solder (the conventional soldering/brazing limit)."""

_MELTING = re.compile(r"^\s*(?:(?P<ref>[\w\-]+)\.)?melting_point\s*"
                      r"(?:(?P<sign>[-+])\s*(?P<offset>.+?))?\s*$")


@dataclass(frozen=True)
class MeltingReference:
    """A stress-free temperature given as ``<ref>.melting_point + offset`` (ref None: own part).

    offset : K (negative below the melting point).
    """

    ref: str | None
    offset: float = 0.0

    def __str__(self) -> str:
        head = f"{self.ref}.melting_point" if self.ref else "melting_point"
        if self.offset == 0:
            return head
        sign = "-" if self.offset < 0 else "+"
        return f"{head} {sign} {abs(self.offset):g} K"


def parse_stress_free(value, field: str) -> float | MeltingReference:
    """One stress-free temperature: a temperature (degC) or a melting-point expression."""
    if isinstance(value, MeltingReference):
        return value
    if isinstance(value, str):
        match = _MELTING.match(value)
        if match:
            offset = 0.0
            if match["sign"]:
                offset = parse_quantity(match["offset"], "temperature_difference", field)
                offset = -offset if match["sign"] == "-" else offset
            return MeltingReference(match["ref"], offset)
    return parse_quantity(value, "temperature", field)


@dataclass(frozen=True)
class Support:
    """Displacements fixed to zero on a named surface (a clamp, or a board's hold-down)."""

    surface: str = param("bottom", None, "named surface (bottom, top, <part>.bottom, ...)")
    directions: str = param("xyz", None, "components held: any of x, y, z (2D: x, z)")

    def __post_init__(self):
        if not self.directions or any(c not in "xyz" for c in self.directions) or len(
                set(self.directions)) != len(self.directions):
            raise ModelError("directions", f"must be letters from 'xyz' without repeats, got "
                                           f"{self.directions!r}")


@dataclass(frozen=True)
class PrescribedDisplacement:
    """A displacement prescribed on a named surface as a function of position: the
    expressions (one per direction), a file of samples, or (Python only) a function.

    The values are applied at the dofs of the surface (every node of a quadratic element,
    mid-edge nodes included: nodal interpolation of the function). Later entries win dofs
    shared with earlier ones and with supports; a symmetry plane keeps its own condition.
    """

    surface: str = param("top", None, "named surface (top, bottom, sides, <part>.top, ...)")
    directions: str = param("xyz", None, "components prescribed: any of x, y, z (2D: x, z)")
    expression: tuple[str, ...] = param((), None, "one expression of x, y, z (in "
                                        "length_unit) per direction, giving the displacement "
                                        "in value_unit; numbers, + - * / **, sin, cos, exp, "
                                        "sqrt, ... (no other code)")
    file: str = param("", None, "CSV (header line of names) or NPZ file with columns x, y, z "
                      "(2D: x, z) and ux, uy, uz (those of directions), interpolated "
                      "linearly on the surface")
    length_unit: str = param("mm", None, "unit of x, y, z in the expression and the file")
    value_unit: str = param("um", None, "unit of the displacements in the expression and "
                            "the file")
    function: object = param(None, None, "Python only: f(x, y, z) -> (ux, uy, uz), m (2D: "
                             "f(x, z) -> (ux, uz))", api_only=True)

    def __post_init__(self):
        Support(self.surface, self.directions)  # the same checks of the directions
        if isinstance(self.expression, str):
            object.__setattr__(self, "expression", (self.expression,))
        if not (self.expression or self.file or self.function is not None):
            raise ModelError("expression", "give the displacement: an expression per "
                                           "direction, a file or a function")
        self.point_function(None)  # checks the expressions, units and the file now

    def point_function(self, dim: int | None, where: str = "") -> PointFunction:
        """``f(points (dim, n) m) -> (len(directions), n)`` displacements, m."""
        letters = "xz" if dim == 2 else "xyz"
        if any(c not in letters for c in self.directions):
            raise ModelError(f"{where}directions", f"a 2D model (x-z section) has no "
                                                   f"{self.directions!r} displacement")
        function = self.function
        if callable(function):
            picked = [letters.index(c) for c in self.directions]
            function = _components(function, picked)
        return point_function(function, self.expression, self.file, where.rstrip("."),
                              columns=[f"u{c}" for c in self.directions],
                              dim=dim, length_unit=self.length_unit,
                              value_scale=unit_scale(self.value_unit, "length",
                                                     f"{where}value_unit"))


def _components(function, picked):
    """``function`` returning only the components ``picked`` (components given as numbers
    or arrays are broadcast to the points: ``(0, 0, 1e-3 * x)`` is fine)."""
    def selected(*coordinates):
        values = function(*coordinates)
        if isinstance(values, tuple | list):
            values = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values],
                                         coordinates[0])[:-1]
        return np.asarray(values, dtype=float)[picked]
    return selected


@dataclass(frozen=True)
class ProcessStep:
    """One step of a process recipe (``[[mechanical.steps]]``).

    Parts named in ``add`` are activated strain-free at the start of the step (stress-free in
    the deformed configuration, thermal strain counted from the temperature at that moment);
    parts named in ``remove`` leave the model at the start of the step. The temperature
    (degC, uniform, or ``"thermal"``: the steady temperature field of the model's heat
    problem, see ``process_temperature``) goes linearly from the previous step's to
    ``temperature`` (node by node for a field) over ``increments`` solves (``"auto"``:
    spaced evenly in log reduced time of the viscoelastic parts, see ``process_visco``);
    ``duration`` (s) is the time the step takes (None: not given, refused when a
    viscoelastic part is present; 0: instantaneous, the glassy response);
    ``cure_shrinkage`` (part -> linear shrinkage, a fraction:
    ``"0.25 %"``) is released linearly over the same increments and stays afterwards.
    """

    name: str = param("", None, "step name (messages, the warpage history)")
    temperature: float | str | None = param(None, "temperature", "uniform temperature at the "
                                            "end of the step (default: unchanged), or "
                                            "\"thermal\": the heat problem's steady field",
                                            keywords=("thermal",))
    increments: int | str = param(1, None, "solves in the step, temperature linear in "
                                  "between, or \"auto\" (even in log reduced time)")
    duration: float | str | None = param(None, "time", "time the step takes (viscoelastic "
                                         "parts relax over it); 0 s: instantaneous")
    add: tuple[str, ...] = param((), None, "parts activated strain-free at the start")
    remove: tuple[str, ...] = param((), None, "parts removed at the start")
    cure_shrinkage: dict[str, float] = param({}, "dimensionless", "part -> linear cure "
                                             "shrinkage released in this step (\"0.25 %\")",
                                             "no default: measure it (PHYSICS_NEXT 1.1)",
                                             mapping=True)

    def __post_init__(self):
        if isinstance(self.temperature, str) and self.temperature != "thermal":
            object.__setattr__(self, "temperature", parse_quantity(
                self.temperature, "temperature", "temperature"))
        if self.temperature is not None and self.temperature != "thermal":
            check_physical(self.temperature, "temperature", "temperature")
        if self.increments != "auto" and (isinstance(self.increments, bool) or not isinstance(
                self.increments, int) or self.increments < 1):
            raise ModelError("increments", f"must be a whole number >= 1 or \"auto\", got "
                                           f"{self.increments!r}")
        if isinstance(self.duration, str):
            object.__setattr__(self, "duration", parse_quantity(self.duration, "time",
                                                                "duration"))
        if self.duration is not None and not (0 <= self.duration < float("inf")):
            raise ModelError("duration", f"must be >= 0 s, got {self.duration!r}")
        for key in ("add", "remove"):
            if isinstance(getattr(self, key), str):
                object.__setattr__(self, key, (getattr(self, key),))
        for part, value in self.cure_shrinkage.items():
            if not 0.0 <= value < 0.1:
                raise ModelError(f"cure_shrinkage.{part}", f"a linear shrinkage between 0 and "
                                                           f"10 % is expected, got {value!r}")


def step_path(index: int, step: ProcessStep) -> str:
    """``mechanical.steps[i] (name)``: where a step's fields are reported."""
    return item_path("mechanical.steps", index, step)


def check_steps(loads: MechanicalLoads, parts) -> list[set[str]]:
    """The active parts during each step of ``loads.steps`` (a part named in some step's
    ``add`` is absent before it); ModelError naming the step's field for an unknown part, a
    part added twice or removed while absent, a step that leaves no part, or shrinkage on a
    part not active in the step."""
    parts = list(parts)
    known = ", ".join(parts)
    added = {p for step in loads.steps for p in step.add}
    active = set(parts) - added
    out = []
    for i, step in enumerate(loads.steps):
        where = step_path(i, step)
        for key in ("add", "remove", "cure_shrinkage"):
            for part in getattr(step, key):
                if part not in parts:
                    raise ModelError(f"{where}.{key}", f"no part {part!r} in this model; "
                                                       f"parts: {known}")
        for part in step.add:
            if part in active or any(part in s.add for s in loads.steps[:i]):
                raise ModelError(f"{where}.add", f"part {part!r} is already added (a part "
                                                 f"is added once)")
            active.add(part)
        for part in step.remove:
            if part not in active:
                raise ModelError(f"{where}.remove", f"part {part!r} is not present at this "
                                                    f"step (removed before, or added later)")
            active.discard(part)
        if not active:
            raise ModelError(f"{where}.remove", "this step leaves no part in the model")
        for part in step.cure_shrinkage:
            if part not in active:
                raise ModelError(f"{where}.cure_shrinkage.{part}", f"part {part!r} is not "
                                                                   f"present in this step")
        out.append(set(active))
    return out


@dataclass(frozen=True)
class MechanicalLoads:
    """Warpage from cooling: every part is stress-free at its stress-free temperature and is
    brought to ``temperature`` (a uniform value, or ``"thermal"``: the thermal solution).

    stress_free_temperature : degC for every part, or a table part -> value with an optional
        ``default`` entry (values may be melting-point expressions, see the module doc).
    temperatures : degC, a list of uniform temperatures for a warpage-versus-temperature curve
        (one solve each), e.g. 25 -> 260 -> 25 degC as a shadow-moire test measures.
    supports : clamped surfaces (default: none, a free body with rigid motion removed).
    """

    stress_free_temperature: float | str | dict = param(
        175.0, None, "degC for every part, or a table part -> degC / \"melting_point\" / "
        "\"<material>.melting_point - 10 K\" (with an optional default entry)",
        "typical EMC cure 175 degC")
    temperature: float | str = param(25.0, "temperature", "final temperature, or \"thermal\"",
                                     keywords=("thermal",))
    plane: str = param("generalized_strain", None, "2D only: strain | stress | "
                       "generalized_strain (default: closest to 3D for a square package)",
                       choices=PLANES)
    solders_at_melting_point: bool = param(False, None, "parts of a material melting below "
                                           "450 degC are stress-free at their melting point")
    temperatures: tuple[float, ...] = param((), "temperature", "uniform temperatures of a "
                                            "warpage-versus-temperature curve")
    supports: tuple[Support, ...] = param((), None, "clamped surfaces", item=Support)
    displacements: tuple[PrescribedDisplacement, ...] = param(
        (), None, "displacements prescribed on named surfaces as functions of position "
        "(expressions or a file of samples)", item=PrescribedDisplacement)
    warpage_surfaces: tuple[str, ...] = param(("bottom", "top"), None, "surfaces whose warpage "
                                              "is reported")
    sign_convention: str = param("center_up_positive", None, "sign of center-minus-corner: "
                                 "center_up_positive (MODEL_FILE) | center_down_positive",
                                 choices=SIGN_CONVENTIONS)
    initial_temperature: float | None = param(None, "temperature", "process recipe: parts "
                                              "present from the start are stress-free here "
                                              "(default: stress_free_temperature)")
    steps: tuple[ProcessStep, ...] = param((), None, "process recipe: steps with parts added "
                                           "and removed, temperatures, cure shrinkage",
                                           item=ProcessStep)
    solder_melts: bool = param(True, None, "process recipe: parts of a material melting "
                               "below 450 degC carry no stress above their melting point and "
                               "solidify strain-free at it")

    def __post_init__(self):
        value = self.stress_free_temperature
        where = "mechanical.stress_free_temperature"
        if isinstance(value, Mapping):
            parsed = {str(k): _normalized(v, f"{where}.{k}") for k, v in value.items()}
        elif isinstance(value, bool) or value is None:
            raise ModelError(where, f"expected a temperature or a table, got {value!r}")
        else:
            parsed = _normalized(value, where)
        object.__setattr__(self, "stress_free_temperature", parsed)
        if isinstance(self.temperature, str) and self.temperature != "thermal":
            object.__setattr__(self, "temperature", parse_quantity(
                self.temperature, "temperature", "mechanical.temperature"))
        if isinstance(self.temperatures, int | float):
            object.__setattr__(self, "temperatures", (float(self.temperatures),))
        if not isinstance(self.temperature, str):
            check_physical(self.temperature, "temperature", "mechanical.temperature")
        for i, value in enumerate(self.temperatures):
            check_physical(value, "temperature", f"mechanical.temperatures[{i}]")
        if isinstance(self.warpage_surfaces, str):
            object.__setattr__(self, "warpage_surfaces", (self.warpage_surfaces,))
        if self.plane not in PLANES:
            raise ModelError("mechanical.plane", f"must be one of {', '.join(PLANES)}, got "
                                                 f"{self.plane!r}")
        if self.steps and (self.temperatures or self.temperature == "thermal"):
            key = "temperatures" if self.temperatures else "temperature"
            raise ModelError(f"mechanical.{key}", "not with mechanical.steps: give the "
                                                  "temperatures as steps")
        if self.initial_temperature is not None:
            check_physical(self.initial_temperature, "temperature",
                           "mechanical.initial_temperature")
        if self.sign_convention not in SIGN_CONVENTIONS:
            raise ModelError("mechanical.sign_convention", f"must be one of "
                             f"{', '.join(SIGN_CONVENTIONS)}, got {self.sign_convention!r}")

    def stress_free_entry(self, part: str) -> float | MeltingReference | None:
        """The given stress-free temperature of ``part`` (None: not named and no default)."""
        value = self.stress_free_temperature
        if isinstance(value, Mapping):
            value = value.get(part, value.get("default"))
        return None if value is None else parse_stress_free(
            value, "mechanical.stress_free_temperature")

    def stress_free_named(self, part: str) -> bool:
        """True if the table names ``part`` itself (not through its default entry)."""
        value = self.stress_free_temperature
        return isinstance(value, Mapping) and part in value


def _normalized(value, field: str) -> float | str:
    """A validated stress-free value as stored: degC, or a canonical melting expression."""
    parsed = parse_stress_free(value, field)
    return str(parsed) if isinstance(parsed, MeltingReference) else parsed
