"""The ``thermomech`` command: mesh, show, run, ... one small function per subcommand.

Bad input (a ModelError) prints ``error: <field>: <message>`` and exits with code 2, having
written nothing. Outputs follow the output-folder rule (``files.OutputFolder``): thermomech
replaces only files it wrote (listed in the folder's ``.thermomech-manifest.json``), all at
the end of the command; a file in the way that it did not write (or that was edited since)
stops the command before it solves, with exit code 2, unless ``--force``. Ctrl-C exits with
code 130 and one line.

Every subcommand takes ``-v`` (each stage with its time, each solve's iterations), ``-q``
(warnings and errors only, no progress display) and ``--threads N``. Stdout carries the
results only (with ``-q`` too: they are what was asked for); messages and the live progress
display (on a terminal) go to stderr (:mod:`.progress`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import progress, threads
from .errors import ModelError, SolverError
from .progress import stage


def _load(path: str):
    from .model_file import load_model

    return load_model(path)


def _folder_of(output: str, group: str, force: bool, field: str):
    """The OutputFolder of an output file given on the command line, and the file's name."""
    from .files import OutputFolder

    target = Path(output)
    return OutputFolder(target.parent, group=f"{group} {target.name}", force=force,
                        field=field), target.name


def cmd_mesh(args) -> int:
    from .export import write_mesh
    from .model_file import mesh_model

    model = _load(args.model)
    folder, name = _folder_of(args.output, "mesh", args.force, "output")
    names = [name]
    if name.endswith(".vtu") and not args.no_xdmf:
        names.append(str(Path(name).with_suffix(".xdmf")))
    folder.check(names)
    start = time.perf_counter()
    with stage("mesh"):
        package = mesh_model(model)
    seconds = time.perf_counter() - start
    with folder:
        for name in names:
            with stage(f"write {name}"), folder.path(name) as staged:
                write_mesh(package, staged)
        outputs = folder.commit()
    stats = package.stats
    per_part = ", ".join(f"{p} {n}" for p, n in stats["cells_per_part"].items())
    print(f"{stats['nodes']} nodes, {stats['cells']} cells ({per_part}); worst aspect ratio "
          f"{stats['worst_aspect_ratio']:.1f}; {seconds:.2f} s -> "
          f"{', '.join(map(str, outputs))}")
    return 0


