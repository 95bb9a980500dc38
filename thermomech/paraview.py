"""Results for ParaView: one named block per part, quadratic cells, nodal stresses and
heat fluxes, time series.

``write_multiblock`` writes ``NAME.vtm``, a multiblock index with one block per part named
after it, and the pieces ``NAME/<part>.vtu``. Each piece holds the cells of one part on the
nodes of the solution's element (20-node hexahedra for the default ``HexS2`` warpage
element, 27-node for ``Hex2``, 9-node quads for ``Quad2``, ...), so the deformed shape is
the solved one, and:

- point data: ``temperature_C``, ``temperature_gradient_K_per_m`` and
  ``heat_flux_W_per_m2`` (-k grad T); ``displacement_m``, ``stress_Pa`` (6 components in
  ParaView's order XX, YY, ZZ, XY, YZ, XZ), ``von_mises_stress_Pa``,
  ``max_principal_stress_Pa``, ``mid_principal_stress_Pa``, ``min_principal_stress_Pa``;
- cell data: ``part`` and ``material`` ids; field data: the name table, one array per name
  (``part:die`` = [id], ``material:silicon`` = [id], meshio's convention).

Gradients (stress, heat flux) are recovered per part: each cell's own field evaluated at its
nodes (``result.stress_at`` / ``space.evaluate`` in that cell), averaged over the part's
cells sharing the node. A node on an interface belongs to both pieces, each with its own
part's value, so stress and flux jumps between materials are kept. 2D sections lie in the
plane y = 0 (vectors (x, 0, z)). ``write_series`` writes ``NAME.pvd``: one ``.vtm`` per
output time (a transient's snapshots, a warpage curve).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import skfem

from .fem.space import Field, Space, reused_mappings
from .files import OutputFolder
from .heat_problem import cell_mean
from .mechanical_metrics import principal_stresses, von_mises
from .meshing import MeshedPackage
from .results import ThermalResult, WarpageResult
from .thermal import conductivity_field, is_nonlinear
from .threads import map_apart, thread_count
from .vtk_xml import pvd_bytes, vtm_bytes, vtu_bytes

# --- VTK's node order --------------------------------------------------------------------

_HEX = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))
_HEX_EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5),
              (2, 6), (3, 7))
_HEX_FACES = ((0, 3, 7, 4), (1, 2, 6, 5), (0, 1, 5, 4), (3, 2, 6, 7), (0, 1, 2, 3),
              (4, 5, 6, 7), tuple(range(8)))  # VTK's face order, then the centre
_QUAD, _QUAD_EDGES = ((0, 0), (1, 0), (1, 1), (0, 1)), ((0, 1), (1, 2), (2, 3), (3, 0))
_TET = ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1))
_TET_EDGES = ((0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3))
_TRI, _TRI_EDGES = ((0, 0), (1, 0), (0, 1)), ((0, 1), (1, 2), (2, 0))
_WEDGE = ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1))


def _reference(corners, groups=()) -> np.ndarray:
    """(nodes, dim) VTK parametric coordinates: the corners, then the centre of each group
    of corners (edges, faces, the cell)."""
    corners = np.array(corners, dtype=float)
    return np.vstack([corners] + [corners[list(g)].mean(axis=0, keepdims=True)
                                  for g in groups])


VTK_CELLS = {
    skfem.ElementHex1: ("hexahedron", _reference(_HEX), (1, 3, 4)),
    skfem.ElementHexS2: ("hexahedron20", _reference(_HEX, _HEX_EDGES), (1, 3, 4)),
    skfem.ElementHex2: ("hexahedron27", _reference(_HEX, _HEX_EDGES + _HEX_FACES), (1, 3, 4)),
    skfem.ElementQuad1: ("quad", _reference(_QUAD), (1, 3)),
    skfem.ElementQuad2: ("quad9", _reference(_QUAD, _QUAD_EDGES + ((0, 1, 2, 3),)), (1, 3)),
    skfem.ElementTetP1: ("tetra", _reference(_TET), (1, 2, 3)),
    skfem.ElementTetP2: ("tetra10", _reference(_TET, _TET_EDGES), (1, 2, 3)),
    skfem.ElementTriP1: ("triangle", _reference(_TRI), (1, 2)),
    skfem.ElementTriP2: ("triangle6", _reference(_TRI, _TRI_EDGES), (1, 2)),
    skfem.ElementWedge1: ("wedge", _reference(_WEDGE), (1, 2, 3)),
}
"""scikit-fem scalar element -> (meshio / VTK cell name, VTK parametric coordinates of its
nodes (nodes, dim), the corners that span the cell from corner 0 (its orientation))."""


def vtk_order(element: skfem.Element, reflected: bool = False) -> np.ndarray:
    """(nodes,) the element's local dof at each VTK node: the one at the same reference
    point. ``reflected``: the order of the mirror image (x -> 1 - x on boxes, x <-> y on
    simplices and wedges), for cells whose reference map turns them inside out."""
    reference = VTK_CELLS[type(element)][1]
    if reflected:
        box = bool(np.any(np.all(reference[:, :2] == 1, axis=1)))
        reference = reference.copy()
        if box:
            reference[:, 0] = 1 - reference[:, 0]
        else:
            reference[:, [0, 1]] = reference[:, [1, 0]]
    distance = np.abs(reference[:, None, :] - element.doflocs[None, :, :]).sum(axis=2)
    order = distance.argmin(axis=1)
    if not np.allclose(distance[np.arange(len(order)), order], 0):
        raise ValueError(f"{type(element).__name__}: no dof at a VTK node")
    return order


def vtk_connectivity(mesh: skfem.Mesh, element: skfem.Element, element_dofs: np.ndarray,
                     cells: np.ndarray) -> tuple[str, np.ndarray]:
    """(VTK cell name, (cells, nodes) dofs in VTK's node order, every cell positively
    oriented) of ``cells`` for ``element``'s (nloc, all cells) ``element_dofs``."""
    name, local = vtk_local(mesh, element, cells)
    return name, np.take_along_axis(element_dofs[:, cells], local, axis=0).T


