"""One model across MPI ranks (``--backend petsc``): strong scaling on this machine and the
partition numbers a weak-scaling model to 64 ranks needs. Not a timed test.

``strong``: the default flip-chip model (``meshes/flip_chip.toml``) at a given
``mesh.target_size``, heat (Q1, linear k: one solve) or warpage (HexS2), solved by
``distributed.solves`` on 1 and 2 ranks (``mpiexec -n``); per rank: peak memory (ru_maxrss),
assembly and solve seconds, iterations. With ``--outputs serial`` or ``--outputs pvtu``
the child is ``thermomech run --backend petsc [--pvtu]`` instead (no figures): per rank
the gather to rank 0, the solve's peak memory and the output stage's wall, CPU seconds
and peak memory (:data:`OUTPUTS`).

``weak``: cells per rank fixed, the box grid grown with the ranks; for 1..64 ranks the slab
partition's (and METIS', through pymetis) per-rank cells, owned dofs and halo dofs (the dofs
a rank's cells touch but another rank owns: rows sent once per assembly, values exchanged
once per CG iteration), measured with ``distributed.partition`` (NumPy only, no MPI).

``phases``: where the memory of a rank goes. One strong run with the steps of
``distributed.solves`` / ``system`` / ``smoother`` wrapped: per rank and step the resident
memory after it (VmRSS) and its peak (VmHWM, reset before each step through
/proc/self/clear_refs, so ru_maxrss is not used), wall and CPU seconds. Linux only.

Run: ``python benchmarks/bench_mpi.py strong --python .venv-mpi/bin/python --size 0.2``,
``python benchmarks/bench_mpi.py weak``; results go to benchmarks/baselines/mpi.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "benchmarks" / "baselines" / "mpi.json"

CHILD = """
import dataclasses, json, os, resource, sys, time
from thermomech.distributed.mpi import petsc
from thermomech.distributed import solves
from thermomech.model_file import load_model, mesh_model
MPI, PETSc = petsc()
comm = MPI.COMM_WORLD
model = load_model("meshes/flip_chip.toml")
model = model.with_values(mesh=dataclasses.replace(model.mesh, target_size={size}))
si = model.all_materials["silicon"].with_values(conductivity_exponent=0.0)
model = model.with_values(materials={{**model.materials, "silicon": si}})
tick = time.perf_counter()
package = mesh_model(model)
mesh_s = time.perf_counter() - tick
tick, cpu = time.perf_counter(), time.process_time()
if "{physics}" == "heat":
    result = solves.solve_heat(comm, PETSc, package, model.thermal, method="{method}")
else:
    result = (solves.solve_warpage(comm, PETSc, package, model.mechanical, [25.0],
                                   method="{method}") or [None])[0]
total_s = time.perf_counter() - tick
cpu = comm.gather(time.process_time() - cpu)
peak = comm.gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)
if comm.rank == 0:  # the results live on rank 0 only
    linear = result.stats if "{physics}" == "heat" else result.stats["linear_solver"]
    iterations = linear["iterations"]
    solve_s = linear["solve_seconds"] if "{physics}" == "heat" else linear["seconds"]
    assembly_s = result.stats["assembly_seconds"]
    print(json.dumps({{"physics": "{physics}", "ranks": comm.size, "method": "{method}",
                      "target_mm": {size} * 1e3, "cells": package.ncells,
                      "unknowns": result.stats["unknowns"], "iterations": iterations,
                      "mesh_s": mesh_s, "assembly_s": assembly_s, "solve_s": solve_s,
                      "total_s": total_s, "cpu_s_per_rank": cpu, "peak_GB_per_rank": peak,
                      "load_average": os.getloadavg()[0],
                      "halo": result.stats["halo"]}}))
"""


STEPS = """
import dataclasses, json, os, sys, time
rows = []
def status():
    lines = open("/proc/self/status").read().splitlines()
    return {{l.split(":")[0]: int(l.split()[1]) / 1e6 for l in lines
             if l.startswith(("VmRSS", "VmHWM"))}}
