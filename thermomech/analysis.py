"""One run of a model: mesh, heat, warpage, summary, files. What ``thermomech run`` does.

``run_model`` solves (no I/O); ``summarize`` turns the results into the summary.json table
(keys of docs/model-file.md, units in the names); ``write_outputs`` writes summary.json, the
VTU field file, the figures and report.html; ``analyse``: the flat summary a study uses.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .diagnostics import run_warnings
from .files import OutputFolder
from .mechanical_metrics import (
    mechanical_summary,
    vertex_displacement,
    von_mises,
    warpage_curve,
)
from .mechanics import quadrature_stress, solve_warpage, solve_warpage_curve
from .meshing import MeshedPackage
from .model_file import Model, mesh_model
from .progress import report_iterations, stage
from .provenance import provenance
from .results import ThermalResult, WarpageResult
from .thermal import solve_thermal, solve_transient
from .thermal_metrics import thermal_summary
from .threads import one_blas_thread

if TYPE_CHECKING:
    from .process import Increment

RUN_FILES = ("summary.json", "result.vtu", "result.vtm", "report.html")
"""The files every run writes (checked before solving; the figures before writing)."""


@dataclass(frozen=True)
class Run:
    """Everything one run produced (data only)."""

    model: Model
    package: MeshedPackage
    thermal: ThermalResult | None = None
    mechanical: WarpageResult | None = None
    curve: tuple[WarpageResult, ...] = ()
    seconds: Mapping[str, float] = field(default_factory=dict)
    solver: str = "auto"
    source: str | os.PathLike | None = None  # the model file the model was read from
    history: tuple[Increment, ...] = ()  # process steps: every increment, in order


def run_model(model: Model, *, solver: str = "auto",
              source: str | os.PathLike | None = None, helper=None) -> Run:
    """Mesh and solve every analysis the model asks for ([thermal], [mechanical]).

    ``solver``: the linear solver method; ``source``: the model file ``model`` was read
    from (its SHA-256 goes into the summary's provenance; None: the dumped model's).
    ``helper``: a ``plotting.helper.FigureHelper`` given the mesh, the temperatures and the
    warpage as soon as they exist (it draws their figures meanwhile; ``write_outputs``).
    ``Run.seconds`` has the wall time (s) of each stage: mesh, thermal, mechanical."""
    seconds = {}
    tick = time.perf_counter()
    with stage("mesh"):
        package = mesh_model(model)
    seconds["mesh"] = time.perf_counter() - tick
    if helper is not None:
        helper.early(package)
    thermal = mechanical = None
    curve: tuple[WarpageResult, ...] = ()
    history: tuple[Increment, ...] = ()
    if model.thermal is not None:
        tick = time.perf_counter()
        solve = solve_transient if model.thermal.transient is not None else solve_thermal
        with stage("thermal solve"):
            thermal = solve(package, model.thermal, solver=solver)
            report_solve("thermal", thermal.stats)
        seconds["thermal"] = time.perf_counter() - tick
        if helper is not None:
            helper.early(package, thermal)
    if model.mechanical is not None:
        tick = time.perf_counter()
        loads = model.mechanical
        temperature = None
        if loads.temperature == "thermal":
            if thermal is None:
                from .errors import ModelError

                raise ModelError("mechanical.temperature", '"thermal" needs a [thermal] section')
            temperature = thermal
        if loads.steps:
            from .process import solve_process  # here: runs without steps start faster

            with stage("process steps"):
                history = solve_process(package, loads, solver=solver,
                                        thermal=thermal).increments
                for step in history:
                    report_solve(f"{step.name or step.step} increment {step.increment} at "
                                 f"{step.temperature:g} degC", step.result.stats)
            mechanical = history[-1].result
        else:
            with stage("mechanical solve"):
                mechanical = solve_warpage(package, loads, temperature=temperature,
                                           solver=solver)
                report_solve("mechanical", mechanical.stats)
        if loads.temperatures:
            with stage("warpage curve"):
                curve = solve_warpage_curve(package, loads, solver=solver)
                for result, temperature_C in zip(curve, loads.temperatures):
                    report_solve(f"warpage at {temperature_C:g} degC", result.stats)
        seconds["mechanical"] = time.perf_counter() - tick
        if helper is not None:
            helper.early(package, thermal, mechanical)
    return Run(model, package, thermal, mechanical, curve, seconds, solver, source, history)


def report_solve(label: str, stats: Mapping) -> None:
    """Log one solve's iterations and size from its result's stats (``progress``)."""
    linear = stats.get("linear_solver")
    method = linear.get("method") if isinstance(linear, Mapping) else linear
    iterations = (linear.get("iterations", 1) if isinstance(linear, Mapping)
                  else stats.get("iterations", 1))
    times = {name: f"{stats[key]:.2f} s" for name, key in
             (("assembly", "assembly_seconds"), ("in all", "seconds")) if key in stats}
    report_iterations(label, int(iterations), solver=method, unknowns=stats.get("unknowns"),
                      **times)


def summarize(run: Run) -> dict:
    """The summary.json table of a run: every number with its unit in its key name
    (``DIMENSIONLESS`` lists the keys without one); ``solver`` holds the solver statistics
    (once: the analyses' tables do not repeat them); ``provenance`` what produced it
    (``provenance.provenance``); ``warnings`` the checks of ``diagnostics.run_warnings``
    that fired, as {code, message}."""
    package = run.package
    summary: dict = {"mesh": {
        "cells": int(package.ncells), "nodes": int(package.mesh.p.shape[1]),
        "dimension": package.dimension, "symmetry": package.symmetry,
        "thermal_unknowns": _unknowns(run.thermal), "mechanical_unknowns":
            _unknowns(run.mechanical),
        "worst_aspect_ratio": package.stats.get("worst_aspect_ratio")}}
    if run.thermal is not None:
        summary["thermal"] = thermal_summary(run.thermal)
    if run.mechanical is not None:
        if run.history:  # imported here: a run without steps does without process (start-up)
            from .process_history import history_records, present_surfaces
        surfaces = present_surfaces(run.mechanical) if run.history else None
        mechanical = mechanical_summary(run.mechanical, surfaces)
        mechanical.pop("solver", None)  # a copy of solver.mechanical's numbers
        if run.history:
            mechanical["history"] = history_records(run.history)
            mechanical["warpage_temperature_table"] = warpage_temperature_table(
                mechanical["history"], getattr(run.model.mechanical, "sign_convention",
                                               "center_up_positive"))
        if run.curve:
            mechanical["warpage_curve"] = _curve_table(run)
        summary["mechanical"] = mechanical
    summary["solver"] = _solver_table(run)
    summary["provenance"] = provenance(
        run.model, source=run.source, solver=run.solver,
        thermal_stats=run.thermal.stats if run.thermal is not None else None,
        mechanical_stats=run.mechanical.stats if run.mechanical is not None else None)
    summary["warnings"] = [w.as_dict() for w in run_warnings(run, summary)]
    return summary


DIMENSIONLESS = frozenset({
    "cells", "nodes", "dimension", "thermal_unknowns", "mechanical_unknowns",
    "worst_aspect_ratio", "unknowns", "order", "element_order", "iterations",
    "nonlinear_iterations", "relative_residual", "nonlinear_residual", "residual",
    "energy_balance_error", "force_balance", "held_reaction_relative", "constrained_dofs",
    "held_dofs", "rigid_modes_removed", "intorder", "levels", "steps", "threads",
    "iterative_tolerance", "nonlinear_tolerance", "max_nonlinear_iterations",
    "thermal_element_order"})
"""summary.json keys of numbers without a unit: counts, ratios and relative errors."""


def _solver_table(run: Run) -> dict:
    """Stage times (s) and each analysis' solver statistics, units in every key."""
    per_depth = run.package.dimension == 2  # a 2D section: per unit depth (m)
    thermal = mechanical = None
    if run.thermal is not None:
        thermal = _with_units(_plain(run.thermal.stats), {
            "power_in_meshed": "power_in_meshed_W_per_m" if per_depth else
            "power_in_meshed_W"})
    if run.mechanical is not None:
        force = "N_per_m" if per_depth else "N"
        mechanical = _with_units(_plain(run.mechanical.stats), {
            "reaction_sum": f"reaction_sum_{force}", "load_scale": f"load_scale_{force}"})
    return {"mesh_seconds": run.seconds.get("mesh", 0.0),
            "thermal_seconds": run.seconds.get("thermal", 0.0),
            "mechanical_seconds": run.seconds.get("mechanical", 0.0),
            "thermal": thermal, "mechanical": mechanical}


def _with_units(stats: dict, names: Mapping[str, str]) -> dict:
    """``stats`` with the keys in ``names`` renamed (the solvers' statistics name some
    quantities without their unit: power_in_meshed W, reaction_sum N)."""
    return {names.get(key, key): value for key, value in stats.items()}


def history_csv(records: list[dict]) -> bytes:
    """The history records as CSV: step, step_name, increment, temperature_C, time_s, then
    warpage_um.<surface>, center_minus_corner_um.<surface>, shape.<surface> (empty: the
    surface's part is absent)."""
    import csv
    import io

    keys = ("warpage_um", "center_minus_corner_um", "shape")
    surfaces = list(records[0]["warpage_um"]) if records else []
    header = ["step", "step_name", "increment", "temperature_C", "time_s"] + [
        f"{k}.{s}" for k in keys for s in surfaces]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for r in records:
        writer.writerow([r["step"], r["step_name"], r["increment"], repr(r["temperature_C"]),
                         repr(r.get("time_s", 0.0))]
                        + ["" if r[k][s] is None else (repr(r[k][s]) if k != "shape"
                                                      else r[k][s])
                           for k in keys for s in surfaces])
    return text.getvalue().encode()


SIGN_WORDS = {
    "center_up_positive": "+ = centre higher (+z, die side up) than the corners: convex, "
                          "'cry'; - = concave, 'smile'",
    "center_down_positive": "+ = centre lower (-z, die side up) than the corners: concave, "
                            "'smile'; - = convex, 'cry'"}
"""The words of each ``mechanical.sign_convention`` in the warpage-temperature table."""


def warpage_temperature_table(records: list[dict],
                              sign_convention: str = "center_up_positive") -> dict:
    """The JESD22-B112 style warpage-versus-temperature table of a process history: per
    warpage surface the columns step_name, branch (heating / cooling / hold),
    temperature_C, warpage_um (signed centre minus corner, ``sign_convention``),
    coplanarity_um (peak to valley after the best-fit plane) and shape, one row per
    increment (None where the surface's part is absent), and zero_warpage_temperature_C
    (``history_zero_crossings``; [] when the curve does not cross zero)."""
    from .process_history import branch, history_zero_crossings

    surfaces = list(records[0]["warpage_um"]) if records else []
    temperatures = [r["temperature_C"] for r in records]
    branches = [branch(p, t) for p, t in zip([None] + temperatures[:-1], temperatures)]
    table = {}
    for s in surfaces:
        crossings = history_zero_crossings(records, s)
        table[s] = {
            "step_name": [r["step_name"] for r in records], "branch": branches,
            "temperature_C": temperatures,
            "warpage_um": [r["center_minus_corner_um"][s] for r in records],
            "coplanarity_um": [r["warpage_um"][s] for r in records],
            "shape": [r["shape"][s] for r in records],
            "zero_warpage_temperature_C": [c["temperature_C"] for c in crossings],
            "zero_warpage": crossings}
    return {"standard": "JESD22-B112 style (warpage versus temperature, e.g. shadow moire "
                        "on a reflow profile)",
            "sign_convention": sign_convention,
            "sign_convention_text": SIGN_WORDS.get(sign_convention, sign_convention),
            "warpage": "signed centre minus corner after removing the best-fit plane",
            "coplanarity": "peak to valley after removing the best-fit plane",
            "surfaces": table}


def _curve_table(run: Run) -> dict:
    """The warpage-temperature curve: temperature_C, center_minus_corner_um and
    peak_to_valley_um of each uniform temperature, in the order solved."""
    curve = warpage_curve(run.curve)
    return {"temperature_C": np.asarray(curve["temperature"], float).tolist(),
            "center_minus_corner_um": (np.asarray(curve["center_minus_corner"]) * 1e6
                                       ).tolist(),
            "peak_to_valley_um": (np.asarray(curve["peak_to_valley"]) * 1e6).tolist()}


def _unknowns(result) -> int:
    return int(result.stats.get("unknowns", 0)) if result is not None else 0


def _plain(stats: Mapping) -> dict:
    """Solver statistics as JSON-friendly values (lists of per-solve dicts kept)."""
    out = {}
    for key, value in stats.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float | int | str | bool | list | dict) or value is None:
            out[key] = value
    return out


