"""Engineering numbers from a thermal result, in JEDEC JESD51 terms.

Definitions (temperatures degC, powers W for the whole package, resistances K/W):

- junction temperature T_j: the largest temperature of any die (the dies of the layout, or
  the powered parts when the layout names none); per die also the mean (volume average).
- theta_JA = (T_j - T_a) / P (JESD51-2A), T_a = ``thermal.ambient``, P the total power.
- theta_JC = (T_j - T_c) / Q_top: T_c the mean temperature of the case top (the heat sink's
  exposed top, else the package top), Q_top the heat leaving through upward faces. This is
  JESD51-12's junction-to-case value when the boundary setup sends all heat to the top
  (e.g. a fixed temperature there, adiabatic elsewhere); otherwise it is the resistance of
  the top path. None when no heat leaves upward.
- theta_JB = (T_j - T_b) / Q_board: T_b the mean temperature of the package bottom (the
  board side), Q_board the heat leaving through downward faces; JESD51-8's value when all
  heat goes to the board. None when no heat leaves downward.
- Psi_JT = (T_j - T_t) / P with T_t the temperature at the centre of the package top
  (where a thermocouple sits); Psi_JB = (T_j - T_b) / P.
- heat out per boundary-condition surface and per path (heat sink: +z faces, board: -z
  faces, sides), and the energy-balance error of the solve.
"""

from __future__ import annotations

import numpy as np

from .meshing import face_centres
from .results import ThermalResult
from .thermal import die_dofs


def die_parts(result: ThermalResult) -> list[str]:
    """The dies whose temperatures define T_j."""
    return list(die_dofs(result.package, result.space, result.loads))


def part_max_temperatures(result: ThermalResult) -> dict[str, float]:
    """Largest nodal temperature of every part, degC."""
    package = result.package
    return {p: part_max_temperature(result, p) for p in package.parts
            if p in package.mesh.subdomains}


def part_max_temperature(result: ThermalResult, part: str) -> float:
    """Largest nodal temperature of ``part``, degC (over its cells' dofs)."""
    dofs = result.space.element_dofs[:, result.package.part_cells(part)]
    return float(result.temperature[dofs].max())


def part_mean_temperatures(result: ThermalResult) -> dict[str, float]:
    """Volume-averaged temperature of every part, degC (exact integration of the field)."""
    package = result.package
    return {p: result.cell_mean((package.cell_part == i).astype(float))
            for i, p in enumerate(package.parts) if p in package.mesh.subdomains}


def junction_temperature(result: ThermalResult) -> float:
    """Largest die temperature T_j, degC."""
    return max(part_max_temperature(result, d) for d in die_parts(result))


def surface_mean_temperature(result: ThermalResult, surface: str) -> float:
    """Area-averaged temperature of a named surface, degC."""
    package = result.package
    return result.face_mean(package.surface(surface, "surface"))


def point_temperature(result: ThermalResult, point) -> float:
    """Temperature at ``point`` (x, y, z) in package coordinates (m), degC."""
    package = result.package
    x = np.array(point, dtype=float)
    if package.symmetry != "none":
        x[0] = abs(x[0])
        if package.symmetry == "quarter":
            x[1] = abs(x[1])
    if package.dimension == 2:
        x = x[[0, 2]]
    return float(result.temperature_at(x[:, None])[0])


def case_surface(result: ThermalResult) -> str:
    surfaces = result.package.surfaces
    return "heat_sink.top" if "heat_sink.top" in surfaces else "top"


def top_centre_temperature(result: ThermalResult) -> float:
    """T_t: the temperature at the centre of the package top, degC.

    The mean temperature of the ``top`` face nearest the package axis (x = y = 0): the top
    of a lid or mold cap over the axis, or, where the top is a ring (stacked carriers' outer
    bumps), the ring face nearest the axis, as a thermocouple would be placed.
    """
    package = result.package
    faces = package.surface("top", "surface")
    centres = face_centres(package, faces)
    nearest = np.argmin(np.sum(centres[:-1] ** 2, axis=0))
    return result.face_mean(faces.subset(slice(nearest, nearest + 1)))


