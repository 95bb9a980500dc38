"""Board-level solder-joint reliability: the package on its test board through a thermal
cycle, the shear-strain range of every joint and its fatigue life (issue 17;
docs/reliability.md).

1. the package's layout with the ``[board]`` below it (elastic board properties from
   :mod:`thermomech.board_mechanics`), meshed with the model's mesh options; the joints are
   the discrete columns of ``reliability.joints`` (``ball_model = "discrete"``);
2. the ``[reliability]`` cycle as process steps (:mod:`thermomech.reliability_spec`),
   solved by :func:`thermomech.process.solve_process` with the model's supports (linear
   elastic solder: creep along the cycle is not in this version);
3. per joint the engineering shear strain averaged over a layer at each pad
   (:mod:`thermomech.solder_joints`) at every increment of the last cycle, its range, and
   Engelmaier's N50 (:mod:`thermomech.solder_life`); the critical joint is the one of the
   largest range (shortest life); for comparison the distance-to-neutral-point estimate
   ``dgamma = L_D dalpha dT / h`` of the critical joint.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from .board_mechanics import board_elastic_materials
from .errors import ModelError
from .geometry import Layout
from .mechanical_loads import MechanicalLoads
from .meshing import MeshedPackage, mesh_layout
from .model_file import Model
from .process import ProcessResult, solve_process
from .progress import stage
from .reliability_spec import CycleStep, ReliabilitySpec, cycle_steps
from .solder_joints import (
    PADS,
    CreepEstimate,
    Joints,
    creep_estimate,
    find_joints,
    pad_points,
    pad_shear,
    shear_range,
)
from .solder_life import (
    DarveauxLife,
    darveaux_cycles,
    engelmaier_cycles,
    engelmaier_shear_strain,
)
from .units import convert


@dataclass(frozen=True)
class ReliabilityResult:
    """Per joint (n joints in the meshed region): ``pad_range`` (n, 2) shear-strain range
    at the board-side and package-side pads, ``shear_range`` (n,) the larger, ``n50`` (n,)
    Engelmaier cycles; ``critical`` the index of the shortest life; ``history`` (n, 2, k, 2)
    the pad-averaged (gamma_xz, gamma_yz) at the k increments of the last cycle;
    ``estimate`` the DNP estimate of the critical joint; ``process`` every increment."""

    spec: ReliabilitySpec
    package: MeshedPackage
    joints: Joints
    steps: tuple[CycleStep, ...]
    process: ProcessResult
    history: np.ndarray
    pad_range: np.ndarray
    shear_range: np.ndarray
    n50: np.ndarray
    critical: int
    estimate: dict
    creep: CreepEstimate
    darveaux: DarveauxLife | None
    seconds: dict


def reliability_layout(model: Model) -> Layout:
    """The package's layout with its ``[board]`` (elastic board materials) below it."""
    from .board import with_board

    if not hasattr(model.package, "layout"):
        raise ModelError("package.family", f"a reliability analysis needs a family's layout; "
                                           f"{model.package.family!r} has none")
    materials = model.all_materials
    layout = model.package.layout(materials)
    if model.board is None:
        return layout
    boarded = with_board(layout, model.board, materials)
    return Layout(boarded.boxes, {**boarded.materials,
                                  **board_elastic_materials(model.board, materials)},
                  boarded.dies)


def reliability_loads(model: Model, spec: ReliabilitySpec) -> MechanicalLoads:
    """The model's ``[mechanical]`` supports and options with the cycle as its steps,
    stress-free at the start temperature."""
    base = model.mechanical or MechanicalLoads()
    if base.steps:
        raise ModelError("mechanical.steps", "a reliability analysis makes its own steps "
                                             "from [reliability]: remove [[mechanical.steps]]")
    return dataclasses.replace(
        base, steps=tuple(s.step for s in cycle_steps(spec)), temperatures=(),
        temperature=spec.start_temperature, stress_free_temperature=spec.start_temperature,
        initial_temperature=spec.start_temperature, solder_melts=False)


