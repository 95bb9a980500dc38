"""Checks of a finished run an engineer must read before quoting its numbers.

``run_warnings(run, summary)`` looks at the results and the summary tables of one run (no
solving) and returns a list of :class:`RunWarning` (a code and a one-line message). The
same list goes to the terminal (``warning: <code>: <message>`` on stderr), to summary.json
(``warnings``: a list of {code, message}) and to report.html.

Codes (docs/getting-started.md, "Reading the report", lists them with their thresholds):

- mesh: ``heat_sink_smaller_than_die``, ``mesh_aspect_ratio``, ``two_dimensional_model``;
- solver: ``energy_balance``, ``force_balance``, ``linear_residual``,
  ``iteration_limit``, ``nonlinear_iteration_limit``;
- thermal: ``below_ambient`` (a heated steady field below its coldest boundary temperature:
  coarse first-order heat elements undershoot), ``transient_not_steady`` (steady metrics
  of a transient that has not settled), ``theta_jc_setup`` / ``theta_jb_setup`` (a theta
  computed from a heat split that is not its JEDEC set-up), ``theta_jc_undefined``;
- mechanical: ``singular_corner_stress``, ``singular_von_mises``, ``linear_element_locking``,
  ``secant_cte_above_tg``, ``large_warpage`` (beyond a third of the package thickness:
  small-strain model no longer valid), ``solder_above_melting`` (a part above its melting
  point while carrying stress), ``homogenized_layer_stress`` (von Mises of a homogenized
  joint layer: the smeared mixture's, not a joint's).

``run`` is an ``analysis.Run`` (only ``model``, ``package``, ``thermal``, ``mechanical`` and
``curve`` are read), ``summary`` the tables ``analysis.summarize`` builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .heat_problem import boundary_conditions, path_of

RESIDUAL_WARN = 1e-9      # direct solves must reach 1e-8 (linear_solvers): warn within 10x
BALANCE_WARN = 1e-8       # VERIFICATION.md: energy and force balance to 1e-8 on every solve
ASPECT_WARN = 100.0       # cell aspect ratio beyond which accuracy and AMG suffer
ITERATIONS_WARN = 4000    # of the 5000 CG iterations the iterative solvers allow
UNDERSHOOT_WARN = 1e-2    # below-ambient undershoot, as a fraction of the temperature rise
WARPAGE_LIMIT = 1 / 3     # warpage / package thickness beyond which small strain fails
STRESSED_MPA = 0.1        # von Mises above which a part "carries stress", MPa
STEADY_TOLERANCE = 0.02   # |power in - heat out| / power at the end of a "settled" transient
JEDEC_SHARE = 0.95        # share of the heat a JEDEC theta set-up sends through its sink
COLD_PLATE_H = 1e4        # W/(m^2 K): convection this strong stands for a cold plate
# (PHYSICS_NEXT 4.3: a cold plate is an isothermal Dirichlet face, or h = 1e4 - 1e5)


@dataclass(frozen=True)
class RunWarning:
    """One warning of a run: a stable ``code`` (for scripts) and a one-line ``message``."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def run_warnings(run, summary: Mapping) -> list[RunWarning]:
    """Every warning of a run, mesh first, then thermal, then mechanical."""
    found = heat_sink_warnings(run.package.layout)
    found += mesh_warnings(run.package, summary)
    if run.thermal is not None and summary.get("thermal"):
        found += thermal_warnings(run, summary["thermal"])
    if run.mechanical is not None and summary.get("mechanical"):
        found += mechanical_warnings(run, summary["mechanical"])
    return found


def warning_lines(summary: Mapping) -> list[str]:
    """``warning: <code>: <message>`` lines of a summary's warnings (what the CLI prints)."""
    return [f"warning: {w['code']}: {w['message']}" for w in summary.get("warnings", ())]


# --- mesh ------------------------------------------------------------------------------------

