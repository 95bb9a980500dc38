"""The ``[thermal]`` section: ambient, power per part, power maps, boundary conditions, transient.

Values are SI (W, W/(m^2 K), W/m^2, s, m); temperatures degC. Powers are totals for the
whole package, whatever symmetry is meshed (the solver applies the meshed share).

Boundary conditions name surfaces of the meshed package (``top``, ``bottom``, ``sides``,
``<part>.top``, ``<part>.exposed`` ...). Where several conditions cover one face, the later
one wins, in this order: the ``environment`` preset, then ``convection``, ``heat_flux`` and
``fixed_temperature`` entries in file order. Faces with no condition are adiabatic; symmetry
planes are always adiabatic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .parameters import param
from .surface_values import PointFunction, point_function
from .units import check_physical


@dataclass(frozen=True)
class Convection:
    """Convection ``q = h (T - ambient)`` on a named surface."""

    surface: str = param("top", None, "top | bottom | sides | <part>.top | <part>.exposed ...")
    h: float = param(10.0, "htc", "heat transfer coefficient")
    ambient: float | None = param(None, "temperature", "ambient (default: thermal.ambient)")

    def __post_init__(self):
        if not self.h >= 0:
            raise ModelError("h", f"must be >= 0, got {self.h:g} W/(m^2*K)")
        if self.ambient is not None:
            check_physical(self.ambient, "temperature", "ambient")


@dataclass(frozen=True)
class FixedTemperature:
    """A prescribed temperature on a named surface: uniform (a cold plate), or a function
    of position (a board temperature map): an expression, a file of samples, or (Python
    only) a function. The values are applied at the surface's dofs (nodal interpolation)."""

    surface: str = param("top", None, "surface name")
    temperature: float = param(25.0, "temperature", "prescribed temperature (uniform; not "
                               "used with expression, file or function)")
    expression: str = param("", None, "temperature (degC) as an expression of x, y, z (in "
                            "length_unit): numbers, + - * / **, sin, cos, exp, sqrt, ...")
    file: str = param("", None, "CSV (header line of names) or NPZ file with columns x, y, z "
                      "(2D: x, z) and T (degC), interpolated linearly on the surface")
    length_unit: str = param("mm", None, "unit of x, y, z in the expression and the file")
    function: object = param(None, None, "Python only: f(x, y, z) -> T, degC (2D: f(x, z))",
                             api_only=True)

    def __post_init__(self):
        check_physical(self.temperature, "temperature", "temperature")
        self.point_function(None)  # checks the expression, the unit and the file now

    @property
    def is_uniform(self) -> bool:
        """True for one temperature on the whole surface (no expression, file or function)."""
        return not (self.expression or self.file or self.function is not None)

    def point_function(self, dim: int | None, where: str = "") -> PointFunction | None:
        """``f(points (dim, n) m) -> (1, n)`` degC, or None for a uniform temperature."""
        return point_function(self.function, (self.expression,) if self.expression else (),
                              self.file, where.rstrip("."), columns=("T",), dim=dim,
                              length_unit=self.length_unit)


@dataclass(frozen=True)
class HeatFlux:
    """A prescribed heat flux into the body through a named surface (negative: out)."""

    surface: str = param("top", None, "surface name")
    flux: float = param(0.0, "heat_flux", "heat flux into the body")


@dataclass(frozen=True)
class HotSpot:
    """A rectangle of power on a die's active face (package coordinates, whole package)."""

    name: str = param("hot_spot", None, "name (for reports)")
    die: str = param("die", None, "die part whose active face carries the power")
    x: float = param(0.0, "length", "centre x")
    y: float = param(0.0, "length", "centre y")
    width: float = param(1e-3, "length", "size in x")
    length: float = param(1e-3, "length", "size in y")
    power: float = param(1.0, "power", "power of the rectangle")

    def __post_init__(self):
        for name in ("width", "length"):
            if not getattr(self, name) > 0:
                raise ModelError(name, f"must be > 0, got {getattr(self, name) * 1e3:g} mm")
        if not self.power >= 0:
            raise ModelError("power", f"must be >= 0, got {self.power:g} W")


