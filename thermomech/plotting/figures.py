"""The standard figures of a run: one catalogue for the figures/ folder and the HTML report.

``run_figures`` lists, for the results at hand, each figure's file name, caption and drawing
function ``draw(ax) -> Axes`` (one of the ``plotting.model``, ``plotting.thermal`` and
``plotting.mechanical`` views); ``render`` draws one into PNG (default), SVG or PDF bytes,
``render_all`` all of them. matplotlib is imported inside the
functions (the Agg backend: no display needed). docs/performance.md has the timings.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..meshing import MeshedPackage
from ..results import ThermalResult, WarpageResult

FORMATS = ("png", "svg", "pdf")
FIGSIZE = (8.0, 4.5)  # inches: every standard figure has this size (maps: this height,
# only the width they use, see map_canvas) and dpi
DPI = 120


@dataclass(frozen=True)
class FigureSpec:
    """One standard figure: file stem, caption, and ``draw(ax) -> Axes``."""

    name: str
    caption: str
    draw: Callable


def run_figures(package: MeshedPackage, thermal: ThermalResult | None = None,
                mechanical: WarpageResult | None = None,
                curve: Sequence[WarpageResult] = (), *, history: Sequence = ()
                ) -> list[FigureSpec]:
    """The figures that fit the results: model and mesh (box meshes), temperature, warpage,
    stress, interface stresses, the warpage-temperature curve and, for a process recipe
    (``history``: its ``process.Increment`` s), warpage versus temperature over the steps."""
    figures = _model_figures(package) if package.is_structured else []
    if thermal is not None:
        figures += _thermal_figures(thermal)
    if mechanical is not None:
        figures += _mechanical_figures(mechanical, curve)
    if history:
        figures.append(_history_figure(history))
        if history[-1].time > 0:  # steps with durations: warpage versus time as well
            figures.append(_history_time_figure(history))
    if not package.is_structured:  # an imported mesh has no tensor grid to cut sections from
        figures = [f for f in figures if f.name not in GRID_FIGURES]
    return figures


GRID_FIGURES = frozenset({"temperature_section", "die_temperature", "deformed_section",
                          "von_mises", "warpage_bottom"})
"""Figures drawn from the tensor grid of our own meshes (sections, face maps)."""


def _model_figures(package: MeshedPackage) -> list[FigureSpec]:
    from . import model

    layout = package.layout
    figures = [
        FigureSpec("model", "Cross-section at y = 0: parts coloured by material.",
                   lambda ax: model.plot_section(layout, ax)),
        FigureSpec("model_top", "Top view: footprints of every part (die, heat sink, balls).",
                   lambda ax: model.plot_top_view(layout, ax)),
        FigureSpec("mesh", "The mesh at y = 0 with its cell edges.",
                   lambda ax: model.plot_mesh_section(package, ax)),
    ]
    zoom = die_edge_window(package)
    if zoom is not None:
        figures.append(FigureSpec(
            "mesh_zoom", "Mesh zoom on the die edge and the layer under the die (bumps).",
            lambda ax: _titled(model.plot_mesh_section(package, ax, xlim=zoom[0],
                                                       zlim=zoom[1]), "mesh zoom: die edge")))
    return figures


def die_edge_window(package: MeshedPackage) -> tuple[tuple, tuple] | None:
    """(x limits, z limits) in m of a window on the first die's +x bottom edge: the die, the
    layer under it (bumps) and the corner, about 3 die thicknesses high. None without dies."""
    dies = package.dies
    if not dies:
        return None
    boxes = [b for b in package.layout.boxes if b.part == dies[0]]
    x_edge = max(b.x[1] for b in boxes)
    z_bottom = min(b.z[0] for b in boxes)
    thickness = max(b.z[1] for b in boxes) - z_bottom
    lower, upper = package.layout.bounds
    half = 1.5 * thickness
    xlim = (max(x_edge - 4 * half, 0.0 if package.symmetry != "none" else lower[0]),
            min(x_edge + 2 * half, upper[0]))
    zlim = (max(z_bottom - half, lower[2]), min(z_bottom + half, upper[2]))
    return xlim, zlim


def _thermal_figures(result: ThermalResult) -> list[FigureSpec]:
    from . import thermal

    figures = [
        FigureSpec("temperature_section", "Temperature at y = 0 with isotherms and part "
                   "outlines.", lambda ax: thermal.plot_cross_section(result, ax)),
        FigureSpec("heat_flow", "Heat leaving through each boundary and each path "
                   "(heat sink = up, board = down, sides).",
                   lambda ax: thermal.plot_heat_flow(result, ax)),
    ]
    if result.package.dimension == 3 and result.package.layout.dies:
        figures.append(FigureSpec("die_temperature", "Temperature of the die's active face.",
                                  lambda ax: thermal.plot_die_surface(result, ax)))
    if result.is_transient:
        figures.append(FigureSpec("temperature_history", "T(t) of the die maxima and probes.",
                                  lambda ax: thermal.plot_temperature_history(result, ax)))
    return figures


def _mechanical_figures(result: WarpageResult, curve: Sequence[WarpageResult]
                        ) -> list[FigureSpec]:
    from ..mechanical_metrics import interface_neighbours, interface_path, warpage_curve
    from . import mechanical

    package = result.package
    bottom = ("Bottom (ball-side) surface: u_z after removing the best-fit plane"
              + (" (contour map)." if package.dimension == 3 else " (profile along x)."))
    figures = [
        FigureSpec("deformed_section", "Deformed section at y = 0 (scale factor in the title).",
                   lambda ax: mechanical.plot_deformed_section(result, ax)),
        FigureSpec("warpage_bottom", bottom,
                   lambda ax: mechanical.plot_warpage_map(result, "bottom", ax)),
        FigureSpec("von_mises", "von Mises stress at y = 0 (largest value in each cell).",
                   lambda ax: mechanical.plot_von_mises(result, ax)),
    ]
    for die in package.dies:
        for side in ("bottom", "top"):
            if interface_neighbours(package, die, side):
                figures.append(FigureSpec(
                    f"interface_{die}_{side}".replace(".", "_"),
                    f"Peel and shear stress on the {die} {side} face, from the centre to the "
                    "corner (the corner value is singular: it grows with refinement).",
                    _interface_drawer(mechanical, interface_path, result, die, side)))
    if curve:
        table = warpage_curve(curve)
        figures.append(FigureSpec(
            "warpage_curve", "Signed warpage (centre - corner) of the bottom surface versus "
            "temperature; zero-warpage temperatures marked.",
            lambda ax: mechanical.plot_warpage_curve(table["temperature"],
                                                     table["center_minus_corner"], ax)))
    return figures


def _history_figure(history: Sequence) -> FigureSpec:
    from . import process

    def draw(ax):
        from ..process_history import history_records  # the summary's records

        return process.plot_warpage_history(history_records(tuple(history)), ax)

    return FigureSpec("warpage_history", "Signed warpage (centre - corner) versus temperature "
                      "over the process steps: heating red, cooling blue, parts added or "
                      "removed at one temperature grey dotted; step names at their last "
                      "increment; zero-warpage temperatures marked.", draw)


def _history_time_figure(history: Sequence) -> FigureSpec:
    from . import process

    def draw(ax):
        from ..process_history import history_records

        return process.plot_warpage_versus_time(history_records(tuple(history)), ax)

    return FigureSpec("warpage_history_time", "Signed warpage (centre - corner) versus "
                      "process time (steps with durations: relaxation during holds), with "
                      "the temperature on the right axis.", draw)


def _interface_drawer(module, interface_path, result, die, side):
    return lambda ax: module.plot_interface_path(interface_path(result, die, side), ax)


def _titled(ax, title: str):
    ax.set_title(f"{title}; {ax.get_title()}")
    return ax


def render_all(figures: Sequence[FigureSpec], format: str = "png") -> dict[str, bytes]:
    """name -> file bytes of every figure, in order: ``render`` of each.

    One process, one after the other: a forked helper drawing every second figure saved
    about 0.7 s CPU on the default run, but forking a process that holds threads (the
    solver's thread pool, the live progress display, a notebook's kernel) can deadlock the
    helper and leave the run waiting on it (docs/performance.md)."""
    return {f.name: render(f, format) for f in figures}


def render(figure: FigureSpec, format: str = "png") -> bytes:
    """Draw ``figure`` on a new standard-size Figure and return the file bytes.

    The layout is computed once, from the drawn axes (:func:`fit_margins`), instead of by
    matplotlib's constrained layout, which draws every figure twice (a layout pass and the
    real one): a third of the figure time of ``thermomech run`` (docs/performance.md).
    No pyplot: a bare ``Figure`` needs no figure manager and nothing to close.
    """
    if format not in FORMATS:
        raise ValueError(f"figure format must be one of {', '.join(FORMATS)}, got {format!r}")
    fig, ax = _SPARES.pop() if _SPARES else _blank()
    figure.draw(ax)
    fit_margins(fig, ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=format, dpi=DPI, bbox_inches=map_canvas(fig, ax))
    return buffer.getvalue()


def _blank(ticks: int = 0):
    """A new standard Figure with its canvas and axes; ``ticks`` major ticks made on either
    axis (matplotlib makes the ticks a plot needs when it is drawn: 9-11 per axis here)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    _canvas_class()(fig)  # the canvas measures text for fit_margins; savefig picks by format
    fig.subplots_adjust(**MARGINS)
    ax = fig.add_subplot()
    if ticks:
        ax.xaxis.get_major_ticks(ticks)
        ax.yaxis.get_major_ticks(ticks)
    return fig, ax


