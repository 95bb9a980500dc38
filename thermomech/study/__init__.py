"""Parameter studies: vary any input of a model, run every case, keep every result.

A :class:`Study` is a base model, parameters (dotted paths into the model with values in
units), a design (grid, explicit cases, one-at-a-time, Latin hypercube, Sobol) and the
responses to tabulate. :func:`run_study` runs its cases with any ``analyse(model) -> dict``
(serially, in local processes or on a Dask cluster), persists each finished case at once and
resumes a stopped run; it returns the :class:`StudyTable`. Nothing here knows physics.

A study file (``model`` is relative to it; docs/study-file.md is the reference of every
key, and the study files of studies/ are examples)::

    [study]
    model = "flip_chip.toml"
    design = "grid"          # or a table: design = { type = "sobol", samples = 64, seed = 1 }
    responses = ["thermal.junction_temperature_C", "mechanical.warpage_um"]   # default: all

    [study.parameters]       # path = values; or [[study.parameters]] tables with path = ...
    "package.heat_sink_width" = "[10, 12, 14] mm"
    "materials.molded_underfill.cte" = ["8 ppm/K", "12 ppm/K"]
    "thermal.convection[0].h" = { bounds = ["100 W/(m^2*K)", "1e4 W/(m^2*K)"], count = 5 }

Designs: ``grid`` (every combination), ``cases`` (``[[study.cases]]`` tables of
path = value, unnamed parameters nominal), ``one_at_a_time`` (the nominal case, then each
parameter over its values), ``latin_hypercube`` and ``sobol`` (``samples``, ``seed``; each
parameter needs ``bounds``). A parameter that changes nothing the analysis uses is refused
before the first case (:func:`check_parameters_matter`). Output folder: ``study.json``
(the base model's fingerprint), ``cases.jsonl`` (one line per finished case, keyed by its
values: a changed design reuses every finished case with the same model), ``table.csv``
(+ ``table.parquet``), and from the command ``plots/``; the folder's
``.thermomech-manifest.json`` lists them (``files.OutputFolder``: other files in the
folder are never touched).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names for type checkers and editors
    from .command import add_study_arguments, run_study_command, study_main
    from .content import case_keys, check_parameters_matter
    from .definition import (
        DEFAULT_MAX_CASES,
        Design,
        Parameter,
        Study,
        case_model,
        define_study,
        load_study,
        study_hash,
    )
    from .designs import DESIGNS
    from .runner import connect_scheduler, export_table, run_case, run_study
    from .store import CaseResult, flatten_responses, read_cases
    from .table import StudyTable, read_csv

_SOURCES = {
    "add_study_arguments": "command", "run_study_command": "command", "study_main": "command",
    "case_keys": "content", "check_parameters_matter": "content",
    "DEFAULT_MAX_CASES": "definition", "Design": "definition", "Parameter": "definition",
    "Study": "definition", "case_model": "definition", "define_study": "definition",
    "load_study": "definition", "study_hash": "definition",
    "DESIGNS": "designs",
    "connect_scheduler": "runner", "export_table": "runner", "run_case": "runner",
    "run_study": "runner",
    "CaseResult": "store", "flatten_responses": "store", "read_cases": "store",
    "StudyTable": "table", "read_csv": "table",
}
"""Public name -> the module that defines it: loaded on first use (PEP 562), so the
``thermomech`` command builds its ``study`` subcommand's arguments without importing the
study machinery (and SciPy with it) before it starts a run (docs/performance.md)."""


def __getattr__(name: str):
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})


__all__ = [
    "DEFAULT_MAX_CASES",
    "DESIGNS",
    "CaseResult",
    "Design",
    "Parameter",
    "Study",
    "StudyTable",
    "add_study_arguments",
    "case_keys",
    "case_model",
    "check_parameters_matter",
    "connect_scheduler",
    "define_study",
    "export_table",
    "flatten_responses",
    "load_study",
    "read_cases",
    "read_csv",
    "run_case",
    "run_study",
    "run_study_command",
    "study_hash",
    "study_main",
]
