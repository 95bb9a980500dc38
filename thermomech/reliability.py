"""Board-level solder-joint reliability: the package on its test board through a thermal
cycle, the shear-strain range of every joint and its fatigue life (issue 17;
docs/reliability.md).

1. the package's layout with the ``[board]`` below it (elastic board properties from
   :mod:`thermomech.board_mechanics`), meshed with the model's mesh options; the joints are
   the discrete columns of ``reliability.joints`` (``ball_model = "discrete"``);
2. the ``[reliability]`` cycle as process steps (:mod:`thermomech.reliability_spec`),
   solved by :func:`thermomech.process.solve_process` with the model's supports, the joints
   creeping (``solder_creep``: Anand or Garofalo with the published constants of their
   solder, :mod:`thermomech.process_creep`; ``"none"``: elastic joints);
3. per joint the engineering shear strain averaged over a layer at each pad
   (:mod:`thermomech.solder_joints`) at every increment of the last cycle, its range, and
   Engelmaier's N50 (:mod:`thermomech.solder_life`); with creep, the inelastic energy
   density per cycle averaged over the pad layers (the joints are cut there, so the layer
   is a row of cells) and Darveaux's life from it; the critical joint is the one of the
   shortest life; for comparison the distance-to-neutral-point estimate
   ``dgamma = L_D dalpha dT / h`` of the critical joint and the energy of a material point
   driven by the FE pad strains (``creep_estimate``).
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
from .solder_creep import ANAND, garofalo_from_anand
from .solder_joints import (
    PADS,
    CreepEstimate,
    JointCreep,
    Joints,
    creep_estimate,
    find_joints,
    joint_creep,
    layered_joints,
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
    the pad-averaged (gamma_xz, gamma_yz) at the k increments of the last cycle
    (``full_history`` at every increment); ``estimate`` the DNP estimate of the critical
    joint; ``fe_creep`` the FE creep per joint (None: elastic joints); ``creep`` the
    material-point comparison; ``process`` every increment."""

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
    fe_creep: JointCreep | None = None
    full_history: np.ndarray | None = None
    creep_law: str = "none"


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
        layout = layered_joints(reliability_layout(model), spec.joints, spec.layer_thickness)
        package = mesh_layout(layout, model.mesh, model.all_materials)
    joints = find_joints(package, spec.joints)
    points, weights = pad_points(joints, spec.layer_thickness)
    seconds["mesh"] = time.perf_counter() - tick
    steps = cycle_steps(spec)
    material = package.part_materials[spec.joints]
    law = creep_law(spec, material)
    tick = time.perf_counter()
    increments_total = sum(s.step.increments for s in steps)
    with stage(f"solve the cycle ({increments_total} increments"
               f"{', ' + law.name + ' creep' if law else ', elastic joints'})"):
        process = solve_process(package, reliability_loads(model, spec), solver=solver,
                                creep={spec.joints: law} if law else None)
    seconds["solve"] = time.perf_counter() - tick
    tick = time.perf_counter()
    last = [i for i, s in enumerate(steps) if s.cycle == spec.cycles]
    full = np.stack([pad_shear(inc.result, joints, points, weights)
                     for inc in process.increments], axis=2)
    increments = [inc for inc in process.increments if inc.step in last]
    history = full[:, :, len(process.increments) - len(increments):]
    pad_range = shear_range(history)
    gamma = pad_range.max(axis=1)
    n50 = np.full(joints.count, np.inf)
    loaded = gamma > 0
    n50[loaded] = engelmaier_cycles(gamma[loaded], spec.mean_temperature,
                                    spec.dwell_time / 60.0, spec.fatigue_ductility)
    fe = None if law is None else joint_creep(
        process.increments, [s.cycle for s in steps], joints,
        list(package.parts).index(spec.joints), spec.layer_thickness)
    seconds["evaluate"] = time.perf_counter() - tick
    tick = time.perf_counter()
    with stage("material-point creep estimate per joint (comparison)"):
        creep = creep_estimate(spec, steps, joints, history,
                               [inc.temperature for inc in increments], material)
    seconds["creep_estimate"] = time.perf_counter() - tick
    darveaux = joint_darveaux(spec, joints, fe) if spec.model == "darveaux" else None
    life = n50 if darveaux is None else darveaux.cycles
    critical = int(np.argmin(life)) if np.isfinite(life).any() else int(np.argmax(gamma))
    estimate = dnp_estimate(increments[-1].result, joints, spec, critical)
    return ReliabilityResult(spec, package, joints, steps, process, history, pad_range,
                             gamma, n50, critical, estimate, creep, darveaux, seconds, fe,
                             full, law.name if law else "none")