PROFILE_KINDS = ("constant", "step", "pulse", "table")


@dataclass(frozen=True)
class PowerProfile:
    """Power versus time as a factor on every power of the section.

    constant: 1. step: ``low`` before ``start``, 1 after. pulse: 1 during the first
    ``duty * period`` of each period from ``start``, ``low`` otherwise (and before ``start``).
    table: linear interpolation of ``factors`` at ``times`` (held constant outside).
    """

    kind: str = param("constant", None, "constant | step | pulse | table", choices=PROFILE_KINDS)
    start: float = param(0.0, "time", "step / first pulse time")
    period: float = param(1.0, "time", "pulse period")
    duty: float = param(0.5, "dimensionless", "pulse on-fraction of the period")
    low: float = param(0.0, "dimensionless", "factor when off")
    times: tuple[float, ...] = param((), "time", "table times")
    factors: tuple[float, ...] = param((), "dimensionless", "table factors")

    def __post_init__(self):
        if self.kind not in PROFILE_KINDS:
            raise ModelError("kind", f"must be one of {', '.join(PROFILE_KINDS)}, got "
                                     f"{self.kind!r}")
        if self.kind == "pulse" and not (self.period > 0 and 0 < self.duty <= 1):
            raise ModelError("period", f"a pulse needs period > 0 and 0 < duty <= 1, got "
                                       f"{self.period:g} s, {self.duty:g}")
        if self.kind == "table":
            times = np.asarray(self.times, dtype=float)
            if len(times) < 1 or len(times) != len(self.factors):
                raise ModelError("times", f"a table needs as many times as factors (>= 1), got "
                                          f"{len(self.times)} and {len(self.factors)}")
            if np.any(np.diff(times) <= 0):
                raise ModelError("times", f"must increase, got {list(self.times)}")

    def factor(self, t) -> np.ndarray:
        """Factor at time(s) ``t`` (s), same shape as ``t``."""
        t = np.asarray(t, dtype=float)
        if self.kind == "constant":
            return np.ones_like(t)
        if self.kind == "step":
            return np.where(t >= self.start, 1.0, self.low)
        if self.kind == "pulse":
            phase = np.mod(t - self.start, self.period)
            on = (t >= self.start) & (phase < self.duty * self.period * (1 - 1e-12))
            return np.where(on, 1.0, self.low)
        return np.interp(t, self.times, self.factors)


@dataclass(frozen=True)
class Probe:
    """A point whose temperature is recorded over time (package coordinates, m)."""

    name: str = param("probe", None, "name")
    x: float = param(0.0, "length", "x")
    y: float = param(0.0, "length", "y (ignored in 2D: the section is y = 0)")
    z: float = param(0.0, "length", "z")


SCHEMES = ("backward_euler", "bdf2", "crank_nicolson")
MAX_TIME_STEPS = 1_000_000
"""A transient takes at most this many steps (each one a linear solve): more is a unit
mistake in end_time or time_step, and would run for days."""


