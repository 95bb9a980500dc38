"""The nodes, elements and sets of a CalculiX / Abaqus deck (see :mod:`thermomech.inp`).

Node k + 1 is scikit-fem's scalar dof k of the deck's element on the package mesh;
CalculiX's hexahedron order is made from the mesher's vertex order by
:data:`HEX_VERTICES`. meshio writes *NODE, *ELEMENT and *ELSET.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import skfem

from .errors import ModelError
from .meshing import Faces, MeshedPackage

HEX_VERTICES = np.array([0, 2, 4, 1, 3, 6, 7, 5])
"""CalculiX vertex k is the mesher's cell vertex HEX_VERTICES[k] (meshing._tensor_mesh)."""
QUAD_VERTICES = np.array([0, 1, 2, 3])
HEX_EDGES = np.array([(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4),
                      (1, 5), (2, 6), (3, 7)])
"""Midside node k of a C3D20 lies between CalculiX vertices HEX_EDGES[k]."""
QUAD_EDGES = np.array([(0, 1), (1, 2), (2, 3), (3, 0)])

SCALAR = {(3, 1): skfem.ElementHex1, (3, 2): skfem.ElementHexS2,
          (2, 1): skfem.ElementQuad1, (2, 2): skfem.ElementQuadS2}
"""(dimension, order) -> scikit-fem element whose dofs are the deck's nodes."""


@dataclass(frozen=True)
class DeckMesh:
    """The deck's nodes and elements.

    points : (nodes, dim) m; node k (deck number k + 1) is scalar dof k of ``element``.
    cells : (cells, nodes per cell) 0-based node indices in CalculiX order.
    element : the scikit-fem element of the node numbering.
    """

    points: np.ndarray
    cells: np.ndarray
    element: skfem.Element

    @property
    def dimension(self) -> int:
        return self.points.shape[1]

    @property
    def order(self) -> int:
        # 4 nodes: Quad1, 8: Hex1 in 3D but the 8-node quadrilateral in 2D
        return 1 if self.cells.shape[1] == 2 ** self.dimension else 2


def dof_coordinates(mesh: skfem.Mesh, element: skfem.Element) -> tuple[np.ndarray, np.ndarray]:
    """(dim, N) coordinates of the scalar dofs of a vertex/midside element, and (nloc, cells)
    element dofs (scikit-fem's numbering)."""
    dofs = skfem.Dofs(mesh, element)
    points = np.zeros((mesh.dim(), dofs.N))
    points[:, dofs.nodal_dofs[0]] = mesh.p
    if dofs.edge_dofs.size:
        points[:, dofs.edge_dofs[0]] = mesh.p[:, mesh.edges].mean(axis=1)
    if dofs.facet_dofs.size:
        points[:, dofs.facet_dofs[0]] = mesh.p[:, mesh.facets].mean(axis=1)
    return points, dofs.element_dofs


def deck_mesh(package: MeshedPackage, order: int) -> DeckMesh:
    """The nodes and CalculiX connectivity of ``package`` with linear or quadratic elements."""
    if not package.is_structured:
        raise ModelError("package", "the CalculiX export needs a box mesh of the thermomech "
                                    "mesher (imported meshes are not supported yet)")
    dim = package.dimension
    element = SCALAR[(dim, order)]()
    points, element_dofs = dof_coordinates(package.mesh, element)
    vertices = HEX_VERTICES if dim == 3 else QUAD_VERTICES
    corner = package.mesh.t[vertices]  # (nv, cells): mesh vertex = dof of the vertex
    if order == 1:
        return DeckMesh(points.T, np.ascontiguousarray(corner.T), element)
    edges = HEX_EDGES if dim == 3 else QUAD_EDGES
    nv = len(vertices)
    candidates = element_dofs[nv:]  # (edges, cells), scikit-fem's local edge order
    where = points[:, candidates]  # (dim, edges, cells)
    target = 0.5 * (points[:, corner[edges[:, 0]]] + points[:, corner[edges[:, 1]]])
    distance = np.abs(target[:, :, None, :] - where[:, None, :, :]).sum(axis=0)
    pick = np.argmin(distance, axis=1)  # (slots, cells)
    scale = np.ptp(package.mesh.p, axis=1).max()
    if distance.min(axis=1).max() > 1e-9 * scale:
        raise ModelError("package", "midside nodes do not match the mesh's edges")
    middle = np.take_along_axis(candidates, pick, axis=0)
    return DeckMesh(points.T, np.ascontiguousarray(np.vstack([corner, middle]).T), element)


