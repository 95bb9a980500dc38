"""A process recipe (``[[mechanical.steps]]``) as a CalculiX deck, so CalculiX can check it.

One CalculiX ``*STEP,NLGEOM`` (``*STATIC``, one increment) per increment of the recipe, in
the order ``process.solve_process`` solves them, each ending at the increment's temperature
(``*TEMPERATURE``: ``NALL`` uniform, or node by node for a ``"thermal"`` step from the
caller's heat solution). Linear elasticity makes a step's end state independent of the
path, so one CalculiX step per increment is the recipe's increments exactly. NLGEOM because
CalculiX (2.20) adds elements strain-free only in geometrically nonlinear steps: the deck
solves the recipe with large rotations, which differs from thermomech's small-strain
solution more as the warpage grows against the thickness (a few % on a thin strip after
its carrier is removed, ``docs/process.md``).

- Parts added in a recipe step: removed in the first CalculiX step (``*MODEL CHANGE,
  TYPE=ELEMENT,REMOVE``), added at their step with ``*MODEL CHANGE,TYPE=ELEMENT,ADD=STRAIN
  FREE``: CalculiX stores the strain of the element at that moment (mechanical and
  thermal) as an initial strain, so the element is stress-free there and its thermal strain
  counts from the temperature at its birth, node by node for a field: thermomech's
  activation temperature (per part, or per point, ``process_temperature``). The born parts'
  expansion tables are written from the deck's reference temperature T_I (any reference
  works: the birth strain absorbs it); the parts present from the start are stress-free at
  their own activation temperature (``inp.expansion_lines``, ``*EXPANSION,ZERO=T_I``).
- Removed parts: ``*MODEL CHANGE,TYPE=ELEMENT,REMOVE`` at their step.
- Solder melting (``melting``): removed at the first increment above the melting point
  T_m; before the increment that is at or below it, one extra step at T_m (not a reported
  increment) solves the rest of the package at T_m, and the solder is added strain-free in
  the next step.
- Every addition happens in a step whose temperature does not change (a hold at the
  temperature of the birth, inserted when the increment also changes it, ``with_holds``):
  CalculiX adds the elements of a step that changes the temperature at another state than
  the step's start.
- Supports: ``*BOUNDARY,OP=NEW`` in every step with the symmetry planes, the clamps, and
  the minimal (3-2-1) supports of every face-connected body of the active elements
  (``process_bodies``), chosen on the deck's nodes; nodes of no active element are held at
  zero (CalculiX would leave them singular).

What the deck leaves to CalculiX that thermomech chooses differently: the displacement a
born part's own nodes have at its birth (CalculiX: their last value, zero for nodes never
active; thermomech: the Taylor extension of its neighbours, ``process_bodies.extended``).
The stresses do not depend on it (the birth strain absorbs it), nor does the displacement
of any node of a part present before; the born part's own nodes differ by that fixed
field, a shape the part was cast in. ``Deck.reported`` lists, per recipe increment, its
CalculiX step (1-based).

Units: SI, degC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import ModelError
from .fem.constraints import supports_removing_rigid_motion
from .inp_materials import elastic_lines, expansion_lines, table_temperatures
from .inp_mesh import DeckMesh, face_nodes, number
from .mechanical_loads import check_steps, step_path
from .process_bodies import bodies

THERMAL = "thermal"


@dataclass(frozen=True)
class DeckStep:
    """One CalculiX step: what happens at its start and the temperature at its end.

    temperature : degC (uniform) or (nodes,) at the deck's nodes; add, remove : part
    indices; active : (parts,) bool after the changes; increment : (recipe step index,
    increment) it reports, or None (the extra solve at a melting point)."""

    label: str
    temperature: object
    add: tuple
    remove: tuple
    active: np.ndarray
    increment: tuple | None


def schedule(package, loads, initial: float, field: np.ndarray | None,
             field_maxima: np.ndarray | None) -> list[DeckStep]:
    """The CalculiX steps of ``loads.steps`` (the order and the melting rule of
    ``process.solve_process``). ``field``: nodal values (deck nodes) of the heat solution
    for ``"thermal"`` steps; ``field_maxima`` (parts,) its largest value per part."""
    from .melting import melting_points

    parts = list(package.parts)
    present = check_steps(loads, parts)
    melting = melting_points(package, loads)
    added = {parts.index(p) for s in loads.steps for p in s.add}
    active = np.array([i not in added for i in range(len(parts))])
    molten = active & (initial > melting)
    active &= ~molten
    out = [DeckStep("initial state", initial, (), tuple(sorted(added | set(
        np.flatnonzero(molten).tolist()))), active.copy(), None)]
    T = initial
    for index, step in enumerate(loads.steps):
        add = [parts.index(p) for p in step.add]
        remove = [parts.index(p) for p in step.remove]
        begin = T
        end = T if step.temperature is None else (
            field if step.temperature == THERMAL else float(step.temperature))
        if isinstance(end, np.ndarray) and field is None:
            raise ModelError(f"{step_path(index, step)}.temperature",
                             '"thermal": the process deck needs the thermal result (solve the '
                             '[thermal] section and pass it as temperature)')
        on = np.array([p in present[index] for p in parts])
        molten &= on
        start = _maxima(begin, begin, end, 0.0, field_maxima, len(parts))
        molten |= np.isin(np.arange(len(parts)), add) & (start > melting)  # added molten
        pending_add, pending_remove = [p for p in add if not molten[p]], remove
        for k in range(1, step.increments + 1):
            T = begin + (end - begin) * (k / step.increments)
            hot = _maxima(T, begin, end, k / step.increments, field_maxima, len(parts))
            now = on & ~molten
            melt = np.flatnonzero(now & (hot > melting))
            molten[melt] = True
            solid = np.flatnonzero(molten & on & (hot <= melting))
            steps_here = []
            for Tm in sorted({float(melting[p]) for p in solid}, reverse=True):
                group = [int(p) for p in solid if melting[p] == Tm]
                if isinstance(T, np.ndarray):
                    raise ModelError(f"{step_path(index, step)}.temperature",
                                     "solder solidifying during a \"thermal\" step")
                steps_here.append((f"{step.name}: solidify at {Tm:g} degC", Tm, group))
                molten[group] = False
            change = (tuple(pending_add), tuple(sorted(set(pending_remove) | set(
                melt.tolist()))))
            for label, Tm, group in steps_here:
                out.append(DeckStep(label, Tm, change[0], change[1],
                                    on & ~molten & ~np.isin(np.arange(len(parts)), group),
                                    None))
                change = (tuple(group), ())
            adds = tuple(p for p in change[0] if on[p] and not molten[p])
            out.append(DeckStep(f"{step.name}: increment {k}/{step.increments}", T, adds,
                                change[1], on & ~molten, (index, k)))
            pending_add, pending_remove = [], []
    return out


def with_holds(plan: list[DeckStep]) -> list[DeckStep]:
    """``plan`` with every birth in a step of its own at the temperature it happens at: a
    step that adds elements and changes the temperature becomes a hold with the changes,
    then the step. CalculiX adds the elements of a ``*MODEL CHANGE`` in a step that also
    changes the temperature at a state other than the step's start (measured: a solder
    solidified at 217 degC and cooled to 142.5 degC in the same step bent the copper under
    it 49 % more than with the addition in a step of its own)."""
    out = [plan[0]]
    for step in plan[1:]:
        before = out[-1].temperature
        same = (np.array_equal(before, step.temperature) if isinstance(before, np.ndarray)
                or isinstance(step.temperature, np.ndarray) else before == step.temperature)
        if step.add and not same:
            out.append(DeckStep(f"{step.label} (parts added)", before, step.add, step.remove,
                                step.active, None))
            step = DeckStep(step.label, step.temperature, (), (), step.active, step.increment)
        out.append(step)
    return out


def _maxima(T, begin, end, fraction, field_maxima, count):
    """The temperature the melting rule compares per part: uniform T, or the field's."""
    if not isinstance(T, np.ndarray):
        return np.full(count, float(T))
    lo = begin if not isinstance(begin, np.ndarray) else None
    hi = end if not isinstance(end, np.ndarray) else None
    if lo is None and hi is None:
        return field_maxima
    # one end uniform, the other the field: the largest nodal value per part, linear
    uniform = lo if lo is not None else hi
    weight = (1 - fraction) if lo is not None else fraction
    return uniform * weight + field_maxima * (1 - weight)


