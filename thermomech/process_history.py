"""The warpage history of a process recipe as numbers: one record per increment (the
summary's ``mechanical.history``), heating / cooling branches and the zero-warpage
temperatures between increments. Warpage in um, temperatures in degC.
"""

from __future__ import annotations

import numpy as np

from .mechanical_metrics import surface_warpage
from .process import Increment
from .results import WarpageResult


def present_surfaces(result: WarpageResult) -> tuple[str, ...]:
    """The warpage surfaces whose faces all lie on parts present in ``result`` (a removed
    carrier's bottom is no longer a surface of the package)."""
    package = result.package
    active = getattr(result.model, "active", None)
    names = getattr(result.loads, "warpage_surfaces", ("bottom", "top"))
    if active is None:
        return tuple(names)
    part = np.asarray(package.cell_part)
    return tuple(name for name in names if name in package.surfaces
                 and np.all(active[part[package.surfaces[name].cells]]))


def history_records(history: tuple[Increment, ...]) -> list[dict]:
    """One summary record per increment of a process recipe: step (index), step_name,
    increment, temperature_C, time_s (process time, s: the steps' durations), and per
    warpage surface warpage_um (peak to valley),
    center_minus_corner_um and shape; a surface on a part absent at that increment is
    None."""
    records = []
    for step in history:
        result = step.result
        present = present_surfaces(result)
        names = getattr(result.loads, "warpage_surfaces", ("bottom", "top"))
        warpage = {s: surface_warpage(result, s, field="mechanical.warpage_surfaces")
                   if s in present else None for s in names}
        records.append({
            "step": step.step, "step_name": step.name, "increment": step.increment,
            "temperature_C": step.temperature, "time_s": step.time,
            "warpage_um": {s: w and w.peak_to_valley * 1e6 for s, w in warpage.items()},
            "center_minus_corner_um": {s: w and w.center_minus_corner * 1e6
                                       for s, w in warpage.items()},
            "shape": {s: w and w.shape for s, w in warpage.items()}})
    return records


def branch(previous: float | None, temperature: float) -> str:
    """"heating", "cooling" or "hold" from the previous record's temperature (degC) to
    this one's ("hold" for the first record)."""
    if previous is None or temperature == previous:
        return "hold"
    return "heating" if temperature > previous else "cooling"


def history_zero_crossings(records: list[dict], surface: str, flat: float = 1e-6
                           ) -> list[dict]:
    """The zero-warpage temperatures of a history (records of
    ``history_records``): where the signed warpage (centre minus corner) of
    ``surface`` changes sign between two consecutive records at different temperatures,
    temperature_C by linear
    interpolation between them, the step_name of the later record and its branch
    (heating / cooling). A sign change at one temperature (a part added or removed) is no
    zero-warpage temperature and is left out; so is a pair where the surface is absent, or
    where one value is flat (within ``flat`` of the largest |warpage| of the history: the
    round-off of a stress-free part is no sign)."""
    values = [r["center_minus_corner_um"][surface] for r in records]
    largest = max((abs(w) for w in values if w is not None), default=0.0)
    out = []
    for a, b in zip(records, records[1:]):
        wa, wb = a["center_minus_corner_um"][surface], b["center_minus_corner_um"][surface]
        ta, tb = a["temperature_C"], b["temperature_C"]
        if (wa is None or wb is None or ta == tb or not wa * wb < 0
                or min(abs(wa), abs(wb)) <= flat * largest):
            continue
        t0 = ta - wa * (tb - ta) / (wb - wa)
        out.append({"temperature_C": float(t0), "step_name": b["step_name"],
                    "branch": branch(ta, tb)})
    return out