def heat_sink_warnings(layout) -> list[RunWarning]:
    """A heat sink whose footprint does not cover every die (patent 000, claim 1: the heat
    sink is larger than the die)."""
    sinks = [p for p in layout.parts if "heat_sink" in p or p in ("lid", "spreader")]
    dies = [d for d in layout.dies if d in layout.parts]
    found = []
    for sink in sinks:
        s_lower, s_upper = _footprint(layout, sink)
        for die in dies:
            d_lower, d_upper = _footprint(layout, die)
            if np.any(s_lower > d_lower + 1e-12) or np.any(s_upper < d_upper - 1e-12):
                size = (s_upper - s_lower) * 1e3
                die_size = (d_upper - d_lower) * 1e3
                found.append(RunWarning("heat_sink_smaller_than_die", (
                    f"heat sink '{sink}' ({size[0]:.3g} x {size[1]:.3g} mm) does not cover "
                    f"die '{die}' ({die_size[0]:.3g} x {die_size[1]:.3g} mm): the exposed "
                    "heat-sink flip-chip structure has a heat sink larger than the die")))
    return found


def _footprint(layout, part) -> tuple[np.ndarray, np.ndarray]:
    boxes = [b for b in layout.boxes if b.part == part]
    return (np.min([b.lower[:2] for b in boxes], axis=0),
            np.max([b.upper[:2] for b in boxes], axis=0))


def mesh_warnings(package, summary: Mapping) -> list[RunWarning]:
    found = []
    ratio = summary.get("mesh", {}).get("worst_aspect_ratio")
    if ratio is not None and ratio > ASPECT_WARN:
        found.append(RunWarning("mesh_aspect_ratio", (
            f"worst cell aspect ratio {ratio:.0f} (> {ASPECT_WARN:.0f}): check the results "
            "against a finer in-plane mesh")))
    if package.dimension == 2:
        found.append(RunWarning("two_dimensional_model", (
            "2D model: the x-z section at y = 0 of an infinitely deep extrusion; heated parts "
            "keep their 3D power density, so temperatures are upper estimates of the 3D "
            "ones")))
    return found


# --- solver ----------------------------------------------------------------------------------

def _residual_warnings(what, residual, method, iterations) -> list[RunWarning]:
    found = []
    if isinstance(residual, float) and residual > RESIDUAL_WARN:
        found.append(RunWarning("linear_residual", (
            f"{what} linear solve: relative residual {residual:.1e}, within 10x of the 1e-8 "
            "acceptance limit of a direct solve")))
    if method not in (None, "direct") and isinstance(iterations, int) and \
            iterations > ITERATIONS_WARN:
        found.append(RunWarning("iteration_limit", (
            f"{what} iterative solve took {iterations} iterations: close to the 5000 "
            "limit")))
    return found


# --- thermal ---------------------------------------------------------------------------------

def thermal_warnings(run, thermal: Mapping) -> list[RunWarning]:
    found = []
    stats = dict(run.thermal.stats or {})
    balance = thermal.get("energy_balance_error")
    if balance is not None and not balance <= BALANCE_WARN:
        found.append(RunWarning("energy_balance", f"thermal energy balance error "
                                                  f"{balance:.1e} exceeds {BALANCE_WARN:.0e}"))
    found += _residual_warnings("thermal", stats.get("relative_residual"),
                                stats.get("linear_solver"), stats.get("iterations"))
    limit = getattr(run.model.thermal, "max_iterations", None)
    done = stats.get("nonlinear_iterations")
    if limit and done and limit > 1 and done >= 0.8 * limit:
        found.append(RunWarning("nonlinear_iteration_limit", (
            f"k(T) iteration needed {done} of at most {limit} iterations: close to the "
            "limit")))
    if thermal.get("power_W") and thermal.get("theta_jc_K_per_W") is None:
        found.append(RunWarning("theta_jc_undefined",
                                "no heat leaves upward: theta_JC is not defined"))
    found += below_ambient(run.thermal)
    found += transient_not_steady(run.thermal, thermal)
    found += theta_setup(run.thermal, thermal)
    return found


def coldest_boundary_temperature(loads) -> float:
    """The lowest temperature a boundary condition holds or convects to, degC (-inf with a
    temperature map: its minimum is not known without evaluating it)."""
    values = [loads.ambient] + [c.ambient for c in loads.all_convection if c.ambient is not None]
    if not all(f.is_uniform for f in loads.fixed_temperature):
        return -np.inf
    values += [f.temperature for f in loads.fixed_temperature]
    return min(values)


