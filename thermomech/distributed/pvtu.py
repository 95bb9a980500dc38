"""A parallel VTU set: each rank writes the pieces of its own cells, rank 0 the indexes.

``thermomech run MODEL --backend petsc --pvtu``: instead of gathering the fields whole to
rank 0 for ``result.vtu`` and ``result.vtm``, every rank writes

- ``result/piece_<rank>.vtu``: its cells as linear cells at the mesh vertices, the vertex
  temperature in degC and displacement in m, the part and material ids (the fields of the
  serial ``result.vtu``), indexed by rank 0's ``result.pvtu``;
- ``result/<rank>/<part>.vtu``: per part, its cells of the part on the nodes of the
  solution's element with every field of the serial ``result.vtm``'s blocks
  (``paraview.piece_file``: quadratic cells, recovered nodal stress, von Mises and principal
  stresses, temperature gradient and heat flux, the name tables), indexed by rank 0's
  ``result.vtm``: one block per part named after it, holding the part's pieces of every
  rank (a VTK multipiece block: ``vtkXMLMultiBlockDataReader`` reads it; it cannot read a
  ``.pvtu`` as a block, measured with VTK 9.7).

A rank needs the values at its cells' dofs only: its owned ones and its ghosts
(``system.values_at``), set into a whole-length vector (NaN elsewhere) of the serial result
type, which ``paraview``'s functions evaluate on the rank's cells alone. The recovered
stress and flux at a node average over the part's cells sharing it; at a node that other
ranks' cells of the part also touch, the ranks exchange their sums and counts
(:class:`RankPiece`), so every piece equals the serial block at its nodes. The pieces are
staged in rank 0's output folder (``files.OutputFolder.staged_folder``), which must be on a
file system every rank sees (as any MPI run's output on a cluster), and committed with the
other files by rank 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from ..mechanics import solve_setup, temperature_field
from ..paraview import (
    Piece,
    cell_conductivity,
    export_space,
    file_names,
    name_table,
    piece_file,
    piece_of,
    vectors_3d,
    vtk_connectivity,
)
from ..results import ThermalResult, WarpageResult
from ..thermal import thermal_space
from ..vtk_xml import vtu_bytes
from . import system
from .partition import Numbering

TYPES = {"<f8": "Float64", "<i4": "Int32"}

FOLDER = "result"
"""The pieces' folder next to ``result.pvtu``."""


@dataclass(frozen=True, eq=False)
class LocalField:
    """One solution as the ranks hold it: the numbering and this rank's owned values
    (owned order); ``offset`` added to them (the heat solve's reference temperature);
    ``nodal`` (components, vertices) the dofs at the mesh vertices (None: dof = vertex)."""

    numbering: Numbering
    owned: np.ndarray
    offset: float = 0.0
    nodal: np.ndarray | None = None