def materials_text(package, loads, names, free: dict, initial: float,
                   temperatures: list[float], dim: int, born: set, scale: float = 1.0) -> str:
    """*MATERIAL cards: elastic constants and the expansion table of every part; the CTEs
    times ``scale`` (1: the model; a small scale keeps CalculiX's geometrically nonlinear
    steps in the linear range, the check of ``benchmarks/crosscheck_calculix.py``)."""
    out = []
    for i, part in enumerate(package.parts):
        if part not in package.mesh.subdomains:
            continue
        material = package.cell_material(part)
        if material.temperature_table is not None:
            raise ModelError(f"materials.{material.name}.temperature_table",
                             "is not supported by the process deck (constant E and nu only)")
        tg = material.glass_transition
        table = table_temperatures(temperatures, extra=[] if tg is None else [tg])
        if scale != 1.0:
            material = replace(material, cte=_scaled(material.cte, scale),
                               cte_above_tg=_scaled(material.cte_above_tg, scale))
        sf = initial if i in born else free[part]
        out.append(f"*MATERIAL,NAME={names[part]}\n")
        out.append(elastic_lines(material, dim))
        out.append(f"** stress-free at {number(sf)} degC"
                   f"{' (born: the birth strain sets it)' if i in born else ''}\n")
        out.append(expansion_lines(material, dim, sf, initial, table))
    return "".join(out)