def flatten(table: Mapping, prefix: str = "") -> dict[str, float]:
    """Nested summary -> {"thermal.junction_temperature_C": ..., ...} (numbers only)."""
    out: dict[str, float] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float | np.number):
            out[name] = float(value)
    return out


def analyse(model: Model) -> dict[str, float]:
    """The flat summary of a model's run: the default response set of a parameter study.

    Times (keys ending in ``seconds``) are left out: they are not results of the model, and
    a study's table must be the same whoever runs it (the study store records each case's
    wall time on its own); so is the provenance (thread count, settings)."""
    return {key: value for key, value in flatten(summarize(run_model(model))).items()
            if not key.endswith("seconds") and not key.startswith("provenance.")}


def _write_vtu(run: Run, folder: OutputFolder) -> None:  # vertex fields, parts, cell stress
    from .export import write_mesh

    with stage("write result.vtu"):
        point_data, cell_data, nvert = {}, {}, run.package.mesh.p.shape[1]
        if run.thermal is not None:
            point_data["temperature_C"] = np.asarray(run.thermal.temperature)[:nvert]
        if run.mechanical is not None:
            point_data["displacement_m"] = vertex_displacement(run.mechanical).T
            cell_data.update(cell_stress(run.mechanical))
        with folder.path("result.vtu") as staged:
            write_mesh(run.package, staged, point_data=point_data, cell_data=cell_data)


