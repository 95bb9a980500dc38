"""The solder-joint reliability benchmark of issue 17 (not a timed test): three -40/125 degC
cycles of the default flip chip on the JEDEC 2s2p board with discrete balls (quarter model,
meshes/reliability/flip_chip_board.toml) with the balls creeping (Anand, SAC305) in the FE
cycle, then a submodel of the critical joint.

    python benchmarks/bench_reliability.py                        # Q1, 4 mm, growth 1.5
    python benchmarks/bench_reliability.py --target-size 2 --element-order 2

The global mesh: linear hexahedra (``mesh.element_order = 1``), cells of at most
``--target-size`` mm graded by ``--growth`` away from the package (the balls, bumps and
pad layers keep their own sizes). The submodel: the critical joint's column (its section,
from its board-side to its package-side pad, ``--inset`` mm inside its free side faces:
1 um in the measured run, taken when the point search of the global mesh still fell into
the void beside the ball; ``--inset 0`` works since ``BoxCells.locate`` keeps a point on a
face next to a void in its cell) at
``--local-size`` mm, quadratic, driven by the global displacement of the last cycle's
increment with the largest pad shear (an elastic local solve at that temperature: the
submodel does not carry the creep history).

Prints the mesh (cells, unknowns, creep points), the increments, the Newton iterations,
tangent factorizations, sub-increments and cuts, the wall and CPU seconds of the mesh, the
cycle and the submodel, the critical joint's range and energy, and the peak resident
memory. State the machine load (``uptime``) with the numbers: the machine is shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermomech.model_file import load_model  # noqa: E402
from thermomech.reliability import assess_reliability, reliability_summary  # noqa: E402
from thermomech.submodel import submodel  # noqa: E402


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-size", type=float, default=4.0, help="mm")
    parser.add_argument("--growth", type=float, default=1.5)
    parser.add_argument("--element-order", type=int, default=1)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--local-size", type=float, default=0.05, help="mm")
    parser.add_argument("--inset", type=float, default=1e-3, help="mm")
    parser.add_argument("--solver", default="auto")
    args = parser.parse_args(argv)
    model = load_model(ROOT / "meshes" / "reliability" / "flip_chip_board.toml")
    mesh = dataclasses.replace(model.mesh, target_size=args.target_size * 1e-3,
                               growth=args.growth, element_order=args.element_order)
    spec = dataclasses.replace(model.reliability, cycles=args.cycles)
    model = model.with_values(mesh=mesh, reliability=spec)
    tick, cpu = time.perf_counter(), _cpu()
    result = assess_reliability(model, solver=args.solver)
    cycle_s, cycle_cpu = time.perf_counter() - tick, _cpu() - cpu
    summary = reliability_summary(result)
    stats = [i.result.stats for i in result.process.increments]
    creep_part = list(result.package.parts).index(spec.joints)
    points = sum(r.energy.size for r in result.process.increments[-1].creep
                 if r.part == creep_part)

    # the submodel: the critical joint at the last cycle's increment of largest pad shear
    joints, k = result.joints, result.critical
    shear = np.linalg.norm(result.history[k], axis=-1).max(axis=0)  # (increments,)
    last = len(result.process.increments) - result.history.shape[2]
    increment = result.process.increments[last + int(np.argmax(shear))]
    inset = args.inset * 1e-3
    low = joints.lower[k] + inset * (joints.lower[k] > 0)  # not on a symmetry plane
    high = joints.upper[k] - inset
    region = ((low[0], high[0]), (low[1], high[1]), (joints.bottom[k], joints.top[k]))
    tick, cpu = time.perf_counter(), _cpu()
    state = dataclasses.replace(increment.result, loads=dataclasses.replace(
        increment.result.loads, steps=()))  # one state of the recipe
    local = submodel(state, region, args.local_size * 1e-3, solver=args.solver)
    local_s, local_cpu = time.perf_counter() - tick, _cpu() - cpu
    critical = summary["critical_joint"]
    out = {
        "mesh": {"target_size_mm": args.target_size, "growth": args.growth,
                 "element_order": args.element_order, "cells": int(result.package.ncells),
                 "unknowns": int(result.process.increments[-1].result.displacement.size),
                 "creep_points": int(points)},
        "increments": len(stats),
        "newton_iterations": int(sum(s["newton_iterations"] for s in stats)),
        "newton_iterations_max": int(max(s["newton_iterations"] for s in stats)),
        "tangent_factorizations": int(sum(s["tangent_factorizations"] for s in stats)),
        "substeps": int(sum(s["substeps"] for s in stats)),
        "cuts": int(sum(s["cuts"] for s in stats)),
        "cycle_s": round(cycle_s, 1), "cycle_cpu_s": round(cycle_cpu, 1),
        "seconds": {key: round(v, 1) for key, v in result.seconds.items()},
        "submodel": {"region_mm": (np.array(region) * 1e3).round(4).tolist(),
                     "unknowns": local.stats.get("unknowns"),
                     "temperature_C": increment.temperature, "wall_s": round(local_s, 1),
                     "cpu_s": round(local_cpu, 1)},
        "total_s": round(cycle_s + local_s, 1), "total_cpu_s": round(cycle_cpu + local_cpu, 1),
        "critical_joint": {key: critical.get(key) for key in (
            "index", "dnp_mm", "shear_strain_range", "creep_shear_strain_range",
            "energy_density_J_per_m3", "n50_cycles")},
        "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
