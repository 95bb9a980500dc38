"""VTK XML files from numpy and the standard library: unstructured grids (``.vtu``),
multiblock indexes (``.vtm``) and time series (``.pvd``), as bytes.

Why not meshio or vtk: meshio's VTU writer drops field data (the part and material name
table) and component names, and writes no ``.vtm`` / ``.pvd``; the ``vtk`` wheel writes all
of it but installs 566 MB (vtk 9.7, measured) for a few hundred lines of XML. The grids
here are binary (base64), UInt64 headers, zlib blocks, as VTK's and meshio's writers make
them; meshio, VTK and ParaView read them (``tests/test_paraview.py``). An array's zlib
blocks are compressed on every core (``threads``: zlib releases the GIL), the same bytes.

Computed float fields (stresses, gradients, displacements, temperatures) hardly compress:
zlib level 1 shrinks their blocks by 3-28 % at about 50 MB/s, while coordinates (8-10x) and
connectivity (5-6x) shrink fast. So each 1 MiB block is first tried on its first 64 KiB: a
block whose sample does not shrink below half its size is stored (zlib level 0: a valid
zlib stream, which every zlib reader reads, of the block's bytes as they are), the others
compressed at ``level``. At 562k unknowns the samples of the multiblock's blocks were
0.10-0.19 (coordinates, connectivity) and 0.72-0.97 (fields). Storing only blocks above
0.9 took 0.61 -> 0.24 s CPU for 30.1 -> 31.2 MB; storing every field block (above 0.5)
takes the pieces' encoding from 0.27 to 0.15 s CPU (one thread) for 1.2 MB more (47.2 ->
48.3 MB of files). The arrays read back the same to the bit (``tests/test_paraview.py``).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np

from .threads import map_ordered, thread_count

CELL_TYPES = {"hexahedron": 12, "hexahedron20": 25, "hexahedron27": 29, "quad": 9,
              "quad8": 23, "quad9": 28, "tetra": 10, "tetra10": 24, "triangle": 5,
              "triangle6": 22, "wedge": 13}
"""meshio's cell-type names -> VTK cell type ids."""

_TYPES = {np.dtype("<f8"): "Float64", np.dtype("<f4"): "Float32", np.dtype("<i4"): "Int32",
          np.dtype("<i8"): "Int64", np.dtype("<u1"): "UInt8"}
_BLOCK = 1 << 20  # bytes per zlib block (VTK's readers take any size)
_SAMPLE = 1 << 16  # bytes of a block tried first: stored if they do not compress
_STORED = 0.5  # ... to below this fraction of their size
_HEADER = np.dtype("<u8")


class _Arrays:
    """Data arrays as XML elements: inline binary (base64 of the zlib blocks' header, then
    base64 of the blocks). Inline rather than appended: meshio's reader of appended raw
    data mixes up arrays whose offsets coincide once re-encoded."""

    def __init__(self, level: int):
        self.level = level

    def array(self, name: str, data: np.ndarray, extra: str = "") -> bytes:
        """The ``DataArray`` element, UTF-8 (bytes throughout: a 562k-unknown multiblock's
        42 MB of base64 are not decoded to text and encoded back)."""
        data = np.ascontiguousarray(data)
        data = data.astype(data.dtype.newbyteorder("<"), copy=False)
        kind = _TYPES[data.dtype]
        components = "" if data.ndim == 1 else f' NumberOfComponents="{data.shape[1]}"'
        return b"".join((f'<DataArray type="{kind}" Name={quoteattr(name)}{components}{extra} '
                         f'format="binary">'.encode(), *self._encode(data), b"</DataArray>"))

    def _encode(self, data: np.ndarray) -> tuple[bytes, bytes]:
        view = memoryview(data.reshape(-1)).cast("B")  # the array's bytes, not a copy
        blocks = list(map_ordered(self._compress, [view[i:i + _BLOCK] for i in range(
            0, len(view), _BLOCK)], threads=_threads(len(view))))  # MiB blocks, on threads
        last = len(view) - (len(blocks) - 1) * _BLOCK if blocks else 0
        header = np.array([len(blocks), _BLOCK, last, *map(len, blocks)], dtype=_HEADER)
        return base64.b64encode(header.tobytes()), base64.b64encode(b"".join(blocks))

    def _compress(self, block) -> bytes:
        """The block's zlib stream: compressed at ``level``, or stored (level 0) when its
        first 64 KiB do not compress below half their size (a float field's bytes)."""
        if self.level and len(block) > _SAMPLE and \
                len(zlib.compress(block[:_SAMPLE], self.level)) > _STORED * _SAMPLE:
            return zlib.compress(block, 0)
        return zlib.compress(block, self.level)