def assess_reliability(model: Model, solver="auto") -> ReliabilityResult:
    """Mesh, solve the cycle and evaluate every joint of ``model`` (its ``[reliability]``
    table, or the defaults)."""
    spec = getattr(model, "reliability", None) or ReliabilitySpec()
    if model.mesh.dimension != 3:
        raise ModelError("mesh.dimension", "a reliability analysis needs a 3D model (joints "
                                           "are columns), got 2")
    seconds = {}
    tick = time.perf_counter()
    with stage("mesh the package on its board"):
        package = mesh_layout(reliability_layout(model), model.mesh, model.all_materials)
    joints = find_joints(package, spec.joints)
    points, weights = pad_points(joints, spec.layer_thickness)
    seconds["mesh"] = time.perf_counter() - tick
    steps = cycle_steps(spec)
    tick = time.perf_counter()
    with stage(f"solve the cycle ({sum(s.step.increments for s in steps)} increments)"):
        process = solve_process(package, reliability_loads(model, spec), solver=solver)
    seconds["solve"] = time.perf_counter() - tick
    tick = time.perf_counter()
    last = [i for i, s in enumerate(steps) if s.cycle == spec.cycles]
    increments = [inc for inc in process.increments if inc.step in last]
    final = [inc.result for inc in increments]
    history = np.stack([pad_shear(r, joints, points, weights) for r in final], axis=2)
    pad_range = shear_range(history)
    gamma = pad_range.max(axis=1)
    n50 = np.full(joints.count, np.inf)
    loaded = gamma > 0
    n50[loaded] = engelmaier_cycles(gamma[loaded], spec.mean_temperature,
                                    spec.dwell_time / 60.0, spec.fatigue_ductility)
    seconds["evaluate"] = time.perf_counter() - tick
    tick = time.perf_counter()
    material = package.part_materials[spec.joints]
    with stage("creep estimate per joint"):
        creep = creep_estimate(spec, steps, joints, history,
                               [inc.temperature for inc in increments], material)
    seconds["creep_estimate"] = time.perf_counter() - tick
    darveaux = joint_darveaux(spec, joints, creep) if spec.model == "darveaux" else None
    life = n50 if darveaux is None else darveaux.cycles
    critical = int(np.argmin(life)) if np.isfinite(life).any() else int(np.argmax(gamma))
    estimate = dnp_estimate(final[-1], joints, spec, critical)
    return ReliabilityResult(spec, package, joints, steps, process, history, pad_range,
                             gamma, n50, critical, estimate, creep, darveaux, seconds)


def joint_darveaux(spec: ReliabilitySpec, joints: Joints, creep: CreepEstimate
                   ) -> DarveauxLife:
    """Darveaux's life per joint from the energy estimate; the crack path is the diameter
    of the round section of the column's area. Infinite where no energy is dissipated."""
    if creep.energy is None:
        raise ModelError("reliability.model", f"\"darveaux\" needs the energy estimate: "
                                              f"{creep.note}")
    diameter = 2 * np.sqrt(joints.side[:, 0] * joints.side[:, 1] / np.pi)
    out = [np.full(joints.count, np.inf) for _ in range(3)]
    loaded = creep.energy > 0
    if loaded.any():
        life = darveaux_cycles(creep.energy[loaded], diameter[loaded], spec.darveaux,
                               spec.layer_thickness)
        for array, value in zip(out, (life.initiation, life.growth_rate, life.cycles)):
            array[loaded] = value
    return DarveauxLife(*out)


def dnp_estimate(result, joints: Joints, spec: ReliabilitySpec, index: int) -> dict:
    """Engelmaier's distance-to-neutral-point estimate for joint ``index``: dalpha from
    ``reliability.cte_mismatch`` or the board's in-plane CTE minus that of the part on the
    joint's package-side pad."""
    mismatch, basis = spec.cte_mismatch, "reliability.cte_mismatch"
    if mismatch is None:
        package = result.package
        x, y = 0.5 * (joints.lower[index] + joints.upper[index])
        above = _part_at(result, (x, y, joints.top[index] + 1e-9))
        below = "board" if "board" in package.parts else _part_at(
            result, (x, y, joints.bottom[index] - 1e-9))
        a_above = _inplane_cte(package, above)
        a_below = _inplane_cte(package, below)
        mismatch = abs(a_below - a_above)
        basis = f"{below} {a_below * 1e6:.3g} ppm/K - {above} {a_above * 1e6:.3g} ppm/K"
    h = float(joints.height[index])
    gamma = engelmaier_shear_strain(float(joints.dnp[index]), mismatch, spec.swing, h)
    life = (engelmaier_cycles(gamma, spec.mean_temperature, spec.dwell_time / 60.0,
                              spec.fatigue_ductility) if gamma > 0 else None)
    return {"cte_mismatch_ppm_per_K": mismatch * 1e6, "cte_mismatch_basis": basis,
            "joint_height_mm": h * 1e3, "dnp_mm": float(joints.dnp[index]) * 1e3,
            "shear_strain_range": gamma, "n50_cycles": life}


def _part_at(result, point) -> str:
    """The part of the cell holding ``point`` (x, y, z), m."""
    cell = result.space.locate(np.asarray(point, dtype=float)[:, None],
                               "reliability.cte_mismatch")
    return result.package.parts[result.package.cell_part[int(cell[0])]]


def _inplane_cte(package: MeshedPackage, part: str) -> float:
    cte = package.cell_material(part).cte
    if cte is None:
        raise ModelError("reliability.cte_mismatch", f"part {part!r} has no CTE: give "
                                                     f"reliability.cte_mismatch")
    return float(np.mean(np.atleast_1d(cte)[:2]))


# --- outputs -----------------------------------------------------------------------------

