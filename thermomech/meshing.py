"""Layout -> conformal, graded tensor-product mesh with parts, materials and named surfaces.

Every box face coordinate becomes a grid line; each interval between grid lines is
subdivided to the in-plane target size and a minimum number of cells through every layer,
with geometric growth away from small features. The grid is built in one vectorized step:
each cell takes the part of the last box containing its centre, cells in no box are
dropped. Interfaces are conformal and part volumes equal box volumes by construction.

3D: hexahedra (``skfem.MeshHex``). 2D: quadrilaterals of the x-z section at y = 0
(``skfem.MeshQuad`` whose coordinates are (x, z)).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import skfem

from .connectivity import check_face_connected, grid_pairs
from .errors import ModelError
from .fem import simplex
from .geometry import Box, Layout
from .grid_lines import axis_grid, check_mesh_size, with_lines
from .materials import Material
from .parameters import param

SYMMETRIES = ("none", "half", "quarter")
MIN_GROWTH = 1.01
"""Below this, sizes barely grow away from a small feature: the mesh is uniform at the
smallest feature's size (set target_size for that) and grading it takes millions of
samples per interval."""


@dataclass(frozen=True)
class MeshOptions:
    """How to mesh a layout.

    dimension : 2 (x-z section at y = 0) or 3.
    symmetry : "none", "half" (x >= 0) or "quarter" (x >= 0, y >= 0; "half" in 2D).
    target_size : m, in-plane (and largest through-thickness) cell size.
    min_cells_per_layer : cells through the thickness of every layer (z intervals).
    min_cells_per_feature : cells across every in-plane interval (x, y).
    growth : ratio of neighbouring cell sizes away from small features, in [1.01, 3].
    element_order : 1 or 2, a hint to the solvers (None: each solver's default, Q1 heat,
        Q2 warpage).
    max_cells : refuse to build larger meshes (a ModelError before any allocation: the count
        is computed from the box faces, see :func:`check_mesh_size`).
    """

    dimension: int = param(3, None, "2 = x-z section at y = 0, 3 = full 3D", choices=(2, 3))
    symmetry: str = param("none", None, "none | half (x >= 0) | quarter (x >= 0, y >= 0)",
                          choices=SYMMETRIES)
    target_size: float = param(0.5e-3, "length", "in-plane target cell size")
    min_cells_per_layer: int = param(2, None, "cells through the thickness of every layer")
    min_cells_per_feature: int = param(1, None, "cells across every in-plane feature")
    growth: float = param(1.3, None, "size ratio of neighbouring cells away from small "
                          "features, 1.01 to 3")
    element_order: int | None = param(None, None, "1 or 2 (default: Q1 heat, Q2 warpage)",
                                      choices=(1, 2))
    max_cells: int = param(5_000_000, None, "refuse meshes with more cells than this")

    def __post_init__(self):
        if self.dimension not in (2, 3):
            raise ModelError("mesh.dimension", f"must be 2 or 3, got {self.dimension!r}")
        if self.symmetry not in SYMMETRIES:
            raise ModelError("mesh.symmetry", f"must be one of {', '.join(SYMMETRIES)}, "
                                              f"got {self.symmetry!r}")
        if not self.target_size > 0:
            raise ModelError("mesh.target_size", f"must be > 0, got {self.target_size * 1e3:g} mm")
        for name in ("min_cells_per_layer", "min_cells_per_feature", "max_cells"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelError(f"mesh.{name}", f"must be a whole number >= 1, got {value!r}")
        if not MIN_GROWTH <= self.growth <= 3.0:
            raise ModelError("mesh.growth", f"must be in [{MIN_GROWTH}, 3], got {self.growth!r}"
                                            f" (for a uniform mesh set mesh.target_size)")
        if self.element_order not in (None, 1, 2):
            raise ModelError("mesh.element_order", f"must be 1 or 2, got {self.element_order!r}")


@dataclass(frozen=True)
class Faces:
    """Boundary faces: cell index and side (2 * axis + (0 for -, 1 for +)) of each face.

    Axes are the mesh's coordinates: (x, y, z) in 3D, (x, z) in 2D. On an imported
    (non-box) mesh ``sides`` is -1 and ``facets`` holds scikit-fem facet indices.
    """

    cells: np.ndarray
    sides: np.ndarray
    facets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.cells)

    def subset(self, mask) -> Faces:
        """The faces selected by a boolean mask or an index array (facets kept)."""
        return Faces(self.cells[mask], self.sides[mask],
                     None if self.facets is None else self.facets[mask])


@dataclass(frozen=True)
class MeshedPackage:
    """A meshed package: the scikit-fem mesh plus what the solvers need to know of it.

    mesh : ``skfem.MeshHex`` (3D) or ``skfem.MeshQuad`` (2D, coordinates (x, z)), in m;
        ``mesh.subdomains`` maps part name -> cell indices. Imported meshes may be any
        scikit-fem mesh (tetrahedra, wedges, ...).
    axes : grid lines per mesh axis (m), the tensor grid the cells live on; None for an
        imported mesh (which then takes scikit-fem's generic assembly path).
    grid_cells : array of the grid's cell shape; cell index, or -1 where no cell is (None
        for an imported mesh).
    cell_part : (cells,) index into ``parts`` of each cell.
    parts : part names; ``part_materials`` the material name of each.
    materials : every material the parts name (SI values).
    surfaces : named boundary faces: top, bottom, sides, symmetry_x, symmetry_y, and per part
        ``<part>.top``, ``<part>.bottom``, ``<part>.sides``, ``<part>.exposed``.
    symmetry : "none", "half" or "quarter": the fraction of the package that was meshed.
    layout : the (unclipped) layout the mesh was made from.
    """

    mesh: skfem.Mesh
    axes: tuple[np.ndarray, ...] | None
    grid_cells: np.ndarray | None
    cell_part: np.ndarray
    parts: tuple[str, ...]
    part_materials: Mapping[str, str]
    materials: Mapping[str, Material]
    surfaces: Mapping[str, Faces]
    symmetry: str
    layout: Layout
    options: MeshOptions
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def dimension(self) -> int:
        return self.mesh.dim()

    @property
    def dies(self) -> tuple[str, ...]:
        """The die parts that have cells in this mesh (symmetry may cut some away)."""
        return tuple(d for d in self.layout.dies if d in self.mesh.subdomains)

    @property
    def is_structured(self) -> bool:
        """True for box meshes of our mesher (structured fast path available)."""
        return self.axes is not None

    @property
    def ncells(self) -> int:
        return self.mesh.t.shape[1]

    @functools.cached_property
    def cell_index(self) -> np.ndarray:
        """(dim, cells) grid index of each cell (cells are numbered in C order of the grid)."""
        return np.array(np.nonzero(self.grid_cells >= 0))

    @functools.cached_property
    def cell_sizes(self) -> np.ndarray:
        """(dim, cells) edge lengths of each cell, m."""
        index = self.cell_index
        return np.array([np.diff(axis)[i] for axis, i in zip(self.axes, index)])

    @functools.cached_property
    def cell_volumes(self) -> np.ndarray:
        """(cells,) cell volumes, m^3 (m^2 in 2D: area of the section)."""
        if self.is_structured:
            return np.prod(self.cell_sizes, axis=0)
        if type(self.mesh) in simplex.ELEMENTS:  # closed form: |det J| / dim!
            return simplex.cell_volumes(self.mesh)
        basis = skfem.CellBasis(self.mesh, self.mesh.elem())
        return skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).elemental(basis)

    def cell_material(self, name: str) -> Material:
        return self.materials[self.part_materials[name]]

    def part_cells(self, part: str) -> np.ndarray:
        return self.mesh.subdomains[part]

    def cell_values(self, values: Mapping[str, float], default: float = 0.0) -> np.ndarray:
        """A per-cell array from a mapping of part name -> value."""
        per_part = np.array([values.get(p, default) for p in self.parts], dtype=float)
        return per_part[self.cell_part]

    def material_values(self, getter) -> np.ndarray:
        """Per-cell array of ``getter(material)`` evaluated once per part."""
        per_part = np.array([getter(self.cell_material(p)) for p in self.parts], dtype=float)
        return per_part[self.cell_part]

    def surface(self, name: str, field: str = "surface") -> Faces:
        """The named surface; a ModelError naming the known ones if it does not exist."""
        if name not in self.surfaces:
            known = ", ".join(sorted(self.surfaces))
            raise ModelError(field, f"no surface {name!r} in this model; known: {known}")
        return self.surfaces[name]

    @property
    def symmetry_factor(self) -> float:
        """Whole package / meshed part (1, 2 or 4)."""
        return {"none": 1.0, "half": 2.0, "quarter": 4.0 if self.dimension == 3 else 2.0}[
            self.symmetry]


# --- labelling ---------------------------------------------------------------------------

def label_grid(boxes: tuple[Box, ...], axes: tuple[np.ndarray, ...], box_axes: tuple[int, ...],
               part_index: Mapping[str, int]) -> np.ndarray:
    """Part index of each grid cell (-1: in no box); the last box containing a centre wins."""
    centres = [0.5 * (a[1:] + a[:-1]) for a in axes]
    labels = np.full([len(c) for c in centres], -1, dtype=np.int32)
    for b in boxes:  # one slice assignment per box
        ranges = []
        for centre, axis in zip(centres, box_axes):
            lo, hi = (b.x, b.y, b.z)[axis]
            ranges.append(slice(np.searchsorted(centre, lo), np.searchsorted(centre, hi)))
        labels[tuple(ranges)] = part_index[b.part]
    return labels


def _section_boxes(layout: Layout) -> tuple[Box, ...]:
    """Boxes cut by the plane y = 0 (a face on y = 0 counts if the box extends to y > 0)."""
    return tuple(b for b in layout.boxes if b.y[0] <= 0.0 < b.y[1])


def asymmetric_axis(layout: Layout, dimension: int, symmetry: str,
                    part_key: Mapping[str, int]) -> str | None:
    """The first mirror plane ("x" or "y") that ``symmetry`` needs and the layout, labelled
    by ``part_key`` (part -> integer), does not have; None when symmetric. Tested on the
    coarse grid of box faces, so it is exact and cheap."""
    if symmetry == "none":
        return None
    mirror_axes = [0] if symmetry == "half" or dimension == 2 else [0, 1]
    boxes = layout.boxes if dimension == 3 else _section_boxes(layout)
    box_axes = (0, 1, 2) if dimension == 3 else (0, 2)
    axes = tuple(Layout(boxes).breakpoints(a) for a in box_axes)
    labels = label_grid(boxes, axes, box_axes, part_key)
    for axis in mirror_axes:
        lines = axes[axis]
        if not np.allclose(lines, -lines[::-1], atol=1e-9 * np.ptp(lines)) or not np.array_equal(
                labels, np.flip(labels, axis=axis)):
            return "xy"[axis]
    return None


def check_symmetric(layout: Layout, dimension: int, symmetry: str) -> None:
    """Refuse symmetry options that the layout does not have."""
    # mirror test on materials: parts "cap_left" and "cap_right" of one material are symmetric
    material_ids = {m: i for i, m in enumerate(sorted(set(layout.part_materials.values())))}
    key = {p: material_ids[m] for p, m in layout.part_materials.items()}
    axis = asymmetric_axis(layout, dimension, symmetry, key)
    if axis is not None:
        raise ModelError("mesh.symmetry", f"{symmetry!r} needs a layout symmetric about "
                                          f"{axis} = 0, and this one is not; use "
                                          f"symmetry = \"none\"")


def part_volumes(layout: Layout) -> dict[str, float]:
    """Exact volume (m^3) of each part of the whole (unclipped) layout, later boxes winning."""
    axes = tuple(layout.breakpoints(a) for a in range(3))
    index = {p: i for i, p in enumerate(layout.parts)}
    labels = label_grid(layout.boxes, axes, (0, 1, 2), index)
    sizes = np.einsum("i,j,k->ijk", *(np.diff(a) for a in axes))
    volumes = np.bincount(labels[labels >= 0], sizes[labels >= 0], minlength=len(index))
    return {p: float(volumes[i]) for p, i in index.items()}


def clipped_layout(layout: Layout, dimension: int, symmetry: str) -> tuple[Box, ...]:
    """The boxes of the meshed part: x >= 0 for half, x, y >= 0 for quarter (3D)."""
    boxes = layout.boxes if dimension == 3 else _section_boxes(layout)
    clip_x = symmetry in ("half", "quarter")
    clip_y = symmetry == "quarter" and dimension == 3
    out = []
    for b in boxes:
        x, y = b.x, b.y
        if clip_x:
            if x[1] <= 0:
                continue
            x = (max(x[0], 0.0), x[1])
        if clip_y:
            if y[1] <= 0:
                continue
            y = (max(y[0], 0.0), y[1])
        out.append(Box(b.part, b.material, x, y, b.z))
    return tuple(out)


# --- mesh --------------------------------------------------------------------------------

def mesh_layout(layout: Layout, options: MeshOptions, materials: Mapping[str, Material],
                lines: tuple = ()) -> MeshedPackage:
    """Mesh ``layout``; ``materials`` must hold every material its boxes name. ``lines``:
    extra grid lines (m) per box axis (x, y[, z]), e.g. a patch edge that is no box face;
    those outside the meshed region are ignored."""
    start = time.perf_counter()
    part_materials = layout.part_materials
    missing = sorted({m for m in part_materials.values()} - set(materials) - set(layout.materials))
    if missing:
        raise ModelError("materials", f"no material called {missing[0]!r}")
    check_symmetric(layout, options.dimension, options.symmetry)
    boxes = clipped_layout(layout, options.dimension, options.symmetry)
    if not boxes:
        raise ModelError("package", "the layout has no boxes in the meshed region")
    box_axes = (0, 1, 2) if options.dimension == 3 else (0, 2)
    sub = Layout(boxes)
    breakpoints = [sub.breakpoints(a) for a in box_axes]
    for k, extra in enumerate(lines):
        breakpoints[k] = with_lines(breakpoints[k], extra)
    min_cells = [options.min_cells_per_layer if a == 2 else options.min_cells_per_feature
                 for a in box_axes]
    check_mesh_size(breakpoints, min_cells, options)
    axes = tuple(axis_grid(b, options.target_size, m, options.growth)
                 for b, m in zip(breakpoints, min_cells))
    grid_size = int(np.prod([len(a) - 1 for a in axes]))
    if grid_size > options.max_cells:
        raise ModelError("mesh.max_cells", f"this mesh would have up to {grid_size} cells, above "
                                           f"the limit {options.max_cells}; raise "
                                           f"mesh.target_size or mesh.max_cells")
    parts = layout.parts
    labels = label_grid(boxes, axes, box_axes, {p: i for i, p in enumerate(parts)})
    present = np.unique(labels[labels >= 0])
    check_face_connected(parts, np.bincount(labels[labels >= 0], minlength=len(parts)),
                         grid_pairs(labels), lambda: grid_pairs(labels, faces_only=False))
    mesh, grid_cells = _tensor_mesh(axes, labels)
    cell_part = labels[labels >= 0].astype(np.int32)
    mesh = mesh.with_subdomains({parts[i]: np.flatnonzero(cell_part == i) for i in present})
    surfaces = _surfaces(grid_cells, cell_part, parts, options.symmetry, options.dimension)
    all_materials = {**materials, **layout.materials}
    package = MeshedPackage(
        mesh=mesh, axes=axes, grid_cells=grid_cells, cell_part=cell_part, parts=parts,
        part_materials=part_materials,
        materials={m: all_materials[m] for m in set(part_materials.values())},
        surfaces=surfaces, symmetry=options.symmetry, layout=layout, options=options)
    return dataclasses.replace(package, stats=_statistics(package, time.perf_counter() - start))


def _tensor_mesh(axes, labels) -> tuple[skfem.Mesh, np.ndarray]:
    """The cells of ``labels >= 0`` as a scikit-fem mesh; unused grid nodes removed."""
    shape = tuple(len(a) for a in axes)
    keep = labels >= 0
    index = np.array(np.nonzero(keep))  # C order: deterministic cell numbering
    grid_cells = np.full(labels.shape, -1, dtype=np.int64)
    grid_cells[keep] = np.arange(index.shape[1])
    if len(axes) == 3:
        # scikit-fem's hexahedron vertex order (as MeshHex.init_tensor makes it)
        corners = [(0, 0, 0), (0, 1, 0), (1, 0, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1),
                   (1, 1, 1)]
        cls = skfem.MeshHex
    else:
        corners = [(0, 0), (1, 0), (1, 1), (0, 1)]  # counter-clockwise
        cls = skfem.MeshQuad
    t_grid = np.array([np.ravel_multi_index(tuple(index[a] + c[a] for a in range(len(axes))),
                                            shape) for c in corners])
    used = np.zeros(int(np.prod(shape)), dtype=bool)
    used[t_grid.ravel()] = True
    renumber = np.cumsum(used) - 1
    nodes = np.array(np.unravel_index(np.flatnonzero(used), shape))
    p = np.array([axes[a][nodes[a]] for a in range(len(axes))], dtype=float)
    t = renumber[t_grid].astype(np.int64)
    return cls(p, t, validate=False), grid_cells


def _surfaces(grid_cells, cell_part, parts, symmetry, dimension) -> dict[str, Faces]:
    """Exterior faces by direction and part, and the symmetry planes."""
    dim = grid_cells.ndim
    z_axis = dim - 1
    filled = grid_cells >= 0
    found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for axis in range(dim):
        for sign in (0, 1):
            neighbour = np.zeros_like(filled)
            src = [slice(None)] * dim
            dst = [slice(None)] * dim
            if sign:  # face on the + side: neighbour at index + 1
                src[axis], dst[axis] = slice(1, None), slice(None, -1)
            else:
                src[axis], dst[axis] = slice(None, -1), slice(1, None)
            neighbour[tuple(dst)] = filled[tuple(src)]
            exposed = filled & ~neighbour
            cells = grid_cells[exposed]
            side = np.full(len(cells), 2 * axis + sign, dtype=np.int8)
            on_plane = np.zeros(len(cells), dtype=bool)
            if sign == 0 and axis < 2 and axis < z_axis:
                first = np.zeros_like(filled)
                sel = [slice(None)] * dim
                sel[axis] = 0
                first[tuple(sel)] = True
                on_first = first[exposed]
                if symmetry != "none" and (axis == 0 or (symmetry == "quarter" and dim == 3)):
                    on_plane = on_first
                    found.setdefault(f"symmetry_{'xy'[axis]}", []).append(
                        (cells[on_plane], side[on_plane]))
            cells, side = cells[~on_plane], side[~on_plane]
            name = "top" if (axis == z_axis and sign) else "bottom" if axis == z_axis else "sides"
            found.setdefault(name, []).append((cells, side))
            for i, part in enumerate(parts):
                mine = cell_part[cells] == i
                if np.any(mine):
                    found.setdefault(f"{part}.{name}", []).append((cells[mine], side[mine]))
                    found.setdefault(f"{part}.exposed", []).append((cells[mine], side[mine]))
    out = {}
    for name, pieces in found.items():
        cells = np.concatenate([c for c, _ in pieces])
        sides = np.concatenate([s for _, s in pieces])
        if len(cells):
            out[name] = Faces(cells.astype(np.int64), sides)
    return out


def _statistics(package: MeshedPackage, seconds: float) -> dict:
    sizes = package.cell_sizes
    aspect = sizes.max(axis=0) / sizes.min(axis=0)
    counts = np.bincount(package.cell_part, minlength=len(package.parts))
    return {
        "nodes": int(package.mesh.p.shape[1]),
        "cells": int(package.ncells),
        "cells_per_part": {p: int(n) for p, n in zip(package.parts, counts)},
        "worst_aspect_ratio": float(aspect.max()),
        "seconds": seconds,
    }


def facet_measures(mesh: skfem.Mesh, facets: np.ndarray) -> np.ndarray:
    """(facets,) area (3D) or length (2D) of scikit-fem facets, m^2 or m."""
    fb = skfem.FacetBasis(mesh, mesh.elem(), facets=facets)
    return skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).elemental(fb)


def cell_kind(mesh: skfem.Mesh) -> str:
    """"hex", "quad", "tet", "tri" or "wedge": the cell type elements are chosen by."""
    for kind, cls in (("hex", skfem.MeshHex), ("quad", skfem.MeshQuad), ("tet", skfem.MeshTet),
                      ("tri", skfem.MeshTri), ("wedge", skfem.MeshWedge1)):
        if isinstance(mesh, cls):
            return kind
    raise ModelError("package", f"no elements for a {type(mesh).__name__}")


def face_areas(package: MeshedPackage, faces: Faces) -> np.ndarray:
    """(faces,) area of each face, m^2 (in 2D: length of the edge, m)."""
    if faces.facets is not None:
        return facet_measures(package.mesh, faces.facets)
    sizes = package.cell_sizes[:, faces.cells]
    axis = faces.sides // 2
    dim = package.dimension
    areas = np.ones(len(faces))
    for a in range(dim):
        areas *= np.where(axis == a, 1.0, sizes[a])
    return areas


def face_centres(package: MeshedPackage, faces: Faces) -> np.ndarray:
    """(dim, faces) centre of each face, m."""
    if faces.facets is not None:
        return package.mesh.p[:, package.mesh.facets[:, faces.facets]].mean(axis=1)
    index = package.cell_index[:, faces.cells]
    centres = []
    for a, axis in enumerate(package.axes):
        lo, hi = axis[index[a]], axis[index[a] + 1]
        centre = 0.5 * (lo + hi)
        on_axis = faces.sides // 2 == a
        centres.append(np.where(on_axis, np.where(faces.sides % 2 == 1, hi, lo), centre))
    return np.array(centres)


def skfem_facets(package: MeshedPackage, faces: Faces) -> np.ndarray:
    """scikit-fem facet indices of ``faces`` (for the generic assembly path).

    Imported meshes carry them; on box meshes each face is matched to the mesh's facets by
    its sorted vertex numbers, vectorized (boundary and interior faces alike). Computes the
    mesh's facets, which takes seconds on a million cells.
    """
    if faces.facets is not None:
        return faces.facets
    mesh = package.mesh
    axis = faces.sides // 2
    vertices = mesh.t[:, faces.cells]  # (cell vertices, faces)
    coordinate = mesh.p[axis[None, :], vertices]
    target = np.where(faces.sides % 2 == 1, coordinate.max(axis=0), coordinate.min(axis=0))
    on_face = np.isclose(coordinate, target[None, :], rtol=0, atol=1e-12 * np.ptp(mesh.p))
    wanted = np.sort(vertices.T[on_face.T].reshape(len(faces), -1), axis=1)
    known = np.sort(mesh.facets.T, axis=1)

    def key(rows):
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        return rows.view(np.dtype((np.void, 8 * rows.shape[1]))).ravel()

    known_keys, wanted_keys = key(known), key(wanted)
    order = np.argsort(known_keys)
    position = np.searchsorted(known_keys[order], wanted_keys)
    found = order[np.minimum(position, len(order) - 1)]
    if not np.all(known_keys[found] == wanted_keys):
        raise ValueError("faces do not match the mesh's facets")
    return found
