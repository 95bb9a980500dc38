"""Matplotlib views of warpage solves. Each takes ``ax=None`` and returns the Axes; matplotlib
is imported inside the functions. Lengths are shown in mm, displacements in um, stresses MPa.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from ..mechanical_metrics import (
    SINGULAR_NOTE,
    InterfacePath,
    surface_warpage,
    von_mises,
    zero_warpage_temperatures,
)
from ..results import WarpageResult


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _section(result: WarpageResult, y: float):
    """Cells of the x-z section: all cells in 2D; in 3D the cells whose y-range holds ``y``."""
    package = result.package
    if package.dimension == 2:
        return np.arange(package.ncells), None
    iy = package.cell_index[1]
    axis = package.axes[1]
    j = int(np.clip(np.searchsorted(axis, y, side="right") - 1, 0, len(axis) - 2))
    return np.flatnonzero(iy == j), j


def _section_polygons(result: WarpageResult, cells: np.ndarray, j, scale: float):
    """(cells, 4, 2) corner coordinates (x, z) of section cells, displaced by scale * u."""
    package = result.package
    mesh = package.mesh
    u = result.displacement[result.space.nodal_dofs]
    t = mesh.t[:, cells]
    dim = package.dimension
    if dim == 3:  # the 4 vertices on the cell's y-min face
        y0 = package.axes[1][j]
        on = np.isclose(mesh.p[1, t], y0)
        t = t.T[on.T].reshape(len(cells), 4).T
    xz = (0, 2) if dim == 3 else (0, 1)
    x = mesh.p[xz[0], t] + scale * u[xz[0], t]
    z = mesh.p[xz[1], t] + scale * u[xz[1], t]
    angle = np.arctan2(z - z.mean(axis=0), x - x.mean(axis=0))  # counter-clockwise order
    order = np.argsort(angle, axis=0)
    x, z = np.take_along_axis(x, order, 0), np.take_along_axis(z, order, 0)
    return np.stack([x.T, z.T], axis=-1)


def _mirrored(polygons: np.ndarray, package) -> np.ndarray:
    """Section polygons of a half or quarter model and their mirror image in x = 0: the
    full package, as the model's other views show it."""
    if package.symmetry == "none":
        return polygons
    mirror = polygons * np.array([-1.0, 1.0])
    return np.concatenate([polygons, mirror])


