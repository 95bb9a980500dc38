"""Heat on an imported tetrahedral mesh: the default flip-chip's hex mesh split into six
tetrahedra per cell (``MeshHex.to_meshtet``), parts carried over, through ``import_mesh``:
the generic path (scikit-fem assembly, ``cg-amg``). Constant k (one linear solve). Not a
timed test; prints one JSON line.

    python benchmarks/bench_tet.py 0.06    # target size, mm: 484k unknowns, 2.76M tets
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
import time

import numpy as np


def run(target_mm: float) -> dict:
    from thermomech.mesh_import import import_mesh
    from thermomech.model_file import load_model, mesh_model
    from thermomech.thermal import solve_thermal

    model = load_model("meshes/flip_chip.toml")
    model = model.with_values(mesh=dataclasses.replace(model.mesh, target_size=target_mm * 1e-3))
    silicon = model.all_materials["silicon"].with_values(conductivity_exponent=0.0)
    model = model.with_values(materials={**model.materials, "silicon": silicon})
    hexes = mesh_model(model)
    start = time.perf_counter()
    tets = hexes.mesh.to_meshtet()
    cells = tuple(len(a) - 1 for a in hexes.axes)

    def grid_cell(points):  # flat tensor-grid cell of each point (a cell centroid)
        multi = [np.searchsorted(axis, c) - 1 for axis, c in zip(hexes.axes, points)]
        return np.ravel_multi_index(tuple(multi), cells)

    hex_of_grid_cell = np.full(int(np.prod(cells)), -1)
    hex_of_grid_cell[grid_cell(hexes.mesh.p[:, hexes.mesh.t].mean(axis=1))] = np.arange(
        hexes.ncells)
    part = np.asarray(hexes.cell_part)[hex_of_grid_cell[grid_cell(
        tets.p[:, tets.t].mean(axis=1))]]
    tets = tets.with_subdomains({name: np.flatnonzero(part == i)
                                 for i, name in enumerate(hexes.parts)})
    package = import_mesh(tets, hexes.part_materials, hexes.materials,
                          dies=dict(hexes.layout.dies), options=hexes.options)
    convert = time.perf_counter() - start
    start = time.perf_counter()
    result = solve_thermal(package, model.thermal, order=1)
    stats = result.stats
    return {"target_mm": target_mm, "tets": int(tets.t.shape[1]), "unknowns": stats["unknowns"],
            "convert_s": convert, "assembly_s": stats.get("assembly_seconds"),
            "solve_s": stats.get("solve_seconds"), "total_s": time.perf_counter() - start,
            "solver": stats.get("linear_solver"),
            "peak_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "max_temperature": float(np.max(result.temperature))}


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1])), default=str))
