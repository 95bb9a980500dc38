"""The viscoelastic process benchmark of issue 15 (not a timed test): the default flip chip's
process recipe (meshes/process/flip_chip.toml geometry) with a 10-term Prony molded
underfill (the library's synthetic ``molded_underfill_ve``) through molding, a 4 h
post-mold cure and a reflow profile, about 50 increments.

    python benchmarks/bench_process_visco.py                          # the 0.5 mm mesh
    python benchmarks/bench_process_visco.py --target-size 0.22 --min-cells-per-layer 2
    python benchmarks/bench_process_visco.py --target-size 0.22 --min-cells-per-layer 2 --steps 4
    python benchmarks/bench_process_visco.py --steps 6 --power 18     # then a "thermal" field

Prints the unknowns, the increments, the solve time (wall and CPU, and wall per
increment), how many increments built a new system (a new active set or elastic stiffness:
assembly and condensation) and how many built a preconditioner (those and the rebuilds when
only the viscoelastic moduli changed), the CG iterations of every increment, the history
memory (doubles per point, MB) and the peak resident memory of the process. State the
machine load (``uptime``) with the numbers: the machine is shared. ``--power W``: after the
recipe (or its first STEPS steps) W on the die, the heat problem's steady field (h = 1000 /
100 W/(m^2 K) on top / bottom, 25 degC ambient) reached in 10 min, held 1 h and switched off
over 10 min: the viscoelastic shift per point; prints the CG iterations of each field
increment (``field_iterations``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermomech.material_library import LIBRARY  # noqa: E402
from thermomech.mechanical_loads import MechanicalLoads  # noqa: E402
from thermomech.model_file import load_model, mesh_model  # noqa: E402
from thermomech.parameters import from_dict  # noqa: E402
from thermomech.process import solve_process  # noqa: E402
from thermomech.process_history import history_records  # noqa: E402
from thermomech.thermal import solve_thermal  # noqa: E402
from thermomech.thermal_loads import ThermalLoads  # noqa: E402

REFLOW = [150.0, 183.0, 217.0, 240.0, 260.0, 240.0, 217.0, 183.0, 150.0, 25.0]
"""degC: the reflow profile of meshes/process/flip_chip.toml, 30 s between its points."""


def recipe() -> list[dict]:
    steps = [
        {"name": "cool to mold", "temperature": 175.0, "duration": "2 min"},
        {"name": "mold", "add": ["encapsulant", "adhesive", "heat_sink"],
         "duration": "2 min", "increments": 2},
        {"name": "cool", "temperature": 25.0, "duration": "50 min", "increments": 5},
        {"name": "heat to post-mold cure", "temperature": 175.0, "duration": "30 min",
         "increments": 3},
        {"name": "post-mold cure", "duration": "4 h", "increments": "auto"},
        {"name": "cool after cure", "temperature": 25.0, "duration": "50 min",
         "increments": 5},
    ]
    steps += [{"name": f"reflow {T:g} degC", "temperature": T, "duration": "30 s",
               "increments": 2 if T > 200 else 1} for T in REFLOW]
    return steps


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-size", type=float, default=None, help="mm")
    parser.add_argument("--min-cells-per-layer", type=int, default=None)
    parser.add_argument("--solver", default="auto")
    parser.add_argument("--steps", type=int, default=None,
                        help="only the first STEPS steps of the recipe (a shorter run)")
    parser.add_argument("--power", type=float, default=None,
                        help="W on the die after the recipe: a \"thermal\" field phase")
    args = parser.parse_args(argv)
    model = load_model(ROOT / "meshes" / "process" / "flip_chip.toml")
    mesh = model.mesh
    if args.target_size is not None:
        mesh = dataclasses.replace(mesh, target_size=args.target_size * 1e-3)
    if args.min_cells_per_layer is not None:
        mesh = dataclasses.replace(mesh, min_cells_per_layer=args.min_cells_per_layer)
    mold = dataclasses.replace(LIBRARY["molded_underfill_ve"], name="molded_underfill")
    model = dataclasses.replace(model, mesh=mesh,
                                materials={**model.materials, "molded_underfill": mold})
    tick = time.perf_counter()
    package = mesh_model(model)
    meshed = time.perf_counter() - tick
    steps, thermal = recipe()[:args.steps], None
    if args.power is not None:
        thermal = solve_thermal(package, from_dict(ThermalLoads, {
            "ambient": 25.0, "power": {"die": args.power}, "convection": [
                {"surface": "top", "h": 1000.0}, {"surface": "bottom", "h": 100.0}]},
            "thermal"))
        steps += [{"name": "power on", "temperature": "thermal", "duration": "10 min",
                   "increments": 3},
                  {"name": "power on hold", "duration": "1 h", "increments": "auto"},
                  {"name": "power off", "temperature": 25.0, "duration": "10 min",
                   "increments": 2}]
    loads = from_dict(MechanicalLoads, {"initial_temperature": 217.0, "steps": steps},
                      "mechanical")
    tick, cpu = time.perf_counter(), _cpu()
    run = solve_process(package, loads, solver=args.solver, thermal=thermal)
    seconds, cpu = time.perf_counter() - tick, _cpu() - cpu
    stats = [i.result.stats for i in run.increments]
    solver = [s["linear_solver"] for s in stats]
    model_history = run.increments[-1].result.model.history
    points = sum(offset.shape[1] * offset.shape[2] for _, offset in model_history)
    out = {
        "unknowns": stats[-1]["unknowns"], "increments": len(run.increments),
        "new_systems": sum(bool(s["new_system"]) for s in stats),
        "preconditioners_built": sum(bool(s["new_system"] or solver.get(
            "preconditioner_rebuilt")) for s, solver in zip(stats, solver)),
        "cg_iterations": [solver.get("iterations") for solver in solver],
        "mesh_s": round(meshed, 2), "solve_s": round(seconds, 1), "solve_cpu_s": round(cpu, 1),
        "per_increment_s": round(seconds / len(run.increments), 2),
        "viscoelastic_points": points, "terms": len(mold.viscoelastic.prony_moduli),
        "history_MB": round(points * (6 + 6 * len(mold.viscoelastic.prony_moduli)) * 8 / 1e6,
                            1),
        "stored_history_stress_MB_per_increment": round(points * 6 * 4 / 1e6, 1),
        "peak_rss_GB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "final_warpage_um": {s: w and round(w, 3) for s, w in
                             history_records(run.increments[-1:])[0]["warpage_um"].items()},
        "time_h": round(run.increments[-1].time / 3600, 3),
        "solver": stats[-1]["linear_solver"].get("method"),
    }
    if thermal is not None:
        out["field_C"] = [round(float(thermal.temperature.min()), 1),
                          round(float(thermal.temperature.max()), 1)]
        out["field_iterations"] = [s["field_iterations"] for s in stats
                                   if "field_iterations" in s]
    print(json.dumps(out, indent=1))
    return out


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