def reliability_summary(result: ReliabilityResult) -> dict:
    """The numbers of ``reliability.json``: per joint, the critical joint, the DNP estimate,
    the cycle and the run's size and time."""
    spec, joints = result.spec, result.joints
    rows = []
    for i in range(joints.count):
        rows.append({
            "index": i, "x_mm": float(joints.centres[i, 0]) * 1e3,
            "y_mm": float(joints.centres[i, 1]) * 1e3, "dnp_mm": float(joints.dnp[i]) * 1e3,
            "shear_strain_range": float(result.shear_range[i]),
            **{f"shear_strain_range_{pad}": float(result.pad_range[i, k])
               for k, pad in enumerate(PADS)},
            "energy_density_J_per_m3": _item(result.creep.energy, i),
            "creep_shear_strain_range": _item(result.creep.creep_range, i),
            "n50_cycles": _finite_or_none(result.n50[i]),
            **_darveaux_row(result.darveaux, i)})
    critical = rows[result.critical]
    return {
        "life_model": spec.model,
        "cycle": {"low_temperature_C": spec.low_temperature,
                  "high_temperature_C": spec.high_temperature,
                  "ramp_time_min": spec.ramp_time / 60, "dwell_time_min": spec.dwell_time / 60,
                  "cycles": spec.cycles, "evaluated_cycle": spec.cycles,
                  "mean_temperature_C": spec.mean_temperature,
                  "start_temperature_C": spec.start_temperature},
        "fatigue_ductility": spec.fatigue_ductility,
        "averaging_layer_um": convert(spec.layer_thickness, "length", "um"),
        "solder_model": "linear elastic in the FE cycle (creep along it: not yet)",
        "energy_estimate": result.creep.note,
        "symmetry": result.package.symmetry,
        "joint_count_meshed": joints.count,
        "critical_joint": {**critical, "pad": PADS[int(np.argmax(
            result.pad_range[result.critical]))]},
        "dnp_estimate": result.estimate,
        "joints": rows,
        "mesh": {"cells": int(result.package.ncells)},
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }


def _darveaux_row(life: DarveauxLife | None, i: int) -> dict:
    if life is None:
        return {}
    return {"darveaux_initiation_cycles": _finite_or_none(life.initiation[i]),
            "darveaux_cycles": _finite_or_none(life.cycles[i])}


def _item(values, i: int) -> float | None:
    return None if values is None else float(values[i])


def _finite_or_none(value) -> float | None:
    return float(value) if np.isfinite(value) else None


def format_reliability(summary: dict) -> str:
    """A few lines for the terminal."""
    c, e = summary["critical_joint"], summary["dnp_estimate"]
    cycle = summary["cycle"]
    n50, estimate = _cycles(c["n50_cycles"]), _cycles(e["n50_cycles"])
    energy = c["energy_density_J_per_m3"]
    extra = [f"energy estimate {energy:.4g} J/m^3 per cycle, creep shear-strain range "
             f"{c['creep_shear_strain_range']:.4g} ({summary['energy_estimate']})"
             if energy is not None else f"energy estimate: none ({summary['energy_estimate']})"]
    if "darveaux_cycles" in c:
        extra.append(f"Darveaux: initiation {_cycles(c['darveaux_initiation_cycles'])}, life "
                     f"{_cycles(c['darveaux_cycles'])} cycles")
    return "\n".join([
        f"cycle {cycle['low_temperature_C']:g}/{cycle['high_temperature_C']:g} degC, "
        f"{cycle['cycles']} cycles, dwell {cycle['dwell_time_min']:g} min; "
        f"{summary['joint_count_meshed']} joints meshed ({summary['symmetry']} model), "
        f"averaging layer {summary['averaging_layer_um']:g} um",
        f"critical joint {c['index']} at ({c['x_mm']:.4g}, {c['y_mm']:.4g}) mm, DNP "
        f"{c['dnp_mm']:.4g} mm ({c['pad'].replace('_', ' ')} pad): shear-strain range "
        f"{c['shear_strain_range']:.4g}, N50 {n50} cycles (Engelmaier)",
        f"DNP estimate: dalpha {e['cte_mismatch_ppm_per_K']:.3g} ppm/K "
        f"({e['cte_mismatch_basis']}), h {e['joint_height_mm']:.4g} mm: shear-strain range "
        f"{e['shear_strain_range']:.4g}, N50 {estimate} cycles", *extra])


def _cycles(value) -> str:
    return "inf" if value is None else f"{value:.4g}"


RELIABILITY_FILES = ("reliability.json", "figures/life_map.png")


def write_reliability(result: ReliabilityResult, folder) -> dict:
    """``reliability.json`` and ``figures/life_map.png`` into an OutputFolder; returns the
    summary."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting.reliability import plot_joint_map

    summary = reliability_summary(result)
    with folder.path("reliability.json") as staged:
        staged.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n",
                          encoding="utf-8")
    darveaux = result.darveaux is not None
    life = result.darveaux.cycles if darveaux else result.n50
    figure, ax = plt.subplots(figsize=(6.4, 5.4))
    plot_joint_map(result.joints, np.log10(np.where(np.isfinite(life), life, np.nan)),
                   result.package.symmetry, ax=ax, highlight=result.critical,
                   label=f"log10 {'N_alpha' if darveaux else 'N50'} (cycles)")
    ax.set_title(f"Joint life, {result.spec.low_temperature:g}/"
                 f"{result.spec.high_temperature:g} degC "
                 f"({'Darveaux' if darveaux else 'Engelmaier'})")
    with folder.path("figures/life_map.png") as staged:
        figure.savefig(staged, dpi=150)
    plt.close(figure)
    return summary