def vtk_local(mesh: skfem.Mesh, element: skfem.Element, cells: np.ndarray
              ) -> tuple[str, np.ndarray]:
    """(VTK cell name, (nodes, cells) the element's local dof at each VTK node of each of
    ``cells``, every cell positively oriented)."""
    name, _, axes = VTK_CELLS[type(element)]
    order, mirrored = vtk_order(element), vtk_order(element, reflected=True)
    corner = mesh.p[:, mesh.t[order[[0, *axes]]][:, cells]]  # (dim, 1 + axes, cells)
    spans = np.moveaxis(corner[:, 1:] - corner[:, :1], -1, 0)  # (cells, dim, axes)
    positive = np.linalg.det(spans) > 0
    return name, np.where(positive[None, :], order[:, None], mirrored[:, None])


# --- one part's piece --------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """The cells of one part on the nodes of a scalar space.

    cells : (c,) mesh cells; cell_type : VTK name; connectivity : (c, nodes) point index;
    nodes : (n,) the space's dof at each point; points : (dim, n) m; owner : (n,) a cell
    of each point; pair_cell, pair_point : (c * nodes,) every (cell, node) pair, for
    recovering gradients; pair_local : (c * nodes,) the element's local dof at each pair
    (its reference point is the element's ``doflocs``); owner_pair : (n,) the pair of each
    point in its owner cell; reference : (dim, nloc) the element's reference dof points.
    """

    cells: np.ndarray
    cell_type: str
    connectivity: np.ndarray
    nodes: np.ndarray
    points: np.ndarray
    owner: np.ndarray
    pair_cell: np.ndarray
    pair_point: np.ndarray
    pair_local: np.ndarray | None = None
    owner_pair: np.ndarray | None = None
    reference: np.ndarray | None = None
    # mesh id -> (mesh, (c, dim, dim) inverse Jacobians at the cells' centres): pair_values
    inverses: dict = dataclasses.field(default_factory=dict, init=False, repr=False,
                                       compare=False)

    def recovered(self, values: np.ndarray) -> np.ndarray:
        """(k, n) the mean over each point's cells of pair values (k, c * nodes)."""
        count = np.bincount(self.pair_point, minlength=len(self.nodes))
        return np.array([np.bincount(self.pair_point, weights=v, minlength=len(self.nodes))
                         for v in np.atleast_2d(values)]) / count  # a loop over components

    @property
    def pair_points(self) -> np.ndarray:
        return self.points[:, self.pair_point]


def piece_of(space: Space, cells: np.ndarray) -> Piece:
    """The piece of ``cells`` on the nodes of the scalar ``space``."""
    cell_type, local = vtk_local(space.mesh, space.elem, cells)
    dofs = np.take_along_axis(space.dofs.element_dofs[:, cells], local, axis=0).T
    nodes, first, connectivity = np.unique(dofs.ravel(), return_index=True,
                                           return_inverse=True)
    pair_cell = np.repeat(cells, dofs.shape[1])
    return Piece(cells, cell_type, connectivity.reshape(dofs.shape), nodes,
                 space.doflocs[:, nodes], pair_cell[first], pair_cell, connectivity.ravel(),
                 local.T.ravel(), first, np.asarray(space.elem.doflocs, dtype=float).T)


def export_space(thermal: ThermalResult | None, mechanical: WarpageResult | None) -> Space:
    """The scalar space whose nodes the pieces use: the richer element of the fields."""
    spaces = [r.space for r in (mechanical, thermal) if r is not None]
    space = max(spaces, key=lambda s: len(s.scalar_element.doflocs))
    return space if space.ncomp == 1 else space.with_element(space.scalar_element)


def part_pieces(package: MeshedPackage, space: Space) -> dict[str, Piece]:
    """part name -> its piece (parts with active cells only)."""
    part = np.asarray(package.cell_part)
    active = np.zeros(len(part), dtype=bool)
    active[space.active_cells] = True
    return {name: piece_of(space, np.flatnonzero((part == i) & active))
            for i, name in enumerate(package.parts) if np.any((part == i) & active)}


# --- fields on a piece -------------------------------------------------------------------

PARAVIEW_TENSOR = [0, 1, 2, 5, 3, 4]
"""Voigt (xx, yy, zz, yz, xz, xy) -> ParaView's 6-component order (XX, YY, ZZ, XY, YZ, XZ)."""
TENSOR_NAMES = ("XX", "YY", "ZZ", "XY", "YZ", "XZ")
CHUNK = 200_000
"""Points per evaluation call (bounds the memory of the shape functions)."""


def _in_chunks(evaluate, points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``evaluate(points, cells)`` (..., n) over slices of CHUNK points (a loop over chunks)."""
    return np.concatenate([evaluate(points[:, i:i + CHUNK], cells[i:i + CHUNK])
                           for i in range(0, len(cells), CHUNK)], axis=-1)


def vectors_3d(values: np.ndarray) -> np.ndarray:
    """(n, 3) from (dim, n): a 2D section's (x, z) placed in the plane y = 0."""
    values = np.asarray(values)
    if len(values) == 2:
        values = np.array([values[0], np.zeros_like(values[0]), values[1]])
    return values.T


def by_reference(space: Space, piece: Piece) -> bool:
    """Whether fields of ``space`` are evaluated at the piece's nodes from the reference cell
    (:func:`pair_values`): box meshes (affine cells: the inverse Jacobian is the cell's),
    H1 elements; elsewhere each point's reference coordinates come from scikit-fem's Newton
    inversion of the isoparametric map (``Space.evaluate``)."""
    return (piece.reference is not None and space.box is not None
            and isinstance(space.scalar_element, skfem.ElementH1))


def pair_values(space: Space, values: np.ndarray, piece: Piece
                ) -> tuple[np.ndarray, np.ndarray]:
    """(value (ncomp, pairs), gradient (ncomp, dim, pairs)) of the field with dof ``values``
    at every (cell, node) pair of ``piece`` (:func:`by_reference` spaces only).

    A pair's node is a dof point of the export element, so its reference coordinates are
    the element's ``doflocs``: the field's shape functions and their reference gradients
    there are tables (nloc x nodes), and on a box cell the inverse Jacobian is one matrix
    per cell. The same values as ``Space.evaluate`` at those points up to rounding (it
    finds the reference coordinates by Newton's method: 2/3 of the export's time above
    500k unknowns), without its per-point arrays."""
    elem, ncomp, reference = space.scalar_element, space.ncomp, piece.reference
    dim, nloc = reference.shape[0], len(elem.doflocs)
    tables = [elem.lbasis(reference, k) for k in range(nloc)]  # a loop over local dofs
    phi = np.array([t[0] for t in tables])  # (nloc, export nodes)
    dphi = np.array([t[1] for t in tables])  # (nloc, dim, export nodes)
    cells, values = piece.cells, np.asarray(values)
    pairs = len(piece.pair_cell)
    nodes, value, grad = pairs // max(len(cells), 1), np.empty((ncomp, pairs)), np.empty(
        (ncomp, dim, pairs))
    kept = piece.inverses.get(id(space.mesh))
    if kept is None or kept[0] is not space.mesh:  # one matrix per (affine, box) cell
        kept = piece.inverses[id(space.mesh)] = (space.mesh, np.linalg.inv(np.moveaxis(
            space.mesh._mapping().DF(np.full((dim, 1), 0.5), tind=cells)[..., 0], -1, 0)))
    step = max(1, CHUNK // max(nodes, 1))
    for start in range(0, len(cells), step):  # a loop over chunks of CHUNK pairs
        chunk = cells[start:start + step]
        c, rows = len(chunk), slice(start * nodes, (start + len(chunk)) * nodes)
        # vector dofs interleave: local dof ncomp * k + c is component c of function k
        local = values[space.dofs.element_dofs[:, chunk]].reshape(nloc, -1)  # (k, s c)
        inverse = kept[1][start:start + step]
        at = piece.pair_local[rows].reshape(c, nodes)
        if np.all(at == at[:1]):  # one local order (box meshes): the tables' columns in it
            value[:, rows] = (phi[:, at[0]].T @ local).reshape(nodes, ncomp, c).transpose(
                1, 2, 0).reshape(ncomp, -1)
            ref = (dphi[:, :, at[0]].reshape(nloc, -1).T @ local).reshape(
                dim, nodes, ncomp, c).transpose(2, 0, 3, 1)  # (s, reference axis, c, nodes)
        else:
            which, shape = np.arange(c)[:, None], (-1, ncomp, c)
            value[:, rows] = np.swapaxes((phi.T @ local).reshape(shape), 0, 1)[
                :, at, which].reshape(ncomp, -1)
            ref = np.moveaxis((dphi.reshape(nloc, -1).T @ local).reshape((dim,) + shape), 2,
                              0)[:, :, at, which]
        for j in range(dim):  # physical axis j: sum over reference axes i of dX_i/dx_j
            grad[:, j, rows] = sum(inverse[:, i, j, None] * ref[:, i] for i in range(dim)
                                   ).reshape(ncomp, -1)
    return value, grad


def _pair_stress(result: WarpageResult, piece: Piece, grad: np.ndarray) -> np.ndarray:
    """(6, pairs) stress (Pa) at the piece's pairs from the displacement gradient there, as
    ``result.stress_at`` computes it (the temperature at the pairs by reference too)."""
    T = result.temperature
    if isinstance(T, Field):
        T = (pair_values(T.space, T.values, piece)[0][0] if by_reference(T.space, piece)
             else _in_chunks(T.at, piece.pair_points, piece.pair_cell))
    out = []
    for i in range(0, len(piece.pair_cell), CHUNK):  # a loop over chunks of CHUNK pairs
        rows = slice(i, i + CHUNK)
        out.append(result.stress_of_gradient(grad[..., rows], piece.pair_points[:, rows],
                                             piece.pair_cell[rows],
                                             T[rows] if isinstance(T, np.ndarray) else T))
    return np.concatenate(out, axis=-1)


def mechanical_fields(result: WarpageResult, piece: Piece) -> dict[str, np.ndarray]:
    """Displacement at the piece's points, recovered stress, von Mises, principal."""
    if by_reference(result.space, piece):
        value, grad = pair_values(result.space, result.displacement, piece)
        stress = piece.recovered(_pair_stress(result, piece, grad))
        displacement = value[:, piece.owner_pair]
    else:
        stress = piece.recovered(_in_chunks(result.stress_at, piece.pair_points,
                                            piece.pair_cell))
        displacement = _in_chunks(result.displacement_at, piece.points, piece.owner)
    principal = principal_stresses(stress)
    return {"displacement_m": vectors_3d(displacement),
            "stress_Pa": stress[PARAVIEW_TENSOR].T, "von_mises_stress_Pa": von_mises(stress),
            "max_principal_stress_Pa": principal[2], "mid_principal_stress_Pa": principal[1],
            "min_principal_stress_Pa": principal[0]}


def cell_conductivity(result: ThermalResult) -> np.ndarray:
    """(dim, cells) W/(m K) along each axis, as the solve had it (k(T): at each cell's
    mean temperature)."""
    package = result.package
    if not is_nonlinear(package):
        return conductivity_field(package)
    return conductivity_field(package, cell_mean(result.space, result.temperature))


def thermal_fields(result: ThermalResult, piece: Piece, conductivity: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """Temperature at the piece's points, recovered gradient and heat flux -k grad T."""
    def gradient(points, cells):
        return result.space.evaluate(result.temperature, points, cells)[1]

    if by_reference(result.space, piece):
        value, grad = (a[0] for a in pair_values(result.space, result.temperature, piece))
        temperature = value[piece.owner_pair]
    else:
        grad = _in_chunks(gradient, piece.pair_points, piece.pair_cell)  # (dim, pairs)
        temperature = _in_chunks(result.temperature_at, piece.points, piece.owner)
    return {"temperature_C": temperature,
            "temperature_gradient_K_per_m": vectors_3d(piece.recovered(grad)),
            "heat_flux_W_per_m2": vectors_3d(piece.recovered(
                -conductivity[:, piece.pair_cell] * grad))}


# --- files -------------------------------------------------------------------------------

def name_table(package: MeshedPackage) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """((parts,) material id of each part, field data ``part:<name>`` / ``material:<name>``
    -> [id]); material ids number the sorted material names."""
    materials = sorted(set(package.part_materials.values()))
    material_id = np.array([materials.index(package.part_materials[p]) for p in package.parts],
                           dtype=np.int32)
    table = {f"part:{p}": np.array([i], dtype=np.int32) for i, p in enumerate(package.parts)}
    table.update({f"material:{m}": np.array([i], dtype=np.int32)
                  for i, m in enumerate(materials)})
    return material_id, table


def piece_file(piece: Piece, part: int, package: MeshedPackage,
               thermal: ThermalResult | None, mechanical: WarpageResult | None,
               conductivity: np.ndarray | None) -> bytes:
    """The ``.vtu`` of one part's piece with every field there is."""
    material_id, table = name_table(package)
    point_data = {}
    if thermal is not None:
        point_data.update(thermal_fields(thermal, piece, conductivity))
    if mechanical is not None:
        point_data.update(mechanical_fields(mechanical, piece))
    ncells = len(piece.cells)
    return vtu_bytes(vectors_3d(piece.points), piece.cell_type, piece.connectivity,
                     point_data=point_data,
                     cell_data={"part": np.full(ncells, part, dtype=np.int32),
                                "material": np.full(ncells, material_id[part], np.int32)},
                     field_data=table, component_names={"stress_Pa": TENSOR_NAMES})


def file_names(parts: Sequence[str]) -> dict[str, str]:
    """part name -> a file name (letters, digits, ``_.-``; unique)."""
    out: dict[str, str] = {}
    for i, part in enumerate(parts):
        safe = re.sub(r"[^\w.-]", "_", part) or "part"
        out[part] = safe if safe not in out.values() else f"{safe}_{i}"
    return out


def multiblock_files(name: str, package: MeshedPackage, pieces: dict[str, Piece],
                     thermal: ThermalResult | None = None,
                     mechanical: WarpageResult | None = None) -> dict[str, bytes]:
    """Relative path -> content: ``name.vtm`` and ``name/<part>.vtu`` (``name`` may hold a
    folder: the index points at its pieces relative to itself)."""
    files = file_names(list(pieces))
    k = cell_conductivity(thermal) if thermal is not None else None
    stem = name.rsplit("/", 1)[-1]
    def make(part: str) -> bytes:
        return piece_file(pieces[part], package.parts.index(part), package, thermal,
                          mechanical, k)

    with reused_mappings():  # the fields share the nodes' reference coordinates
        spaces = [r.space for r in (thermal, mechanical) if r is not None] + (
            [mechanical.temperature.space] if isinstance(
                getattr(mechanical, "temperature", None), Field) else [])
        # on every core, largest first (numpy and zlib release the GIL): the same bytes;
        # off box meshes one thread (reused_mappings' few entries would be pushed out)
        made = map_apart(make, list(pieces), thread_count() if all(
            by_reference(space, piece) for space in spaces for piece in pieces.values())
            else 1, first=lambda part: -len(pieces[part].pair_cell))
    out = {f"{name}/{files[part]}.vtu": data for part, data in zip(pieces, made)}
    out[f"{name}.vtm"] = vtm_bytes([(part, f"{stem}/{files[part]}.vtu") for part in pieces])
    return out


def write_multiblock(folder: OutputFolder, name: str, package: MeshedPackage,
                     thermal: ThermalResult | None = None,
                     mechanical: WarpageResult | None = None) -> list[str]:
    """Stage ``name.vtm`` and its pieces in ``folder``; returns their relative names."""
    pieces = part_pieces(package, export_space(thermal, mechanical))
    return _staged(folder, multiblock_files(name, package, pieces, thermal, mechanical))


@dataclass(frozen=True)
class Frame:
    """One output time of a series: time (s, or the load temperature in degC for a warpage
    curve) and the fields at that time."""

    time: float
    thermal: ThermalResult | None = None
    mechanical: WarpageResult | None = None


def write_series(folder: OutputFolder, name: str, package: MeshedPackage,
                 frames: Sequence[Frame]) -> list[str]:
    """Stage ``name.pvd`` (one entry per frame) with ``name/NNNN.vtm`` and their pieces."""
    return _staged(folder, series_files(name, package, frames))


def series_files(name: str, package: MeshedPackage, frames: Sequence[Frame]
                 ) -> dict[str, bytes]:
    """Relative path -> content of ``write_series``."""
    first = frames[0]
    pieces = part_pieces(package, export_space(first.thermal, first.mechanical))
    files, entries = {}, []
    for i, frame in enumerate(frames):  # a loop over output times
        files.update(multiblock_files(f"{name}/{i:04d}", package, pieces, frame.thermal,
                                      frame.mechanical))
        entries.append((frame.time, f"{name.rsplit('/', 1)[-1]}/{i:04d}.vtm"))
    files[f"{name}.pvd"] = pvd_bytes(entries)
    return files


def transient_frames(result: ThermalResult) -> list[Frame]:
    """A transient's snapshots, one frame per output time (s)."""
    return [Frame(float(t), dataclasses.replace(result, temperature=np.asarray(snapshot)))
            for t, snapshot in zip(result.times, result.snapshots)]


def curve_frames(curve: Sequence[WarpageResult], temperatures: Sequence[float]) -> list[Frame]:
    """A warpage curve: one frame per load temperature (degC as the time value)."""
    return [Frame(float(t), mechanical=r) for t, r in zip(temperatures, curve)]


def _staged(folder: OutputFolder, files: dict[str, bytes]) -> list[str]:
    for path, data in files.items():
        folder.write_bytes(path, data)
    return list(files)


def write_results(folder: OutputFolder, package: MeshedPackage,
                  thermal: ThermalResult | None = None, mechanical: WarpageResult | None = None,
                  curve: Sequence[WarpageResult] = (), temperatures: Sequence[float] = ()
                  ) -> list[str]:
    """What ``thermomech run`` writes for ParaView: ``result.vtm`` (the final fields), with
    ``transient.pvd`` for a transient's snapshots and ``warpage_curve.pvd`` for a warpage
    curve (time value: the load temperature, degC). Returns the relative names staged."""
    return _staged(folder, result_files(package, thermal, mechanical, curve, temperatures))


def result_files(package: MeshedPackage, thermal: ThermalResult | None = None,
                 mechanical: WarpageResult | None = None, curve: Sequence[WarpageResult] = (),
                 temperatures: Sequence[float] = ()) -> dict[str, bytes]:
    """Relative path -> content of ``write_results`` (nothing written: a thread of
    ``analysis.write_outputs`` makes them while the summary is computed)."""
    pieces = part_pieces(package, export_space(thermal, mechanical))
    files = multiblock_files("result", package, pieces, thermal, mechanical)
    if thermal is not None and thermal.is_transient:
        files.update(series_files("transient", package, transient_frames(thermal)))
    if curve:
        files.update(series_files("warpage_curve", package, curve_frames(curve, temperatures)))
    return files


def history_files(package: MeshedPackage, history: Sequence, name: str = "process_history"
                  ) -> dict[str, bytes]:
    """Relative path -> content of ``name.pvd`` with one ``name/NNNN.vtm`` per increment of
    a process history (as ``write_series``): each multiblock holds the parts present at that
    increment (a carrier's block disappears once it is removed, a mold's appears when it
    is added). The .pvd time value is the increment's ordinal (0, 1, ...): temperatures
    repeat and go down on cooling, which a ParaView time axis does not allow; each
    increment's step and temperature are the rows of warpage_history.csv in the same
    order."""
    pieces = part_pieces(package, export_space(None, history[0].result))
    files, entries = {}, []
    for i, increment in enumerate(history):  # a loop over the recorded increments
        result = increment.result
        active = getattr(result.model, "active", None)
        present = {part: piece for part, piece in pieces.items()
                   if active is None or active[package.parts.index(part)]}
        files.update(multiblock_files(f"{name}/{i:04d}", package, present,
                                      mechanical=result))
        entries.append((float(i), f"{name.rsplit('/', 1)[-1]}/{i:04d}.vtm"))
    files[f"{name}.pvd"] = pvd_bytes(entries)
    return files