def cmd_show(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .plotting.model import show_figure

    folder, name = _folder_of(args.output, "show", args.force, "output")
    folder.check([name])
    with stage("draw the model"):
        figure = show_figure(_load(args.model), mesh=args.mesh)
    with folder:
        with stage(f"write {name}"), folder.path(name) as staged:
            figure.savefig(staged, dpi=150)
        folder.commit()
    print(f"-> {args.output}")
    return 0


def cmd_run(args) -> int:
    if args.backend == "petsc":
        from .distributed.command import run_command

        return run_command(args)
    if args.solver not in SERIAL_SOLVERS:
        raise ModelError("solver", f"{args.solver!r} is a solver of --backend petsc")
    # the figure helper first, before NumPy, SciPy and the model: its own start-up
    # (matplotlib, SciPy, scikit-fem) runs on the other core meanwhile (docs/performance.md)
    with _figure_helper(not args.no_figures, args.figure_format) as helper:
        from .startup import defer_unused_numpy_modules

        defer_unused_numpy_modules()  # before SciPy: 0.07-0.09 s CPU (docs/performance.md)
        folder, output_seconds = _solve_and_write(args, helper)
    from .analysis import format_summary
    from .diagnostics import warning_lines

    out = folder.directory
    # the summary just written (summarize again would recompute the stresses)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    print(format_summary(summary, output_seconds=output_seconds))
    for line in warning_lines(summary):
        print(line, file=sys.stderr)
    print(f"-> {out}/summary.json, {out}/report.html, {out}/result.vtm, {out}/result.vtu" + (
        "" if args.no_figures else f", {out}/figures/"))
    return 0


def _solve_and_write(args, helper):
    """``thermomech run``'s model solved and its outputs written: (the output folder, the
    seconds the outputs took)."""
    from .analysis import RUN_FILES, run_model, write_outputs
    from .files import OutputFolder

    model = _load(args.model)
    if model.thermal is None and model.mechanical is None:
        raise ModelError("thermal", "the model has no [thermal] or [mechanical] section: "
                                    "nothing to solve (thermomech mesh meshes it only)")
    folder = OutputFolder(args.out, group="run", force=args.force, field="out")
    folder.check(RUN_FILES)
    run = run_model(model, solver=args.solver, source=args.model, helper=helper)
    tick = time.perf_counter()
    with folder:
        write_outputs(run, folder, figures=not args.no_figures,
                      figure_format=args.figure_format, helper=helper)
        folder.commit()
    return folder, time.perf_counter() - tick


def _figure_helper(wanted: bool, format: str):
    """A process drawing the figures while the run goes on (``plotting.helper``), or
    nothing (no figures wanted; THERMOMECH_FIGURE_HELPER=0)."""
    import contextlib
    import os

    if not wanted or os.environ.get("THERMOMECH_FIGURE_HELPER", "1") == "0" or \
            not _main_is_the_command():
        return contextlib.nullcontext()
    from .plotting.helper import FigureHelper

    return FigureHelper(format)


def _main_is_the_command() -> bool:
    """True when this process is the ``thermomech`` command (``python -m thermomech`` or the
    installed script): a spawned helper imports the main module again, which a user's
    script calling ``main()`` without an ``if __name__ == "__main__":`` guard would run."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec is not None and spec.name == "thermomech.__main__") or \
        Path(getattr(main, "__file__", "") or "").name in ("thermomech", "thermomech.exe")


CHARACTERIZATION_FILES = ("characterization.json", "characterization.md", "two_resistor.cir",
                          "delphi.cir")


def cmd_characterize(args) -> int:
    from .characterization import characterize, format_characterization, write_characterization
    from .delphi import extract_delphi
    from .files import OutputFolder
    from .transient_characterization import transient_characterization

    model = _load(args.model)
    folder = OutputFolder(args.out, group="characterize", force=args.force, field="out")
    folder.check(CHARACTERIZATION_FILES)
    table = characterize(model, solver=args.solver)
    delphi = extract_delphi(model, solver=args.solver)
    table = {**table, "delphi": delphi.as_dict(),
             "transient": transient_characterization(model, solver=args.solver)}
    with folder:
        write_characterization(table, folder, delphi)
        folder.commit()
    print(format_characterization(table))
    print("-> " + ", ".join(f"{folder.directory}/{name}" for name in CHARACTERIZATION_FILES))
    return 0


def cmd_reliability(args) -> int:
    from .files import OutputFolder
    from .reliability import (
        RELIABILITY_FILES,
        assess_reliability,
        format_reliability,
        write_reliability,
    )

    model = _load(args.model)
    folder = OutputFolder(args.out, group="reliability", force=args.force, field="out")
    folder.check(RELIABILITY_FILES)
    result = assess_reliability(model, solver=args.solver)
    with folder:
        summary = write_reliability(result, folder)
        folder.commit()
    print(format_reliability(summary))
    print("-> " + ", ".join(f"{folder.directory}/{name}" for name in RELIABILITY_FILES))
    return 0


def cmd_export(args) -> int:
    from .inp import export_model

    model = _load(args.model)
    folder, name = _folder_of(args.output, "export", args.force, "output")
    folder.check(_deck_names(model, name))
    with folder:
        with stage(f"mesh and write {name}"), folder.path(name) as staged:
            export_model(model, staged, format=args.format, element_order=args.order,
                         temperature=_deck_temperature(model))
        written = folder.commit()
    print("-> " + ", ".join(map(str, written)))
    return 0


def _deck_temperature(model):
    """The heat solution a warpage deck at ``mechanical.temperature = "thermal"`` needs (the
    deck writer solves nothing), or None."""
    mechanical = model.mechanical
    if mechanical is None or model.thermal is None or (
            mechanical.temperature != "thermal" and not any(
                step.temperature == "thermal" for step in mechanical.steps)):
        return None
    from .model_file import mesh_model
    from .thermal import solve_thermal, solve_transient

    solve = solve_transient if model.thermal.transient is not None else solve_thermal
    with stage("heat solve for the warpage deck's temperature"):
        return solve(mesh_model(model), model.thermal)


def _deck_names(model, name: str) -> list[str]:
    """The deck files ``export_model`` writes for ``model`` (checked before meshing; the
    commit checks what was really written)."""
    analyses = (["heat"] if model.thermal is not None else []) + (
        ["process" if model.mechanical.steps else "warpage"]
        + (["warpage_curve"] if model.mechanical.temperatures else [])
        if model.mechanical is not None else [])
    if len(analyses) <= 1:
        return [name]
    path = Path(name)
    return [f"{path.stem}_{analysis}{path.suffix or '.inp'}" for analysis in analyses]


def cmd_study(args) -> int:
    from .analysis import analyse
    from .study.command import run_study_command

    return run_study_command(args, analyse)


def cmd_schema(args) -> int:
    from .schema import model_schema

    print(json.dumps(model_schema(), indent=2))
    return 0


SERIAL_SOLVERS = ("auto", "direct", "cg-gmg", "cg-amg")
SUBMODEL_FILES = ("submodel.json", "submodel.vtm")


def cmd_submodel(args) -> int:
    from .analysis import run_model
    from .export import json_bytes
    from .files import OutputFolder
    from .paraview import write_multiblock
    from .submodel import solve_submodels, submodel_summary

    model = _load(args.model)
    if model.submodel is None:
        raise ModelError("submodel", "the model has no [submodel] section (x, y, z of the "
                                     "region, resolution)")
    folder = OutputFolder(args.out, group="submodel", force=args.force, field="out")
    folder.check(SUBMODEL_FILES)
    run = run_model(model, solver=args.solver, source=args.model)
    with stage("submodel solves"):
        local_thermal, local = solve_submodels(model.submodel, run.thermal, run.mechanical,
                                               args.solver)
    summary = submodel_summary(run.mechanical, local, run.thermal, local_thermal)
    with folder:
        folder.write_bytes("submodel.json", json_bytes(summary))
        package = (local or local_thermal).package
        write_multiblock(folder, "submodel", package, local_thermal, local)
        folder.commit()
    print(json.dumps(summary, indent=1))
    print(f"-> {folder.directory}/submodel.json, {folder.directory}/submodel.vtm")
    return 0


FORCE_HELP = ("overwrite files in the way even if thermomech did not write them (or they "
              "were edited since); without it such a file stops the command")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="thermomech", description="Thermal and "
                                     "thermo-mechanical FEM of IC packages.")
    parser.add_argument("--version", action="version", version=f"thermomech {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    progress.add_arguments(common)
    threads.add_arguments(common)

    mesh = sub.add_parser("mesh", parents=[common],
                          help="mesh a model and write VTU (+ XDMF)")
    mesh.add_argument("model", help="model file (TOML)")
    mesh.add_argument("-o", "--output", default="out/mesh.vtu", help="mesh file (.vtu, .xdmf, "
                      "or any meshio format)")
    mesh.add_argument("--no-xdmf", action="store_true", help="do not write the .xdmf copy")
    mesh.add_argument("--force", action="store_true", help=FORCE_HELP)
    mesh.set_defaults(func=cmd_mesh)

    show = sub.add_parser("show", parents=[common],
                          help="picture of the model: cross-section and top view")
    show.add_argument("model", help="model file (TOML)")
    show.add_argument("-o", "--output", default="out/model.png", help="image (.png, .svg, .pdf)")
    show.add_argument("--mesh", action="store_true", help="show the mesh section instead")
    show.add_argument("--force", action="store_true", help=FORCE_HELP)
    show.set_defaults(func=cmd_show)

    run = sub.add_parser("run", parents=[common],
                         help="solve the model's [thermal] and [mechanical] analyses")
    run.add_argument("model", help="model file (TOML)")
    run.add_argument("--out", default="out/run", help="output folder: thermomech replaces "
                     "only the files it wrote there (listed in .thermomech-manifest.json)")
    run.add_argument("--force", action="store_true", help=FORCE_HELP)
    run.add_argument("--solver", default="auto", choices=[*SERIAL_SOLVERS, "cg-gamg",
                                                          "cg-gamg-lines", "cg-gmg-global",
                                                          "cg-hypre"],
                     help="linear solver (default: by size; with --backend petsc: "
                     "auto = cg-gmg-global (geometric multigrid across the ranks; "
                     "cg-gamg-lines with more ranks than in-plane cell layers), "
                     "cg-gamg-lines (GAMG, z-line smoother), cg-gamg, cg-gmg, cg-hypre or "
                     "direct (MUMPS))")
    run.add_argument("--pvtu", action="store_true",
                     help="with --backend petsc: each rank writes the pieces of its cells "
                     "(result/piece_<rank>.vtu, result/<rank>/<part>.vtu) and rank 0 their "
                     "indexes result.pvtu and result.vtm, instead of result.vtu and "
                     "result.vtm gathered on rank 0 (large models)")
    run.add_argument("--backend", default="serial", choices=["serial", "petsc"],
                     help="serial (one process), or petsc: one model across the ranks of "
                     "mpiexec -n N (needs mpi4py and petsc4py: docs/mpi.md)")
    run.add_argument("--no-figures", action="store_true", help="skip the figures")
    run.add_argument("--figure-format", default="png", choices=["png", "svg", "pdf"],
                     help="format of the figure files (the report embeds PNG or SVG)")
    run.set_defaults(func=cmd_run)

    characterize = sub.add_parser("characterize", parents=[common],
                                  help="JEDEC theta-JA/JB/JC and psi-JT/JB on the 1s and "
                                  "2s2p test boards")
    characterize.add_argument("model", help="model file (TOML)")
    characterize.add_argument("--out", default="out/characterize", help="output folder "
                              "(characterization.json)")
    characterize.add_argument("--force", action="store_true", help=FORCE_HELP)
    characterize.add_argument("--solver", default="auto", choices=["auto", "direct", "cg-gmg",
                              "cg-amg"], help="linear solver (default: by size)")
    characterize.set_defaults(func=cmd_characterize)

    reliability = sub.add_parser("reliability", parents=[common],
                                 help="solder-joint fatigue: the package on its board "
                                 "through the [reliability] thermal cycle, life per joint")
    reliability.add_argument("model", help="model file (TOML)")
    reliability.add_argument("--out", default="out/reliability", help="output folder "
                             "(reliability.json, figures/life_map.png)")
    reliability.add_argument("--force", action="store_true", help=FORCE_HELP)
    reliability.add_argument("--solver", default="auto", choices=["auto", "direct", "cg-gmg",
                             "cg-amg"], help="linear solver (default: by size)")
    reliability.set_defaults(func=cmd_reliability)

    export = sub.add_parser("export", parents=[common],
                            help="write a CalculiX / Abaqus input deck")
    export.add_argument("model", help="model file (TOML)")
    export.add_argument("--format", default="inp", choices=["inp"], help="deck format")
    export.add_argument("-o", "--output", default="out/model.inp",
                        help="deck; with both analyses <stem>_heat.inp and <stem>_warpage.inp")
    export.add_argument("--order", type=int, choices=[1, 2], default=None,
                        help="element order (default: the model's; Q1 heat, Q2 warpage)")
    export.add_argument("--force", action="store_true", help=FORCE_HELP)
    export.set_defaults(func=cmd_export)

    local = sub.add_parser("submodel", parents=[common], help="solve the model, then a local "
                           "model of its [submodel] region driven by it on the cut faces")
    local.add_argument("model", help="model file (TOML) with a [submodel] section")
    local.add_argument("--out", default="out/submodel", help="output folder (submodel.json, "
                       "submodel.vtm)")
    local.add_argument("--force", action="store_true", help=FORCE_HELP)
    local.add_argument("--solver", default="auto", choices=["auto", "direct", "cg-gmg",
                       "cg-amg"], help="linear solver (default: by size)")
    local.set_defaults(func=cmd_submodel)

    schema = sub.add_parser("schema", parents=[common], help="print the JSON Schema of the "
                            "model file (for editors: completion and checks)")
    schema.set_defaults(func=cmd_schema)

    from .study.command import add_study_arguments

    study = add_study_arguments(sub.add_parser(
        "study", parents=[common], help="run a parameter study (cases in parallel, resumable)"))
    study.set_defaults(func=cmd_study)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``thermomech`` command; returns the exit code."""
    from .files import recording_command

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    progress.configure(progress.verbosity_from(args.verbose, args.quiet))
    try:
        if args.threads is not None and args.command != "study":  # a study: per worker
            threads.set_thread_count(args.threads)
        with recording_command(shlex.join(["thermomech", *argv])):
            return args.func(args)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SolverError as exc:
        print(f"solver error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted: no file was left half-written; run the command again",
              file=sys.stderr)
        return 130


def command() -> None:
    """The ``thermomech`` command (the installed script, ``python -m thermomech``): ``main``,
    then the exit. After a finished ``run`` (serial: no MPI to finalize) the process exits
    without Python's interpreter teardown, once stdout and stderr are flushed: every file
    is committed and the figure helper is stopped by then, and tearing down the modules a
    run imports (NumPy, SciPy, scikit-fem, meshio) took 0.13-0.19 s of the run's wall time
    (docs/performance.md)."""
    import os

    argv = sys.argv[1:]
    code = main(argv)
    if code == 0 and argv[:1] == ["run"] and "mpi4py" not in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    command()