@dataclass(frozen=True)
class Transient:
    """Implicit time stepping from a uniform initial temperature with a fixed time step."""

    end_time: float = param(1.0, "time", "simulated time")
    time_step: float = param(0.01, "time", "time step")
    scheme: str = param("bdf2", None, "backward_euler | bdf2 | crank_nicolson", choices=SCHEMES)
    initial_temperature: float | None = param(None, "temperature", "uniform initial "
                                              "temperature (default: thermal.ambient)")
    output_times: tuple[float, ...] = param((), "time", "times at which to keep the field "
                                            "(default: the end)")
    probes: tuple[Probe, ...] = param((), None, "points recorded at every step", item=Probe)
    power_profile: PowerProfile | None = param(None, None, "power versus time (default: "
                                               "constant)", table=PowerProfile)

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ModelError("scheme", f"must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not (self.end_time > 0 and self.time_step > 0):
            raise ModelError("time_step", f"end_time and time_step must be > 0, got "
                                          f"{self.end_time:g} s, {self.time_step:g} s")
        steps = self.end_time / self.time_step
        if steps > MAX_TIME_STEPS:
            raise ModelError("time_step", f"end_time / time_step = {self.end_time:g} s / "
                                          f"{self.time_step:g} s = {steps:.3g} steps, more than "
                                          f"{MAX_TIME_STEPS:g}: raise time_step or shorten "
                                          f"end_time")
        if self.initial_temperature is not None:
            check_physical(self.initial_temperature, "temperature", "initial_temperature")
        for t in self.output_times:
            if not 0 <= t <= self.end_time * (1 + 1e-12):
                raise ModelError("output_times", f"must lie in [0, end_time], got {t:g} s")

    @property
    def profile(self) -> PowerProfile:
        return self.power_profile or PowerProfile()


ENVIRONMENTS = {
    "none": (),
    # JESD51-2A still air: natural convection h ~ 5-15 W/(m^2 K) on the package; the JESD51-7
    # 2s2p board spreads heat with roughly 10-20 K/W for a 15-30 mm body, i.e. an effective
    # h ~ 1 / (theta_board * area) ~ 300 W/(m^2 K) under a 15 mm x 15 mm package.
    "jedec_still_air": (("top", 10.0), ("sides", 10.0), ("bottom", 300.0)),
    # The same board, and a heat sink on the top under forced air (theta_sa ~ 2 K/W over a
    # 15 mm x 15 mm top: h ~ 1 / (2 K/W * 2.25e-4 m^2) ~ 2000 W/(m^2 K)).
    "jedec_heat_sink": (("top", 2000.0), ("sides", 10.0), ("bottom", 300.0)),
}
"""Boundary presets (surface, h in W/(m^2 K)): documented approximations of JEDEC JESD51
environments as effective heat-transfer coefficients, not a model of the test board."""

POWER_PLACEMENTS = ("volume", "active_face")


@dataclass(frozen=True)
class ThermalLoads:
    """Steady or transient heat conduction loads."""

    ambient: float = param(25.0, "temperature", "ambient temperature")
    power: dict[str, float] = param({}, "power", "part name -> total power of the whole "
                                    "package", mapping=True)
    power_placement: str = param("volume", None, "volume: uniform in each powered part; "
                                 "active_face: a die's power as a uniform flux on its active "
                                 "face (other parts: volume)", choices=POWER_PLACEMENTS)
    hot_spots: tuple[HotSpot, ...] = param((), None, "rectangles of power on die active faces",
                                           item=HotSpot)
    floorplan: str = param("", None, "HotSpot .flp floorplan file (units: name width height "
                           "left bottom, m; origin at the die's lower-left corner)")
    floorplan_power: dict[str, float] = param({}, "power", "floorplan unit -> power",
                                              mapping=True)
    floorplan_die: str = param("die", None, "die the floorplan lies on")
    environment: str = param("none", None, "boundary preset: " + " | ".join(ENVIRONMENTS),
                             choices=tuple(ENVIRONMENTS))
    convection: tuple[Convection, ...] = param((), None, "convection on named surfaces",
                                               item=Convection)
    heat_flux: tuple[HeatFlux, ...] = param((), None, "heat flux into named surfaces",
                                            item=HeatFlux)
    fixed_temperature: tuple[FixedTemperature, ...] = param((), None, "prescribed temperature "
                                                            "on named surfaces",
                                                            item=FixedTemperature)
    nonlinear_tolerance: float = param(1e-8, "dimensionless", "k(T) iterations stop when the "
                                       "largest temperature change is below this fraction of "
                                       "the largest temperature rise")
    max_iterations: int = param(50, None, "k(T) iteration limit")
    transient: Transient | None = param(None, None, "time stepping ([thermal.transient])",
                                        table=Transient)

    def __post_init__(self):
        check_physical(self.ambient, "temperature", "ambient")
        for part, watts in self.power.items():
            if not watts >= 0:
                raise ModelError(f"power.{part}", f"must be >= 0, got {watts:g} W")
        for unit, watts in self.floorplan_power.items():
            if not watts >= 0:
                raise ModelError(f"floorplan_power.{unit}", f"must be >= 0, got {watts:g} W")
        if self.power_placement not in POWER_PLACEMENTS:
            raise ModelError("power_placement", f"must be one of {', '.join(POWER_PLACEMENTS)}"
                                                f", got {self.power_placement!r}")
        if self.environment not in ENVIRONMENTS:
            raise ModelError("environment", f"must be one of {', '.join(ENVIRONMENTS)}, got "
                                            f"{self.environment!r}")
        if not self.nonlinear_tolerance > 0:
            raise ModelError("nonlinear_tolerance", f"must be > 0, got "
                                                    f"{self.nonlinear_tolerance!r}")
        if self.max_iterations < 1:
            raise ModelError("max_iterations", f"must be >= 1, got {self.max_iterations!r}")

    @property
    def all_convection(self) -> tuple[Convection, ...]:
        """The environment preset's convection followed by the explicit entries."""
        preset = tuple(Convection(s, h) for s, h in ENVIRONMENTS[self.environment])
        return preset + self.convection

    def all_hot_spots(self, origin: tuple[float, float] = (0.0, 0.0),
                      base: Path | None = None) -> tuple[HotSpot, ...]:
        """Hot spots plus the floorplan's powered units, the floorplan's (0, 0) placed at
        ``origin`` (m; the floorplan die's lower-left corner)."""
        return self.hot_spots + floorplan_hot_spots(self, origin, base)


def read_floorplan(path: str | Path) -> dict[str, tuple[float, float, float, float]]:
    """A HotSpot ``.flp`` file: unit name -> (width, height, left x, bottom y), m.

    Lines ``name width height left bottom`` (extra columns ignored); ``#`` starts a comment.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError("thermal.floorplan", f"cannot read {str(path)!r}: {exc.strerror}") \
            from None
    except UnicodeDecodeError as exc:
        raise ModelError("thermal.floorplan", f"{str(path)!r} is not UTF-8 text (offset "
                                              f"{exc.start})") from None
    units = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            units[words[0]] = tuple(float(w) for w in words[1:5])
        except ValueError:
            words = []
        if len(words) < 5 or len(units[words[0]]) != 4:
            raise ModelError("thermal.floorplan", f"{path}:{number}: expected 'name width "
                                                  f"height left bottom', got {line.strip()!r}")
    return units


def floorplan_hot_spots(loads: ThermalLoads, origin: tuple[float, float] = (0.0, 0.0),
                        base: Path | None = None) -> tuple[HotSpot, ...]:
    """The floorplan's units with power as hot spots, the floorplan's (0, 0) at ``origin``
    (m). Relative file paths are read from ``base``."""
    if not loads.floorplan:
        if loads.floorplan_power:
            raise ModelError("thermal.floorplan_power", "given without thermal.floorplan")
        return ()
    path = Path(loads.floorplan)
    if base is not None and not path.is_absolute():
        path = base / path
    units = read_floorplan(path)
    for name in loads.floorplan_power:
        if name not in units:
            raise ModelError(f"thermal.floorplan_power.{name}", f"no unit {name!r} in "
                             f"{loads.floorplan}; units: {', '.join(units)}")
    return tuple(HotSpot(name=f"floorplan.{name}", die=loads.floorplan_die,
                         x=origin[0] + left + w / 2, y=origin[1] + bottom + h / 2,
                         width=w, length=h,
                         power=loads.floorplan_power.get(name, 0.0))
                 for name, (w, h, left, bottom) in units.items()
                 if loads.floorplan_power.get(name, 0.0) > 0)