def below_ambient(result) -> list[RunWarning]:
    """A heated steady field (no cooling flux) lies at or above its coldest boundary
    temperature; an undershoot is discretization error (coarse first-order elements under a
    strong convection or across thin layers)."""
    loads = result.loads
    if result.is_transient or not result.power > 0 or any(f.flux < 0 for f in loads.heat_flux):
        return []
    floor = coldest_boundary_temperature(loads)
    temperature = np.asarray(result.temperature)
    lowest = int(np.argmin(temperature))
    rise = float(temperature.max()) - floor
    undershoot = floor - float(temperature[lowest])
    if not rise > 0 or undershoot <= UNDERSHOOT_WARN * rise:
        return []
    cell = np.nonzero(np.any(result.space.element_dofs == lowest, axis=0))[0][0]
    part = result.package.parts[result.package.cell_part[cell]]
    return [RunWarning("below_ambient", (
        f"the lowest temperature {temperature[lowest]:.6g} degC (in '{part}') is "
        f"{undershoot:.3g} K below the coldest boundary temperature {floor:.6g} degC, "
        f"{100 * undershoot / rise:.1f} % of the {rise:.3g} K rise: a heated steady field "
        "cannot go below it, so the heat elements are too coarse there (refine the mesh or "
        "use mesh.element_order = 2)"))]


def transient_not_steady(result, thermal: Mapping) -> list[RunWarning]:
    """The steady metrics (T_j, theta, psi) of a transient are its end values: they are
    the steady ones only when the heat out has caught up with the power in."""
    if not result.is_transient or thermal.get("theta_ja_K_per_W") is None:
        return []
    power = float(result.history["power_W"][-1])
    out = float(sum(result.heat_out.values()))
    scale = max(abs(power), abs(out), 1e-300)
    if abs(power - out) <= STEADY_TOLERANCE * scale:
        return []
    end = float(result.history["time"][-1])
    return [RunWarning("transient_not_steady", (
        f"the transient ends at t = {end:.4g} s with {out:.4g} W leaving against "
        f"{power:.4g} W generated ({100 * abs(power - out) / scale:.0f} % of the heat still "
        "going into storage): not a steady state, so T_j, theta and psi of the summary are "
        "end-of-transient values, not the steady metrics; run longer or solve steady"))]


def _sinks(result) -> dict[str, set[str]]:
    """Directions ("up", "down") in which a cold plate (fixed temperature, or convection
    with h >= COLD_PLATE_H) holds a surface facing that way; (faces, by majority)."""
    directions: dict[str, set[str]] = {"up": set(), "down": set()}
    for b in boundary_conditions(result.package, result.loads):
        strong = b.kind == "fixed" or (b.kind == "convection" and b.value >= COLD_PLATE_H)
        if not strong or not len(b.faces):
            continue
        paths = np.bincount(path_of(result.package, b.faces), minlength=3)
        if paths[0] * 2 > len(b.faces):
            directions["up"].add(b.name)
        if paths[1] * 2 > len(b.faces):
            directions["down"].add(b.name)
    return directions


def theta_setup(result, thermal: Mapping) -> list[RunWarning]:
    """theta_JC is JESD51-12/-14's when a cold plate holds the case top and (near) all heat
    goes through it; theta_JB is JESD51-8's when (near) all heat goes to a board-side sink
    (ring cold plate). Otherwise each is only the resistance of one path of this set-up."""
    share = thermal.get("heat_path_share") or {}
    checks = (("theta_jc", "theta_JC", "heat_sink", "up", "case top",
               "JESD51-12/-14 junction-to-case set-up (a cold plate on the case top)"),
              ("theta_jb", "theta_JB", "board", "down", "board side",
               "JESD51-8 junction-to-board set-up (all heat to a ring cold plate through the "
               "board)"))
    found = []
    sinks = None
    for key, label, path, direction, side, setup in checks:
        value = thermal.get(f"{key}_K_per_W")
        if value is None:
            continue
        sinks = sinks if sinks is not None else _sinks(result)
        fraction = share.get(path, 0.0)
        if sinks[direction] and fraction >= JEDEC_SHARE:
            continue
        held = (f"held by {', '.join(sorted(sinks[direction]))}" if sinks[direction] else
                "held by no cold plate (fixed temperature or h >= "
                f"{COLD_PLATE_H:.0e} W/(m^2 K))")
        found.append(RunWarning(f"{key}_setup", (
            f"{label} = {value:.4g} K/W: {100 * fraction:.0f} % of the heat leaves through the "
            f"{side}, {held}; the {setup} sends at least {100 * JEDEC_SHARE:.0f} % that way, "
            f"so this is the {side} path resistance of this model, not a datasheet "
            f"{label}")))
    return found


