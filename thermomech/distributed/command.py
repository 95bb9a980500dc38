"""``thermomech run MODEL --backend petsc`` under ``mpiexec -n N``: one model on N ranks.

Every rank reads and meshes the model, the heat and warpage solves run across the ranks
(:mod:`.solves`), and rank 0 alone checks the output folder, writes the same files as a
serial run (``analysis.write_outputs``) and prints the same table. Bad input is reported
once, by rank 0, and every rank exits with the code of the serial CLI (2 bad input, 3
solver failure); a rank failing inside a collective step aborts all of them
(:mod:`.mpi`).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .. import progress
from ..analysis import RUN_FILES, Run, format_summary, write_outputs
from ..diagnostics import warning_lines
from ..errors import ModelError
from ..files import OutputFolder
from ..model_file import load_model, mesh_model
from ..thermal import thermal_space
from . import pvtu, solves
from .mpi import RanksFailedError, abort_on_failure, agreed, exit_code, message, petsc

METHODS = {"auto": "auto", "cg-gamg": "cg-gamg", "cg-hypre": "cg-hypre",
           "cg-gmg": "cg-gmg", "cg-gmg-global": "cg-gmg-global",
           "cg-gamg-lines": "cg-gamg-lines", "direct": "direct"}
"""``--solver`` with ``--backend petsc`` -> the distributed method (auto, resolved by
``solves.chosen`` once the model is meshed: ``cg-gmg-global``, the project's geometric
multigrid across the ranks, where the box grid has a cell layer per rank across an in-plane
axis, else ``cg-gamg-lines``; measured on 2 ranks at 521k warpage unknowns: 29 against 179
CG iterations, 13.1 against 46.1 s CPU per rank; direct: MUMPS' distributed Cholesky;
docs/mpi.md)."""

LAUNCHER_RANK = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID")
"""Environment variables in which MPI launchers give a process its rank."""


def launcher_rank() -> int:
    """This process's rank as the MPI launcher set it (0 when not launched by one): lets
    only rank 0 print the install line when mpi4py itself is missing."""
    for name in LAUNCHER_RANK:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def run_command(args) -> int:
    """``thermomech run`` with ``--backend petsc``; returns the exit code (every rank)."""
    try:
        MPI, PETSc = petsc()
    except ModelError as exc:
        if launcher_rank() == 0:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    comm = MPI.COMM_WORLD
    if comm.rank != 0:
        progress.configure(progress.QUIET)
    try:
        return _run(comm, PETSc, args)
    except RanksFailedError as failed:
        return failed.code


NEEDS_PACKAGE = {"cg-hypre": "hypre", "direct": "mumps"}
"""Methods that need a PETSc built with an external package (Debian's has both; a pip
build has them only with ``--download-hypre`` / ``--download-mumps``: docs/mpi.md)."""


def _checked_model(comm, args, PETSc=None):
    if args.solver not in METHODS:
        raise ModelError("solver", f"--backend petsc solves with {', '.join(METHODS)}, not "
                                   f"{args.solver!r}")
    package = NEEDS_PACKAGE.get(args.solver)
    if package and PETSc is not None and not PETSc.Sys.hasExternalPackage(package):
        raise ModelError("solver", f"{args.solver!r} needs a PETSc built with {package} "
                                   f"(PETSC_CONFIGURE_OPTIONS=\"... --download-{package}\"); "
                                   "this one has none: use auto (cg-gmg-global) or "
                                   "cg-gamg-lines")
    model = load_model(args.model)
    if model.thermal is None and model.mechanical is None:
        raise ModelError("thermal", "the model has no [thermal] or [mechanical] section: "
                                    "nothing to solve")
    if model.thermal is not None and model.thermal.transient is not None:
        raise ModelError("thermal.transient", "transient heat runs serially (omit --backend "
                                              "petsc)")
    if model.mechanical is not None and model.mechanical.steps:
        raise ModelError("mechanical.steps", "process steps run serially (omit --backend "
                                             "petsc)")
    if comm.rank == 0:
        OutputFolder(args.out, group="run", force=args.force, field="out").check(RUN_FILES)
    return model


def solve(comm, PETSc, model, method: str, source=None, fields: dict | None = None) -> Run:
    """Mesh ``model`` on every rank and solve its heat and warpage across the ranks: the
    serial ``analysis.run_model``'s Run on rank 0 (the other ranks' Run has no results).
    ``fields``: filled with each rank's ``pvtu.LocalField`` of "thermal" and "mechanical"
    and the solve's "cell_rank" (cells,) partition, which the pieces follow."""
    local = fields is not None
    seconds = {}
    tick = time.perf_counter()
    package = agreed(comm, mesh_model, model)
    seconds["mesh"] = time.perf_counter() - tick
    method = solves.chosen(method, package, comm.size)
    if local:  # the pieces are the cells of the solve's own partition (it depends on method)
        fields["cell_rank"] = solves.cell_ranks(package, comm.size, method)
    thermal = mechanical = None
    curve = ()
    with abort_on_failure(comm):
        if model.thermal is not None:
            tick = time.perf_counter()
            thermal = solves.solve_heat(comm, PETSc, package, model.thermal, method=method,
                                        local=local)
            if local:
                thermal, fields["thermal"] = thermal
            seconds["thermal"] = time.perf_counter() - tick
        loads = model.mechanical
        if loads is not None:
            tick = time.perf_counter()
            if loads.temperature == "thermal" and model.thermal is None:
                agreed(comm, _needs_thermal)
            value = _temperature(comm, package, thermal) if loads.temperature == "thermal" \
                else loads.temperature
            mechanical = solves.solve_warpage(comm, PETSc, package, loads, [value],
                                              method=method, local=local)
            if local:
                mechanical, fields["mechanical"] = mechanical
                fields["temperature"] = value
            mechanical = None if mechanical is None else mechanical[0]
            if loads.temperatures:
                curve = solves.solve_warpage(comm, PETSc, package, loads,
                                             list(loads.temperatures), method=method) or ()
            seconds["mechanical"] = time.perf_counter() - tick
    return Run(model, package, thermal, mechanical, curve, seconds,
               f"petsc {method} x{comm.size}", source)