def reset():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
def timed(name, call, *a, **k):
    wall, cpu = time.perf_counter(), time.process_time()
    s = status()  # the peak since the last reset: a caller's work before this step
    if rows and s["VmHWM"] > s["VmRSS"] + 0.001:
        rows.append([f"(before {{name}})", s["VmRSS"], s["VmHWM"], 0.0, 0.0])
    reset()
    out = call(*a, **k)
    s = status()
    rows.append([name, s["VmRSS"], s["VmHWM"], time.perf_counter() - wall,
                 time.process_time() - cpu])
    reset()
    return out
def wrap(module, attr):
    call = getattr(module, attr)
    setattr(module, attr, lambda *a, **k: timed(f"{{module.__name__.split('.')[-1]}}.{{attr}}",
                                                call, *a, **k))
"""
"""``timed(name, call, ...)``: a step's resident memory after it, its peak (VmHWM, reset
before it), wall and CPU seconds as a row of ``rows``; ``wrap(module, attr)`` times every
call of ``module.attr``."""

PHASES = STEPS + """
from thermomech.distributed.mpi import petsc
from thermomech.distributed import smoother, solves, system
from thermomech.model_file import load_model, mesh_model
MPI, PETSc = timed("import and PETSc init", petsc)
comm = MPI.COMM_WORLD
for name in ("cell_ranks", "thermal_space", "assemble_problem", "warpage_system", "owners",
             "Numbering", "local_rows", "steady_result", "warpage_results"):
    if hasattr(solves, name):
        wrap(solves, name)
for name in ("owned_rows", "_split", "operator", "lines_on_finest", "solve",
             "residual", "gather"):
    wrap(system, name)
init = smoother.LineSmoother.__init__
smoother.LineSmoother.__init__ = lambda self, *a: timed("smoother.LineSmoother", init,
                                                        self, *a)
model = load_model("meshes/flip_chip.toml")
model = model.with_values(mesh=dataclasses.replace(model.mesh, target_size={size},
                                                   max_cells=20_000_000))
si = model.all_materials["silicon"].with_values(conductivity_exponent=0.0)
model = model.with_values(materials={{**model.materials, "silicon": si}})
package = timed("mesh_model", mesh_model, model)
if "{physics}" == "heat":
    result = timed("solve_heat", solves.solve_heat, comm, PETSc, package, model.thermal,
                   method="{method}")
else:
    result = timed("solve_warpage", solves.solve_warpage, comm, PETSc, package,
                   model.mechanical, [25.0], method="{method}")
every = comm.gather(rows)
if comm.rank == 0:
    stats = result.stats if "{physics}" == "heat" else result[0].stats
    print(json.dumps({{"physics": "{physics}", "ranks": comm.size, "method": "{method}",
                      "target_mm": {size} * 1e3, "cells": package.ncells,
                      "unknowns": stats["unknowns"], "load_average": os.getloadavg(),
                      "iterations": (stats if "{physics}" == "heat" else
                                     stats["linear_solver"])["iterations"],
                      "peak_GB_per_rank": [max(r[2] for r in mine) for mine in every],
                      "columns": ["step", "resident GB", "peak GB", "wall s", "cpu s"],
                      "steps_per_rank": every}}))
"""


OUTPUTS = STEPS + """
import argparse
from thermomech.distributed import command, solves, system
from thermomech.distributed.mpi import petsc
from thermomech.model_file import load_model
MPI, PETSc = petsc()
comm = MPI.COMM_WORLD
def watched(module, attr):  # wall, CPU and memory of each call, the peak not reset
    call = getattr(module, attr)
    def run(*a, **k):
        wall, cpu = time.perf_counter(), time.process_time()
        out = call(*a, **k)
        s = status()
        rows.append([f"{{module.__name__.split('.')[-1]}}.{{attr}}", s["VmRSS"],
                     s["VmHWM"], time.perf_counter() - wall, time.process_time() - cpu])
        return out
    setattr(module, attr, run)