def creep_law(spec: ReliabilitySpec, material: str):
    """The joints' creep law (Anand, or its Garofalo form) from the published constants
    of their solder; None for ``solder_creep = "none"`` or a solder without constants."""
    if spec.solder_creep == "none" or material not in ANAND:
        return None
    law = ANAND[material]
    return law if spec.solder_creep == "anand" else garofalo_from_anand(law)


def joint_darveaux(spec: ReliabilitySpec, joints: Joints, creep: JointCreep | None
                   ) -> DarveauxLife:
    """Darveaux's life per joint from the FE energy per cycle (the last cycle, pad layer
    averaged); the crack path is the diameter of the round section of the column's area.
    Infinite where no energy is dissipated."""
    if creep is None:
        raise ModelError("reliability.model", "\"darveaux\" needs the FE creep energy: the "
                                              "joints' solder has no published creep "
                                              f"constants (known: {', '.join(ANAND)})")
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
            **_creep_row(result.fe_creep, i),
            "energy_density_material_point_J_per_m3": _item(result.creep.energy, i),
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
        "solder_model": (f"{result.creep_law} creep in the FE cycle (process_creep: Newton "
                         f"per increment)" if result.fe_creep is not None else
                         "linear elastic in the FE cycle (solder_creep = \"none\" or no "
                         "published constants for the joints' solder)"),
        "energy_material_point": f"comparison only: {result.creep.note}",
        "newton": _newton(result.process),
        "symmetry": result.package.symmetry,
        "joint_count_meshed": joints.count,
        "critical_joint": {**critical, "pad": PADS[int(np.argmax(
            result.pad_range[result.critical]))]},
        "dnp_estimate": result.estimate,
        "hysteresis": _hysteresis(result),
        "joints": rows,
        "mesh": {"cells": int(result.package.ncells)},
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }


def _creep_row(fe, i: int) -> dict:
    if fe is None:
        return {"energy_density_J_per_m3": None, "creep_shear_strain_range": None}
    pad = int(fe.pad[i])
    return {"energy_density_J_per_m3": float(fe.energy[i]), "energy_pad": PADS[pad],
            "energy_density_per_cycle_J_per_m3": fe.per_cycle[:, i, pad].tolist(),
            "energy_cycle_change": _finite_or_none(fe.cycle_change[i]),
            "creep_shear_strain_range": float(fe.creep_range[i])}


def _newton(process: ProcessResult) -> dict | None:
    """Newton iterations and tangent factorizations of the creep increments."""
    stats = [inc.result.stats for inc in process.increments]
    if not stats or "newton_iterations" not in stats[0]:
        return None
    iterations = [s["newton_iterations"] for s in stats]
    return {"increments": len(stats), "iterations_total": int(sum(iterations)),
            "iterations_max": int(max(iterations)),
            "tangent_factorizations": int(sum(s["tangent_factorizations"] for s in stats)),
            "relative_residual_max": max(s["newton_residuals"][-1] for s in stats)}


def _hysteresis(result: ReliabilityResult) -> dict | None:
    """The critical joint's pad-averaged shear strain and stress at every increment (at
    the pad of its energy), and the loop area of each cycle, sum over (xz, yz) of
    the integral of tau d gamma (trapezoid), J/m^3."""
    fe, i = result.fe_creep, result.critical
    if fe is None:
        return None
    pad = int(fe.pad[i])
    gamma, tau = result.full_history[i, pad], fe.stress[i, pad]  # (k, 2)
    cycles = np.array([s.cycle for s in result.steps])[
        [inc.step for inc in result.process.increments]]
    areas = []
    for c in range(1, int(cycles.max()) + 1):
        rows = np.r_[np.flatnonzero(cycles < c)[-1], np.flatnonzero(cycles == c)]
        areas.append(float(sum(np.trapezoid(tau[rows, k], gamma[rows, k]) for k in (0, 1))))
    return {"joint": i, "pad": PADS[pad],
            "time_s": [inc.time for inc in result.process.increments],
            "temperature_C": [inc.temperature for inc in result.process.increments],
            "gamma_xz": gamma[:, 0].tolist(), "gamma_yz": gamma[:, 1].tolist(),
            "tau_xz_Pa": tau[:, 0].tolist(), "tau_yz_Pa": tau[:, 1].tolist(),
            "loop_area_per_cycle_J_per_m3": areas,
            "energy_per_cycle_J_per_m3": fe.per_cycle[:, i, pad].tolist()}


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
    extra = [f"FE creep energy {energy:.4g} J/m^3 in the last cycle "
             f"({c['energy_pad'].replace('_', ' ')} layer; change from the cycle before "
             f"{_percent(c['energy_cycle_change'])}), creep shear-strain range "
             f"{c['creep_shear_strain_range']:.4g}; material point "
             f"{_cycles(c['energy_density_material_point_J_per_m3'])} J/m^3"
             if energy is not None else f"FE creep: none ({summary['solder_model']})"]
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


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:+.2f} %"


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
