"""CalculiX / Abaqus input decks (.inp) of a model: the same mesh, materials, loads and supports.

``write_inp(model, package, path, analysis="heat" | "warpage" | "warpage_curve")`` writes one
complete deck; ``export_model(model, path)`` writes one deck per analysis the model has
(``<stem>_heat.inp``, ``<stem>_warpage.inp``). meshio writes the nodes, elements and element
sets (one per part); the rest (materials, sections, boundary conditions, loads, steps, output
requests) is written here.

Elements (the thermomech element -> CalculiX type):

========================  ==================  =============================================
thermomech                3D                  2D (x-z section: CalculiX x = x, y = z)
========================  ==================  =============================================
heat, Hex1 / Quad1        DC3D8               CPS4 in a heat-transfer step (ccx 2.20 has no
                                              DC2D4; it runs plane elements as one layer)
heat, order 2             DC3D20 (20 nodes)   CPS8
warpage Hex1 / Quad1      C3D8                CPE4 (plane strain), CPS4 (plane stress)
warpage HexS2 / order 2   C3D20               CPE8 / CPS8
========================  ==================  =============================================

CalculiX has no 27-node hexahedron, so order 2 is always the 20-node serendipity element
(thermomech's default warpage element; its Q2 heat element ``Hex2`` has 27 nodes and 2D
``Quad2`` 9: those are written as the 20- / 8-node elements on the same nodes minus the face
and centre nodes, a different element). 2D ``plane = "generalized_strain"`` has no CalculiX
element: exporting it is a ModelError asking for ``strain`` or ``stress``.

Node numbers: node k + 1 is scikit-fem's scalar dof k of the element on the package mesh
(vertices first, then edge midpoints), so results read back map onto thermomech's fields
without a search. CalculiX's hexahedron order (bottom face counter-clockwise seen from +z,
then the top face, then edges 1-2, 2-3, 3-4, 4-1, 5-6, 6-7, 7-8, 8-5, 1-5, 2-6, 3-7, 4-8) is
made from the mesher's vertex order by :data:`HEX_VERTICES`; faces S1..S6 (films F1..F6) are
-z, +z, -y, +x, +y, -x; quadrilateral edges 1..4 are -z, +x, +z, -x of the section.

Thermal expansion (thermomech: ``e_th = F(T) - F(T_sf)``, ``F`` the integral of the
instantaneous CTE with the change at Tg). CalculiX, like Abaqus, uses a secant coefficient
from ``ZERO`` and subtracts the strain at the initial temperature T_I:
``e_th = a(T) (T - ZERO) - a(T_I) (T_I - ZERO)``. The deck sets every node's initial
temperature and every material's ZERO to one reference T_I and tabulates
``a_p(T) = (F_p(T) - F_p(T_sf,p)) / (T - T_I)`` per part: exact at the table temperatures
(the load temperature(s) of a uniform load; a 1 K grid over the range of a thermal field).
When all parts share one stress-free temperature T_I is that temperature and ``a`` is the
ordinary secant CTE; otherwise T_I lies 50 K above every temperature involved.

Units: SI (m, W, Pa, 1/K), temperatures degC, as in thermomech.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .fem.constraints import supports_removing_rigid_motion
from .fem.space import checked_order
from .heat_problem import boundary_conditions
from .heat_sources import face_powers, power_density
from .inp_materials import (
    conductivity_lines,
    elastic_lines,
    expansion_lines,
    table_temperatures,
)
from .inp_mesh import (
    DeckMesh,
    deck_mesh,
    deck_name,
    element_set,
    face_nodes,
    mesh_text,
    node_set,
    number,
)
from .inp_process import process_deck
from .meshing import Faces, MeshedPackage
from .model_file import Model, mesh_model, write_atomically

ANALYSES = ("heat", "warpage", "warpage_curve", "process")

FACE_LABEL = {3: {0: 6, 1: 4, 2: 3, 3: 5, 4: 1, 5: 2}, 2: {0: 4, 1: 2, 2: 1, 3: 3}}
"""thermomech face side (2 * axis + 1 if +) -> CalculiX face number (S<n>, F<n>)."""
WARPAGE_ORDER = {"Hex1": 1, "Quad1": 1, "HexS2": 2, "Hex2": 2, "Quad2": 2}



# --- the deck ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deck:
    """A written deck: ``mesh`` (node numbering), the element type and the part element sets
    (0-based cells), for reading results back."""

    path: Path
    analysis: str
    mesh: DeckMesh
    element_type: str
    parts: dict
    reference_temperature: float | None = None
    reported: tuple = ()  # process: the CalculiX step (1-based) of each recipe increment


def element_type(package: MeshedPackage, analysis: str, order: int, plane: str | None) -> str:
    if package.dimension == 3:
        if analysis == "heat":
            return "DC3D8" if order == 1 else "DC3D20"
        return "C3D8" if order == 1 else "C3D20"
    nodes = "4" if order == 1 else "8"
    if analysis == "heat":
        return "CPS" + nodes
    if plane == "generalized_strain":
        raise ModelError("mechanical.plane", "generalized plane strain has no CalculiX "
                                             "element; export with plane = \"strain\" (CPE) or "
                                             "\"stress\" (CPS)")
    return ("CPE" if plane == "strain" else "CPS") + nodes


def _header(model: Model, package: MeshedPackage, analysis: str, etype: str) -> str:
    family = getattr(model.package, "family", type(model.package).__name__)
    return (f"** thermomech CalculiX/Abaqus deck: {family}, {analysis} analysis, {etype}\n"
            f"** {package.dimension}D, symmetry {package.symmetry}, {package.ncells} cells; "
            f"units m, W, Pa, 1/K, degC\n")


def _sections(package: MeshedPackage, names: dict[str, str]) -> str:
    thickness = "1.\n" if package.dimension == 2 else ""
    return "".join(f"*SOLID SECTION,ELSET={names[p]},MATERIAL={names[p]}\n{thickness}"
                   for p in package.parts if p in package.mesh.subdomains)


def _part_sets(package: MeshedPackage) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    names = {p: deck_name(p) for p in package.parts}
    if len(set(names.values())) != len(names):
        raise ModelError("package", "part names differ only in case or punctuation; CalculiX "
                                    "set names would clash")
    return names, {names[p]: package.part_cells(p) for p in package.parts
                   if p in package.mesh.subdomains}


def _face_groups(faces: Faces, dim: int):
    """(label, cells) per CalculiX face number present in ``faces``."""
    for side in np.unique(faces.sides):
        yield FACE_LABEL[dim][int(side)], faces.cells[faces.sides == side]


def heat_text(model: Model, package: MeshedPackage, deck: DeckMesh, names) -> str:
    """Materials, boundary conditions, powers and the heat-transfer step."""
    loads = model.thermal
    if loads is None:
        raise ModelError("thermal", "a heat-transfer deck needs a [thermal] section")
    dim = package.dimension
    ambient = loads.ambient
    temperatures = table_temperatures([], ambient - 50.0, ambient + 350.0)
    out = []
    for part in package.parts:
        if part not in package.mesh.subdomains:
            continue
        material = package.cell_material(part)
        if material.conductivity is None:
            raise ModelError(f"materials.{material.name}.conductivity",
                             f"is needed for a thermal analysis (part {part!r})")
        out.append(f"*MATERIAL,NAME={names[part]}\n")
        out.append(conductivity_lines(material, dim, temperatures))
        if loads.transient is not None:
            out.append(f"*DENSITY\n{number(material.density)}\n"
                       f"*SPECIFIC HEAT\n{number(material.specific_heat)}\n")
    out.append(_sections(package, names))
    boundaries = boundary_conditions(package, loads)
    sets, films, fluxes, fixed = [], [], [], []
    for i, b in enumerate(boundaries):
        for label, cells in _face_groups(b.faces, dim):
            set_name = f"BC{i}_{deck_name(b.name)}_F{label}"
            if b.kind == "fixed":
                continue
            sets.append(element_set(set_name, cells))
            if b.kind == "convection":
                films.append(f"{set_name},F{label},{number(b.ambient)},{number(b.value)}\n")
            else:
                fluxes.append(f"{set_name},S{label},{number(b.value)}\n")
        if b.kind == "fixed" and len(b.faces) and b.function is not None:  # a map: per node
            nodes = face_nodes(deck, b.faces)
            values = b.function(deck.points[nodes].T)[0]
            fixed += [f"{n + 1},11,11,{number(v)}\n" for n, v in zip(nodes, values)]
        elif b.kind == "fixed" and len(b.faces):
            set_name = f"BC{i}_{deck_name(b.name)}"
            sets.append(node_set(set_name, face_nodes(deck, b.faces)))
            fixed.append(f"{set_name},11,11,{number(b.value)}\n")
    out += sets
    out.append(f"*INITIAL CONDITIONS,TYPE=TEMPERATURE\nNALL,{number(ambient)}\n")
    if fixed:
        out.append("*BOUNDARY\n" + "".join(fixed))
    out.append(_heat_step(model, package, names, films, fluxes))
    return "".join(out)


def _heat_step(model: Model, package: MeshedPackage, names, films, fluxes) -> str:
    loads = model.thermal
    q = power_density(package, loads)
    body = []
    for i, part in enumerate(package.parts):
        cells = np.flatnonzero(package.cell_part == i)
        if len(cells) and q[cells].max() > 0:
            body.append(f"{names[part]},BF,{number(q[cells][0])}\n")
    for _, faces, flux in face_powers(package, loads):
        labels = np.array([FACE_LABEL[package.dimension][int(s)] for s in faces.sides])
        body += [f"{c + 1},S{label},{number(g)}\n" for c, label, g in zip(
            faces.cells, labels, flux)]
    transient = loads.transient
    if transient is None:
        procedure = "*HEAT TRANSFER,STEADY STATE\n1.,1.\n"
        amplitude = ""
    else:
        dt, end = transient.time_step, transient.end_time
        procedure = f"*HEAT TRANSFER,DIRECT\n{number(dt)},{number(end)}\n"
        amplitude = ",AMPLITUDE=POWER" if transient.power_profile is not None else ""
    step = ["*STEP,INC=100000\n", procedure]
    if body:
        step.append(f"*DFLUX{amplitude}\n" + "".join(body))
    if fluxes:
        step.append("*DFLUX\n" + "".join(fluxes))
    if films:
        step.append("*FILM\n" + "".join(films))
    step.append("*NODE FILE\nNT\n*EL FILE\nHFL\n*NODE PRINT,NSET=NALL\nNT\n*END STEP\n")
    prefix = _amplitude(transient) if amplitude else ""
    return prefix + "".join(step)


def _amplitude(transient) -> str:
    """*AMPLITUDE of the power profile, sampled at the time steps (exact at the steps)."""
    times = np.arange(0.0, transient.end_time + transient.time_step / 2, transient.time_step)
    factors = transient.profile.factor(times)
    rows = "".join(f"{number(t)},{number(f)}\n" for t, f in zip(times, factors))
    return "*AMPLITUDE,NAME=POWER\n" + rows


def stress_free_by_part(package: MeshedPackage, loads) -> dict[str, float]:
    from .elasticity import stress_free_temperatures

    return stress_free_temperatures(package, loads)


def _load_temperatures(analysis: str, loads, temperature) -> list:
    """Per step: a uniform temperature (degC) or a nodal field marker ``None``."""
    if analysis == "warpage_curve":
        if not loads.temperatures:
            raise ModelError("mechanical.temperatures", "a warpage curve needs temperatures")
        return [float(t) for t in loads.temperatures]
    value = temperature if temperature is not None else loads.temperature
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return [None]


def nodal_temperature(model: Model, package: MeshedPackage, deck: DeckMesh,
                      temperature) -> np.ndarray:
    """(nodes,) degC at the deck's nodes from a thermal result (``temperature_at``). The
    deck writer solves nothing: a model whose warpage load is the thermal field needs the
    caller's thermal result."""
    if temperature is None or isinstance(temperature, str):
        raise ModelError("mechanical.temperature", '"thermal": the warpage deck needs the '
                                                   'thermal result (solve the [thermal] '
                                                   'section and pass it as temperature)')
    return np.asarray(temperature.temperature_at(deck.points.T))