def _part_legend(ax, package, parts: np.ndarray) -> None:
    """One legend entry per part in ``parts`` (indices), in its material colour."""
    from matplotlib.patches import Patch

    from .model import material_colors

    colors = material_colors(package.part_materials.values())
    handles = [Patch(facecolor=colors[package.part_materials[package.parts[i]]],
                     edgecolor="k", linewidth=0.3, label=package.parts[i])
               for i in sorted(set(parts.tolist()))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small", title="part")


def plot_deformed_section(result: WarpageResult, ax=None, *, scale: float | None = None,
                          y: float = 0.0, undeformed: bool = True):
    """The x-z section (at ``y``, m, in 3D) deformed by ``scale`` x the displacement, parts
    in their material colours with a legend; half and quarter models mirrored in x = 0 to
    the full package.

    ``scale`` None: the largest displacement is drawn as 10 % of the section width. The title
    states the scale factor.
    """
    from matplotlib.collections import PolyCollection

    from .model import material_colors

    ax = _axes(ax)
    cells, j = _section(result, y)
    package = result.package
    width = np.ptp(package.mesh.p[0])
    umax = np.abs(result.displacement).max()
    if scale is None:
        scale = 0.1 * width / umax if umax > 0 else 1.0
    parts = np.asarray(package.cell_part)[cells]
    colors = material_colors(package.part_materials.values())
    faces = [colors[package.part_materials[package.parts[i]]] for i in parts]
    if package.symmetry != "none":
        faces = faces + faces
    if undeformed:
        ax.add_collection(PolyCollection(
            _mirrored(_section_polygons(result, cells, j, 0.0), package) * 1e3,
            facecolors="none", edgecolors="0.8", linewidths=0.3))
    ax.add_collection(PolyCollection(
        _mirrored(_section_polygons(result, cells, j, scale), package) * 1e3,
        facecolors=faces, edgecolors="k", linewidths=0.2))
    ax.autoscale_view()
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z (mm)")
    ax.set_title(f"deformed section, displacement x {scale:.3g} "
                 f"(max |u| = {umax * 1e6:.3g} um)")
    _part_legend(ax, package, parts)
    return ax


def plot_warpage_map(result: WarpageResult, surface: str = "bottom", ax=None):
    """Contour map (3D) or profile (2D) of a surface's u_z after removing the best-fit plane;
    the map of a half or quarter model mirrored to the full package."""
    ax = _axes(ax)
    w = surface_warpage(result, surface)
    if w.points.shape[0] == 1:
        order = np.argsort(w.points[0])
        ax.plot(w.points[0, order] * 1e3, w.deviation[order] * 1e6)
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("u_z - best-fit line (um)")
    else:
        from .model import mirror_points

        x, y, deviation = mirror_points(*w.points[:2], w.deviation, result.package.symmetry)
        tcf = ax.tricontourf(x * 1e3, y * 1e3, deviation * 1e6, levels=20)
        ax.figure.colorbar(tcf, ax=ax, label="u_z - best-fit plane (um)")
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_aspect("equal")
    ax.set_title(f"{surface}: warpage {w.peak_to_valley * 1e6:.3g} um peak-to-valley, "
                 f"{w.shape}")
    return ax


def plot_warpage_curve(temperature: Sequence[float], warpage: Sequence[float], ax=None, *,
                       label: str = "center - corner"):
    """Signed warpage (m) versus temperature (degC), in the given order (a heating and
    cooling cycle draws a loop); zero-warpage temperatures are marked."""
    ax = _axes(ax)
    t = np.asarray(temperature, float)
    w = np.asarray(warpage, float)
    ax.plot(t, w * 1e6, "o-", label=label)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    for t0 in zero_warpage_temperatures(t, w):
        ax.axvline(t0, color="C3", linestyle="--", linewidth=0.8)
        ax.annotate(f"zero warpage {t0:.0f} degC", (t0, 0.0), textcoords="offset points",
                    xytext=(5, 5), color="C3")
    ax.set_xlabel("temperature (degC)")
    ax.set_ylabel("warpage (um)")
    ax.legend()
    return ax


def section_cells(result: WarpageResult, y: float = 0.0) -> np.ndarray:
    """The cells of the x-z section at ``y`` (m) the section views draw (all cells in 2D)."""
    return _section(result, y)[0]


def plot_von_mises(result: WarpageResult, ax=None, *, y: float = 0.0,
                   stress: np.ndarray | None = None, section_stress: np.ndarray | None = None):
    """Cell-maximum von Mises stress (MPa) on the x-z section (at ``y`` in 3D), half and
    quarter models mirrored to the full package. ``stress``: the quadrature stress (6,
    cells, points) Pa (default ``result.quadrature_stress()``), or ``section_stress`` only
    its :func:`section_cells` (what the figure reads: the figure helper is sent that)."""
    from matplotlib.collections import PolyCollection

    ax = _axes(ax)
    cells, j = _section(result, y)
    if section_stress is None:
        stress = result.quadrature_stress()[0] if stress is None else stress
        section_stress = stress[:, cells]
    values = von_mises(section_stress).max(axis=1) / 1e6
    package = result.package
    if package.symmetry != "none":  # the mirror image too: the full package
        values = np.concatenate([values, values])
    polys = PolyCollection(_mirrored(_section_polygons(result, cells, j, 0.0), package) * 1e3,
                           array=values, cmap="viridis", edgecolors="none")
    ax.add_collection(polys)
    ax.autoscale_view()
    ax.figure.colorbar(polys, ax=ax, label="von Mises (MPa)")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z (mm)")
    ax.set_title("von Mises stress (max over quadrature points)")
    return ax


def plot_interface_path(path: InterfacePath, ax=None):
    """Peel and shear (MPa) along an interface path; the corner value is labelled singular."""
    ax = _axes(ax)
    d = path.distance * 1e3
    ax.plot(d, path.peel / 1e6, label="peel (normal)")
    ax.plot(d, path.shear / 1e6, label="shear")
    ax.annotate(f"corner (singular), mesh {path.corner_mesh_size * 1e6:.0f} um",
                (d[-1], path.peel[-1] / 1e6), textcoords="axes fraction", xytext=(0.5, 0.55),
                ha="center", arrowprops={"arrowstyle": "->"})  # clear of the footnote
    ax.set_xlabel("distance from the centre (mm)")
    ax.set_ylabel("stress (MPa)")
    ax.set_title(f"{path.part} {path.side} / {', '.join(path.neighbours)}")
    ax.legend()
    ax.text(0.01, 0.01, textwrap.fill(SINGULAR_NOTE, 70), transform=ax.transAxes,
            fontsize=8, va="bottom")  # readable, and clear of the corner on the right
    return ax
