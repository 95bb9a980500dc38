"""A 12-increment reflow history against single warpage solves of the same model (issue 14).

The default flip-chip (``meshes/flip_chip.toml``: 3D quarter model, HexS2) meshed at
``--target-size`` (0.21 mm: about 374k warpage unknowns), stress-free at 207 degC, measured
on the reflow profile 25, 150, 183, 217, 240, 260, 240, 217, 183, 150, 100, 25 degC (one
increment each, ``solve_process``). The SAC305 bumps and balls melt above 217 degC (removed)
and solidify strain-free at it, so the history has three active sets and one extra solve at
217 degC. Target: the history costs less than 4 single solves (``solve_warpage`` at 25 degC:
assembly and solve). Not a timed test: the figures depend on the machine and its load
(printed with ``os.getloadavg``).

    python benchmarks/bench_process.py [--target-size 0.21] [--repeat 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermomech.mechanical_loads import MechanicalLoads, ProcessStep  # noqa: E402
from thermomech.mechanics import solve_warpage  # noqa: E402
from thermomech.model_file import load_model, mesh_model  # noqa: E402
from thermomech.process import solve_process  # noqa: E402

PROFILE = (25.0, 150.0, 183.0, 217.0, 240.0, 260.0, 240.0, 217.0, 183.0, 150.0, 100.0, 25.0)
"""degC, one increment each (JESD22-B112 style reflow, shadow moire)."""


def reflow_loads(loads: MechanicalLoads) -> MechanicalLoads:
    steps = tuple(ProcessStep(name=f"{t:g} degC", temperature=t) for t in PROFILE)
    return dataclasses.replace(loads, temperature=25.0, steps=steps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-size", type=float, default=0.21, help="mm")
    parser.add_argument("--repeat", type=int, default=1, help="single solves timed")
    args = parser.parse_args(argv)
    model = load_model(ROOT / "meshes" / "flip_chip.toml")
    model = model.with_values(mesh=dataclasses.replace(
        model.mesh, target_size=args.target_size * 1e-3))
    package = mesh_model(model)
    loads = model.mechanical
    single = []
    for _ in range(args.repeat):
        tick = time.perf_counter()
        result = solve_warpage(package, loads)
        single.append(time.perf_counter() - tick)
    load_single = os.getloadavg()
    history_loads = reflow_loads(loads)
    tick = time.perf_counter()
    history = solve_process(package, history_loads)
    history_s = time.perf_counter() - tick
    load_history = os.getloadavg()
    increments = [{"temperature_C": i.temperature,
                   "seconds": i.result.stats.get("seconds"),
                   "new_system": i.result.stats.get("new_system"),
                   "iterations": i.result.stats["linear_solver"].get("iterations")}
                  for i in history.increments]
    out = {"target_mm": args.target_size, "cells": package.ncells,
           "unknowns": int(result.stats["unknowns"]),
           "single_solve_s": min(single), "single_solves_s": single,
           "history_s": history_s, "increments": len(history.increments),
           "history_over_single": history_s / min(single),
           "load_average_single": load_single, "load_average_history": load_history,
           "peak_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "per_increment": increments}
    print(json.dumps(out, indent=1))
    print(f"history of {len(history.increments)} increments: {history_s:.1f} s = "
          f"{history_s / min(single):.2f} single solves ({min(single):.1f} s, "
          f"{out['unknowns']} unknowns); target < 4")
    return 0


if __name__ == "__main__":
    sys.exit(main())