def reference_temperature(free: dict[str, float], temperatures: Sequence[float]) -> float:
    """T_I of the deck (see the module doc)."""
    values = set(free.values())
    if len(values) == 1:
        return float(values.pop())
    return float(max([*free.values(), *temperatures])) + 50.0


def warpage_text(model: Model, package: MeshedPackage, deck: DeckMesh, names, analysis,
                 temperature=None) -> tuple[str, float]:
    """Materials, supports, the temperature load(s) and the static step(s)."""
    loads = model.mechanical
    if loads is None:
        raise ModelError("mechanical", "a warpage deck needs a [mechanical] section")
    dim = package.dimension
    free = stress_free_by_part(package, loads)
    steps = _load_temperatures(analysis, loads, temperature)
    field = None
    if steps == [None]:
        field = nodal_temperature(model, package, deck, temperature)
        points = list(free.values())
        low, high = float(field.min()), float(field.max())
    else:
        points, low, high = steps, None, None
    initial = reference_temperature(free, steps if field is None else [low, high])
    out = []
    for part in package.parts:
        if part not in package.mesh.subdomains:
            continue
        material = package.cell_material(part)
        tg = material.glass_transition
        table = table_temperatures(points if field is None else [], low, high,
                                   [] if tg is None else [tg])
        out.append(f"*MATERIAL,NAME={names[part]}\n")
        out.append(elastic_lines(material, dim))
        out.append(f"** stress-free at {number(free[part])} degC\n")
        out.append(expansion_lines(material, dim, free[part], initial, table))
    out.append(_sections(package, names))
    out.append(support_text(package, deck, loads))
    out.append(f"*INITIAL CONDITIONS,TYPE=TEMPERATURE\nNALL,{number(initial)}\n")
    for t in steps:
        out.append("*STEP\n*STATIC\n*TEMPERATURE\n")
        if t is None:
            out.append("".join(f"{i + 1},{number(v)}\n" for i, v in enumerate(field)))
        else:
            out.append(f"NALL,{number(t)}\n")
        out.append("*NODE FILE\nU\n*EL FILE\nS\n*NODE PRINT,NSET=NALL\nU\n"
                   "*EL PRINT,ELSET=EALL\nS\n*END STEP\n")
    return "".join(out), initial