# --- mechanical ------------------------------------------------------------------------------

def mechanical_warnings(run, mechanical: Mapping) -> list[RunWarning]:
    found = []
    for name, row in (mechanical.get("interfaces") or {}).items():
        found.append(RunWarning("singular_corner_stress", (
            f"{name} / {', '.join(row.get('neighbours', []))}: corner peel "
            f"{row['peel_corner_MPa']:.3g} MPa and shear {row['shear_corner_MPa']:.3g} MPa at "
            f"a mesh size of {row['corner_mesh_size_um']:.0f} um are singular corner values "
            "(they grow with refinement): quote them with the mesh size, never as converged")))
    if mechanical.get("von_mises_max_MPa"):
        found.append(RunWarning("singular_von_mises", (
            "von Mises maxima sit at re-entrant corners and part edges, where the elastic "
            "stress is singular: they depend on the mesh size")))
        found += homogenized_layer_stress(run.package, mechanical["von_mises_max_MPa"])
    element = mechanical.get("element") or ""
    if element in ("Hex1", "Quad1"):
        found.append(RunWarning("linear_element_locking", (
            f"linear elements ({element}) lock in bending of thin layers (about 30 % of the "
            "exact curvature): use element_order = 2 for warpage")))
    stats = dict(run.mechanical.stats or {})
    balance = stats.get("force_balance")
    if isinstance(balance, float) and not balance <= BALANCE_WARN:
        found.append(RunWarning("force_balance", f"force balance {balance:.1e} exceeds "
                                                 f"{BALANCE_WARN:.0e}"))
    solver = stats.get("linear_solver") if isinstance(stats.get("linear_solver"), Mapping) \
        else {}
    found += _residual_warnings("mechanical", stats.get("residual"), solver.get("method"),
                                solver.get("iterations"))
    found += secant_cte_warnings(run)
    found += large_warpage(run.package, mechanical)
    found += solder_above_melting(run, mechanical)
    found += separate_bodies(run)
    return found


def homogenized_layer_stress(package, von_mises: Mapping) -> list[RunWarning]:
    """Parts in the von Mises table that are homogenized layers (a material the package
    family mixed itself: joints and what surrounds them, ``materials.column_layer_properties``):
    their stress is the mixture's mean, which says nothing of a joint's (a ball layer over
    air carries almost none in plane)."""
    layout = getattr(package, "layout", None)
    derived = getattr(layout, "materials", None) or {}
    materials = getattr(package, "part_materials", {})
    found = []
    for part, value in von_mises.items():
        material = materials.get(part)
        if material in derived:
            found.append(RunWarning("homogenized_layer_stress", (
                f"{part}: von Mises max {value:.3g} MPa is the stress of a homogenized layer "
                f"({derived[material].description}), not of a joint: model the joints "
                "one by one (the package's *_model = \"discrete\") for their stress and life")))
    return found


def separate_bodies(run) -> list[RunWarning]:
    """Process increments whose active parts fall apart into bodies that share no face
    (``process_bodies``): each is then held and reported as a free body of its own."""
    seen: dict = {}
    for increment in getattr(run, "history", ()) or ():
        bodies = increment.result.stats.get("bodies") or []
        if len(bodies) > 1:
            key = tuple(tuple(b) for b in bodies)
            seen.setdefault(key, []).append(f"{increment.name} {increment.increment}")
    return [RunWarning("separate_bodies", (
        f"{len(key)} separate bodies ({'; '.join(', '.join(b) for b in key)}) at "
        f"{', '.join(where)}: each is held by its own 3-2-1 support and its rigid motion "
        "removed, so its warpage is that of the body alone"))
        for key, where in seen.items()]


