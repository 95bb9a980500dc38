"""Warpage solve of the default flip-chip (3D, quarter model, HexS2) at growing sizes.

Each size runs in its own process so the peak memory (ru_maxrss) is per size. Sizes grow
until one solve takes longer than ``--budget`` seconds (default 120). Not a timed test.

    python benchmarks/bench_mechanics.py [--budget 120] [--symmetry quarter]
    python benchmarks/bench_mechanics.py --one 0.076   # one size: 3.1M unknowns, ~2 min, 10 GiB
    python benchmarks/bench_mechanics.py --one 0.1219 --assembly structured   # stored fine level
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(target_mm: float, symmetry: str, layers: int, assembly: str = "auto") -> dict:
    from thermomech.mechanical_loads import MechanicalLoads
    from thermomech.mechanical_metrics import surface_warpage
    from thermomech.mechanics import solve_warpage
    from thermomech.meshing import MeshOptions
    from thermomech.model_file import Model, mesh_model
    from thermomech.packages.flip_chip import FlipChipSpec

    start = time.perf_counter()
    model = Model(FlipChipSpec(), mesh=MeshOptions(symmetry=symmetry, target_size=target_mm
                                                   * 1e-3, min_cells_per_layer=layers))
    package = mesh_model(model)
    meshed = time.perf_counter()
    result = solve_warpage(package, MechanicalLoads(), assembly=assembly)
    warpage = surface_warpage(result, "bottom").peak_to_valley
    stats = result.stats
    return {"target_mm": target_mm, "cells": package.ncells, "unknowns": stats["unknowns"],
            "mesh_s": meshed - start, "assembly_s": stats["assembly_seconds"],
            "solve_s": stats["solve_seconds"], "total_s": time.perf_counter() - start,
            "iterations": stats["linear_solver"].get("iterations"), "assembly": assembly,
            "peak_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "warpage_um": warpage * 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--symmetry", default="quarter")
    parser.add_argument("--one", type=float, help="one target size (mm), printed as JSON")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--assembly", default="auto",
                        help="auto (matrix-free on box meshes), structured (stored), cells")
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.symmetry, args.layers, args.assembly)))
        return 0
    print(f"{'target mm':>9} {'cells':>8} {'unknowns':>9} {'assemble s':>10} {'solve s':>8} "
          f"{'total s':>8} {'peak GiB':>8} {'warpage um':>10}")
    target = 1.0
    while True:
        out = subprocess.run([sys.executable, __file__, "--one", str(target), "--symmetry",
                              args.symmetry, "--layers", str(args.layers)],
                             capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:])
            return 1
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{row['target_mm']:9.3f} {row['cells']:8d} {row['unknowns']:9d} "
              f"{row['assembly_s']:10.1f} {row['solve_s']:8.1f} {row['total_s']:8.1f} "
              f"{row['peak_GiB']:8.2f} {row['warpage_um']:10.3f}", flush=True)
        if row["total_s"] > args.budget / 2.5:  # the next size (~2.5x unknowns) would exceed
            return 0
        target /= 1.35


if __name__ == "__main__":
    raise SystemExit(main())