def _threads(size: int) -> int:
    """Threads compressing an array of ``size`` bytes: zlib releases the GIL, so its blocks
    compress at once on every core (the same bytes); one thread below two blocks."""
    return min(thread_count(), -(-size // _BLOCK)) if size > _BLOCK else 1


def vtu_bytes(points: np.ndarray, cell_type: str, connectivity: np.ndarray, *,
              point_data: Mapping[str, np.ndarray] | None = None,
              cell_data: Mapping[str, np.ndarray] | None = None,
              field_data: Mapping[str, np.ndarray] | None = None,
              component_names: Mapping[str, Sequence[str]] | None = None,
              level: int = 1) -> bytes:
    """An unstructured grid of one cell type as a ``.vtu`` file.

    points : (n, 3) coordinates; cell_type : a meshio name (:data:`CELL_TYPES`);
    connectivity : (cells, nodes) point indices in VTK's node order; point_data : arrays
    (n,) or (n, components); cell_data : (cells,) or (cells, components); field_data :
    arrays of any length (the whole grid's); component_names : names of the components of
    some arrays (ParaView shows them); level : zlib compression level (1: fast).
    """
    connectivity = np.asarray(connectivity, dtype=np.int64)
    ncells, nodes = connectivity.shape
    out = _Arrays(level)
    names = component_names or {}

    def arrays(tag: str, data: Mapping[str, np.ndarray] | None, tuples: bool = False):
        if not data:
            return []
        items = [f"<{tag}>\n".encode()]
        for name, values in data.items():
            extra = "".join(f' ComponentName{i}={quoteattr(c)}'
                            for i, c in enumerate(names.get(name, ())))
            if tuples:
                extra += f' NumberOfTuples="{len(values)}"'
            items += [out.array(name, np.asarray(values), extra), b"\n"]
        return items + [f"</{tag}>\n".encode()]

    head = ('<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" '
            'byte_order="LittleEndian" header_type="UInt64" '
            'compressor="vtkZLibDataCompressor">\n<UnstructuredGrid>\n')
    return b"".join([
        head.encode(), *arrays("FieldData", field_data, tuples=True),
        f'<Piece NumberOfPoints="{len(points)}" NumberOfCells="{ncells}">\n'.encode(),
        *arrays("PointData", point_data), *arrays("CellData", cell_data),
        b"<Points>\n", out.array("Points", np.asarray(points, dtype=float)),
        b"\n</Points>\n<Cells>\n", out.array("connectivity", connectivity.ravel()), b"\n",
        out.array("offsets", nodes * np.arange(1, ncells + 1, dtype=np.int64)), b"\n",
        out.array("types", np.full(ncells, CELL_TYPES[cell_type], dtype=np.uint8)),
        b"\n</Cells>\n</Piece>\n</UnstructuredGrid>\n</VTKFile>\n"])


def vtm_bytes(blocks: Sequence[tuple[str, str]]) -> bytes:
    """A multiblock index: one named block per (name, file), files relative to the
    ``.vtm``'s folder (ParaView lists, shows, hides and colours blocks by name)."""
    items = "".join(f'    <DataSet index="{i}" name={quoteattr(name)} file={quoteattr(file)}/>\n'
                    for i, (name, file) in enumerate(blocks))
    return ('<?xml version="1.0"?>\n<VTKFile type="vtkMultiBlockDataSet" version="1.0" '
            'byte_order="LittleEndian" header_type="UInt64">\n  <vtkMultiBlockDataSet>\n'
            f'{items}  </vtkMultiBlockDataSet>\n</VTKFile>\n').encode()


def pvd_bytes(entries: Sequence[tuple[float, str]]) -> bytes:
    """A time series: one (time, file) per output time, files relative to the ``.pvd``'s
    folder (any VTK XML file: ``.vtm`` multiblocks here)."""
    items = "".join(f'    <DataSet timestep="{float(t)!r}" group="" part="0" '
                    f'file={quoteattr(file)}/>\n' for t, file in entries)
    return ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" '
            'byte_order="LittleEndian">\n  <Collection>\n'
            f'{items}  </Collection>\n</VTKFile>\n').encode()
