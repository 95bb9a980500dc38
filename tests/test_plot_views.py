"""The model's views agree: the deformed section of a half model is mirrored to the full
package, its legend names every part in its material colour, and the top view's legend is
drawn as its footprints are."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.mechanics import solve_warpage
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.plotting import mechanical, model

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    """The views draw on pyplot figures the tests read and leave open: closed after each
    test (matplotlib warned of more than 20 open figures)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


SI = Material("si", youngs_modulus=130e9, poisson_ratio=0.28, cte=2.6e-6)
CU = Material("cu", youngs_modulus=117e9, poisson_ratio=0.34, cte=17e-6)
THERMAL = {"si": Material("si", conductivity=150.0), "cu": Material("cu", conductivity=390.0)}
LAYOUT = Layout((Box("substrate", "cu", (-4e-3, 4e-3), (-4e-3, 4e-3), (0, 2e-4)),
                 Box("die", "si", (-2e-3, 2e-3), (-2e-3, 2e-3), (2e-4, 4e-4)),
                 Box("lid", "cu", (-3e-3, 3e-3), (-3e-3, 3e-3), (4e-4, 5e-4))))


def warpage(symmetry: str):
    package = mesh_layout(LAYOUT, MeshOptions(dimension=2, symmetry=symmetry, target_size=1e-3,
                                              min_cells_per_layer=1), {"si": SI, "cu": CU})
    return solve_warpage(package, MechanicalLoads(stress_free_temperature=125.0))


@pytest.mark.parametrize("symmetry", ["half", "none"])
def test_deformed_section_spans_the_full_package(symmetry):
    result = warpage(symmetry)
    assert np.ptp(result.package.mesh.p[0]) == pytest.approx(8e-3 if symmetry == "none"
                                                             else 4e-3)
    ax = mechanical.plot_deformed_section(result, scale=0.0)
    assert tuple(ax.dataLim.intervalx) == pytest.approx((-4.0, 4.0))  # mm


def test_deformed_section_legend_has_each_part_in_its_material_colour():
    result = warpage("half")
    legend = mechanical.plot_deformed_section(result).get_legend()
    colors = model.material_colors(["si", "cu"])
    labels = [t.get_text() for t in legend.get_texts()]
    assert sorted(labels) == ["die", "lid", "substrate"]
    material = {"die": "si", "lid": "cu", "substrate": "cu"}
    for label, patch in zip(labels, legend.get_patches()):
        assert patch.get_facecolor() == pytest.approx(colors[material[label]])


def test_top_view_legend_is_drawn_as_the_footprints():
    ax = model.plot_top_view(LAYOUT)
    drawn = {p.get_edgecolor(): p.get_facecolor() for p in ax.patches}
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["cu", "si"]
    for patch in legend.get_patches():
        assert patch.get_facecolor() == pytest.approx(drawn[patch.get_edgecolor()])
        assert patch.get_facecolor()[3] == pytest.approx(model.TOP_ALPHA)


def test_von_mises_section_spans_the_full_package():
    ax = mechanical.plot_von_mises(warpage("half"))
    assert tuple(ax.dataLim.intervalx) == pytest.approx((-4.0, 4.0))  # mm
    values = ax.collections[0].get_array()
    half = len(values) // 2
    assert np.array_equal(values[:half], values[half:]) and values.max() > 0


def test_temperature_section_of_a_half_model_is_mirrored_to_the_full_package():
    from thermomech.plotting import thermal
    from thermomech.thermal import solve_thermal
    from thermomech.thermal_loads import Convection, ThermalLoads

    package = mesh_layout(LAYOUT, MeshOptions(dimension=2, symmetry="half", target_size=1e-3,
                                              min_cells_per_layer=1), THERMAL)
    result = solve_thermal(package, ThermalLoads(power={"die": 1.0}, convection=(
        Convection("top", 500.0),)))
    x, _, T = thermal._section(result)
    assert (x.min(), x.max()) == pytest.approx((-4e-3, 4e-3))
    assert np.count_nonzero(np.isclose(x, 0.0)) == 1  # the plane of symmetry once
    assert np.allclose(T, T[:, ::-1], equal_nan=True)  # mirror-symmetric
    ax = thermal.plot_cross_section(result)
    assert ax.get_xlim()[0] <= -4.0 and ax.get_xlim()[1] >= 4.0


