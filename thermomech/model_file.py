"""Model files (TOML) <-> :class:`Model`: the package spec, materials, mesh options and loads.

``load_model(path)`` returns the same object a script builds directly; ``dump_model`` writes
it back (round trip). Every dimensional value accepts a unit string or a bare number in its
default unit (docs/model-file.md).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .board import BoardSpec, with_board
from .connectivity import check_face_connected, facet_pairs, vertex_pairs
from .environments import EnvironmentSpec
from .errors import ModelError
from .files import write_atomically
from .material_library import ALIASES, LIBRARY, library_material
from .materials import (
    DIRECTIONAL_PROPERTIES,
    PROPERTY_KINDS,
    TABLE_PROPERTIES,
    Material,
    TemperatureTable,
)
from .mechanical_loads import (
    MechanicalLoads,
    MeltingReference,
    check_steps,
    parse_stress_free,
)
from .mesh_import import import_mesh, read_mesh
from .meshing import MeshedPackage, MeshOptions, mesh_layout
from .packages import FAMILIES
from .packages.mesh_file import MeshFileSpec
from .parameters import SECTIONS, describe, from_dict, item_path, to_dict
from .reliability_spec import ReliabilitySpec
from .submodel_spec import SubmodelSpec
from .thermal_loads import ThermalLoads
from .units import format_quantity, parse_quantity
from .viscoelastic import VISCOELASTIC_KEYS, Viscoelastic


@dataclass(frozen=True)
class Model:
    """Everything a run needs: ``package`` is a family Spec (``FlipChipSpec``, ...)."""

    package: object
    materials: Mapping[str, Material] = field(default_factory=dict)
    mesh: MeshOptions = field(default_factory=MeshOptions)
    thermal: ThermalLoads | None = None
    mechanical: MechanicalLoads | None = None
    board: BoardSpec | None = None
    environment: EnvironmentSpec | None = None
    submodel: SubmodelSpec | None = None
    reliability: ReliabilitySpec | None = None

    @property
    def all_materials(self) -> dict[str, Material]:
        """The library with this model's materials added or overriding."""
        return {**LIBRARY, **self.materials}

    def __post_init__(self):
        check_material_names(self.package, self.all_materials)

    def with_values(self, **changes) -> Model:
        return dataclasses.replace(self, **changes)


def check_material_names(spec, materials: Mapping[str, Material], prefix: str = "package"):
    """Every ``material`` / ``*_material`` field of the spec names a known material."""
    if isinstance(spec, MeshFileSpec):
        for part, material in spec.parts.items():
            if material not in materials:
                raise ModelError(f"{prefix}.parts.{part}", f"unknown material {material!r}")
        return
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        where = f"{prefix}.{f.name}"
        if (f.name == "material" or f.name.endswith("_material")) and isinstance(value, str):
            if value not in materials and value.lower() not in ALIASES:
                raise ModelError(where, f"unknown material {value!r}; known: "
                                        f"{', '.join(sorted(materials))} (or define it in "
                                        f"[materials.{value}])")
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                check_material_names(item, materials, item_path(where, i, item))


def model_layout(model: Model):
    """The package's layout, with the ``[board]`` test board below it if the model has one."""
    materials = model.all_materials
    layout = model.package.layout(materials)
    return layout if model.board is None else with_board(layout, model.board, materials)


def mesh_model(model: Model) -> MeshedPackage:
    """Mesh the model's package (and its ``[board]``) with its mesh options (or import its
    mesh file)."""
    materials = model.all_materials
    if isinstance(model.package, MeshFileSpec):
        if model.board is not None:
            raise ModelError("board", "a test board is added to a package's layout; an "
                                      "imported mesh has none")
        spec = model.package
        mesh = read_mesh(spec.path, spec.length_unit)
        package = import_mesh(mesh, spec.parts, materials, spec.dies, model.mesh)
        check_imported_connected(package)
    else:
        package = mesh_layout(model_layout(model), model.mesh, materials)
    check_references(model, package)
    return package


def check_imported_connected(package: MeshedPackage) -> None:
    """Every part of an imported mesh shares a facet with the rest (see connectivity)."""
    mesh, cell_part = package.mesh, package.cell_part
    counts = np.bincount(cell_part, minlength=len(package.parts))
    check_face_connected(package.parts, counts, facet_pairs(mesh.f2t, cell_part),
                         lambda: vertex_pairs(mesh.t, cell_part))


