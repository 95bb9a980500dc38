"""A parallel VTU set: each rank writes the piece of its own cells, rank 0 the index.

``thermomech run MODEL --backend petsc --pvtu``: instead of gathering the fields whole to
rank 0 for ``result.vtu`` and ``result.vtm``, every rank writes ``result/piece_<rank>.vtu``
(its cells as linear cells at the mesh vertices, the vertex temperature in degC and
displacement in m, the part and material ids: the fields of the serial ``result.vtu``) and
rank 0 writes ``result.pvtu``, the ParaView index of the pieces. A rank needs the values at
its cells' vertices only: its owned ones and its ghosts (``system.values_at``). The pieces are
staged in rank 0's output folder (``files.OutputFolder.staged_folder``), which must be on a
file system every rank sees (as any MPI run's output on a cluster), and committed with the
other files by rank 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from ..paraview import name_table, vectors_3d, vtk_connectivity
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


def _at_vertices(comm, field: LocalField, vertices: np.ndarray) -> np.ndarray:
    """(vertices,) or (vertices, components) of ``field`` at mesh ``vertices``."""
    if field.nodal is None:
        return system.values_at(comm, field.numbering, field.owned, vertices) + field.offset
    dofs = field.nodal[:, vertices]
    values = system.values_at(comm, field.numbering, field.owned, dofs.ravel())
    return vectors_3d(values.reshape(dofs.shape))


def piece_bytes(comm, package, cells: np.ndarray, thermal: LocalField | None,
                mechanical: LocalField | None) -> bytes:
    """The ``.vtu`` of this rank's ``cells`` (collective: every rank calls it)."""
    mesh = package.mesh
    cell_type, corners = vtk_connectivity(mesh, mesh.elem(), mesh.t, cells)
    vertices, connectivity = np.unique(corners.ravel(), return_inverse=True)
    point_data = {}
    if thermal is not None:
        point_data["temperature_C"] = _at_vertices(comm, thermal, vertices)
    if mechanical is not None:
        point_data["displacement_m"] = _at_vertices(comm, mechanical, vertices)
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
