"""Grid lines of the box mesher along one axis, and the cell count they will make.

Every box face coordinate is a breakpoint; each interval between breakpoints is subdivided
to the in-plane target size and a minimum number of cells, with geometric growth away from
small intervals (:func:`axis_grid`). :func:`estimated_cells` gives the same counts in
closed form without making a line, so :func:`check_mesh_size` refuses an oversized mesh
before anything is allocated.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ModelError

# --- grid lines --------------------------------------------------------------------------

def with_lines(breakpoints: np.ndarray, extra) -> np.ndarray:
    """``breakpoints`` (m, sorted) with the ``extra`` lines (m) strictly inside them and
    more than 1e-6 of the span from every breakpoint (no sliver cells); others dropped."""
    b, extra = breakpoints, np.asarray(extra, dtype=float)
    gap = np.min(np.abs(extra[:, None] - b[None, :]), axis=1, initial=np.inf)
    extra = extra[(extra > b[0]) & (extra < b[-1]) & (gap > 1e-6 * (b[-1] - b[0]))]
    return np.unique(np.concatenate([b, extra]))


def axis_grid(breakpoints: np.ndarray, target: float, min_cells: int, growth: float) -> np.ndarray:
    """Grid lines through every breakpoint, graded away from small intervals.

    The local cell size h(x) is at most ``target``, at most ``interval / min_cells`` inside
    each interval, and grows by at most ``growth`` per cell away from small intervals. Cells
    are placed by equidistributing the integral of 1 / h(x) over each interval.
    """
    lengths = np.diff(breakpoints)
    cap = np.minimum(target, lengths / min_cells)
    slope = growth - 1.0
    at_break = _sizes_at_breaks(breakpoints, cap, slope)
    lines = [breakpoints[:1]]
    for i, length in enumerate(lengths):  # one interval at a time (intervals, not cells)
        lines.append(_interval_lines(breakpoints[i], length, at_break[i], at_break[i + 1],
                                     cap[i], slope, min_cells))
    return np.concatenate(lines)


def _sizes_at_breaks(breakpoints: np.ndarray, cap: np.ndarray, slope: float) -> np.ndarray:
    """Cell size at each breakpoint: ``min_j (cap at j + slope * |x - x_j|)`` over the
    breakpoints j (the cap at a breakpoint is the smaller of its intervals' caps).

    Two sweeps (from the left, from the right), each size from its neighbour's, instead of
    the breakpoints-squared table: an axis may have many thousand breakpoints (discrete
    bumps, traces, blocks). Sizes are propagated, not differenced from coordinates, so a
    size far below the coordinates' rounding (1e-12 of a 10 mm axis) stays exact.
    """
    sizes = np.minimum(np.r_[cap, np.inf], np.r_[np.inf, cap]).tolist()
    steps = (slope * np.diff(breakpoints)).tolist()
    for i, step in enumerate(steps):  # left to right
        sizes[i + 1] = min(sizes[i + 1], sizes[i] + step)
    for i in range(len(steps) - 1, -1, -1):  # right to left
        sizes[i] = min(sizes[i], sizes[i + 1] + steps[i])
    return np.array(sizes)


def estimated_cells(breakpoints: np.ndarray, target: float, min_cells: int,
                    growth: float) -> np.ndarray:
    """Cells in each interval between ``breakpoints`` as :func:`axis_grid` makes them, from
    the integral of 1 / h(x) in closed form: no grid line is computed, so this is cheap
    whatever the count.

    h grows linearly from each end of an interval (sizes s0, s1 there, slope growth - 1)
    up to the interval's cap; the integral of 1 / (s + k x) is ln(1 + k x / s) / k.
    """
    lengths = np.diff(breakpoints)
    cap = np.minimum(target, lengths / min_cells)
    slope = growth - 1.0
    sizes = _sizes_at_breaks(breakpoints, cap, slope)
    s0, s1 = np.minimum(sizes[:-1], cap), np.minimum(sizes[1:], cap)
    ramp0, ramp1 = (cap - s0) / slope, (cap - s1) / slope  # distances to reach the cap
    plateau = (np.log(cap / s0) + np.log(cap / s1)) / slope \
        + np.maximum(lengths - ramp0 - ramp1, 0.0) / cap
    meet = np.clip((s1 - s0 + slope * lengths) / (2 * slope), 0.0, lengths)
    ramps = (np.log1p(slope * meet / s0) + np.log1p(slope * (lengths - meet) / s1)) / slope
    integral = np.where(ramp0 + ramp1 <= lengths, plateau, ramps)
    return np.maximum(min_cells, np.ceil(integral - 1e-6))


def check_mesh_size(breakpoints, min_cells, options) -> None:
    """Refuse a mesh above ``options.max_cells`` from its breakpoints alone (per mesh axis,
    with the minimum cell count of each axis, z last), before any grid line or array is made.

    options : the ``meshing.MeshOptions`` (target_size, growth, max_cells and the two
        minimum cell counts, named in the advice).

    The message gives the estimated cells, grid, unknowns and memory, and the option that
    drives the count.
    """
    def counts(minimums) -> list[float]:
        return [float(estimated_cells(b, options.target_size, m, options.growth).sum())
                for b, m in zip(breakpoints, minimums)]

    per_axis = counts(min_cells)
    total = math.prod(per_axis)
    if total <= options.max_cells:
        return
    dim = len(per_axis)
    unknowns = dim * math.prod(2 * n + 1 for n in per_axis)  # quadratic warpage elements
    gigabytes = unknowns * dim * 4 ** dim * 12 / 1e9  # mean nonzeros per row, 12 B each
    advice = _size_advice(lambda minimums: math.prod(counts(minimums)), min_cells, options)
    raise ModelError("mesh.max_cells", f"this mesh would have about {total:.3g} cells "
                                       f"({' x '.join(f'{n:.3g}' for n in per_axis)} grid), "
                                       f"{unknowns:.3g} warpage unknowns and a matrix of about "
                                       f"{gigabytes:.3g} GB, above the limit "
                                       f"{options.max_cells}; {advice}")


def _size_advice(cells, min_cells, options) -> str:
    """What to change: the option whose value drives the cell count, or the limit."""
    advice = []
    if cells([1] * len(min_cells)) > options.max_cells:
        advice.append(f"raise mesh.target_size (now {options.target_size * 1e3:g} mm)")
    for name in ("min_cells_per_layer", "min_cells_per_feature"):
        value = getattr(options, name)
        is_layer = name == "min_cells_per_layer"
        fewer = [1 if (k == len(min_cells) - 1) == is_layer else m
                 for k, m in enumerate(min_cells)]
        if value > 1 and cells(fewer) < cells(min_cells) / 2:
            advice.append(f"lower mesh.{name} (now {value})")
    advice.append(f"raise mesh.max_cells (now {options.max_cells})")
    return ", ".join(advice[:-1]) + f" or {advice[-1]}" if len(advice) > 1 else advice[0]


def _interval_lines(start, length, size_start, size_end, cap, slope, min_cells) -> np.ndarray:
    """Interior grid lines and the end point of one interval (see :func:`axis_grid`)."""
    # samples resolve h(x): geometric from both ends (where h is small), uniform elsewhere
    steps = np.log(max(cap / min(size_start, size_end), 1.0)) / np.log1p(slope)
    ramp = np.geomspace(1.0, max(cap / min(size_start, size_end), 1.0) + 1.0,
                        int(4 * steps) + 2) - 1.0
    offsets = np.concatenate([
        np.linspace(0.0, length, int(8 * length / cap) + 2),
        ramp * min(size_start, cap) / slope,
        length - ramp * min(size_end, cap) / slope])
    x = np.unique(np.clip(offsets, 0.0, length))
    h = np.minimum.reduce([np.full_like(x, cap), size_start + slope * x,
                           size_end + slope * (length - x)])
    density = 1.0 / h
    cumulative = np.r_[0.0, np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(x))]
    count = max(min_cells, int(np.ceil(cumulative[-1] - 1e-6)))
    targets = np.linspace(0.0, cumulative[-1], count + 1)[1:-1]
    return np.r_[start + np.interp(targets, cumulative, x), start + length]