_SPARES: list = []
"""Blank standard figures made ahead (:func:`make_spares`), used by ``render`` first."""
SPARE_TICKS = 12


def make_spares(count: int) -> None:
    """Make blank standard figures (canvas, axes, :data:`SPARE_TICKS` ticks per axis) until
    ``count`` are kept for ``render``: the figure helper makes them while it waits for the
    next results, so that a figure then costs 10-15 ms less CPU (a new axes and its ticks
    are a fifth of a standard figure's 40-110 ms). The same bytes as a figure drawn on a new
    canvas: the ticks a plot does not use are not drawn (tests/test_plot_views.py)."""
    while len(_SPARES) < count:
        _SPARES.append(_blank(SPARE_TICKS))


PNG_LEVEL = 1
"""zlib level of the figure PNGs. With the opaque figures written as RGB (no alpha channel)
the twelve PNGs of the default run take 0.13 s to encode instead of 0.35 s (RGBA at
matplotlib's level 6) for 5 % more bytes (805 kB against 764 kB); the pixels are the same
(docs/performance.md)."""


@functools.cache
def _canvas_class():
    """matplotlib's Agg canvas, writing PNGs at :data:`PNG_LEVEL` and as RGB when every pixel
    is opaque (the standard figures' white background): the same pixels, the same text
    chunk and resolution as matplotlib's own PNG writer."""
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image, PngImagePlugin

    class Canvas(FigureCanvasAgg):
        def print_png(self, filename_or_obj, *, metadata=None, pil_kwargs=None, **_):
            # ``_``: what savefig passes every canvas (dpi, facecolor, ...); matplotlib's
            # own print_png does not use them either
            FigureCanvasAgg.draw(self)
            rgba = np.asarray(self.buffer_rgba())
            opaque = bool(rgba[..., 3].min() == 255)
            image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]) if opaque else rgba,
                                    "RGB" if opaque else "RGBA")
            info = PngImagePlugin.PngInfo()
            text = {"Software": f"Matplotlib version{matplotlib.__version__}, "
                                "https://matplotlib.org/", **(metadata or {})}
            for key, value in text.items():
                if value is not None:
                    info.add_text(key, value)
            image.save(filename_or_obj, **{"format": "png", "pnginfo": info,
                                           "dpi": (self.figure.dpi,) * 2,
                                           "compress_level": PNG_LEVEL, **(pil_kwargs or {})})

    return Canvas