def paraview_files(run: Run, meshes: bool = True) -> dict[str, bytes]:
    """Path -> content of a run's ParaView files: result.vtm and its series (``meshes``),
    process_history.pvd (a process history). The writers are imported here, not before the
    mesh: ``thermomech run`` meshes and solves sooner (``vtk_xml`` imports ``xml.sax`` and
    with it ``urllib.request`` and ``ssl``)."""
    from .paraview import history_files, result_files

    files = {}
    if meshes:  # named parts, quadratic cells, nodal stress
        files.update(result_files(run.package, run.thermal, run.mechanical, run.curve,
                                  run.model.mechanical.temperatures if run.curve else ()))
    if run.history:
        files.update(history_files(run.package, run.history))
    return files


def write_outputs(run: Run, out_dir: str | Path | OutputFolder, *, figures: bool = True,
                  figure_format: str = "png", report: bool = True,
                  force: bool = False, helper=None, meshes: bool = True) -> list[Path]:
    """summary.json, result.vtu (fields at vertices, parts), result.vtm (ParaView: one
    block per part, ``paraview.write_results``), the figures (PNG by default,
    ``figure_format`` "svg" or "pdf" on request) and the self-contained report.html.

    ``out_dir`` is a folder, written by the output-folder rule of ``files.OutputFolder``
    (only files thermomech wrote are replaced, all at the end; a file in the way raises
    OutputConflictError unless ``force``), or an open OutputFolder, which the caller
    commits. ``helper``: a ``plotting.helper.FigureHelper`` that draws the figures while
    the other files are written (the same bytes). ``meshes=False`` leaves out result.vtu and
    result.vtm (the distributed backend's ``--pvtu`` writes a parallel set). Returns paths."""
    if not isinstance(out_dir, OutputFolder):
        with OutputFolder(out_dir, group="run", force=force) as folder:
            write_outputs(run, folder, figures=figures, figure_format=figure_format,
                          report=report, helper=helper, meshes=meshes)
            return folder.commit()
    if helper is not None and helper.format != figure_format:
        raise ValueError(f"the figure helper draws {helper.format}, not {figure_format}")
    # BLAS on one thread for the outputs' small products: a spinning second OpenBLAS thread
    # cost 0.7 s CPU besides the multiblock's 1.2 s at 562k unknowns. The same numbers.
    with one_blas_thread():
        return _write_outputs(run, out_dir, figures, figure_format, report, helper, meshes)


