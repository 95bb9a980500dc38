"""Declared parameters: dataclass fields that know their unit, doc and source.

Specs (package families, loads, mesh options) declare fields with :func:`param`; model files
are read into them with :func:`from_dict` and written back with :func:`to_dict`, so the
unit handling, unknown-key errors and round trip live in one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping

from .errors import ModelError
from .units import format_quantity, parse_quantity


def param(default, kind: str | None = None, doc: str = "", source: str = "", **extra):
    """A declared field.

    kind : a ``units.KINDS`` name; values then accept unit strings. None: a plain value
        (str, int, float, bool) checked against the default's type.
    extra : ``item=Cls`` for a list of sub-tables (``[[...]]``) read into ``Cls``;
        ``mapping=True`` for a table of name -> value (e.g. power per part);
        ``choices=(...)`` for an enumeration; ``api_only=True`` for a field only Python
        sets (a callable): no model-file key, no schema entry, and writing it is an error.
    """
    metadata = {"kind": kind, "doc": doc, "source": source, **extra}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def declared_fields(cls) -> list[dataclasses.Field]:
    """The model-file keys of ``cls``: its init fields but the API-only ones."""
    return [f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("api_only")]


def check_writable(obj, where: str) -> None:
    """A ModelError naming ``where`` if an API-only field (a callable) of ``obj`` is set:
    a model file cannot hold it."""
    for f in dataclasses.fields(obj):
        if f.metadata.get("api_only") and getattr(obj, f.name) is not None:
            raise ModelError(f"{where}.{f.name}", "a Python function cannot be written to a "
                                                  "model file: give an expression or a file")


def _field_default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


SECTIONS = ("package", "materials", "mesh", "thermal", "mechanical", "board", "environment",
            "submodel", "reliability")
"""The top-level tables of a model file: a field path starting with one is absolute."""


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a declared field's type hint allows: one value, or a list (``length`` values,
    None for any number), whose values are of ``types`` (empty: not checked)."""

    is_list: bool
    length: int | None
    types: tuple[type, ...]
    table: bool = False


def field_shape(hint) -> Shape:
    """The :class:`Shape` of a type hint: ``tuple[float, float]`` is a list of 2 floats,
    ``tuple[str, ...]`` a list of any length, ``float | str | dict`` one value or a table."""
    options = [a for a in (typing.get_args(hint) if _is_union(hint) else (hint,))
               if a is not type(None)]
    for option in options:
        if typing.get_origin(option) is tuple:
            args = typing.get_args(option)
            if len(args) == 2 and args[1] is Ellipsis:
                return Shape(True, None, _plain_types([args[0]]))
            return Shape(True, len(args), _plain_types(args[:1]))
    table = any((typing.get_origin(a) or a) in (dict, Mapping) for a in options)
    return Shape(False, None, _plain_types(options), table)


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _plain_types(options) -> tuple[type, ...]:
    """The plain value types among ``options`` (str, int, float, bool); none if any other
    type (a table class, a mapping) is allowed too."""
    plain = tuple(typing.get_origin(a) or a for a in options)
    if not all(a in (str, int, float, bool) for a in plain):
        return ()
    return plain


def describe(value) -> str:
    """A value as the model file writes it, for messages (lists as ``[...]``)."""
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


def _parse_value(value, f: dataclasses.Field, where: str, hint):
    meta = f.metadata
    if meta.get("item") is not None:
        return _parse_items(value, meta["item"], where)
    if meta.get("mapping"):
        if not isinstance(value, Mapping):
            raise ModelError(where, f"expected a table of name = value, got {describe(value)}")
        value_hint = (typing.get_args(hint) or (None, None))[-1]
        return {str(k): _parse_one(v, meta, f"{where}.{k}", field_shape(value_hint))
                for k, v in value.items()}
    shape = field_shape(hint)
    if not shape.is_list:
        return _parse_one(value, meta, where, shape)
    if not isinstance(value, list):
        count = f"a list of {shape.length} values" if shape.length else "a list [...]"
        raise ModelError(where, f"expected {count}, got {describe(value)}")
    if shape.length is not None and len(value) != shape.length:
        raise ModelError(where, f"expected a list of {shape.length} values, got {len(value)}: "
                                f"{describe(value)}")
    return tuple(_parse_one(v, meta, f"{where}[{i}]", shape) for i, v in enumerate(value))