def test_interface_footnote_is_readable_and_inside_the_axes():
    from thermomech.mechanical_metrics import SINGULAR_NOTE, interface_path

    ax = mechanical.plot_interface_path(interface_path(warpage("half"), "die", "bottom",
                                                       samples=5))
    (note,) = [t for t in ax.texts if "singular there" in t.get_text()]
    assert note.get_fontsize() >= 8
    assert " ".join(note.get_text().split()) == " ".join(SINGULAR_NOTE.split())
    ax.figure.canvas.draw()
    box = note.get_window_extent()
    assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1


def test_mirror_points_of_a_quarter_cover_the_package_once():
    x = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    mx, my, mv = model.mirror_points(x, y, np.arange(4.0), "quarter")
    assert sorted(zip(mx, my)) == sorted((a, b) for a in (-1.0, 0.0, 1.0)
                                         for b in (-1.0, 0.0, 1.0))
    assert mv[(mx == -1.0) & (my == -1.0)] == [3.0]
    assert len(model.mirror_points(x, y, np.arange(4.0), "half")[0]) == 6
    assert len(model.mirror_points(x, y, np.arange(4.0), "none")[0]) == 4


def test_warpage_map_of_a_quarter_model_spans_the_full_package():
    package = mesh_layout(LAYOUT, MeshOptions(symmetry="quarter", target_size=1e-3,
                                              min_cells_per_layer=1), {"si": SI, "cu": CU})
    result = solve_warpage(package, MechanicalLoads(stress_free_temperature=125.0))
    ax = mechanical.plot_warpage_map(result, "bottom")
    assert tuple(ax.dataLim.intervalx) == pytest.approx((-4.0, 4.0))
    assert tuple(ax.dataLim.intervaly) == pytest.approx((-4.0, 4.0))


def _png(figure) -> np.ndarray:
    import io

    from PIL import Image

    from thermomech.plotting.figures import render

    return np.asarray(Image.open(io.BytesIO(render(figure))).convert("L"))


def test_maps_keep_the_standard_height_and_lose_the_unused_width():
    """A square map with a colorbar: the standard 4.5 in height (540 px at 120 dpi), no blank
    band beside the map (its first drawn column within the padding of the left edge); a
    plain plot keeps the whole 8 x 4.5 in canvas."""
    from thermomech.plotting.figures import DPI, FIGSIZE, PAD, FigureSpec

    def square(ax):
        image = ax.imshow(np.arange(16.0).reshape(4, 4), extent=(-4, 4, -4, 4))
        ax.figure.colorbar(image, ax=ax, label="temperature (°C)")
        ax.set_ylabel("y (mm)")
        return ax

    pixels = _png(FigureSpec("map", "", square))
    assert pixels.shape[0] == round(FIGSIZE[1] * DPI)
    assert pixels.shape[1] < 0.8 * FIGSIZE[0] * DPI
    drawn = np.flatnonzero((pixels < 250).any(axis=0))
    assert drawn[0] <= PAD + 2 and pixels.shape[1] - 1 - drawn[-1] <= PAD + 2
    plain = _png(FigureSpec("plot", "", lambda ax: ax.plot([0, 1], [0, 1])[0].axes))
    assert plain.shape == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))


def test_figure_pngs_have_the_pixels_of_matplotlib_s_own_writer(monkeypatch):
    """``render`` writes opaque figures as RGB PNGs at a fast zlib level
    (``figures.PNG_LEVEL``): the pixels, size, text chunk and resolution of matplotlib's
    RGBA PNG of the same figure."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    from thermomech.plotting import figures
    from thermomech.plotting.figures import FigureSpec, render

    def section(ax):
        x = np.linspace(0.0, 1.0, 9)
        image = ax.pcolormesh(x, x, np.add.outer(x, x ** 2), shading="gouraud")
        ax.figure.colorbar(image, ax=ax, label="temperature (°C)")
        ax.set_title("a section")
        return ax

    spec = FigureSpec("section", "", section)
    ours = Image.open(io.BytesIO(render(spec)))
    monkeypatch.setattr(figures, "_canvas_class", lambda: FigureCanvasAgg)
    theirs = Image.open(io.BytesIO(render(spec)))
    assert ours.mode == "RGB" and theirs.mode == "RGBA"
    assert ours.size == theirs.size and ours.info == theirs.info
    assert np.array_equal(np.asarray(ours.convert("RGBA")), np.asarray(theirs))