def check_references(model: Model, package: MeshedPackage) -> None:
    """Names the loads give that the model must have: powered parts and hot-spot dies, the
    parts of a stress-free table, melting-point references and warpage surfaces. (Whether
    a part is cut away by the 2D section, and the boundary surfaces, are checked by the
    solvers, against the same package, before they assemble anything.)"""
    parts = set(package.layout.parts) | set(package.parts)
    if model.thermal is not None:
        _check_thermal_parts(model.thermal, parts, package.parts)
    if model.mechanical is not None:
        _check_mechanical_names(model, package, parts)


def _check_thermal_parts(loads: ThermalLoads, parts: set, meshed) -> None:
    named = [(f"thermal.power.{part}", part) for part in loads.power]
    named += [(f"thermal.hot_spots[{i}].die", spot.die)
              for i, spot in enumerate(loads.hot_spots)]
    if loads.floorplan:
        named.append(("thermal.floorplan_die", loads.floorplan_die))
    for where, part in named:
        if part not in parts:
            raise ModelError(where, f"no part {part!r} in the model; parts: "
                                    f"{', '.join(meshed)}")


def _check_mechanical_names(model: Model, package: MeshedPackage, parts: set) -> None:
    loads = model.mechanical
    where = "mechanical.stress_free_temperature"
    value = loads.stress_free_temperature
    entries = {f"{where}.{k}": v for k, v in value.items()} if isinstance(value, Mapping) \
        else {where: value}
    for path, entry in entries.items():
        part = path.removeprefix(f"{where}.")
        if path != where and part != "default" and part not in parts:
            raise ModelError(path, f"no part {part!r} in this model; parts: "
                                   f"{', '.join(package.parts)} (or default)")
        reference = parse_stress_free(entry, path)
        if isinstance(reference, MeltingReference) and reference.ref is not None and not (
                reference.ref in parts or reference.ref in package.materials
                or reference.ref in model.all_materials or reference.ref.lower() in ALIASES):
            raise ModelError(path, f"{str(reference)!r}: no part or material "
                                   f"{reference.ref!r} in this model")
    check_steps(loads, package.parts)
    for i, surface in enumerate(loads.warpage_surfaces):
        if surface not in package.surfaces:
            raise ModelError(f"mechanical.warpage_surfaces[{i}]",
                             f"no surface {surface!r} in this model; known: "
                             f"{', '.join(sorted(package.surfaces))}")


# --- reading -----------------------------------------------------------------------------

def load_model(path: str | os.PathLike) -> Model:
    """Read a model file; a ModelError names the offending key.

    File paths inside the model (an imported mesh) are relative to the model file.
    """
    path = Path(path)
    data = read_toml(path, "model file")
    package = data.get("package", {})
    if isinstance(package, dict) and isinstance(package.get("path"), str):
        data = {**data, "package": {**package, "path": str(path.parent / package["path"])}}
    return model_from_dict(with_files_from(data, path.parent))


FILE_KEYS = (("mechanical", "displacements"), ("thermal", "fixed_temperature"))
"""(section, list of tables) whose ``file`` keys name files relative to the model file."""


def with_files_from(data: Mapping, base: Path) -> dict:
    """``data`` with the relative ``file`` of every entry in :data:`FILE_KEYS` joined to
    ``base`` (the model file's folder)."""
    data = dict(data)
    for section, key in FILE_KEYS:
        table = data.get(section)
        items = table.get(key) if isinstance(table, Mapping) else None
        if not isinstance(items, list):
            continue
        items = [{**item, "file": str(base / item["file"])} if isinstance(item, Mapping)
                 and isinstance(item.get("file"), str) and item["file"] else item
                 for item in items]
        data[section] = {**table, key: items}
    return data


