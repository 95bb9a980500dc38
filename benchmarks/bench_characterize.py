"""JEDEC characterization speed: ``characterize`` of meshes/flip_chip.toml (both boards, three
environments, theta_JB, theta_JC top and bottom: 9 steady k(T) solves on one 98 565-cell
mesh), with the reuse across boundary-condition sets (thermomech.steady_sets) and without it
(``--fresh``: one independent ``solve_thermal`` per set, as before the reuse).

Each variant runs in a fresh process; wall and process CPU seconds (all threads) are
printed with the per-run seconds and k(T) iterations, and theta_JA 2s2p still air to show
the variants agree. Wall time depends on what else the machine runs; CPU seconds less so.
Not a timed test.

``--command`` times the whole ``thermomech characterize`` command instead (the BC sets, the
DELPHI fit and the Zth transients; imports included): wall and CPU seconds of the child
process (user + system, all threads), the target being 60 s wall on 2 cores.

Run: ``python benchmarks/bench_characterize.py [--fresh] [--both] [--command]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, time
from thermomech import characterization
from thermomech.model_file import load_model
from thermomech.thermal import solve_thermal

class Fresh:  # one independent solve_thermal per set (no reuse)
    def __init__(self, package, solver="auto"):
        self.package, self.solver = package, solver
    def solve(self, loads):
        return solve_thermal(self.package, loads, solver=self.solver)

if {fresh}:
    characterization.SteadyHeat = Fresh
model = load_model("meshes/flip_chip.toml")
wall, cpu = time.perf_counter(), time.process_time()
table = characterization.characterize(model)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({{"variant": "fresh" if {fresh} else "reuse", "wall_s": wall, "cpu_s": cpu,
                  "cells": table["board"]["cells"],
                  "theta_JA_2s2p_still_K_per_W": table["theta_JA_K_per_W"]["2s2p"]["still_air"],
                  "runs": {{k: [round(r["seconds"], 2), r.get("k_of_T_iterations")]
                           for k, r in table["runs"].items()}}}}))
"""


def run(fresh: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(fresh=fresh)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def command() -> dict:
    """Wall and CPU seconds of ``python -m thermomech characterize meshes/flip_chip.toml``."""
    import os
    import resource
    import tempfile
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        wall = time.perf_counter()
        subprocess.run([sys.executable, "-m", "thermomech", "characterize",
                        "meshes/flip_chip.toml", "--out", out], check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        wall = time.perf_counter() - wall
        table = json.load(open(f"{out}/characterization.json"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"variant": "command", "wall_s": wall, "cpu_s": cpu,
            "load_average": os.getloadavg(), "bc_sets_s": table["seconds"],
            "delphi_s": table["delphi"]["errors"]["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="no reuse (solve_thermal per set)")
    parser.add_argument("--both", action="store_true", help="fresh, then reuse")
    parser.add_argument("--command", action="store_true", help="the whole command")
    args = parser.parse_args()
    if args.command:
        print(json.dumps(command(), indent=1))
        return
    for fresh in ((True, False) if args.both else (args.fresh,)):
        print(json.dumps(run(fresh), indent=1))


if __name__ == "__main__":
    main()