def secant_cte_warnings(run) -> list[RunWarning]:
    """Materials whose glass transition lies between the stress-free and the load
    temperature: their secant CTE mixes the CTE below and above Tg."""
    mechanical = run.mechanical
    if not isinstance(mechanical.temperature, int | float):
        return []
    found = []
    for part, t_free in mechanical.stress_free_temperature.items():
        if part not in run.package.part_materials:
            continue
        material = run.package.materials[run.package.part_materials[part]]
        tg = material.glass_transition
        if tg is not None and material.cte_above_tg is not None and \
                min(t_free, mechanical.temperature) < tg < max(t_free, mechanical.temperature):
            found.append(RunWarning("secant_cte_above_tg", (
                f"{part} ({material.name}): Tg {tg:g} degC lies between the stress-free "
                f"{t_free:g} degC and {mechanical.temperature:g} degC; its thermal strain uses "
                "the CTE above Tg down to Tg and the CTE below it after (secant CTE)")))
    return found


def package_thickness(package) -> float:
    """Height of the meshed package (extent of the vertical mesh axis), m."""
    return float(np.ptp(package.mesh.p[-1]))


def large_warpage(package, mechanical: Mapping) -> list[RunWarning]:
    """The warpage solve is linear (small strain, small rotation): a warpage beyond a third
    of the thickness is outside it (the plate's membrane stiffening is missing)."""
    warpage = mechanical.get("warpage_um") or {}
    if not warpage:
        return []
    surface = max(warpage, key=warpage.get)
    thickness = package_thickness(package) * 1e6
    if not warpage[surface] > WARPAGE_LIMIT * thickness:
        return []
    return [RunWarning("large_warpage", (
        f"warpage of '{surface}' {warpage[surface]:.4g} um is {warpage[surface] / thickness:.2f}"
        f" times the package thickness {thickness:.4g} um (more than a third): the linear "
        "small-strain model no longer holds (large deflection stiffens the plate); the "
        "warpage is overestimated"))]


def part_temperature_max(result, part: str) -> float:
    """The highest temperature of ``part`` in a warpage solve's load, degC: the load itself
    when uniform, else the largest dof value of a ``Field`` (space, values) in the part's
    cells."""
    temperature = result.temperature
    if isinstance(temperature, int | float):
        return float(temperature)
    cells = result.package.part_cells(part)
    values = np.asarray(temperature.values)
    return float(np.max(values[temperature.space.dofs.element_dofs[:, cells]]))


def solder_above_melting(run, mechanical: Mapping) -> list[RunWarning]:
    """A part above its material's melting point cannot carry stress: an elastic result
    that stresses it there is meaningless (reflow is outside the model)."""
    package, result = run.package, run.mechanical
    stresses = mechanical.get("von_mises_max_MPa") or {}
    found = []
    for part in package.parts:
        material = package.cell_material(part)
        melting = material.melting_point
        if melting is None or part not in package.mesh.subdomains:  # cut away by symmetry
            continue
        hottest = part_temperature_max(result, part)
        curve = [r.temperature for r in run.curve if isinstance(r.temperature, int | float)
                 and r.temperature > melting]
        stress = stresses.get(part, 0.0)
        if hottest > melting and stress > STRESSED_MPA:
            found.append(RunWarning("solder_above_melting", (
                f"'{part}' ({material.name}) reaches {hottest:.1f} degC, above its melting "
                f"point {melting:g} degC, while carrying up to {stress:.3g} MPa von Mises: "
                "molten solder carries no stress, so the stresses and warpage are not "
                "physical there; keep the load temperature below the melting point")))
        elif curve:
            found.append(RunWarning("solder_above_melting", (
                f"'{part}' ({material.name}) is above its melting point {melting:g} degC at "
                f"the warpage-curve temperatures {', '.join(f'{t:g}' for t in curve)} degC, "
                "where it is still treated as an elastic solid")))
    return found
