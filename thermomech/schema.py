"""A JSON Schema of the model file, generated from the declared parameters.

``model_schema()`` returns the schema (JSON Schema 2020-12) of a TOML model file: the
sections, every family's keys with their doc, default and the unit bare numbers are read in,
the lists of sub-tables, the enumerations and the material properties. Editors use it to
complete and check model files (``thermomech schema > model.schema.json``; e.g. VS Code's
Even Better TOML reads ``#:schema model.schema.json`` on a file's first line).

It is derived from ``parameters.param`` metadata and the dataclasses' type hints, so it cannot
drift from the parser (``model_file``); it checks the shape (keys, types, choices), and the
parser still checks what a schema cannot: units, ranges and the geometry.
"""

from __future__ import annotations

import dataclasses
import types
import typing

from .board import BoardSpec
from .environments import EnvironmentSpec
from .materials import PROPERTY_KINDS, TABLE_PROPERTIES
from .mechanical_loads import MechanicalLoads
from .meshing import MeshOptions
from .packages import FAMILIES
from .packages.mesh_file import MeshFileSpec
from .parameters import declared_fields
from .reliability_spec import ReliabilitySpec
from .submodel_spec import SubmodelSpec
from .thermal_loads import ThermalLoads
from .units import KINDS, format_quantity
from .viscoelastic import SHIFTS, VISCOELASTIC_KEYS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
QUANTITY_PATTERN = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s*\S.*)?$"
"""A number, optionally followed by a unit ("0.7 mm", "25 degC", "500 W/(m^2*K)")."""

PLAIN_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def model_schema() -> dict:
    """The JSON Schema of a model file (a dict, ready for ``json.dumps``)."""
    families = {**FAMILIES, MeshFileSpec.family: MeshFileSpec}
    return {
        "$schema": DIALECT,
        "title": "thermomech model file",
        "description": "A package (one of the families), materials, mesh options and the "
                       "thermal and mechanical loads; see docs/model-file.md.",
        "type": "object",
        "properties": {
            "package": package_schema(families),
            "materials": materials_schema(),
            "mesh": table_schema(MeshOptions, "[mesh]: mesh options"),
            "thermal": table_schema(ThermalLoads, "[thermal]: heat loads and boundaries"),
            "mechanical": table_schema(MechanicalLoads, "[mechanical]: warpage loads"),
            "submodel": table_schema(SubmodelSpec, "[submodel]: region and resolution of a "
                                                   "local model (thermomech submodel)"),
            "board": table_schema(BoardSpec, "[board]: JEDEC test board under the package"),
            "environment": table_schema(EnvironmentSpec, "[environment]: JEDEC still and "
                                        "moving air"),
            "reliability": table_schema(ReliabilitySpec, "[reliability]: thermal cycle and "
                                        "solder-joint life"),
        },
        "required": ["package"],
        "additionalProperties": False,
        "$defs": {name: table_schema(cls, f"[package] family = {name!r}",
                                     extra={"family": {"const": name}})
                  for name, cls in families.items()},
    }


def package_schema(families: dict) -> dict:
    """``[package]``: ``family`` picks the keys (one ``$defs`` entry per family)."""
    return {
        "description": "the package geometry: family selects the structure",
        "type": "object",
        "properties": {"family": {"enum": list(families), "description": "package family"}},
        "required": ["family"],
        "allOf": [{"if": {"properties": {"family": {"const": name}}},
                   "then": {"$ref": f"#/$defs/{name}"}} for name in families],
    }


def materials_schema() -> dict:
    """``[materials.NAME]``: library overrides or new materials, one table per name."""
    properties = {key: {"anyOf": [quantity_schema(kind),
                                  {"type": "array", "items": quantity_schema(kind)}],
                        "description": _unit_note(kind)}
                  for key, kind in PROPERTY_KINDS.items()}
    properties.update({
        "base": {"type": "string", "description": "library material to start from"},
        "source": {"type": "string", "description": "where the values given come from"},
        "sources": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "property -> source (written by dump_model)"},
        "description": {"type": "string"},
        "temperature_table": {
            "description": "isotropic E, nu and instantaneous CTE at temperatures (lists of "
                           "the same length; piecewise linear, constant outside)",
            "type": "object", "required": ["temperature"], "additionalProperties": False,
            "properties": {key: {"type": "array", "minItems": 1,
                                 "items": quantity_schema(kind), "description": _unit_note(kind)}
                           for key, kind in {"temperature": "temperature",
                                             **TABLE_PROPERTIES}.items()}},
        "viscoelastic": viscoelastic_schema(),
    })
    material = {"type": "object", "properties": properties, "additionalProperties": False}
    return {"description": "materials added or overriding the library, by name",
            "type": "object", "additionalProperties": material}