def _write_outputs(run: Run, folder: OutputFolder, figures: bool, figure_format: str,
                   report: bool, helper, meshes: bool) -> list[Path]:
    from .export import json_bytes, write_mesh  # noqa: F401 - before the thread (imports)

    # the figures left go first; the helper makes a box mesh's quadrature stress (results)
    helped = figures and helper is not None and helper.submit(
        run.package, run.thermal, run.mechanical, run.curve, run.history)
    # the ParaView files are made on a thread while the summary is computed (numpy, zlib
    # and scikit-fem's einsums release the GIL); written here, in the usual order
    with cf.ThreadPoolExecutor(1, thread_name_prefix="thermomech-paraview") as pool:
        pending = pool.submit(paraview_files, run, meshes)
        with stage("write summary.json"):
            summary = summarize(run)
            names = ["summary.json"] + (["result.vtu"] if meshes else [])
            folder.write_bytes("summary.json", json_bytes(summary))
            history = summary.get("mechanical", {}).get("history")
            if history:
                names.append("warpage_history.csv")
                folder.write_bytes(names[-1], history_csv(history))
        if meshes:
            _write_vtu(run, folder)
        with (stage("write result.vtm" if meshes else "write process_history.pvd")
              if meshes or run.history else contextlib.nullcontext()):
            for path, data in pending.result().items():
                folder.write_bytes(path, data)
                names.append(path)
    if report:
        from .report import prepare, write_report
    with stage("draw the figures") if figures else contextlib.nullcontext():
        drawn = {}
        if report and helped:  # while the helper draws: Jinja2 and the template, 0.03 s
            prepare()
        if figures:
            drawn = (helper.result(lambda: draw_figures(run, format=figure_format))
                     if helped else draw_figures(run, format=figure_format))
        for name, data in drawn.items():
            names.append(f"figures/{name}.{figure_format}")
            folder.write_bytes(names[-1], data)
    if report:  # it embeds the figures just drawn (PNG, SVG); PDF figures: it draws PNGs
        embedded = None if figure_format == "pdf" else drawn
        with stage("write report.html"), folder.path("report.html") as staged:
            write_report(run, staged, summary=summary, figures=embedded)
        names.append("report.html")
    return [folder.directory / name for name in names]


