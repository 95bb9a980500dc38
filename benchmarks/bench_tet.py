"""Heat and warpage on an imported tetrahedral mesh: the default flip-chip's hex mesh split
into six tetrahedra per cell (``MeshHex.to_meshtet``), parts carried over, through
``import_mesh``: no tensor grid, so the simplex assembly (or scikit-fem's generic forms with
``--assembly generic``); heat solved with ``cg-amg``, quadratic warpage with the two-level
cycle over the vertex field (``auto``). Constant k (one linear solve). Not a timed test;
prints one JSON line (seconds are wall, ``cpu_s`` the CPU of the solve call).

    python benchmarks/bench_tet.py 0.06                  # heat, P1: 484k unknowns, 2.76M tets
    python benchmarks/bench_tet.py 0.046                 # heat, P1: 1.03M unknowns, 6M tets
    python benchmarks/bench_tet.py --warpage 0.33        # warpage, Tet2: 320k unknowns
    python benchmarks/bench_tet.py 0.06 --assembly generic   # the scikit-fem forms
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time

import numpy as np


def tet_package(target_mm: float):
    """(model, imported tet package, seconds of the conversion) of the flip-chip at
    ``target_mm``, silicon with constant conductivity."""
    from thermomech.mesh_import import import_mesh
    from thermomech.model_file import load_model, mesh_model

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
    return model, package, time.perf_counter() - start


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(target_mm: float, warpage: bool = False, assembly: str = "auto") -> dict:
    from thermomech.mechanics import solve_warpage
    from thermomech.thermal import solve_thermal

    model, package, convert = tet_package(target_mm)
    start, cpu = time.perf_counter(), _cpu()
    if warpage:
        result = solve_warpage(package, model.mechanical, order=2, assembly=assembly)
        value = {"max_displacement": float(np.abs(result.displacement).max())}
    else:
        result = solve_thermal(package, model.thermal, order=1, assembly=assembly)
        value = {"max_temperature": float(np.max(result.temperature))}
    stats = result.stats
    linear = stats["linear_solver"]  # heat: the method's name and stats of its own
    linear = linear if isinstance(linear, dict) else {"method": linear, **stats}
    return {"case": "warpage Tet2" if warpage else "heat Tet1", "target_mm": target_mm,
            "tets": int(package.ncells), "unknowns": stats["unknowns"],
            "convert_s": convert, "assembly_s": stats.get("assembly_seconds"),
            "solve_s": stats.get("solve_seconds"), "total_s": time.perf_counter() - start,
            "cpu_s": _cpu() - cpu, "solver": linear.get("method"),
            "iterations": linear.get("iterations"), "setup_s": linear.get("setup_seconds"),
            "peak_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, **value}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target_mm", type=float)
    parser.add_argument("--warpage", action="store_true", help="Tet2 warpage instead of heat")
    parser.add_argument("--assembly", default="auto", help="auto, simplex or generic")
    args = parser.parse_args()
    print(json.dumps(run(args.target_mm, args.warpage, args.assembly), default=str))
