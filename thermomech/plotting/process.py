"""Matplotlib views of a process history (``process.solve_process``): warpage versus
temperature over the recipe, as a shadow-moire (JESD22-B112) curve, and versus the process
time (steps with durations). Takes ``ax=None`` and
returns the Axes; matplotlib is imported inside the function. Warpage in um, temperature in
degC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BRANCH_STYLE = {"heating": {"color": "C3", "linestyle": "-", "linewidth": 3.0},
                "cooling": {"color": "C0", "linestyle": "--", "linewidth": 1.5},
                "hold": {"color": "0.5", "linestyle": ":", "linewidth": 1.5}}
"""Line style of each branch: heating thick red, cooling dashed blue (visible on top of a
heating branch it retraces), a part added or removed at one temperature (hold) grey
dotted."""
MARKERS = ("o", "s", "^", "D", "v")


def plot_warpage_history(records: Sequence[dict], ax=None, *,
                         surfaces: Sequence[str] | None = None):
    """Signed warpage (centre minus corner, um, ``process.history_records``) of each
    surface versus temperature over a process history: each segment between two increments
    coloured by its branch (heating, cooling, or a hold where parts were added or removed),
    the name of each step at its last increment, and the zero-warpage temperatures
    (``process.history_zero_crossings``) marked."""
    from ..process_history import branch, history_zero_crossings

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    records = list(records)
    names = list(surfaces if surfaces is not None else
                 (records[0]["center_minus_corner_um"] if records else ()))
    used = set()
    named = False
    for k, surface in enumerate(names):
        t = np.array([r["temperature_C"] for r in records], float)
        w = np.array([np.nan if r["center_minus_corner_um"][surface] is None
                      else r["center_minus_corner_um"][surface] for r in records])
        if np.all(np.isnan(w)):
            continue
        marker = MARKERS[k % len(MARKERS)]
        ax.plot(t, w, marker, color="k", markersize=4, linestyle="none", label=surface)
        for i in range(1, len(records)):
            if np.isnan(w[i - 1]) or np.isnan(w[i]):
                continue
            kind = branch(t[i - 1], t[i])
            ax.plot(t[i - 1:i + 1], w[i - 1:i + 1],
                    label=None if kind in used else _LABELS[kind], **BRANCH_STYLE[kind])
            used.add(kind)
        crossings: dict[str, list[str]] = {}  # one label per temperature (as shown)
        for crossing in history_zero_crossings(records, surface):
            shown = f"{crossing['temperature_C']:.0f}"
            crossings.setdefault(shown, []).append(crossing["branch"])
            ax.axvline(crossing["temperature_C"], color="C2", linestyle="--", linewidth=0.8)
        for n, (shown, branches) in enumerate(crossings.items()):
            ax.annotate(f"zero warpage {shown} degC ({surface}, "
                        f"{', '.join(dict.fromkeys(branches))})", (float(shown), 0.0),
                        textcoords="offset points", xytext=(4, -12 - 9 * (n + 2 * k)), color="C2",
                        fontsize=7)
        if not named:
            _step_names(ax, records, t, w)
            named = True
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("temperature (degC)")
    ax.set_ylabel("warpage, centre - corner (um)")
    ax.set_title("warpage over the process steps")
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_warpage_versus_time(records: Sequence[dict], ax=None, *,
                             surfaces: Sequence[str] | None = None):
    """Signed warpage (centre minus corner, um) of each surface versus the process time
    (``time_s`` of ``process.history_records``, shown in h) with the temperature (degC)
    on a twin axis, and the step names at their last increment: a viscoelastic part's
    relaxation during a hold shows as warpage changing at constant temperature."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    records = list(records)
    names = list(surfaces if surfaces is not None else
                 (records[0]["center_minus_corner_um"] if records else ()))
    hours = np.array([r.get("time_s", 0.0) for r in records], float) / 3600.0
    first = None
    for k, surface in enumerate(names):
        w = np.array([np.nan if r["center_minus_corner_um"][surface] is None
                      else r["center_minus_corner_um"][surface] for r in records])
        if np.all(np.isnan(w)):
            continue
        ax.plot(hours, w, marker=MARKERS[k % len(MARKERS)], markersize=3, label=surface)
        first = w if first is None else first
    if first is not None:
        _step_names(ax, records, hours, first)
    twin = ax.twinx()
    twin.plot(hours, [r["temperature_C"] for r in records], color="0.6", linewidth=1.0,
              linestyle="--")
    twin.set_ylabel("temperature (degC), dashed")
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.set_xlabel("process time (h)")
    ax.set_ylabel("warpage, centre - corner (um)")
    ax.set_title("warpage versus process time")
    ax.legend(fontsize=8, loc="best")
    return ax


_LABELS = {"heating": "heating", "cooling": "cooling",
           "hold": "part added / removed (same temperature)"}


def _step_names(ax, records, t, w) -> None:
    """The step's name next to its last increment (of the first surface drawn there)."""
    last = {}
    for i, r in enumerate(records):
        last[(r["step"], r["step_name"])] = i
    for n, ((_, name), i) in enumerate(sorted(last.items(), key=lambda item: item[1])):
        if np.isnan(w[i]) or not name:
            continue
        ax.annotate(name, (t[i], w[i]), textcoords="offset points",
                    xytext=(5, 6 + 9 * (n % 3)), fontsize=7, color="0.25")