def reference_nodes(dim: int, order: int) -> np.ndarray:
    """(nodes, dim) unit-cell coordinates of the CalculiX nodes of one element (0 or 1;
    midside 0.5)."""
    vertices = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1),
                         (1, 1, 1), (0, 1, 1)], dtype=float) if dim == 3 else np.array(
        [(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float)
    if order == 1:
        return vertices
    edges = HEX_EDGES if dim == 3 else QUAD_EDGES
    return np.vstack([vertices, 0.5 * (vertices[edges[:, 0]] + vertices[edges[:, 1]])])


def face_nodes(deck: DeckMesh, faces: Faces) -> np.ndarray:
    """Unique 0-based node indices on ``faces`` (every node of each face, midside included)."""
    ref = reference_nodes(deck.dimension, deck.order)
    out = [np.zeros(0, dtype=np.int64)]
    for side in np.unique(faces.sides):
        axis, plus = divmod(int(side), 2)
        slots = np.flatnonzero(ref[:, axis] == plus)
        out.append(deck.cells[np.ix_(faces.cells[faces.sides == side], slots)].ravel())
    return np.unique(np.concatenate(out))


MESHIO_TYPE = {(3, 1): "hexahedron", (3, 2): "hexahedron20", (2, 1): "quad", (2, 2): "quad8"}
"""meshio cell type of the deck's elements (meshio's node order is CalculiX's for these)."""


def to_meshio(deck: DeckMesh, parts: dict[str, np.ndarray]):
    """A meshio mesh of the deck (3D points) with one cell set per part."""
    import meshio

    points = deck.points
    if points.shape[1] == 2:
        points = np.column_stack([points, np.zeros(len(points))])
    cell_type = MESHIO_TYPE[(deck.dimension, deck.order)]
    return meshio.Mesh(points, [(cell_type, deck.cells)],
                       cell_sets={name: [np.asarray(cells)] for name, cells in parts.items()})


def mesh_text(deck: DeckMesh, element_type: str, parts: dict[str, np.ndarray]) -> str:
    """*NODE, *ELEMENT and one *ELSET per part, written by meshio's Abaqus writer."""
    import meshio

    buffer = io.StringIO()
    meshio.abaqus.write(buffer, to_meshio(deck, parts), float_fmt=".12e",
                        translate_cell_names=False)
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("*NODE"))
    # meshio names the type by its own cell name here; CalculiX's name depends on the physics
    out, in_elements = [], False
    for line in lines[start:]:
        if line.startswith("*"):
            in_elements = line.startswith("*ELEMENT")
            out.append(f"*ELEMENT, TYPE={element_type}" if in_elements else line)
        elif in_elements:
            out.append(wrapped(line))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def wrapped(line: str, per_line: int = 16) -> str:
    """An element line split into lines of at most 16 entries (CalculiX's limit; a line
    ending with a comma continues on the next)."""
    entries = line.split(",")
    return ",\n".join(",".join(entries[i:i + per_line])
                      for i in range(0, len(entries), per_line))


# --- small writers -----------------------------------------------------------------------

def id_lines(ids: Iterable[int], per_line: int = 16) -> str:
    """1-based ids, ``per_line`` per line, comma separated (an *ELSET / *NSET body)."""
    ids = [str(int(i)) for i in ids]
    return "".join(",".join(ids[i:i + per_line]) + ",\n" for i in range(0, len(ids), per_line))


def node_set(name: str, nodes: np.ndarray) -> str:
    return f"*NSET,NSET={name}\n" + id_lines(np.asarray(nodes) + 1)


def element_set(name: str, cells: np.ndarray) -> str:
    return f"*ELSET,ELSET={name}\n" + id_lines(np.asarray(cells) + 1)


def number(value: float) -> str:
    return f"{float(value):.12g}"


def deck_name(text: str) -> str:
    """A CalculiX set / material name: letters, digits and underscores, upper case."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text).upper()