def read_toml(path: Path, what: str) -> dict:
    """The tables of a TOML file; a ModelError (no field) if it cannot be read, is not
    UTF-8 text or not valid TOML."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelError("", f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError("", f"{path}: not a TOML {what}: not UTF-8 text (byte "
                             f"0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError("", f"{path}: not valid TOML: {exc}") from None


def model_from_dict(data: Mapping) -> Model:
    """A Model from the parsed TOML tables."""
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise ModelError(unknown[0], f"unknown section; known: {', '.join(SECTIONS)}")
    for section in SECTIONS:
        if section in data and not isinstance(data[section], Mapping):
            raise ModelError(section, f"expected a table [{section}], got "
                                      f"{describe(data[section])}")
    materials = {name: material_from_dict(name, table)
                 for name, table in data.get("materials", {}).items()}
    return Model(
        package=package_from_dict(data.get("package", {})),
        materials=materials,
        mesh=from_dict(MeshOptions, data.get("mesh", {}), "mesh"),
        thermal=from_dict(ThermalLoads, data["thermal"], "thermal") if "thermal" in data else None,
        mechanical=(from_dict(MechanicalLoads, data["mechanical"], "mechanical")
                    if "mechanical" in data else None),
        board=from_dict(BoardSpec, data["board"], "board") if "board" in data else None,
        environment=(from_dict(EnvironmentSpec, data["environment"], "environment")
                     if "environment" in data else None),
        submodel=(from_dict(SubmodelSpec, data["submodel"], "submodel")
                  if "submodel" in data else None),
        reliability=(from_dict(ReliabilitySpec, data["reliability"], "reliability")
                     if "reliability" in data else None),
    )


def package_from_dict(table: Mapping):
    family = table.get("family")
    families = {**FAMILIES, MeshFileSpec.family: MeshFileSpec}
    if not isinstance(family, str) or family not in families:
        raise ModelError("package.family", f"must be one of {', '.join(families)}, got "
                                           f"{describe(family)}")
    rest = {k: v for k, v in table.items() if k != "family"}
    return from_dict(families[family], rest, "package")


def material_from_dict(name: str, table: Mapping) -> Material:
    """``[materials.NAME]``: override a library material's values, or define a new one.

    ``base = "copper"`` starts from another library material; ``source`` documents the
    values given.
    """
    where = f"materials.{name}"
    if not isinstance(table, Mapping):
        raise ModelError(where, f"expected a table, got {table!r}")
    allowed = {*PROPERTY_KINDS, "base", "source", "sources", "description",
               "temperature_table", "viscoelastic"}
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise ModelError(f"{where}.{unknown[0]}", f"unknown material property; known: "
                                                  f"{', '.join(sorted(allowed))}")
    base_name = table.get("base", name)
    if not isinstance(base_name, str):
        raise ModelError(f"{where}.base", f"expected the name of a library material, got "
                                          f"{describe(base_name)}")
    if "base" in table or base_name.lower() in LIBRARY:
        base = library_material(base_name, f"{where}.base")
    else:
        base = Material(name=name)
    _check_texts(table, where)
    values = {}
    for key, raw in table.items():
        if key in ("base", "source", "sources", "description"):
            continue
        if key == "temperature_table":
            values[key] = temperature_table_from_dict(raw, f"{where}.{key}")
            continue
        if key == "viscoelastic":
            values[key] = viscoelastic_from_dict(raw, f"{where}.{key}")
            continue
        values[key] = _property_value(raw, key, f"{where}.{key}")
    sources = dict(base.sources)
    if "sources" in table:  # written by dump_model: the full record
        sources = dict(table["sources"])
    else:
        sources.update({key: table.get("source", "given in the model file") for key in values})
    try:
        return dataclasses.replace(base, name=name, description=table.get(
            "description", base.description), sources=sources, **values)
    except ModelError as exc:
        raise ModelError(exc.field if exc.field.startswith(where) else where,
                         str(exc).split(": ", 1)[-1]) from None


def temperature_table_from_dict(table, where: str) -> TemperatureTable:
    """``[materials.NAME.temperature_table]``: ``temperature = [...]`` and any of
    youngs_modulus, poisson_ratio, cte (instantaneous) as lists of the same length
    (quantities with units; ModelError naming the field)."""
    if not isinstance(table, Mapping):
        raise ModelError(where, f"expected a table, got {describe(table)}")
    allowed = ("temperature", *TABLE_PROPERTIES)
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise ModelError(f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(allowed)}")
    if "temperature" not in table:
        raise ModelError(f"{where}.temperature", "is needed: the list of temperatures")
    kinds = {"temperature": "temperature", **TABLE_PROPERTIES}
    values = {}
    for key, raw in table.items():
        if not isinstance(raw, list) or not raw:
            raise ModelError(f"{where}.{key}", f"expected a list of values, got "
                                               f"{describe(raw)}")
        values[key] = tuple(parse_quantity(v, kinds[key], f"{where}.{key}[{i}]")
                            for i, v in enumerate(raw))
    return TemperatureTable(**values)


def viscoelastic_from_dict(table, where: str) -> Viscoelastic:
    """``[materials.NAME.viscoelastic]``: the keys of ``viscoelastic.VISCOELASTIC_KEYS``
    (quantities with units; ModelError naming the field)."""
    if not isinstance(table, Mapping):
        raise ModelError(where, f"expected a table, got {describe(table)}")
    unknown = [k for k in table if k not in VISCOELASTIC_KEYS]
    if unknown:
        raise ModelError(f"{where}.{unknown[0]}", f"unknown key; known: "
                                                  f"{', '.join(VISCOELASTIC_KEYS)}")
    if "reference_temperature" not in table:
        raise ModelError(f"{where}.reference_temperature", "is needed: the temperature the "
                                                           "relaxation times hold at")
    values = {}
    for key, raw in table.items():
        kind, is_list = VISCOELASTIC_KEYS[key]
        if kind is None:
            if not isinstance(raw, str):
                raise ModelError(f"{where}.{key}", f"expected text, got {describe(raw)}")
            values[key] = raw
        elif is_list:
            if not isinstance(raw, list):
                raise ModelError(f"{where}.{key}", f"expected a list of values, got "
                                                   f"{describe(raw)}")
            values[key] = tuple(parse_quantity(v, kind, f"{where}.{key}[{i}]")
                                for i, v in enumerate(raw))
        else:
            values[key] = parse_quantity(raw, kind, f"{where}.{key}")
    return Viscoelastic(**values, where=where)


def viscoelastic_to_dict(visco: Viscoelastic) -> dict:
    """The ``[materials.NAME.viscoelastic]`` table of ``visco`` (unit strings)."""
    out: dict = {}
    for key, (kind, is_list) in VISCOELASTIC_KEYS.items():
        value = getattr(visco, key)
        if value is None or (is_list and not value):
            continue
        if kind is None:
            out[key] = value
        elif is_list:
            out[key] = [format_quantity(v, kind) for v in value]
        else:
            out[key] = format_quantity(value, kind)
    return out


def _check_texts(table: Mapping, where: str) -> None:
    """``source`` and ``description`` are text, ``sources`` a table of property = text."""
    for key in ("source", "description"):
        if key in table and not isinstance(table[key], str):
            raise ModelError(f"{where}.{key}", f"expected text, got {describe(table[key])}")
    sources = table.get("sources", {})
    if not isinstance(sources, Mapping) or not all(isinstance(v, str) for v in
                                                   sources.values()):
        raise ModelError(f"{where}.sources", f"expected a table of property = \"source\", "
                                             f"got {describe(sources)}")


def _property_value(raw, key: str, where: str):
    """One material property: a quantity, or for a directional one (conductivity, modulus,
    Poisson ratio, CTE) a list of 1 or 3 values (x, y, z)."""
    kind = PROPERTY_KINDS[key]
    if not isinstance(raw, list):
        return parse_quantity(raw, kind, where)
    if key not in DIRECTIONAL_PROPERTIES:
        raise ModelError(where, f"expected one value, got a list {describe(raw)}")
    if len(raw) not in (1, 3):
        raise ModelError(where, f"expected 1 or 3 values (x, y, z), got {len(raw)}: "
                                f"{describe(raw)}")
    values = tuple(parse_quantity(v, kind, f"{where}[{i}]") for i, v in enumerate(raw))
    return values[0] if len(values) == 1 else values


# --- writing -----------------------------------------------------------------------------

def model_to_dict(model: Model) -> dict:
    """The TOML tables of a model (quantities as unit strings)."""
    out: dict = {"package": {"family": model.package.family, **to_dict(model.package)}}
    if model.materials:
        out["materials"] = {name: material_to_dict(m) for name, m in model.materials.items()}
    out["mesh"] = to_dict(model.mesh)
    if model.thermal is not None:
        out["thermal"] = to_dict(model.thermal)
    if model.mechanical is not None:
        out["mechanical"] = to_dict(model.mechanical)
    for section in ("board", "environment", "submodel", "reliability"):
        if getattr(model, section) is not None:
            out[section] = to_dict(getattr(model, section))
    return out


def material_to_dict(material: Material) -> dict:
    out: dict = {}
    for key, kind in PROPERTY_KINDS.items():
        value = getattr(material, key)
        if value is None:
            continue
        if isinstance(value, tuple):
            out[key] = [format_quantity(v, kind) for v in value]
        else:
            out[key] = format_quantity(value, kind)
    table = material.temperature_table
    if table is not None:
        kinds = {"temperature": "temperature", **TABLE_PROPERTIES}
        out["temperature_table"] = {
            key: [format_quantity(v, kind) for v in getattr(table, key)]
            for key, kind in kinds.items() if getattr(table, key) is not None}
    if material.viscoelastic is not None:
        out["viscoelastic"] = viscoelastic_to_dict(material.viscoelastic)
    if material.description:
        out["description"] = material.description
    if material.sources:
        out["sources"] = dict(material.sources)
    return out


def dump_model(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` as TOML, atomically (a reader never sees half a file)."""
    import tomli_w

    write_atomically(Path(path), tomli_w.dumps(model_to_dict(model)).encode())