def support_text(package: MeshedPackage, deck: DeckMesh, loads) -> str:
    """Symmetry planes, clamped surfaces, prescribed displacements (per node: the solver's
    nodal values) and the minimal supports of the free rigid motion."""
    dim = package.dimension
    letters = {"x": 1, "y": 2, "z": 3} if dim == 3 else {"x": 1, "z": 2}
    fixed = np.zeros((len(deck.points), dim), dtype=bool)
    symmetry = np.zeros_like(fixed)
    for name, component in (("symmetry_x", 0), ("symmetry_y", 1)):
        if name in package.surfaces:
            symmetry[face_nodes(deck, package.surfaces[name]), component] = True
    for i, support in enumerate(loads.supports):
        where = f"mechanical.supports[{i}]"
        faces = package.surface(support.surface, f"{where}.surface")
        for letter in support.directions:
            if letter not in letters:
                raise ModelError(f"{where}.directions", f"a 2D model has no {letter!r} "
                                                        f"displacement")
            fixed[face_nodes(deck, faces), letters[letter] - 1] = True
    moved = np.where(symmetry, np.nan, prescribed_nodes(package, deck, loads))  # nan: free
    fixed = (fixed & np.isnan(moved)) | symmetry
    held = minimal_supports(deck.points, fixed | np.isfinite(moved))
    lines = [f"{n + 1},{c + 1},{c + 1}\n" for n, c in zip(*np.nonzero(fixed))]
    lines += [f"{n + 1},{c + 1},{c + 1},{number(moved[n, c])}\n"
              for n, c in zip(*np.nonzero(np.isfinite(moved)))]
    lines += [f"** minimal support (rigid motion): node {n + 1} dof {c + 1}\n{n + 1},{c + 1},"
              f"{c + 1}\n" for n, c in held]
    return "*BOUNDARY\n" + "".join(lines) if lines else ""


