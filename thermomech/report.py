"""One self-contained HTML report per run: what goes into an engineering report.

``write_report(run, path, summary=...)`` writes a single HTML file (no external files: the
figures are embedded as base64 PNG or inline SVG), rendered from the Jinja2 template
``templates/report.html.j2``. From the top: the headline results (junction temperature,
theta / psi, heat split, warpage, largest stresses) and the warnings of the summary
(``diagnostics.run_warnings``: the same list the terminal and summary.json get); the
figures; the metrics table (every number of summary.json, with units); the model inputs
(values with units, meaning and source of each default); the materials of the parts with
their sources; the solver statistics (cells, unknowns, element, times, iterations,
residuals, energy and force balance); the provenance (version, input hash, platform).

``run`` is an ``analysis.Run`` (this module sits below analysis and only reads the attributes
``model``, ``package``, ``thermal``, ``mechanical``, ``curve``); ``summary`` is
``analysis.summarize(run)``, passed in so the report shows exactly the numbers of
summary.json.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .files import write_atomically
from .parameters import declared_fields, to_dict
from .plotting.figures import render, run_figures
from .plotting.labels import UNIT_SUFFIXES, unit_of  # noqa: F401 - the report's units

# --- the file --------------------------------------------------------------------------------

def write_report(run, path: str | os.PathLike, *, summary: Mapping,
                 figures: Mapping[str, bytes | str | os.PathLike] | None = None) -> Path:
    """Write the HTML report of ``run`` to ``path`` atomically; returns the path.

    figures : name -> PNG or SVG (bytes or a file path) of already drawn figures (the
        figures/ folder of ``thermomech run``); None draws the standard figures
        (``plotting.figures.run_figures``) as PNG in memory.
    """
    path = Path(path)
    specs = run_figures(run.package, run.thermal, run.mechanical, run.curve)
    if figures is None:
        figures = {spec.name: render(spec) for spec in specs}
    captions = {spec.name: spec.caption for spec in specs}
    text = report_html(run, summary, {name: (_image_bytes(data), captions.get(name, name))
                                      for name, data in figures.items()})
    write_atomically(path, text.encode("utf-8"))
    return path


def _image_bytes(data) -> bytes:
    return data if isinstance(data, bytes) else Path(data).read_bytes()


def report_html(run, summary: Mapping, figures: Mapping[str, tuple[bytes, str]]) -> str:
    """The report as one HTML string; ``figures``: name -> (PNG or SVG bytes, caption).

    Rendered from the Jinja2 template ``templates/report.html.j2`` (autoescaped): the
    results and the warnings first, then the figures, every metric, the inputs, materials,
    solver statistics and provenance."""
    return _template().render(report_context(run, summary, figures))


SECTIONS = (("headline", "Results"), ("warnings", "Warnings"), ("figures", "Figures"),
            ("metrics", "Metrics"), ("inputs", "Model inputs"), ("materials", "Materials"),
            ("solver", "Solver statistics"), ("provenance", "Provenance"))
"""(id, title) of the report's sections, in order."""

MATERIAL_HEADER = ("part", "material", "k (W/(m K))", "E (GPa)", "nu", "CTE (ppm/K)",
                   "Tg (degC)", "CTE above Tg (ppm/K)", "source")


def report_context(run, summary: Mapping, figures: Mapping[str, tuple[bytes, str]]) -> dict:
    """The values the template shows (plain data: rows of strings and numbers)."""
    model = run.model
    inputs = input_table(model)
    source = (summary.get("provenance") or {}).get("input") or {}
    return {
        "family": getattr(model.package, "family", type(model.package).__name__),
        "version": version(), "cells": run.package.ncells,
        "stamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "dimension": run.package.dimension, "symmetry": run.package.symmetry,
        "input_file": source.get("file"), "sections": SECTIONS,
        "headline": headline_rows(summary), "warnings": list(summary.get("warnings", ())),
        "figures": [{"name": name, "caption": caption, "image": embed_image(data, name)}
                    for name, (data, caption) in figures.items()],
        "metrics": metric_rows(summary), "notes": metric_notes(summary),
        "inputs": {"rows": [row[:4] for row in inputs],
                   "classes": ["default" if row[4] else "" for row in inputs]},
        "materials": {"header": MATERIAL_HEADER, "rows": material_rows(run.package)},
        "solver": solver_rows(summary), "provenance": provenance_rows(summary),
    }


