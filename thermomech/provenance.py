"""Where a result came from: the ``provenance`` table of summary.json.

The thermomech version, the input (the model file's SHA-256, or that of the dumped model
when the model was built in Python), the date (UTC, ISO 8601), the platform (Python, OS,
the numerical libraries' versions) and the solver settings, so that a summary.json found
later says what produced it. Strings and settings only: no result of the model.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
from collections.abc import Mapping
from pathlib import Path

LIBRARIES = ("numpy", "scipy", "scikit-fem", "pyamg", "pypardiso", "meshio", "matplotlib")
"""Distributions whose versions a summary records (the ones that change numbers or files)."""


def provenance(model, *, source: str | os.PathLike | None = None, solver: str = "auto",
               thermal_stats: Mapping | None = None,
               mechanical_stats: Mapping | None = None) -> dict:
    """The provenance table of a run of ``model`` read from ``source`` (None: built in
    Python) with the requested linear ``solver``; the stats say which solvers ran."""
    return {
        "thermomech_version": installed_version("thermomech"),
        "input": input_record(model, source),
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform_record(),
        "solver_settings": solver_settings(model, solver, thermal_stats, mechanical_stats),
    }


def installed_version(distribution: str) -> str:
    """The installed version of a distribution, "not installed" when it is absent.
    (``importlib.metadata`` is imported here: 7-8 ms of a run's start-up before the mesh.)"""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def input_record(model, source: str | os.PathLike | None) -> dict:
    """{file, sha256, hashed}: the SHA-256 of the model file's bytes, or of the model as
    ``dump_model`` writes it when there is no file."""
    if source is not None:
        data = Path(source).read_bytes()
        return {"file": str(source), "sha256": hashlib.sha256(data).hexdigest(),
                "hashed": "model file"}
    import tomli_w

    from .model_file import model_to_dict

    text = tomli_w.dumps(model_to_dict(model)).encode("utf-8")
    return {"file": None, "sha256": hashlib.sha256(text).hexdigest(),
            "hashed": "dumped model (no model file)"}


def platform_record() -> dict:
    """Python, operating system, machine and the versions of :data:`LIBRARIES`."""
    return {"python": platform.python_version(), "implementation":
            platform.python_implementation(), "os": platform.platform(),
            "machine": platform.machine(),
            **{name: installed_version(name) for name in LIBRARIES}}


def solver_settings(model, solver: str, thermal_stats: Mapping | None,
                    mechanical_stats: Mapping | None) -> dict:
    """The requested linear solver and what each analysis used, the thread count, the
    iterative tolerance and the nonlinear (k(T)) iteration settings."""
    from . import linear_solvers
    from .threads import thread_count

    out: dict = {"requested": solver if isinstance(solver, str) else getattr(
        solver, "__name__", type(solver).__name__), "threads": thread_count(),
        "iterative_tolerance": getattr(linear_solvers, "ITERATIVE_TOLERANCE", None)}
    if thermal_stats:
        out["thermal_linear_solver"] = thermal_stats.get("linear_solver")
        out["thermal_element_order"] = thermal_stats.get("order")
    if model.thermal is not None:
        out["nonlinear_tolerance"] = model.thermal.nonlinear_tolerance
        out["max_nonlinear_iterations"] = model.thermal.max_iterations
    if mechanical_stats:
        linear = mechanical_stats.get("linear_solver")
        out["mechanical_linear_solver"] = linear.get("method") if isinstance(
            linear, Mapping) else linear
        out["mechanical_element"] = mechanical_stats.get("element")
    return out
