"""``thermomech study STUDY.toml --out DIR``: the command-line face of a study.

:func:`study_main` parses its own arguments so the CLI can delegate to it; the analyse
function is passed in (the CLI gives ``thermomech.analysis.analyse``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import progress, threads
from ..errors import ModelError
from ..files import OutputFolder, recording_command
from ..progress import stage

if TYPE_CHECKING:
    from .runner import Analyse


def add_study_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``study`` subcommand's arguments (for the CLI's subparser)."""
    parser.add_argument("study", help="study file (TOML with a [study] table)")
    parser.add_argument("--out", required=True, help="output folder: results store, table")
    parser.add_argument("--workers", type=int, default=None,
                        help="local processes (default: one per core; 1 = serial)")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address, e.g. tcp://HOST:8786")
    parser.add_argument("--restart", action="store_true",
                        help="discard the results in --out and start again")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files in --out that thermomech did not write (or "
                             "that were edited since); without it such a file stops the "
                             "study before the first case")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    return parser


def run_study_command(args: argparse.Namespace, analyse: Analyse) -> int:
    """Run the study of parsed ``args``: 0 all cases ok, 1 some failed, 2 bad input, 130
    interrupted (Ctrl-C: the finished cases are kept; one line says how to resume).
    The study machinery is imported here: the ``thermomech`` command builds this
    subcommand's arguments at every start."""
    from .definition import load_study
    from .runner import run_study

    try:
        study = load_study(args.study)
        check_plots(study, args.out, args.force)
        table = run_study(study, args.out, analyse, workers=args.workers,
                          scheduler=args.scheduler, restart=args.restart,
                          progress=not (args.no_progress or getattr(args, "quiet", False)),
                          force=args.force, threads=getattr(args, "threads", None) or 1)
        print(table.summary())
        print(f"table: {args.out}/table.csv")
        if table.ok.any():
            plots = write_plots(study, table, args.out, force=args.force)
            print(f"plots: {len(plots)} files in {args.out}/plots")
    except PlotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr)
        return 130
    return 1 if table.failures else 0


def interrupted_message(args: argparse.Namespace) -> str:
    """The one line an interrupted study prints: what is kept and how to resume."""
    from .store import CASES, read_cases

    kept = len(read_cases(args.out)) if Path(args.out, CASES).is_file() else 0
    # the same run options, never --restart (it would discard the kept cases)
    options = [*(["--workers", str(args.workers)] if args.workers is not None else []),
               *(["--scheduler", args.scheduler] if args.scheduler else [])]
    resume = shlex.join(["thermomech", "study", str(args.study), "--out", str(args.out),
                         *options])
    return (f"interrupted: {kept} finished case(s) are kept in {args.out}; resume with: "
            f"{resume}")


HEADLINE = ("thermal.junction_temperature_C", "thermal.theta_ja_K_per_W",
            "mechanical.warpage_um.bottom", "mechanical.von_mises_max_MPa.die")
"""Responses plotted when a study names none (those of them the cases have)."""

PLOT_KINDS = ("vs_parameters", "tornado", "contour")
"""The per-response plot files (``plotting.study.plot_study``), plus ``scatter_matrix``."""


def check_plots(study, out_dir, force: bool) -> None:
    """Refuse, before the first case, plot files in the way that thermomech did not write:
    every name the plots of ``study`` may take."""
    from .store import PLOTS_GROUP

    names = list(study.responses) if study.responses else list(HEADLINE)
    files = [f"plots/{name.replace('/', '_')}_{kind}.png" for name in names
             for kind in PLOT_KINDS]
    OutputFolder(out_dir, group=PLOTS_GROUP, force=force).check(
        [*files, "plots/scatter_matrix.png"])


class PlotError(RuntimeError):
    """Drawing the plots of a finished study failed (the table is written)."""


def write_plots(study, table, out_dir, *, force: bool = False) -> list:
    """The report plots of a finished study: its responses (a group key such as
    ``mechanical.warpage_um`` stands for the keys under it), or the headline ones; each
    file written atomically, plots of an earlier run not drawn again removed (if
    unchanged: ``files.OutputFolder``). A failure to draw is a :class:`PlotError` naming
    it in one line: the cases and the table are kept."""
    import matplotlib

    matplotlib.use("Agg")
    from ..plotting.study import plot_study
    from .store import PLOTS_GROUP

    names = list(table.responses) if study.responses else [
        r for r in HEADLINE if r in table.responses]
    with OutputFolder(out_dir, group=PLOTS_GROUP, force=force) as folder:
        try:
            with stage("draw the study plots"):
                plot_study(table, folder.staged_folder("plots"), responses=names or None)
        except Exception as exc:  # the study ran: say what failed, keep its results
            raise PlotError(f"plots: {type(exc).__name__}: {exc}; the table of every case "
                            f"is written in {out_dir}") from exc
        return folder.commit()


def study_main(argv: list[str] | None = None, analyse: Analyse | None = None) -> int:
    """``python -m thermomech.study STUDY.toml --out DIR``; ``analyse`` defaults to
    ``thermomech.analysis.analyse``."""
    parser = add_study_arguments(argparse.ArgumentParser(prog="thermomech study"))
    progress.add_arguments(parser)
    threads.add_arguments(parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    progress.configure(progress.verbosity_from(args.verbose, args.quiet))
    if analyse is None:
        try:
            from ..analysis import analyse
        except ImportError as exc:
            print(f"error: no default analysis available ({exc})", file=sys.stderr)
            return 2
    with recording_command(shlex.join(["thermomech", "study", *argv])):
        return run_study_command(args, analyse)