def prepare() -> None:
    """Load Jinja2 and compile the report's template now (0.03-0.04 s), for instance while
    the run waits for its figure helper, so that ``write_report`` then only renders."""
    _template()


@functools.cache
def _template():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("thermomech", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.get_template("report.html.j2")


def version() -> str:
    """The installed thermomech version (package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("thermomech")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


# --- headline ----------------------------------------------------------------------------------

HEADLINE = (("thermal.junction_temperature_C", "junction temperature"),
            ("thermal.power_W", "power"),
            ("thermal.theta_ja_K_per_W", "theta_JA (junction to ambient)"),
            ("thermal.theta_jc_K_per_W", "theta_JC (junction to case)"),
            ("thermal.theta_jb_K_per_W", "theta_JB (junction to board)"),
            ("thermal.psi_jt_K_per_W", "Psi_JT (junction to top)"))
"""Summary keys shown at the top of the report, with their labels."""


def headline_rows(summary: Mapping) -> list[tuple[str, str, str]]:
    """(label, value, unit) of the numbers an engineer looks for first: junction
    temperature, power, theta / psi values, the heat split, the warpage of each surface and
    the largest stresses (with the part they are in)."""
    rows = []
    for key, label in HEADLINE:
        value = _lookup(summary, key)
        if isinstance(value, int | float):
            rows.append((label, f"{value:.4g}", unit_of(key)))
    thermal = summary.get("thermal") or {}
    for path, share in (thermal.get("heat_path_share") or {}).items():
        rows.append((f"heat to the {path.replace('_', ' ')}", f"{100 * share:.3g}", "%"))
    mechanical = summary.get("mechanical") or {}
    for surface, value in (mechanical.get("warpage_um") or {}).items():
        shape = (mechanical.get("shape") or {}).get(surface)
        rows.append((f"warpage of the {surface}, peak-to-valley" + (f": {shape}" if shape
                                                                     else ""),
                     f"{value:.4g}", "um"))
    for key, label in (("von_mises_max_MPa", "largest von Mises stress"),
                       ("max_principal_MPa", "largest principal stress")):
        part, value = _largest(mechanical.get(key) or {})
        if part is not None:
            rows.append((f"{label}, in the {part}", f"{value:.4g}", "MPa"))
    return rows


def _lookup(table: Mapping, dotted: str):
    for name in dotted.split("."):
        if not isinstance(table, Mapping) or name not in table:
            return None
        table = table[name]
    return table


def _largest(values: Mapping) -> tuple[str | None, float]:
    finite = {k: v for k, v in values.items() if isinstance(v, int | float) and v == v}
    if not finite:
        return None, float("nan")
    part = max(finite, key=finite.get)
    return part, finite[part]


# --- inputs ------------------------------------------------------------------------------------

def input_rows(section: str, spec) -> list[tuple[str, str, str, str, bool]]:
    """(key, value with unit, meaning, source of the default, is default) of a declared
    dataclass (package spec, mesh options, loads)."""
    values = to_dict(spec)
    rows = []
    for f in declared_fields(type(spec)):
        if f.name not in values:
            continue
        default = (f.default if f.default is not dataclasses.MISSING else
                   f.default_factory() if f.default_factory is not dataclasses.MISSING
                   else dataclasses.MISSING)
        rows.append((f"{section}.{f.name}", _value_text(values[f.name]),
                     without_claims(f.metadata.get("doc", "")), f.metadata.get("source", ""),
                     default == getattr(spec, f.name)))
    return rows


_CLAIM_IN_PARENTHESES = re.compile(r"\s*\((?:\d{3} )?claims? [\d\s,\-]+\)")
_CLAIM_AFTER = re.compile(r"(?:,| of) (?:\d{3} )?claims? \d+(?:\s*-\s*\d+)?(?:, ?\d+)*")


def without_claims(text: str) -> str:
    """A parameter's meaning without the patent-claim references its declaration keeps for
    traceability ("heat sink size in x (> die, claim 1)" -> "heat sink size in x (> die)"):
    the report is read by package engineers, not patent attorneys. The source column keeps
    them."""
    return _CLAIM_AFTER.sub("", _CLAIM_IN_PARENTHESES.sub("", text))


def _value_text(value) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) and value == "" else str(value)


def input_table(model) -> list[tuple[str, str, str, str, bool]]:
    """Every input row of the model: the family, then package, mesh, thermal, mechanical."""
    rows = []
    family = getattr(model.package, "family", None)
    if family:
        rows.append(("package.family", family, "package family", "", False))
    sections = (("package", model.package), ("mesh", model.mesh),
                ("thermal", model.thermal), ("mechanical", model.mechanical))
    for name, spec in sections:
        if spec is not None and dataclasses.is_dataclass(spec):
            rows += input_rows(name, spec)
    return rows


def material_rows(package) -> list[tuple]:
    """One row per part: material, its main properties in report units, and sources."""
    rows = []
    for part in package.parts:
        name = package.part_materials[part]
        m = package.materials[name]
        rows.append((part, name, _prop(m.conductivity, 1.0), _prop(m.youngs_modulus, 1e-9),
                     _prop(m.poisson_ratio, 1.0), _prop(m.cte, 1e6),
                     _prop(m.glass_transition, 1.0), _prop(m.cte_above_tg, 1e6),
                     _sources(m)))
    return rows


def _prop(value, scale: float) -> str:
    if value is None:
        return "-"
    values = np.atleast_1d(np.asarray(value, float)) * scale
    if np.allclose(values, values[0]):
        values = values[:1]
    return " / ".join(f"{v:.4g}" for v in values)


def _sources(material) -> str:
    sources = dict(material.sources)
    text = "; ".join(f"{key}: {value}" if key != "*" else value
                     for key, value in sources.items())
    if material.description:
        text = f"{material.description}. {text}" if text else material.description
    return text or "not given"


# --- figures -----------------------------------------------------------------------------------

def embed_image(data: bytes, name: str):
    """An ``<img>`` with a base64 data URI (PNG) or the inline ``<svg>`` element (SVG), as
    markup the template inserts unescaped (matplotlib's SVG is well-formed XML)."""
    from markupsafe import Markup, escape

    if data.startswith(b"\x89PNG"):
        encoded = base64.b64encode(data).decode("ascii")
        return Markup(f'<img alt="{escape(name)}" src="data:image/png;base64,{encoded}">')
    text = data.decode("utf-8")
    start = text.find("<svg")
    if start < 0:
        raise ValueError(f"figure {name!r} is neither PNG nor SVG")
    return Markup(text[start:])


# --- metrics and solver statistics ----------------------------------------------------------------

def metric_items(summary: Mapping) -> list[tuple[str, object]]:
    """(dotted key, value) of every number and word of the thermal and mechanical tables of
    the summary (their ``solver`` sub-tables and notes go to the solver section)."""
    items = []
    for section in ("thermal", "mechanical"):
        if summary.get(section):
            items += _leaves(summary[section], f"{section}.")
    return [(k, v) for k, v in items if ".solver." not in k and not k.endswith("_note")]


def _leaves(table, prefix: str) -> list[tuple[str, object]]:
    out = []
    if isinstance(table, Mapping):
        for key, value in table.items():
            out += _leaves(value, f"{prefix}{key}.")
    elif isinstance(table, list | tuple):
        for i, value in enumerate(table):
            out += _leaves(value, f"{prefix[:-1]}[{i}].")
    elif table is not None:
        out.append((prefix[:-1], table))
    return out


def metric_rows(summary: Mapping) -> list[dict]:
    """{key, text, unit, number, data} of every metric; ``data`` is the exact value
    (``repr`` of a float round-trips), ``text`` the displayed one."""
    rows = []
    for key, value in metric_items(summary):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        rows.append({"key": key, "text": f"{value:.6g}" if number else str(value),
                     "unit": unit_of(key) if number else "", "number": number,
                     "data": repr(value) if number else str(value)})
    return rows


def metric_notes(summary: Mapping) -> list[str]:
    """The distinct notes (``*_note`` keys) of the mechanical table."""
    return sorted({v for k, v in _leaves(summary.get("mechanical") or {}, "")
                   if k.endswith("_note")})


def solver_rows(summary: Mapping) -> list[tuple[str, str]]:
    """(quantity, value) of the mesh and solver statistics of the summary."""
    rows = [(f"mesh.{k}", _format(v)) for k, v in _leaves(summary.get("mesh", {}), "")]
    rows += [(f"solver.{k}", _format(v)) for k, v in _leaves(summary.get("solver", {}), "")]
    return rows


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def provenance_rows(summary: Mapping) -> list[tuple[str, str]]:
    """(item, value) of the summary's provenance: version, input hash, date, platform,
    solver settings."""
    return [(k, _format(v)) for k, v in _leaves(summary.get("provenance") or {}, "")]