watched(system, "gather")
watched(solves, "on_root")
from thermomech import analysis, files
from thermomech.distributed import pvtu as pieces
for module, name in ((command, "write_outputs"), (analysis, "paraview_files"),
                     (files.OutputFolder, "commit"), (pieces, "piece_bytes"),
                     (pieces, "local_results"), (pieces, "part_files")):
    watched(module, name)  # inside the output stage (their peaks: the stage's so far)
model = load_model("meshes/flip_chip.toml")
model = model.with_values(mesh=dataclasses.replace(model.mesh, target_size={size}))
si = model.all_materials["silicon"].with_values(conductivity_exponent=0.0)
model = model.with_values(materials={{**model.materials, "silicon": si}})
model = model.with_values(**({{"mechanical": None}} if "{physics}" == "heat" else
                             {{"thermal": None}}))
pvtu = "{outputs}" == "pvtu"
args = argparse.Namespace(model=None, out="{out}", force=True, no_figures=True,
                          figure_format="png", pvtu=pvtu, solver="{method}")
fields = {{}} if pvtu else None
wall, cpu = time.perf_counter(), time.process_time()
run = command.solve(comm, PETSc, model, "{method}", fields=fields)
s = status()
rows.append(["command.solve (peak: the whole process so far)", s["VmRSS"], s["VmHWM"],
             time.perf_counter() - wall, time.process_time() - cpu])
def outputs():
    if pvtu:
        return command._write_parallel(comm, run, args, fields)
    return comm.bcast(command._write(run, args) if comm.rank == 0 else None, root=0)
comm.barrier()
code = timed("outputs", outputs)
every = comm.gather(rows)
if comm.rank == 0:
    result = run.thermal if "{physics}" == "heat" else run.mechanical
    print(json.dumps({{"physics": "{physics}", "ranks": comm.size, "method": "{method}",
                      "outputs": "{outputs}", "exit_code": code,
                      "target_mm": {size} * 1e3, "cells": run.package.ncells,
                      "unknowns": result.stats["unknowns"], "load_average": os.getloadavg(),
                      "columns": ["step", "resident GB", "peak GB", "wall s", "cpu s"],
                      "steps_per_rank": every}}))