def cell_stress(result: WarpageResult) -> dict[str, np.ndarray]:
    """Cell-averaged stress for the VTU: the tensor (cells, 6) in MPa, Voigt order xx, yy,
    zz, yz, xz, xy (ParaView's order for 6-component tensors is xx, yy, zz, xy, yz, xz:
    the columns are written in that order), and von Mises (cells,) in MPa."""
    stress, _, weights = quadrature_stress(result)  # (6, cells, points) Pa
    mean = np.einsum("scp,cp->cs", stress, weights) / weights.sum(axis=1)[:, None] / 1e6
    paraview_order = mean[:, [0, 1, 2, 5, 3, 4]]
    return {"stress_MPa": paraview_order, "von_mises_MPa": von_mises(mean.T)}


def draw_figures(run: Run, *, format: str = "png") -> dict[str, bytes]:
    """The standard figures of a run (``plotting.figures.run_figures``): name -> file bytes
    (PNG by default, SVG or PDF on request)."""
    from .plotting.figures import render_all, run_figures

    return render_all(run_figures(run.package, run.thermal, run.mechanical, run.curve,
                                  history=run.history), format)


def write_figures(run: Run, folder: Path, *, format: str = "png") -> list[Path]:
    """The standard figures of a run, one file each in ``folder`` (a plain folder: each
    file is written atomically)."""
    from .files import write_atomically

    written = []
    for name, data in draw_figures(run, format=format).items():
        written.append(Path(folder) / f"{name}.{format}")
        write_atomically(written[-1], data)
    return written