def _temperature(comm, package, thermal):
    """The heat solve's field for the warpage loads: rank 0's result, on the other ranks
    (space, values) from rank 0's values (the thermal loads are assembled whole on every
    rank)."""
    values = comm.bcast(thermal.temperature if comm.rank == 0 else None, root=0)
    return thermal if comm.rank == 0 else (thermal_space(package), values)


def _needs_thermal():
    raise ModelError("mechanical.temperature", '"thermal" needs a [thermal] section')


def _run(comm, PETSc, args) -> int:
    model = agreed(comm, _checked_model, comm, args, PETSc)
    fields = {} if getattr(args, "pvtu", False) else None
    run = solve(comm, PETSc, model, METHODS[args.solver], source=args.model, fields=fields)
    if fields is not None:
        return _write_parallel(comm, run, args, fields)
    code = _write(run, args) if comm.rank == 0 else None
    return comm.bcast(code, root=0)


def _staging(rank: int, args):
    """Rank 0: the output folder and the staged folder of the pieces (None elsewhere)."""
    if rank != 0:
        return None
    folder = OutputFolder(args.out, group="run", force=args.force, field="out")
    return folder, str(folder.staged_folder(pvtu.FOLDER))


def _write_parallel(comm, run: Run, args, fields: dict) -> int:
    """``--pvtu``: every rank stages the pieces of its cells (result.pvtu's, and one per
    part for result.vtm: ``pvtu.part_files``), rank 0 the two indexes and the serial
    run's other files; the exit code (every rank)."""
    opened = agreed(comm, _staging, comm.rank, args)
    directory = comm.bcast(None if opened is None else opened[1], root=0)
    try:
        with abort_on_failure(comm):
            cell_rank = fields["cell_rank"]
            mine = np.flatnonzero(cell_rank == comm.rank)
            local = pvtu.local_results(comm, run.package, run.model, mine, fields)
            data = pvtu.piece_bytes(run.package, mine, fields, *local)
            parts = pvtu.part_files(comm, run.package, cell_rank, *local)
        agreed(comm, pvtu.write_piece, directory, comm.rank, data)
        agreed(comm, pvtu.write_parts, directory, comm.rank, parts)
    except RanksFailedError:
        if opened is not None:
            opened[0].abort()
        raise
    code = None
    if comm.rank == 0:
        folder = opened[0]
        folder.write_bytes("result.pvtu", pvtu.index_bytes(comm.size, "thermal" in fields,
                                                           "mechanical" in fields))
        folder.write_bytes("result.vtm", pvtu.multiblock_bytes(run.package, cell_rank))
        code = _write(run, args, folder)
    return comm.bcast(code, root=0)


def _write(run: Run, args, folder: OutputFolder | None = None) -> int:
    """Rank 0: the serial run's files and printed table (``folder``: opened by
    :func:`_write_parallel`, holding the pvtu set instead of result.vtu / .vtm); the exit
    code."""
    parallel = folder is not None
    try:
        if folder is None:
            folder = OutputFolder(args.out, group="run", force=args.force, field="out")
        tick = time.perf_counter()
        with folder:
            write_outputs(run, folder, figures=not args.no_figures,
                          figure_format=args.figure_format, meshes=not parallel)
            folder.commit()
    except Exception as exc:  # noqa: BLE001 - reported here, the code goes to every rank
        print(message(exc), file=sys.stderr, flush=True)
        return exit_code(exc)
    out = folder.directory
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    print(format_summary(summary, output_seconds=time.perf_counter() - tick))
    for line in warning_lines(summary):
        print(line, file=sys.stderr)
    meshes = f"{out}/result.pvtu ({out}/{pvtu.FOLDER}/)" if parallel else \
        f"{out}/result.vtm, {out}/result.vtu"
    print(f"-> {out}/summary.json, {out}/report.html, {meshes}" + (
        "" if args.no_figures else f", {out}/figures/"))
    return 0