def viscoelastic_schema() -> dict:
    """``[materials.NAME.viscoelastic]``: Prony series and time-temperature shift."""
    properties = {}
    for key, (kind, is_list) in VISCOELASTIC_KEYS.items():
        if kind is None:
            properties[key] = {"enum": list(SHIFTS), "description": "time-temperature shift"}
        elif is_list:
            properties[key] = {"type": "array", "items": quantity_schema(kind),
                               "description": _unit_note(kind)}
        else:
            properties[key] = {**quantity_schema(kind), "description": _unit_note(kind)}
    return {"description": "generalized Maxwell model (Prony series) with a WLF, Arrhenius "
                           "or tabulated shift (process steps with durations)",
            "type": "object", "required": ["reference_temperature"],
            "additionalProperties": False, "properties": properties}


def table_schema(cls, description: str = "", extra: dict | None = None) -> dict:
    """The schema of one declared dataclass: a closed table of its fields."""
    hints = typing.get_type_hints(cls)
    properties = dict(extra or {})
    for f in declared_fields(cls):
        properties[f.name] = field_schema(f, hints.get(f.name))
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if description:
        out["description"] = description
    return out


def field_schema(f: dataclasses.Field, hint) -> dict:
    """One key: its type (from the metadata and the type hint), doc, unit and default."""
    meta = f.metadata
    kind = meta.get("kind")
    if meta.get("item") is not None:
        item = table_schema(meta["item"])
        out = {"anyOf": [{"type": "array", "items": item}, item]}
    elif meta.get("mapping"):
        value = quantity_schema(kind) if kind else _hint_schema(_mapping_value(hint))
        out = {"type": "object", "additionalProperties": value}
    elif kind is not None:
        out = quantity_schema(kind, meta.get("keywords", ()))
        if _is_sequence(hint):
            out = {"type": "array", "items": out}
    else:
        out = _plain_schema(meta, hint)
    out["description"] = _description(meta)
    default = _default(f)
    if default is not None:
        out["default"] = default
    return out


def quantity_schema(kind: str, keywords=()) -> dict:
    """A number in the kind's default unit or a string with a unit; ``keywords`` are words
    the key also takes (``temperature = "thermal"``)."""
    options = [{"type": "number"}, {"type": "string", "pattern": QUANTITY_PATTERN},
               *({"const": word} for word in keywords)]
    return {"anyOf": options}


def _plain_schema(meta, hint) -> dict:
    choices = meta.get("choices")
    if choices is not None:
        return {"enum": list(choices)}
    if meta.get("table") is not None:
        return table_schema(meta["table"])
    return _hint_schema(hint)


def _hint_schema(hint) -> dict:
    """A type hint as a schema: str, int, float, bool, tuples, dicts and unions of them."""
    if hint in PLAIN_TYPES:
        return {"type": PLAIN_TYPES[hint]}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_hint_schema(a) for a in args if a is not type(None)]
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is tuple:
        items = [a for a in args if a is not Ellipsis]
        return {"type": "array", "items": _hint_schema(items[0])} if items else \
            {"type": "array"}
    if origin is dict or hint is dict:
        value = args[1] if len(args) == 2 else None
        return {"type": "object", "additionalProperties":
                _hint_schema(value) if value is not None else {"type": ["number", "string"]}}
    if dataclasses.is_dataclass(hint):
        return table_schema(hint)
    return {}


def _mapping_value(hint):
    args = typing.get_args(hint)
    return args[1] if len(args) == 2 else str


def _is_sequence(hint) -> bool:
    options = typing.get_args(hint) if typing.get_origin(hint) in (
        typing.Union, types.UnionType) else (hint,)
    return any(typing.get_origin(a) is tuple for a in options)


def _unit_note(kind: str | None) -> str:
    if kind is None or not KINDS[kind].default_unit:
        return ""
    unit = KINDS[kind].default_unit
    return f"bare numbers in {unit}; or a string with a unit, e.g. \"{KINDS[kind].example}\""


def _description(meta) -> str:
    parts = [meta.get("doc", "")]
    note = _unit_note(meta.get("kind"))
    if note:
        parts.append(f"({note})")
    if meta.get("source"):
        parts.append(f"Default from: {meta['source']}.")
    return " ".join(p for p in parts if p)


def _default(f: dataclasses.Field):
    """The default as a model file writes it (unit strings), None when there is none or it
    is not a plain TOML value."""
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return None
    if f.metadata.get("item") is not None or value is None:
        return None
    return _file_value(value, f.metadata.get("kind"))


def _file_value(value, kind):
    if isinstance(value, dict):
        return {k: _file_value(v, kind) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_file_value(v, kind) for v in value]
    if isinstance(value, bool | str) or kind is None:
        return value if isinstance(value, bool | str | int | float) else str(value)
    if isinstance(value, int | float):
        return format_quantity(value, kind)
    return str(value)