def theta_ja(result: ThermalResult) -> float | None:
    if result.power <= 0:
        return None
    return (junction_temperature(result) - result.loads.ambient) / result.power


def theta_jc(result: ThermalResult) -> float | None:
    q = result.heat_paths.get("heat_sink", 0.0)
    if q <= 1e-12 * max(result.power, 1e-300):
        return None
    return (junction_temperature(result) - surface_mean_temperature(
        result, case_surface(result))) / q


def theta_jb(result: ThermalResult) -> float | None:
    q = result.heat_paths.get("board", 0.0)
    if q <= 1e-12 * max(result.power, 1e-300) or "bottom" not in result.package.surfaces:
        return None
    return (junction_temperature(result) - surface_mean_temperature(result, "bottom")) / q


def psi_jt(result: ThermalResult) -> float | None:
    if result.power <= 0:
        return None
    return (junction_temperature(result) - top_centre_temperature(result)) / result.power


def psi_jb(result: ThermalResult) -> float | None:
    if result.power <= 0 or "bottom" not in result.package.surfaces:
        return None
    return (junction_temperature(result) - surface_mean_temperature(result, "bottom")) / \
        result.power


def heat_path_shares(result: ThermalResult) -> dict[str, float]:
    """Fraction of the heat leaving through each path (heat_sink, board, sides)."""
    total = sum(result.heat_paths.values())
    return {k: (v / total if total else 0.0) for k, v in result.heat_paths.items()}


def transient_summary(result: ThermalResult) -> dict:
    """Peak die temperatures over time and the probe histories' extremes."""
    history = result.history
    time = history["time"]
    out: dict = {"end_time_s": float(time[-1]), "steps": int(len(time) - 1),
                 "output_times_s": [float(t) for t in result.times]}
    for key, values in history.items():
        if key.endswith("_C"):
            i = int(np.argmax(values))
            out[f"{key[:-2]}_peak_C"] = float(values[i])
            out[f"{key[:-2]}_peak_time_s"] = float(time[i])
    return out


def thermal_summary(result: ThermalResult) -> dict:
    """The ``thermal`` table of summary.json (keys of docs MODEL_FILE.md, units in names)."""
    dies = die_parts(result)
    maxima, means = part_max_temperatures(result), part_mean_temperatures(result)
    stats = result.stats
    out = {
        "junction_temperature_C": max(maxima[d] for d in dies) if dies else None,
        "part_max_temperature_C": maxima,
        "part_mean_temperature_C": means,
        "die_max_temperature_C": {d: maxima[d] for d in dies},
        "die_mean_temperature_C": {d: means[d] for d in dies},
        "heat_out_W": dict(result.heat_out),
        "heat_path_W": dict(result.heat_paths),
        "heat_path_share": heat_path_shares(result),
        "power_W": result.power,
        "ambient_C": result.loads.ambient,
        "theta_ja_K_per_W": theta_ja(result) if dies else None,
        "theta_jc_K_per_W": theta_jc(result) if dies else None,
        "theta_jb_K_per_W": theta_jb(result) if dies else None,
        "psi_jt_K_per_W": psi_jt(result) if dies else None,
        "psi_jb_K_per_W": psi_jb(result) if dies else None,
        "case_temperature_C": surface_mean_temperature(result, case_surface(result))
        if case_surface(result) in result.package.surfaces else None,
        "energy_balance_error": float(stats.get("energy_balance_error", np.nan)),
        "unknowns": stats.get("unknowns"),
        "element_order": stats.get("order"),
        "nonlinear_iterations": stats.get("nonlinear_iterations"),
    }
    if result.is_transient:
        out["transient"] = transient_summary(result)
    return out
