"""Generate the parameter tables of docs/model-file.md from the ``param`` metadata.

    python docs/gen_model_tables.py            # print the tables
    python docs/gen_model_tables.py --write    # replace them in docs/model-file.md

The tables sit between the BEGIN / END GENERATED TABLES markers, and each
``<!-- BEGIN EXAMPLE meshes/NAME.toml -->`` ... ``<!-- END EXAMPLE -->`` region is replaced by
that model file; tests/test_model_file.py checks that the committed document matches this
output, so the docs cannot drift from the code or the bundled models.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

from thermomech.board import BoardSpec
from thermomech.environments import EnvironmentSpec
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.meshing import MeshOptions
from thermomech.packages import FAMILIES
from thermomech.packages.mesh_file import MeshFileSpec
from thermomech.parameters import declared_fields
from thermomech.reliability_spec import ReliabilitySpec
from thermomech.submodel_spec import SubmodelSpec
from thermomech.thermal_loads import ThermalLoads
from thermomech.units import KINDS, format_quantity

DOC = Path(__file__).with_name("model-file.md")
ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN GENERATED TABLES (python docs/gen_model_tables.py --write) -->"
END = "<!-- END GENERATED TABLES -->"


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "required"
    kind = f.metadata.get("kind")
    if value is None:
        return "-"
    if f.metadata.get("item") is not None:
        return f"{len(value)} table(s)" if value else "none"
    if isinstance(value, dict):
        return "{}" if not value else ", ".join(f"{k} = {v}" for k, v in value.items())
    if isinstance(value, tuple):
        return "[" + ", ".join(_scalar(v, kind) for v in value) + "]"
    return _scalar(value, kind)


def _scalar(value, kind) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind is None:
        return repr(value)
    if not isinstance(value, int | float):  # e.g. a keyword or an expression object
        return f'"{value}"'
    return f'"{format_quantity(value, kind)}"'


def _unit(f: dataclasses.Field) -> str:
    kind = f.metadata.get("kind")
    if kind is None:
        if f.metadata.get("item") is not None:
            return "list of tables"
        return "-"
    return KINDS[kind].default_unit or "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(cls, title: str) -> str:
    """One markdown table: key, unit of bare numbers, default, meaning, source."""
    rows = [f"#### {title}", "", "| key | unit | default | meaning | source of the default |",
            "|---|---|---|---|---|"]
    for f in declared_fields(cls):
        meta = f.metadata
        doc = meta.get("doc", "")
        if meta.get("choices") and "|" not in doc:
            doc += " (" + " \\| ".join(map(str, meta["choices"])) + ")"
        rows.append(f"| `{f.name}` | {_unit(f)} | {_cell(_default(f))} | {_cell(doc)} | "
                    f"{_cell(meta.get('source', ''))} |")
    return "\n".join(rows) + "\n"


def _items(cls):
    """Sub-table classes (``[[package.X]]``) of a Spec."""
    return [(f.name, f.metadata["item"]) for f in declared_fields(cls)
            if f.metadata.get("item") is not None]


def tables() -> str:
    parts = []
    for family, cls in {**FAMILIES, MeshFileSpec.family: MeshFileSpec}.items():
        parts.append(table(cls, f'`[package]` family = "{family}"'))
        for name, item in _items(cls):
            parts.append(table(item, f"`[[package.{name}]]` (family {family})"))
    for section, cls in (("mesh", MeshOptions), ("thermal", ThermalLoads),
                         ("mechanical", MechanicalLoads), ("board", BoardSpec),
                         ("environment", EnvironmentSpec), ("submodel", SubmodelSpec),
                         ("reliability", ReliabilitySpec)):
        parts.append(table(cls, f"`[{section}]`"))
        for name, item in _items(cls):
            parts.append(table(item, f"`[[{section}.{name}]]`"))
    return "\n".join(parts)


def rewritten(text: str) -> str:
    """``text`` with the generated region replaced by the current tables."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    text = f"{head}{BEGIN}\n\n{tables()}\n{END}{tail}"

    def example(match):
        body = (ROOT / match.group(1)).read_text(encoding="utf-8")
        return f"<!-- BEGIN EXAMPLE {match.group(1)} -->\n```toml\n{body}```\n<!-- END EXAMPLE -->"

    return re.sub(r"<!-- BEGIN EXAMPLE (\S+) -->.*?<!-- END EXAMPLE -->", example, text,
                  flags=re.S)


def main(argv: list[str]) -> int:
    if "--write" in argv:
        DOC.write_text(rewritten(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(tables())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
