"""A whole ``thermomech run``: how the wall time splits into mesh + solves and outputs.

Each run is the CLI in a fresh process (start-up and imports included, as a user waits for
them); the stage times come from its ``times:`` line. Targets (issue 18):

- the default run (meshes/flip_chip.toml, all outputs) within 1.5x its mesh + solve time;
- writing the outputs under 20 % of the solve time on models above 500k unknowns.

    python benchmarks/bench_run.py                         # the default run, 2 repeats
    python benchmarks/bench_run.py --target-size 0.25 --min-cells-per-layer 2   # ~0.6M
    python benchmarks/bench_run.py --repeat 3 --json out/bench_run.json

Timings are noisy on a shared machine: state the load (``uptime``) with the numbers, and
compare two versions back to back (``--python-path`` runs another checkout).

Python's compiled bytecode: an installed thermomech has it (pip compiles the modules), but
these development sessions run with ``PYTHONDONTWRITEBYTECODE=1`` and a checkout without
``__pycache__``, so every start compiles thermomech's ~90 modules again (0.2 s CPU in the
run and again in the figure helper). By default the runs here use bytecode compiled once
into a temporary ``PYTHONPYCACHEPREFIX`` (an untimed import first), as an installed
package would; ``--no-bytecode`` measures the environment as it is (the figures of the
sessions before this option).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMES = re.compile(r"times: (.*)")
MEDIANS = ("wall_s", "cpu_s", "mesh_s", "thermal_s", "mechanical_s", "outputs_s", "total_s",
           "wall_over_mesh_solve", "outputs_over_solve")
"""The columns whose median over the repeats is printed last (issue 18 quotes medians)."""


def stage_times(printed: str) -> dict[str, float]:
    """{stage: seconds} of the ``times:`` line (mesh, thermal, mechanical, outputs, total)."""
    line = TIMES.search(printed)
    if line is None:
        raise RuntimeError(f"no times line in the output:\n{printed}")
    return {name: float(value) for name, value in
            re.findall(r"([a-z]+) ([0-9.]+) s", line.group(1))}


def model_file(model: Path, target_size: float | None, min_cells: int | None,
               folder: Path) -> Path:
    """``model`` with the mesh options changed (a copy in ``folder``), or ``model``."""
    if target_size is None and min_cells is None:
        return model
    import dataclasses

    sys.path.insert(0, str(ROOT))
    from thermomech.model_file import dump_model, load_model

    loaded = load_model(model)
    changes = {}
    if target_size is not None:
        changes["target_size"] = target_size * 1e-3
    if min_cells is not None:
        changes["min_cells_per_layer"] = min_cells
    path = folder / model.name
    dump_model(loaded.with_values(mesh=dataclasses.replace(loaded.mesh, **changes)), path)
    return path


def environment(python_path: Path, pycache: Path | None) -> dict:
    """The runs' environment: ``python_path`` first on the path; with ``pycache``, bytecode
    compiled there (``PYTHONPYCACHEPREFIX``) and kept."""
    env = {**os.environ, "PYTHONPATH": str(python_path), "MPLBACKEND": "Agg"}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def compile_once(env: dict, cwd: Path) -> None:
    """Import what a run imports (the figure helper's modules too), untimed: the bytecode."""
    subprocess.run([sys.executable, "-c", "import thermomech.cli, thermomech.analysis, "
                    "thermomech.report, thermomech.plotting.figures, thermomech.plotting.helper,"
                    " matplotlib.backends.backend_agg"], env=env, check=True, cwd=cwd)


def run_once(model: Path, out: Path, env: dict) -> dict:
    """One ``thermomech run`` in a fresh process: wall time and its stage times (s)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "thermomech", "run", str(model), "--out",
                           str(out)], env=env, capture_output=True, text=True, check=True,
                          cwd=out.parent)  # not this checkout: -m puts the cwd on the path
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu  # the run and its figure helper, every core
    stages = stage_times(done.stdout)
    summary = json.loads((out / "summary.json").read_text())
    mesh = summary["mesh"]
    solve = stages.get("thermal", 0.0) + stages.get("mechanical", 0.0)
    row = {"wall_s": wall, "cpu_s": cpu, **{f"{k}_s": v for k, v in stages.items()},
           "unknowns": mesh["thermal_unknowns"] + mesh["mechanical_unknowns"],
           "wall_over_mesh_solve": wall / (stages.get("mesh", 0.0) + solve)}
    if "outputs" in stages:
        row["outputs_over_solve"] = stages["outputs"] / solve
    return row


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "meshes" / "flip_chip.toml")
    parser.add_argument("--target-size", type=float, help="mesh.target_size in mm")
    parser.add_argument("--min-cells-per-layer", type=int)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--python-path", type=Path, default=ROOT,
                        help="checkout whose thermomech runs (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="no compiled bytecode kept when the environment says so "
                             "(PYTHONDONTWRITEBYTECODE): every start compiles thermomech")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = model_file(args.model.resolve(), args.target_size, args.min_cells_per_layer,
                           Path(tmp))
        env = environment(args.python_path, None if args.no_bytecode else Path(tmp) / "pyc")
        if not args.no_bytecode:
            compile_once(env, Path(tmp))
        for i in range(args.repeat):
            rows.append(run_once(model, Path(tmp) / f"run{i}", env))
            rows[-1]["bytecode"] = int(not args.no_bytecode)
            print(" ".join(f"{k} {v:.3g}" for k, v in rows[-1].items()), flush=True)
    if len(rows) > 1:
        print("median " + " ".join(f"{key} {statistics.median(r[key] for r in rows):.3g}"
                                   for key in MEDIANS if key in rows[0]))
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
