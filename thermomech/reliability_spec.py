"""The ``[reliability]`` table: the thermal cycle of a solder-joint fatigue analysis and
how its life is evaluated (docs/reliability.md).

The cycle (JESD22-A104 / IPC-9701 style) starts from ``start_temperature``, where the
assembly is stress-free, goes to ``low_temperature`` and then repeats ``cycles`` times:
ramp up to ``high_temperature``, dwell, ramp down, dwell. It becomes process steps
(:class:`thermomech.mechanical_loads.ProcessStep`) solved by ``solve_process``; the last
cycle is evaluated (three cycles by default, so that a hysteresis stabilizes once solder
creep is in the cycle). Temperatures degC, times s, lengths m.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelError
from .mechanical_loads import ProcessStep
from .parameters import param
from .solder_life import DarveauxConstants

LIFE_MODELS = ("engelmaier", "darveaux")
CREEP_LAWS = ("anand", "garofalo", "none")
_CYCLE = "JESD22-A104 / IPC-9701: -40/125 degC (issue 17)"


@dataclass(frozen=True)
class ReliabilitySpec:
    """A thermal cycle and the life model (``[reliability]``)."""

    low_temperature: float = param(-40.0, "temperature", "cycle minimum", _CYCLE)
    high_temperature: float = param(125.0, "temperature", "cycle maximum", _CYCLE)
    ramp_time: float = param(900.0, "time", "duration of each ramp", "assumption: 15 min "
                             "(11 K/min over -40/125 degC)")
    dwell_time: float = param(900.0, "time", "duration of each dwell (t_D of Engelmaier)",
                              "15 min dwells (PHYSICS_NEXT.md 6.1, hindawi tswj 2014/807693)")
    cycles: int = param(3, None, "number of cycles; the last one is evaluated",
                        "issue 17: three cycles so the hysteresis stabilizes")
    ramp_increments: int = param(4, None, "solves per ramp", "docs/reliability.md: the "
                                 "energy per cycle with 2, 4 and 8")
    dwell_increments: int = param(2, None, "solves per dwell (the creep relaxing)")
    start_temperature: float = param(25.0, "temperature", "the assembly is stress-free here "
                                     "and brought to low_temperature before the first cycle")
    joints: str = param("balls", None, "the part whose boxes are the joints (discrete "
                        "columns, one box each)")
    layer_thickness: float = param(25e-6, "length", "thickness of the layer at each pad the "
                                   "shear strain is averaged over", "assumption: 25 um "
                                   "(1 mil), the element-layer thickness of Darveaux's "
                                   "energy averaging (docs/reliability.md measures the effect)")
    fatigue_ductility: float = param(0.325, "dimensionless", "eps_f' of Engelmaier",
                                     "eutectic SnPb (Engelmaier; PHYSICS_NEXT.md 6.1)")
    model: str = param("engelmaier", None, "engelmaier | darveaux", choices=LIFE_MODELS)
    solder_creep: str = param("anand", None, "creep law of the joints in the FE cycle "
                              "(process_creep) and of the material-point comparison: "
                              "anand | garofalo | none (elastic joints; the joints' material "
                              "needs published constants: sac305, snpb)", choices=CREEP_LAWS)
    creep_substeps: int = param(100, None, "material-point steps per ramp and per dwell of "
                                "the material-point comparison", "docs/reliability.md")
    darveaux: DarveauxConstants | None = param(None, None, "[reliability.darveaux]: K1-K4, "
                                               "their averaging layer and source (for "
                                               "model = \"darveaux\"; none is shipped)",
                                               table=DarveauxConstants)
    cte_mismatch: float | None = param(None, "cte", "dalpha of the distance-to-neutral-point "
                                       "estimate (default: board in-plane CTE minus the "
                                       "CTE of the part above the joints)")

    def __post_init__(self):
        where = "reliability"
        if not self.high_temperature > self.low_temperature:
            raise ModelError(f"{where}.high_temperature", f"must be above low_temperature "
                             f"({self.low_temperature:g} degC), got {self.high_temperature:g}")
        for name in ("ramp_time", "dwell_time", "layer_thickness", "fatigue_ductility"):
            if not getattr(self, name) > 0:
                raise ModelError(f"{where}.{name}", f"must be > 0, got {getattr(self, name)!r}")
        if self.solder_creep not in CREEP_LAWS:
            raise ModelError(f"{where}.solder_creep", f"must be one of "
                                                      f"{', '.join(CREEP_LAWS)}, got "
                                                      f"{self.solder_creep!r}")
        for name in ("cycles", "ramp_increments", "dwell_increments", "creep_substeps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelError(f"{where}.{name}", f"must be a whole number >= 1, got "
                                                    f"{value!r}")
        if self.model not in LIFE_MODELS:
            raise ModelError(f"{where}.model", f"must be one of {', '.join(LIFE_MODELS)}, "
                                               f"got {self.model!r}")
        if self.model == "darveaux":
            self._check_darveaux()
        if self.cte_mismatch is not None and not self.cte_mismatch >= 0:
            raise ModelError(f"{where}.cte_mismatch", f"must be >= 0, got {self.cte_mismatch!r}")

    def _check_darveaux(self) -> None:
        if self.darveaux is None:
            raise ModelError("reliability.darveaux", "model = \"darveaux\" needs "
                             "[reliability.darveaux] (k1, k2, k3, k4, layer_thickness, source; "
                             "thermomech ships no set)")
        if self.solder_creep == "none":
            raise ModelError("reliability.solder_creep", "model = \"darveaux\" needs the "
                                                         "energy estimate: anand or garofalo")
        if abs(self.darveaux.layer_thickness - self.layer_thickness) > \
                1e-6 * self.layer_thickness:
            raise ModelError("reliability.layer_thickness", f"{self.layer_thickness * 1e6:g} "
                             f"um differs from the {self.darveaux.layer_thickness * 1e6:g} um "
                             f"the Darveaux constants were fitted with")

    @property
    def mean_temperature(self) -> float:
        """T_SJ of Engelmaier, degC: the mean of the cycle."""
        return 0.5 * (self.low_temperature + self.high_temperature)

    @property
    def swing(self) -> float:
        """K: high minus low temperature."""
        return self.high_temperature - self.low_temperature


@dataclass(frozen=True)
class CycleStep:
    """A process step of the cycle with its duration (s) and cycle number (0: the move
    from the start temperature to the low temperature)."""

    step: ProcessStep
    duration: float
    cycle: int


def cycle_steps(spec: ReliabilitySpec) -> tuple[CycleStep, ...]:
    """The steps of the cycle: to the low temperature, then per cycle ramp up, dwell high,
    ramp down, dwell low."""
    lead = spec.ramp_time * abs(spec.start_temperature - spec.low_temperature) / spec.swing
    ramp, dwell = spec.ramp_increments, spec.dwell_increments

    def step(name, temperature, increments, duration, cycle):
        return CycleStep(ProcessStep(name=name, temperature=temperature, increments=increments,
                                     duration=duration), duration, cycle)

    out = [step("to low temperature", spec.low_temperature, ramp, lead, 0)]
    for k in range(1, spec.cycles + 1):
        out += [step(f"cycle {k} ramp up", spec.high_temperature, ramp, spec.ramp_time, k),
                step(f"cycle {k} dwell high", None, dwell, spec.dwell_time, k),
                step(f"cycle {k} ramp down", spec.low_temperature, ramp, spec.ramp_time, k),
                step(f"cycle {k} dwell low", None, dwell, spec.dwell_time, k)]
    return tuple(out)