def prescribed_nodes(package: MeshedPackage, deck: DeckMesh, loads) -> np.ndarray:
    """(nodes, dim) the displacements of ``loads.displacements`` at the deck's nodes (m;
    nan where none is prescribed; later entries win)."""
    dim = package.dimension
    moved = np.full((len(deck.points), dim), np.nan)
    for i, entry in enumerate(loads.displacements):
        where = f"mechanical.displacements[{i}]"
        nodes = face_nodes(deck, package.surface(entry.surface, f"{where}.surface"))
        values = entry.point_function(dim, f"{where}.")(deck.points[nodes].T)
        components = ["xyz".index(c) if dim == 3 else "xz".index(c) for c in entry.directions]
        moved[np.ix_(nodes, components)] = values.T
    return moved


def minimal_supports(points: np.ndarray, fixed: np.ndarray) -> list[tuple[int, int]]:
    """(node, component) pairs that remove the rigid motion ``fixed`` (nodes, dim) leaves
    free: the solver's own minimal supports (:func:`fem.constraints.minimal_supports`, a
    statically determinate set nearest the middle of the body), at the deck's nodes."""
    nodes, dim = points.shape
    locations = np.repeat(points.T, dim, axis=1)  # dof = node * dim + component
    components = np.tile(np.arange(dim), nodes)
    held, _ = supports_removing_rigid_motion(locations, components,
                                             np.flatnonzero(fixed.ravel()))
    return [(int(d) // dim, int(d) % dim) for d in held]


def default_order(model: Model, analysis: str, element_order: int | None) -> int:
    order = element_order or model.mesh.element_order or (1 if analysis == "heat" else 2)
    return checked_order(order, "element_order")


def write_inp(model: Model, package: MeshedPackage | None, path: str | os.PathLike,
              analysis: str = "heat", element_order: int | None = None, *,
              temperature=None, expansion_scale: float = 1.0) -> Deck:
    """Write a complete CalculiX / Abaqus deck of one analysis of ``model``.

    package : the meshed model (None: ``mesh_model(model)``).
    analysis : "heat" (steady or transient heat transfer), "warpage" (one static step at
        ``mechanical.temperature``), "warpage_curve" (one step per
        ``mechanical.temperatures``) or "process" (the recipe ``mechanical.steps``, one step
        per increment with ``*MODEL CHANGE``: :mod:`inp_process`).
    element_order : 1 or 2 (default: ``mesh.element_order``, else 1 for heat, 2 for warpage).
    temperature : warpage under a thermal field: the ``ThermalResult`` on ``package``
        (needed when ``mechanical.temperature = "thermal"`` or a recipe step is
        ``"thermal"``; the writer solves nothing),
        written as nodal *TEMPERATURE values. expansion_scale : "process" only: the CTEs'
        factor (:func:`inp_process.materials_text`; 1 for the model).
    """
    if analysis not in ANALYSES:
        raise ModelError("analysis", f"must be one of {', '.join(ANALYSES)}, got {analysis!r}")
    package = package if package is not None else mesh_model(model)
    order = default_order(model, analysis, element_order)
    plane = model.mechanical.plane if model.mechanical is not None else None
    etype = element_type(package, analysis, order, plane)
    deck = deck_mesh(package, order)
    names, parts = _part_sets(package)
    text = [_header(model, package, analysis, etype), mesh_text(deck, etype, parts),
            node_set("NALL", np.arange(len(deck.points))),
            element_set("EALL", np.arange(package.ncells))]
    initial, reported = None, ()
    if analysis == "heat":
        text.append(heat_text(model, package, deck, names))
    elif analysis == "process":
        body, initial, plan = process_deck(model, package, deck, names, temperature,
                                           expansion_scale)
        text.append(body)
        reported = tuple(i + 1 for i, s in enumerate(plan) if s.increment is not None)
    else:
        body, initial = warpage_text(model, package, deck, names, analysis, temperature)
        text.append(body)
    path = Path(path)
    write_atomically(path, "".join(text).encode())
    return Deck(path, analysis, deck, etype, parts, initial, reported)


def export_model(model: Model, path: str | os.PathLike, format: str = "inp",
                 element_order: int | None = None, *, temperature=None) -> list[Path]:
    """Write the model's analyses as decks: ``<stem>_heat.inp`` for [thermal],
    ``<stem>_warpage.inp`` for [mechanical] (``<stem>_process.inp`` for a recipe of steps)
    (and ``<stem>_warpage_curve.inp`` for
    ``mechanical.temperatures``). Returns the paths written."""
    if format != "inp":
        raise ModelError("format", f"unknown export format {format!r}; known: inp")
    path = Path(path)
    package = mesh_model(model)
    analyses = []
    if model.thermal is not None:
        analyses.append("heat")
    if model.mechanical is not None:
        analyses.append("process" if model.mechanical.steps else "warpage")
        if model.mechanical.temperatures:
            analyses.append("warpage_curve")
    if not analyses:
        raise ModelError("thermal", "the model has neither [thermal] nor [mechanical]: "
                                    "nothing to export")
    out = []
    for analysis in analyses:
        target = path if len(analyses) == 1 else path.with_name(
            f"{path.stem}_{analysis}{path.suffix or '.inp'}")
        out.append(write_inp(model, package, target, analysis, element_order,
                             temperature=temperature).path)
    return out


# --- reading CalculiX results -------------------------------------------------------------

def read_dat(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The last block of each kind in a ccx .dat file: "temperatures" (nodes, 2: id, T),
    "displacements" (nodes, 4: id, ux, uy, uz), "stresses" (points, 8: element, point,
    sxx, syy, szz, sxy, sxz, syz)."""
    blocks: dict[str, list] = {}
    kind, rows = None, []
    for line in Path(path).read_text().splitlines():
        head = line.strip()
        if not head:
            continue
        word = head.split(" ", 1)[0]
        if word in ("temperatures", "displacements", "stresses"):
            if kind:
                blocks[kind] = rows
            kind, rows = word, []
            continue
        try:
            rows.append([float(v) for v in head.split()])
        except ValueError:
            if kind:
                blocks[kind] = rows
            kind, rows = None, []
    if kind:
        blocks[kind] = rows
    return {k: np.array(v) for k, v in blocks.items()}