def _parse_items(value, cls, where: str) -> tuple:
    """A list of sub-tables (``[[...]]``); each item's path carries its name, if it has one:
    ``package.blocks[3] (die)``."""
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ModelError(where, f"expected a list of tables ([[...]]), got {describe(value)}")
    return tuple(from_dict(cls, v, item_path(where, i, v)) for i, v in enumerate(value))


def item_path(where: str, index: int, item) -> str:
    """``where[index]``, followed by `` (name)`` when the item has a name."""
    name = item.get("name") if isinstance(item, Mapping) else getattr(item, "name", None)
    return f"{where}[{index}] ({name})" if isinstance(name, str) and name else f"{where}[{index}]"


def _parse_one(value, meta, where: str, shape: Shape):
    """One value of a field: a sub-table, a quantity (unit kind) or a plain value."""
    if isinstance(value, Mapping):
        if meta.get("table") is not None:
            return from_dict(meta["table"], value, where)
        if shape.table:
            return value
        raise ModelError(where, f"expected one value, got a table {describe(value)}")
    if isinstance(value, list):
        raise ModelError(where, f"expected one value, got a list {describe(value)}")
    kind = meta.get("kind")
    if kind is not None:
        if isinstance(value, str) and value in meta.get("keywords", ()):
            return value
        return parse_quantity(value, kind, where)
    if meta.get("table") is not None:
        raise ModelError(where, f"expected a table, got {describe(value)}")
    _check_type(value, shape.types, where)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ModelError(where, f"must be one of {', '.join(map(str, choices))}, got "
                                f"{describe(value)}")
    return float(value) if shape.types == (float,) else value


def _check_type(value, allowed: tuple[type, ...], where: str) -> None:
    """``value`` must be one of the plain types ``allowed`` (ints count as floats; bools are
    only bools)."""
    if not allowed or value is None:
        return
    if isinstance(value, bool):
        ok = bool in allowed
    elif isinstance(value, int):
        ok = int in allowed or float in allowed
    else:
        ok = isinstance(value, allowed)
    if not ok:
        names = " or ".join(a.__name__ for a in allowed)
        raise ModelError(where, f"expected {names}, got {describe(value)}")


def from_dict(cls, data: Mapping, prefix: str):
    """Build ``cls`` from a model-file table; unknown keys and bad values name the field."""
    if not isinstance(data, Mapping):
        raise ModelError(prefix, f"expected a table, got {describe(data)}")
    fields = {f.name: f for f in declared_fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ModelError(f"{prefix}.{unknown[0]}", f"unknown key; known keys: "
                                                   f"{', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {name: _parse_value(raw, fields[name], f"{prefix}.{name}", hints.get(name))
              for name, raw in data.items()}
    try:
        return cls(**values)
    except ModelError as exc:
        message = str(exc)[len(exc.field) + 2:] if exc.field else str(exc)
        raise ModelError(absolute_field(exc.field, prefix), message) from None


def absolute_field(field: str, prefix: str) -> str:
    """The full path of a field a class named: an absolute one (``package.die_width``,
    ``mesh.dimension``) as it is, a relative one (``h``, ``power.die``) under ``prefix``."""
    if not field or field.split(".", 1)[0].split("[", 1)[0] in SECTIONS:
        return field
    return f"{prefix}.{field}"


def to_dict(obj, *, skip_defaults: bool = False) -> dict:
    """The model-file table of a declared dataclass (quantities as unit strings)."""
    check_writable(obj, type(obj).__name__)
    out = {}
    for f in declared_fields(type(obj)):
        value = getattr(obj, f.name)
        if value is None:
            continue
        if skip_defaults and _field_default(f) == value:
            continue
        out[f.name] = _dump_value(value, f.metadata)
    return out


def _dump_value(value, meta):
    if meta.get("item") is not None:
        return [to_dict(v) for v in value]
    if meta.get("mapping"):
        return {k: _dump_scalar(v, meta) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_dump_scalar(v, meta) for v in value]
    return _dump_scalar(value, meta)


def _dump_scalar(value, meta):
    if dataclasses.is_dataclass(value):
        return to_dict(value)
    kind = meta.get("kind")
    if kind is None or isinstance(value, str):
        return value
    return format_quantity(value, kind)