"""
"""``strong --outputs serial|pvtu``: ``thermomech run --backend petsc [--pvtu]``'s solve and
output stage (no figures) in one child, rows per rank: the solution's gather to rank 0 and
the result builders there (``system.gather``, ``solves.on_root``, the peak not reset), the
whole solve (its peak is the process's so far), then the output stage (rank 0's summary,
report and files; with pvtu every rank's pieces) as a ``timed`` row, its own peak."""


def _environment() -> dict:
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "THERMOMECH_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    debian = sorted(Path("/usr/lib/petscdir").glob("petsc3.*/*-real"))
    if debian and "PETSC_DIR" not in env:  # Debian's petsc4py.pth looks for it (docs/mpi.md)
        env["PETSC_DIR"] = str(debian[0])
    return env


def strong(python: str, size: float, physics: str, method: str, ranks: list[int],
           child: str = CHILD, outputs: str = "none", out: str = "") -> list:
    env = _environment()
    rows = []
    for n in ranks:
        code = child.format(size=size, physics=physics, method=method, outputs=outputs,
                            out=out)
        out = subprocess.run(["mpiexec", "-n", str(n), "--oversubscribe", "--mca",
                              "mpi_yield_when_idle", "1", python, "-c", code], cwd=ROOT,
                             env=env, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def box_grid(shape: tuple[int, int, int]):
    """A box mesh's cells and Q1 dofs without the mesher: grid_cells and (8, cells) dofs."""
    grid_cells = np.arange(np.prod(shape)).reshape(shape)
    nodes = np.arange(np.prod(np.add(shape, 1))).reshape(np.add(shape, 1))
    i, j, k = (a.ravel() for a in np.indices(shape))
    dofs = np.array([nodes[i + a, j + b, k + c] for a in (0, 1) for b in (0, 1)
                     for c in (0, 1)])
    return grid_cells, dofs


def partition_numbers(dofs: np.ndarray, cell_rank: np.ndarray, n: int) -> dict:
    from thermomech.distributed.partition import halo, owners

    owner = owners(dofs, cell_rank, n)
    size = int(cell_rank.max()) + 1
    halos = [len(halo(dofs, cell_rank, owner, r)) for r in range(size)]
    owned = np.bincount(owner, minlength=size)
    return {"cells_max": int(np.bincount(cell_rank).max()), "owned_max": int(owned.max()),
            "halo_max": int(max(halos)), "halo_mean": float(np.mean(halos)),
            "halo_total": int(sum(halos))}


def weak(cells_per_rank: int, layers: int, metis_up_to: int) -> list:
    """Ranks 1..64; the grid grows in x and y (a package: wide and thin, ``layers`` cells
    through the thickness), square in plan, about ``cells_per_rank`` cells per rank."""
    from thermomech.distributed.partition import metis_partition, slab_partition

    rows = []
    for ranks in (1, 2, 4, 8, 16, 32, 64):
        side = int(round(np.sqrt(ranks * cells_per_rank / layers)))
        grid_cells, dofs = box_grid((side, side, layers))
        n = int(dofs.max()) + 1
        row = {"ranks": ranks, "grid": [side, side, layers], "cells": int(grid_cells.size),
               "q1_dofs": n}
        row["slab"] = partition_numbers(dofs, slab_partition(grid_cells, ranks), n)
        if ranks <= metis_up_to:
            parts = metis_partition(dofs, ranks, ncommon=4)
            row["metis"] = partition_numbers(dofs, parts, n)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("strong", "phases"):
        s = sub.add_parser(mode)
        s.add_argument("--python", default=sys.executable, help="a Python with mpi4py, petsc4py")
        s.add_argument("--size", type=float, default=0.2e-3, help="mesh.target_size, m")
        s.add_argument("--physics", choices=["heat", "warpage"], default="heat")
        s.add_argument("--method", default="cg-gamg-lines")
        s.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    strong_parser = sub.choices["strong"]
    strong_parser.add_argument(
        "--outputs", choices=["none", "serial", "pvtu"], default="none",
        help="also time thermomech run's output stage (no figures): rank 0's files, or "
             "with pvtu every rank's pieces")
    strong_parser.add_argument("--out", default="", help="the run's output folder (with "
                               "--outputs; default: a temporary folder, removed)")
    w = sub.add_parser("weak")
    w.add_argument("--cells-per-rank", type=int, default=50_000)
    w.add_argument("--layers", type=int, default=20)
    w.add_argument("--metis-up-to", type=int, default=64)
    args = parser.parse_args(argv)
    stored = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    outputs = getattr(args, "outputs", "none")
    if args.mode in ("strong", "phases"):
        key = f"{args.mode} {args.physics} {args.method} {args.size * 1e3:g} mm" + (
            "" if outputs == "none" else f" outputs {outputs}")
        with tempfile.TemporaryDirectory() as scratch:
            rows = strong(args.python, args.size, args.physics, args.method, args.ranks,
                          OUTPUTS if outputs != "none" else CHILD if args.mode == "strong"
                          else PHASES, outputs, args.out or str(Path(scratch) / "run")
                          if outputs != "none" else "")
        kept = [row for row in stored.get(key, []) if row["ranks"] not in args.ranks]
        stored[key] = kept + rows  # one invocation per rank count keeps the others
    else:
        stored[f"weak {args.cells_per_rank} cells per rank"] = weak(
            args.cells_per_rank, args.layers, args.metis_up_to)
    BASELINE.write_text(json.dumps(stored, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