def _scaled(value, scale: float):
    if value is None:
        return None
    return tuple(v * scale for v in value) if isinstance(value, tuple) else value * scale


def supports(package, deck: DeckMesh, loads, active: np.ndarray) -> str:
    """*BOUNDARY,OP=NEW of one step: symmetry planes and clamps on the active nodes, the
    minimal supports of every body of the active elements, inactive nodes held."""
    dim = package.dimension
    cell_active = active[np.asarray(package.cell_part)]
    used = np.zeros(len(deck.points), dtype=bool)
    used[deck.cells[cell_active].ravel()] = True
    fixed = np.zeros((len(deck.points), dim), dtype=bool)
    for name, component in (("symmetry_x", 0), ("symmetry_y", 1)):
        if name in package.surfaces:
            fixed[face_nodes(deck, package.surfaces[name]), component] = True
    letters = {"x": 0, "y": 1, "z": 2} if dim == 3 else {"x": 0, "z": 1}
    for i, support in enumerate(loads.supports):
        faces = package.surface(support.surface, f"mechanical.supports[{i}].surface")
        for letter in support.directions:
            fixed[face_nodes(deck, faces), letters[letter]] = True
    fixed &= used[:, None]
    held = []
    for cells in bodies(package, cell_active):
        nodes = np.unique(deck.cells[cells].ravel())
        locations = np.repeat(deck.points[nodes].T, dim, axis=1)
        components = np.tile(np.arange(dim), len(nodes))
        dofs, _ = supports_removing_rigid_motion(locations, components,
                                                 np.flatnonzero(fixed[nodes].ravel()))
        held += [(int(nodes[d // dim]), int(d % dim)) for d in dofs]
    lines = [f"{n + 1},{c + 1},{c + 1}\n" for n, c in zip(*np.nonzero(fixed))]
    lines += [f"{n + 1},{c + 1},{c + 1}\n" for n, c in held]
    lines += [f"{n + 1},1,{dim}\n" for n in np.flatnonzero(~used)]
    return "*BOUNDARY,OP=NEW\n" + "".join(lines)


def steps_text(package, deck: DeckMesh, loads, names, plan: list[DeckStep]) -> str:
    parts = list(package.parts)
    out = []
    for number_, step in enumerate(plan, start=1):
        removed = [names[parts[p]] for p in step.remove]
        added = [names[parts[p]] for p in step.add]
        out.append(f"** step {number_}: {step.label}\n*STEP,NLGEOM\n*STATIC\n1.,1.\n")
        if removed:
            out.append("*MODEL CHANGE,TYPE=ELEMENT,REMOVE\n" + "".join(
                f"{name}\n" for name in removed))
        if added:
            out.append("*MODEL CHANGE,TYPE=ELEMENT,ADD=STRAIN FREE\n" + "".join(
                f"{name}\n" for name in added))
        out.append(supports(package, deck, loads, step.active))
        out.append("*TEMPERATURE\n")
        if isinstance(step.temperature, np.ndarray):
            out.append("".join(f"{i + 1},{number(v)}\n"
                               for i, v in enumerate(step.temperature)))
        else:
            out.append(f"NALL,{number(step.temperature)}\n")
        out.append("*NODE FILE\nU\n*EL FILE\nS\n*NODE PRINT,NSET=NALL\nU\n*END STEP\n")
    return "".join(out)


def process_text(package, loads, deck: DeckMesh, names, initial_temperature: float,
                 free: dict, field: np.ndarray | None, field_maxima, scale: float = 1.0
                 ) -> tuple[str, float, list[DeckStep]]:
    """Materials, the initial temperature and the steps of the recipe; (text, T_I, plan)."""
    plan = with_holds(schedule(package, loads, initial_temperature, field, field_maxima))
    uniform = [float(s.temperature) for s in plan if not isinstance(s.temperature,
                                                                    np.ndarray)]
    low = high = None
    if field is not None:
        low, high = min(field.min(), *uniform), max(field.max(), *uniform)
    parts = list(package.parts)
    born = {parts.index(p) for s in loads.steps for p in s.add}
    start = {p: v for i, (p, v) in enumerate(free.items()) if i not in born}
    initial = _reference(start, uniform + ([] if field is None else [low, high]))
    temperatures = table_temperatures(uniform + list(start.values()), low, high)
    text = [materials_text(package, loads, names, free, initial, temperatures,
                           package.dimension, born, scale)]
    for p in package.parts:
        if p in package.mesh.subdomains:
            text.append(f"*SOLID SECTION,ELSET={names[p]},MATERIAL={names[p]}\n"
                        + ("1.\n" if package.dimension == 2 else ""))
    text.append(f"*INITIAL CONDITIONS,TYPE=TEMPERATURE\nNALL,{number(initial)}\n")
    text.append(steps_text(package, deck, loads, names, plan))
    return "".join(text), initial, plan


def _reference(start: dict, temperatures: list[float]) -> float:
    """T_I: the common stress-free temperature of the start parts, else 50 K above all."""
    values = set(start.values())
    if len(values) == 1:
        return float(values.pop())
    return float(max([*start.values(), *temperatures])) + 50.0


def read_displacement_blocks(path) -> list[np.ndarray]:
    """Every "displacements" block of a ccx .dat file, in order: (nodes, 1 + dim) rows of
    node id and components."""
    from pathlib import Path

    blocks, rows, inside = [], [], False
    for line in Path(path).read_text().splitlines():
        head = line.strip()
        if not head:
            continue
        if head.startswith("displacements"):
            if inside:
                blocks.append(np.array(rows))
            rows, inside = [], True
            continue
        if inside:
            try:
                rows.append([float(v) for v in head.split()])
            except ValueError:
                blocks.append(np.array(rows))
                rows, inside = [], False
    if inside:
        blocks.append(np.array(rows))
    return blocks


def process_deck(model, package, deck: DeckMesh, names, temperature=None,
                 expansion_scale: float = 1.0) -> tuple[str, float, list[DeckStep]]:
    """The recipe of ``model.mechanical`` on ``deck``: (text after the mesh, T_I, plan).
    ``temperature``: the ``ThermalResult`` of ``"thermal"`` steps (the writer solves
    nothing); ``expansion_scale``: the CTEs' factor (``materials_text``)."""
    from .elasticity import stress_free_temperatures
    from .process import initial_temperature
    from .process_temperature import part_maxima, uses_thermal

    loads = model.mechanical
    free = stress_free_temperatures(package, loads)
    start = float(initial_temperature(package, loads, free))
    if loads.initial_temperature is not None:
        free = dict.fromkeys(free, start)
    field = maxima = None
    if uses_thermal(loads) and temperature is not None and not isinstance(temperature, str):
        field = np.asarray(temperature.temperature_at(deck.points.T))
        maxima = part_maxima(np.asarray(temperature.temperature), temperature.field,
                             np.asarray(package.cell_part), len(package.parts))
    return process_text(package, loads, deck, names, start, free, field, maxima,
                        expansion_scale)


__all__ = ["DeckStep", "process_deck", "process_text", "read_displacement_blocks", "schedule"]