def map_canvas(fig, ax):
    """The saved canvas of a map (equal-aspect axes: top views, face maps): the standard
    height and only the width its content uses (the axes box set against its colorbar or the
    right margin, the unused width on the left cut off), so maps waste no canvas and every
    figure of a report keeps the 4.5 in height. None (the whole figure) for other plots."""
    from matplotlib.transforms import Bbox

    if ax.get_aspect() == "auto":
        return None
    ax.set_anchor("E")
    ax.apply_aspect()
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)  # inches
    pad = PAD / DPI
    left, right = max(0.0, tight.x0 - pad), min(FIGSIZE[0], tight.x1 + pad)
    return Bbox([[left, 0.0], [right, FIGSIZE[1]]])


MARGINS = {"left": 0.08, "right": 0.97, "bottom": 0.11, "top": 0.92}
"""Default subplot margins (fractions of the figure) of a standard figure."""
PAD = 8.0  # pixels between a label or legend and the figure edge


def fit_margins(fig, ax) -> None:
    """Widen the left margin to the y tick labels and label of ``ax``, and the right one to
    what sticks out on the right (a legend outside the axes, a colorbar's labels, bar
    annotations): one measurement of those artists, not a full layout pass. Wrapped texts
    are left out: they wrap to the figure when drawn."""
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    left, right = MARGINS["left"], MARGINS["right"]
    labels = ax.yaxis.get_tightbbox(renderer)
    if labels is not None:
        left = max(left, (ax.bbox.x0 - labels.x0 + PAD) / width)
    ends = [box.x1 for other in fig.axes if other is not ax
            if (box := other.yaxis.get_tightbbox(renderer)) is not None]
    ends += [text.get_window_extent(renderer).x1 for text in ax.texts  # annotations
             if not text.get_wrap()]
    legend = ax.get_legend()
    if legend is not None and legend.get_bbox_to_anchor().x0 >= ax.bbox.x1:
        ends.append(legend.get_window_extent(renderer).x1)
    overflow = max([0.0, *(end + PAD - width for end in ends)])
    right -= overflow / width
    fig.subplots_adjust(left=left, right=right)