def _at_vertices(field: LocalField, values: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """(vertices,) or (vertices, 3) of ``values`` ((N,) at ``field``'s dofs, known at this
    rank's cells: :func:`local_results`) at mesh ``vertices``."""
    if field.nodal is None:
        return values[vertices]
    return vectors_3d(values[field.nodal[:, vertices]])


def piece_bytes(package, cells: np.ndarray, fields: dict, thermal: ThermalResult | None,
                mechanical: WarpageResult | None) -> bytes:
    """The ``.vtu`` of this rank's ``cells`` at their vertices, from the fields of
    :func:`local_results` (no exchange of its own)."""
    mesh = package.mesh
    cell_type, corners = vtk_connectivity(mesh, mesh.elem(), mesh.t, cells)
    vertices, connectivity = np.unique(corners.ravel(), return_inverse=True)
    point_data = {}
    if thermal is not None:
        point_data["temperature_C"] = _at_vertices(fields["thermal"], thermal.temperature,
                                                   vertices)
    if mechanical is not None:
        point_data["displacement_m"] = _at_vertices(fields["mechanical"],
                                                    mechanical.displacement, vertices)
    material_id, table = name_table(package)
    part = np.asarray(package.cell_part)[cells].astype(np.int32)
    return vtu_bytes(vectors_3d(mesh.p[:, vertices]), cell_type,
                     connectivity.reshape(corners.shape), point_data=point_data,
                     cell_data={"part": part, "material": material_id[part]},
                     field_data=table)


def index_bytes(ranks: int, thermal: bool, mechanical: bool) -> bytes:
    """``result.pvtu``: the arrays every piece has and the pieces' files."""
    def declare(name, dtype, components=1):
        return (f'<PDataArray type="{TYPES[dtype]}" Name={quoteattr(name)} '
                f'NumberOfComponents="{components}"/>\n')

    point = (declare("temperature_C", "<f8") if thermal else "") + (
        declare("displacement_m", "<f8", 3) if mechanical else "")
    pieces = "".join(f'<Piece Source="{FOLDER}/piece_{r}.vtu"/>\n' for r in range(ranks))
    return ('<?xml version="1.0"?>\n<VTKFile type="PUnstructuredGrid" version="1.0" '
            'byte_order="LittleEndian" header_type="UInt64">\n'
            '<PUnstructuredGrid GhostLevel="0">\n'
            f"<PPointData>\n{point}</PPointData>\n"
            "<PCellData>\n" + declare("part", "<i4") + declare("material", "<i4")
            + "</PCellData>\n<PPoints>\n"
            '<PDataArray type="Float64" NumberOfComponents="3"/>\n</PPoints>\n'
            + pieces + "</PUnstructuredGrid>\n</VTKFile>\n").encode()


def write_piece(directory: str, rank: int, data: bytes) -> None:
    """Stage this rank's piece in rank 0's staged ``result`` folder."""
    (Path(directory) / f"piece_{rank}.vtu").write_bytes(data)


# --- the parts' pieces on the solution's nodes (result.vtm) --------------------------------

@dataclass(frozen=True, eq=False)
class RankPiece(Piece):
    """``paraview.Piece`` of one part's cells on this rank whose recovery also counts the
    part's cells on other ranks: ``shared`` neighbour rank -> (points,) this piece's points
    that rank's cells of the part touch too, in ascending node order (the same order on
    both sides); ``comm``, ``tag`` (the part's index) carry the exchange."""

    comm: object = None
    tag: int = 0
    shared: dict = dataclasses.field(default_factory=dict)

    def recovered(self, values: np.ndarray) -> np.ndarray:
        """(k, n) the mean over each point's cells of the part on every rank: this rank's
        sums and counts at the shared points sent to the neighbours, theirs added
        (point-to-point: only the ranks holding the part's cells on both sides of a cut
        call it, in the order of the parts)."""
        mean = super().recovered(values)
        if not self.shared:
            return mean
        count = np.bincount(self.pair_point, minlength=len(self.nodes)).astype(float)
        sent = [self.comm.isend((mean[:, p] * count[p], count[p]), dest=r, tag=self.tag)
                for r, p in self.shared.items()]  # a loop over neighbour ranks
        total, weight = mean * count, count
        for r, p in self.shared.items():
            sums, counts = self.comm.recv(source=r, tag=self.tag)
            total[:, p] += sums
            weight[p] += counts
        for request in sent:
            request.wait()
        return total / weight


def _shared(space, cells: np.ndarray, cell_rank: np.ndarray, rank: int, size: int,
            nodes: np.ndarray) -> dict[int, np.ndarray]:
    """Neighbour rank -> (points,) the positions in ``nodes`` (this rank's sorted nodes of
    the part) of the nodes the part's ``cells`` (all ranks') of that rank touch too."""
    dofs = space.element_dofs[:, cells]
    keys = np.unique(dofs.ravel().astype(np.int64) * size + np.broadcast_to(
        cell_rank[cells], dofs.shape).ravel())
    node, other = keys // size, keys % size
    keep = (other != rank) & np.isin(node, nodes)
    node, other = node[keep], other[keep]
    return {int(r): np.searchsorted(nodes, node[other == r])  # a loop over neighbour ranks
            for r in np.unique(other)}


def _whole(comm, field: LocalField, space, mine: np.ndarray) -> np.ndarray:
    """(N,) ``field`` at the dofs of ``space``'s cells ``mine`` (owned and ghosts), NaN at
    every other dof (collective)."""
    dofs = np.unique(space.element_dofs[:, mine])
    out = np.full(space.N, np.nan)
    out[dofs] = system.values_at(comm, field.numbering, field.owned, dofs) + field.offset
    return out


def local_results(comm, package, model, mine: np.ndarray, fields: dict
                  ) -> tuple[ThermalResult | None, WarpageResult | None]:
    """The serial result types on this rank, their fields known on its cells ``mine`` only
    (collective). ``fields``: "thermal" / "mechanical" LocalFields and "temperature" (the
    warpage's load: degC or the heat solve's field)."""
    thermal = mechanical = None
    if "thermal" in fields:
        space = thermal_space(package)
        thermal = ThermalResult(package, model.thermal, space,
                                _whole(comm, fields["thermal"], space, mine))
    if "mechanical" in fields:
        setup = solve_setup(package, model.mechanical, None, None)
        mechanical = WarpageResult(
            package, model.mechanical, setup.basis,
            _whole(comm, fields["mechanical"], setup.basis, mine), element=setup.element,
            plane=setup.model.plane, temperature=temperature_field(package,
                                                                   fields["temperature"]),
            stress_free_temperature=dict(zip(package.parts, setup.model.stress_free.tolist())),
            model=setup.model)
    return thermal, mechanical


def part_ranks(package, cell_rank: np.ndarray) -> dict[str, np.ndarray]:
    """part name -> the ranks holding its cells (parts with cells only)."""
    part = np.asarray(package.cell_part)
    return {name: np.unique(cell_rank[part == i]) for i, name in enumerate(package.parts)
            if np.any(part == i)}


def part_files(comm, package, cell_rank: np.ndarray, thermal: ThermalResult | None,
               mechanical: WarpageResult | None) -> dict[str, bytes]:
    """This rank's ``<part>.vtu`` per part it holds cells of (``paraview.piece_file`` on a
    :class:`RankPiece`): file name -> bytes. Collective among the ranks sharing a part."""
    space = export_space(thermal, mechanical)
    k = cell_conductivity(thermal) if thermal is not None else None
    part, names, out = np.asarray(package.cell_part), file_names(package.parts), {}
    for i, name in enumerate(package.parts):  # a loop over parts, in the same order on all
        cells = np.flatnonzero(part == i)
        mine = cells[cell_rank[cells] == comm.rank]
        if not len(mine):
            continue
        plain = piece_of(space, mine)
        piece = RankPiece(**{f.name: getattr(plain, f.name) for f in dataclasses.fields(
            Piece) if f.init}, comm=comm, tag=i,
            shared=_shared(space, cells, cell_rank, comm.rank, comm.size, plain.nodes))
        out[f"{names[name]}.vtu"] = piece_file(piece, i, package, thermal, mechanical, k)
    return out


def multiblock_bytes(package, cell_rank: np.ndarray) -> bytes:
    """``result.vtm``: one block per part, named after it, of the part's pieces
    ``result/<rank>/<part>.vtu`` in rank order, numbered from 0 in each block (VTK 9.7's
    reader leaves the pieces after a gap in the numbering empty: measured with a part on
    rank 1 alone numbered 1)."""
    names, blocks = file_names(package.parts), []
    for i, (name, ranks) in enumerate(part_ranks(package, cell_rank).items()):
        sets = "".join(f'      <DataSet index="{j}" file='
                       f'{quoteattr(f"{FOLDER}/{r}/{names[name]}.vtu")}/>\n'
                       for j, r in enumerate(ranks))
        blocks.append(f'    <Piece index="{i}" name={quoteattr(name)}>\n{sets}    </Piece>\n')
    return ('<?xml version="1.0"?>\n<VTKFile type="vtkMultiBlockDataSet" version="1.0" '
            'byte_order="LittleEndian" header_type="UInt64">\n  <vtkMultiBlockDataSet>\n'
            + "".join(blocks) + "  </vtkMultiBlockDataSet>\n</VTKFile>\n").encode()


def write_parts(directory: str, rank: int, files: dict[str, bytes]) -> None:
    """Stage this rank's part pieces in ``<staged result folder>/<rank>/``."""
    folder = Path(directory) / str(rank)
    folder.mkdir(exist_ok=True)
    for name, data in files.items():  # a loop over the rank's parts
        (folder / name).write_bytes(data)