def format_summary(summary: Mapping, *, output_seconds: float | None = None) -> str:
    """The printed table of a run: the headline numbers with units, and the wall time of
    every stage (``output_seconds``: writing summary.json, the VTU, figures and report)."""
    lines = []
    mesh = summary["mesh"]
    lines.append(f"mesh: {mesh['cells']} cells, {mesh['nodes']} nodes ({mesh['dimension']}D, "
                 f"symmetry {mesh['symmetry']})")
    thermal = summary.get("thermal")
    if thermal:
        lines.append(f"thermal: {thermal['unknowns']} unknowns, power {thermal['power_W']:.4g} W,"
                     f" energy balance error {thermal['energy_balance_error']:.1e}")
        tj = thermal.get("junction_temperature_C")
        if tj is not None:
            lines.append(f"  junction temperature        {tj:10.2f} degC")
        for key, label in (("theta_ja_K_per_W", "theta_JA"), ("theta_jc_K_per_W", "theta_JC"),
                           ("theta_jb_K_per_W", "theta_JB"), ("psi_jt_K_per_W", "Psi_JT")):
            if thermal.get(key) is not None:
                lines.append(f"  {label:<27} {thermal[key]:10.3f} K/W")
        for name, watts in thermal.get("heat_out_W", {}).items():
            lines.append(f"  heat out through {name:<11} {watts:10.3f} W")
    mechanical = summary.get("mechanical")
    if mechanical:
        for name, value in mechanical.get("warpage_um", {}).items():
            signed = mechanical.get("center_minus_corner_um", {}).get(name)
            shape = mechanical.get("shape", {}).get(name, "")
            extra = f" (centre - corner {signed:+.2f} um {shape})" if signed is not None else ""
            lines.append(f"  warpage {name:<19} {value:10.2f} um{extra}")
        for part, value in mechanical.get("von_mises_max_MPa", {}).items():
            lines.append(f"  von Mises max {part:<13} {value:10.1f} MPa")
    lines.append(times_line(summary["solver"], output_seconds))
    return "\n".join(lines)


def times_line(solver: Mapping, output_seconds: float | None = None) -> str:
    """``times: mesh 0.40 s, thermal 0.30 s, mechanical 1.50 s, outputs 1.10 s, total
    3.30 s``: each stage's wall time (s), from the summary's solver table."""
    stages = {"mesh": solver.get("mesh_seconds", 0.0),
              "thermal": solver.get("thermal_seconds", 0.0),
              "mechanical": solver.get("mechanical_seconds", 0.0)}
    if output_seconds is not None:
        stages["outputs"] = output_seconds
    parts = [f"{name} {seconds:.2f} s" for name, seconds in stages.items()]
    return f"times: {', '.join(parts)}, total {sum(stages.values()):.2f} s"
