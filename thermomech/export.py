"""Writing results for other tools: VTU (vtk_xml) and XDMF (meshio) meshes, JSON summaries.

Every writer is atomic (``files.atomic_path`` / ``atomic_files``): it writes temporary files
next to the target and renames them, so a failed run never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .files import atomic_files, write_atomically
from .meshing import MeshedPackage
from .paraview import vtk_connectivity
from .vtk_xml import vtu_bytes


def mesh_arrays(package: MeshedPackage, point_data: Mapping[str, np.ndarray] | None = None,
                cell_data: Mapping[str, np.ndarray] | None = None) -> dict:
    """What :func:`to_meshio` and the ``.vtu`` writer write: ``points`` (n, 3),
    ``cell_type`` (meshio's name), ``cells`` (cells, nodes) in VTK's node order,
    ``point_data``, ``cell_data`` (``part``, ``material`` ids first) and ``field_data``
    (``part:<name>`` / ``material:<name>`` -> [id, dim])."""
    mesh = package.mesh
    points = mesh.p.T
    if points.shape[1] == 2:
        points = np.column_stack([points[:, 0], np.zeros(len(points)), points[:, 1]])
    # scikit-fem's corner order is not VTK's (a hexahedron written as is is tangled)
    cell_type, t = vtk_connectivity(mesh, mesh.elem(), mesh.t, np.arange(mesh.t.shape[1]))
    materials = sorted(set(package.part_materials.values()))
    material_id = np.array([materials.index(package.part_materials[p]) for p in package.parts])
    cells = {"part": package.cell_part.astype(np.int32),
             "material": material_id[package.cell_part].astype(np.int32)}
    cells.update({k: np.asarray(v) for k, v in (cell_data or {}).items()})
    nvert = mesh.p.shape[1]
    points_data = {k: np.asarray(v)[..., :nvert] if np.asarray(v).shape[-1] != nvert
                   and np.asarray(v).ndim == 1 else np.asarray(v)
                   for k, v in (point_data or {}).items()}
    field = {f"part:{p}": np.array([i, mesh.dim()]) for i, p in enumerate(package.parts)}
    field.update({f"material:{m}": np.array([i, mesh.dim()]) for i, m in enumerate(materials)})
    return {"points": points, "cell_type": cell_type, "cells": t, "point_data": points_data,
            "cell_data": cells, "field_data": field}


def to_meshio(package: MeshedPackage, point_data: Mapping[str, np.ndarray] | None = None,
              cell_data: Mapping[str, np.ndarray] | None = None):
    """A ``meshio.Mesh`` with cell data ``part`` and ``material`` (integer ids) plus fields.

    2D meshes (coordinates (x, z)) are written as the plane y = 0 in 3D space, so ParaView
    shows the section where it lies in the package. Point data are values at mesh vertices
    (first ``nvertices`` entries); cell data one value (or row) per cell.
    """
    import meshio

    a = mesh_arrays(package, point_data, cell_data)
    out = meshio.Mesh(a["points"], [(a["cell_type"], a["cells"])], point_data=a["point_data"],
                      cell_data={k: [v] for k, v in a["cell_data"].items()})
    out.field_data = a["field_data"]
    return out


def write_mesh(package: MeshedPackage, path: str | os.PathLike,
               point_data: Mapping[str, np.ndarray] | None = None,
               cell_data: Mapping[str, np.ndarray] | None = None) -> Path:
    """Write VTU, XDMF or any meshio format chosen by the suffix, atomically (companion
    files a format writes beside the target, such as an ``.h5``, too).

    ``.vtu`` goes through ``vtk_xml.vtu_bytes`` (the arrays of :func:`to_meshio`, which
    meshio reads back the same): meshio's writer compresses at zlib level 6 in 32 KiB
    blocks, 0.12 s of its 0.18 s CPU for result.vtu at 562k unknowns."""
    path = Path(path)
    if path.suffix == ".vtu":
        a = mesh_arrays(package, point_data, cell_data)
        data = vtu_bytes(a["points"], a["cell_type"], a["cells"], point_data=a["point_data"],
                         cell_data=a["cell_data"], field_data=a["field_data"])
        write_atomically(path, data)
        return path
    mesh = to_meshio(package, point_data, cell_data)
    # XDMF with inline XML data: one self-contained file, no HDF5 dependency
    options = {"data_format": "XML"} if path.suffix == ".xdmf" else {}
    with atomic_files(path) as staged:
        mesh.write(staged, file_format="xdmf" if path.suffix == ".xdmf" else None, **options)
    return path


def write_json(data, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON, atomically (numpy scalars converted)."""
    path = Path(path)
    write_atomically(path, json_bytes(data))
    return path


def json_bytes(data) -> bytes:
    """``data`` as indented JSON text, UTF-8 (numpy scalars and arrays converted)."""
    return (json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n").encode()


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
