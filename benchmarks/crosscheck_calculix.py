"""Cross-check thermomech against CalculiX (ccx) on the same mesh and element type.

For every bundled model (meshes/*.toml) in 3D and 2D at a coarse resolution this script
solves the heat and warpage problems with thermomech, exports the same model as CalculiX
decks (``thermomech.inp.write_inp``), runs ``ccx``, reads its nodal temperatures,
displacements and integration-point stresses back from the .dat file, and compares:

- junction temperature rise T_j - T_a (largest die node temperature);
- heat split: W leaving through the heat-sink (+z), board (-z) and side faces, from each
  solver's boundary temperatures (``∫ h (T - T_a) dA`` with the same face integration);
- warpage (peak-to-valley of u_z minus the best-fit plane) of the bottom and top surfaces;
- largest von Mises stress in the dies over the integration points (both solvers use the
  same Gauss points: 2x2x2 for C3D8 / Hex1, 3x3x3 for C3D20 / HexS2);
- and, as field checks, the largest nodal temperature and displacement differences.

Elements: heat Q1 (DC3D8 / Hex1; 2D CPS4 in a heat step / Quad1); warpage 3D C3D20 / HexS2,
2D plane strain CPE4 / Quad1 (thermomech's quadratic 2D element is the 9-node Quad2, which
CalculiX does not have; the 2D default generalized plane strain has no CalculiX element).

Process recipes (meshes/process/*.toml, ``--process``; default the panel fan-out on its
glass carrier and the fan-out on its tape): the recipe solved by ``solve_process`` (HexS2)
against the exported ``process`` deck (``*MODEL CHANGE`` ADD=STRAIN FREE / REMOVE, one
CalculiX step per increment), step by step: the warpage of the base of the parts present
from the start and never removed (after lift-off, the package's bottom; before, the
carrier's interface) and the displacement field of those parts (up to a rigid motion). Two
things are taken out of the comparison, as ``inp_process`` explains: CalculiX adds elements
strain-free only in geometrically nonlinear steps (``*STEP,NLGEOM``), so the deck of the
check scales every CTE by ``PROCESS_SCALE`` (the displacements are compared divided by it:
the linear limit of CalculiX's analysis); and a born part's own nodes start from their last
displacement in CalculiX (zero), from the Taylor extension of their neighbours in
thermomech, which moves them by a fixed field and leaves every stress and the other parts'
displacements unchanged. Both criteria are percent of the largest value of the recipe (the
warpage, the displacement of those parts): a flat state after lift-off has no relative
error.

Pass: every compared quantity within ``--tolerance`` percent (default 0.5). Exit codes:
0 all passed, 1 a comparison failed, 3 ``ccx`` not found (install: apt-get install
calculix-ccx). Wall times of both solvers and their ratio are printed per model.

    python benchmarks/crosscheck_calculix.py [--models flip_chip blocks] [--dims 3 2]
        [--coarsen 2] [--tolerance 0.5] [--out out/crosscheck] [--process panel_fan_out fan_out]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thermomech.fem.assembly import choose_assembly  # noqa: E402
from thermomech.heat_problem import PATHS, assemble_problem, heat_flows  # noqa: E402
from thermomech.inp import read_dat, write_inp  # noqa: E402
from thermomech.inp_process import read_displacement_blocks  # noqa: E402
from thermomech.mechanical_metrics import part_maxima, surface_warpage, von_mises  # noqa: E402
from thermomech.mechanical_supports import rigid_body_modes  # noqa: E402
from thermomech.mechanics import solve_warpage  # noqa: E402
from thermomech.meshing import Faces  # noqa: E402
from thermomech.model_file import load_model, mesh_model  # noqa: E402
from thermomech.thermal import die_dofs, solve_thermal  # noqa: E402
from thermomech.thermal_metrics import heat_path_shares, junction_temperature  # noqa: E402

EXIT_FAILED, EXIT_NO_CCX = 1, 3
COARSEN = {3: 4.0, 2: 1.0}
"""Target size = the model's times this (3D coarse enough for CI, 2D as bundled)."""


# --- reading CalculiX results --------------------------------------------------------------

def run_ccx(deck: Path) -> float:
    """Run ccx on ``deck`` (in its folder); wall seconds. RuntimeError on failure."""
    start = time.perf_counter()
    done = subprocess.run(["ccx", deck.stem], cwd=deck.parent, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (deck.parent / f"{deck.stem}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or "*ERROR" in done.stdout:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RuntimeError(f"ccx failed on {deck}:\n{tail}")
    return seconds


# --- comparisons ---------------------------------------------------------------------------

def percent(ours: float, theirs: float, scale: float | None = None) -> float:
    """|ours - theirs| in percent of ``scale`` (default |theirs|)."""
    scale = abs(theirs) if scale is None else scale
    return 100.0 * abs(ours - theirs) / max(scale, 1e-300)


def thermal_check(model, package, folder: Path) -> tuple[dict, dict]:
    loads = model.thermal
    start = time.perf_counter()
    result = solve_thermal(package, loads, order=1)
    ours_seconds = time.perf_counter() - start
    deck = write_inp(model, package, folder / "heat.inp", "heat", element_order=1)
    ccx_seconds = run_ccx(deck.path)
    table = read_dat(folder / "heat.dat")["temperatures"]
    T = np.empty(len(deck.mesh.points))
    T[table[:, 0].astype(int) - 1] = table[:, 1]
    dies = die_dofs(package, result.space, loads)
    tj_ccx = max(T[d].max() for d in dies.values())
    tj = junction_temperature(result)
    rise = tj - loads.ambient
    problem = assemble_problem(package, loads, result.space,
                               choose_assembly(result.space))
    theta = T - problem.reference
    flows = heat_flows(problem, np.zeros_like(theta), theta)
    by_path = dict.fromkeys(PATHS, 0.0)
    for (_, path), value in flows.items():
        by_path[path] += value
    total = sum(by_path.values())
    shares_ccx = {p: v / total for p, v in by_path.items()}
    shares = heat_path_shares(result)
    rows = {"junction_rise": (rise, tj_ccx - loads.ambient,
                              percent(tj, tj_ccx, tj_ccx - loads.ambient))}
    for p in PATHS:
        if max(shares[p], shares_ccx[p]) > 0.01:  # paths carrying more than 1 % of the heat
            rows[f"heat_{p}_share"] = (shares[p], shares_ccx[p],
                                       percent(shares[p], shares_ccx[p]))
    field = np.abs(result.temperature - T).max() / rise * 100
    rows["temperature_field_max"] = (0.0, 0.0, field)
    times = {"thermomech_s": ours_seconds, "ccx_s": ccx_seconds,
             "unknowns": int(result.stats["unknowns"]), "ccx_energy_balance":
                 abs(total - float(problem.power.sum())) / float(problem.power.sum())}
    return rows, times


def mechanical_check(model, package, folder: Path) -> tuple[dict, dict]:
    loads = model.mechanical
    dim = package.dimension
    element = "HexS2" if dim == 3 else "Quad1"
    order = 2 if dim == 3 else 1
    start = time.perf_counter()
    result = solve_warpage(package, loads, element=element)
    ours_seconds = time.perf_counter() - start
    deck = write_inp(model, package, folder / "warpage.inp", "warpage", element_order=order)
    ccx_seconds = run_ccx(deck.path)
    data = read_dat(folder / "warpage.dat")
    table = data["displacements"]
    nodes = table[:, 0].astype(int) - 1
    u_nodes = np.zeros((len(deck.mesh.points), dim))
    u_nodes[nodes] = table[:, 1:1 + dim]
    u = displacement_vector(result.space, deck.mesh.element, u_nodes)
    theirs = dataclasses.replace(result, displacement=u)
    rows = {}
    for surface in ("bottom", "top"):
        a = surface_warpage(result, surface).peak_to_valley
        b = surface_warpage(theirs, surface).peak_to_valley
        rows[f"warpage_{surface}_um"] = (a * 1e6, b * 1e6, percent(a, b))
    dies = [d for d in package.layout.dies if d in package.mesh.subdomains] or [
        p for p in (model.thermal.power if model.thermal else {}) if p in package.mesh.subdomains]
    maxima = part_maxima(result)
    stresses = data["stresses"]
    elements = stresses[:, 0].astype(int) - 1
    vm = von_mises(stresses[:, [2, 3, 4, 7, 6, 5]].T)  # ccx: xx yy zz xy xz yz
    die_cells = np.concatenate([package.part_cells(d) for d in dies])
    mask = np.isin(elements, die_cells)
    ours_vm = max(maxima[d]["von_mises_max"] for d in dies)
    ccx_vm = float(vm[mask].max())
    rows["die_von_mises_max_MPa"] = (ours_vm / 1e6, ccx_vm / 1e6, percent(ours_vm, ccx_vm))
    difference = u - result.displacement
    # the solvers remove the free rigid motion differently (thermomech: projection, the
    # deck: held dofs): compare the fields up to a rigid motion
    R = rigid_body_modes(result.space)
    difference -= R @ np.linalg.lstsq(R, difference, rcond=None)[0]
    scale = np.abs(result.displacement).max()
    rows["displacement_field_max"] = (0.0, 0.0, np.abs(difference).max() / scale * 100)
    times = {"thermomech_s": ours_seconds, "ccx_s": ccx_seconds,
             "unknowns": int(result.stats["unknowns"]), "element": element,
             "ccx_element": deck.element_type}
    return rows, times


def displacement_vector(basis, scalar_element, u_nodes: np.ndarray) -> np.ndarray:
    """Nodal displacements (nodes, dim) of the deck -> thermomech's vector dof array.

    Deck node k is scalar dof k of ``scalar_element``; a vector basis orders local dofs
    component-fastest (local dof i: scalar function i // dim, component i % dim)."""
    import skfem

    dim = u_nodes.shape[1]
    scalar = skfem.Dofs(basis.mesh, scalar_element).element_dofs
    out = np.zeros(basis.N)
    for c in range(dim):
        out[basis.element_dofs[c::dim]] = u_nodes[scalar, c]
    return out


# --- process recipes -----------------------------------------------------------------------

PROCESS_SCALE = 1e-4
"""CTE factor of the process deck of the check: CalculiX's NLGEOM steps in their linear
limit (at 1 the panel fan-out's 260 um warpage on a 0.35 mm strip differs by ~5 %)."""


def base_surface(package, parts) -> Faces:
    """The -z faces of the lowest cell of ``parts`` in every grid column (box meshes)."""
    grid = package.grid_cells
    part_of = np.where(grid >= 0, np.asarray(package.cell_part)[np.maximum(grid, 0)], -1)
    wanted = np.isin(part_of, [list(package.parts).index(p) for p in parts]) & (grid >= 0)
    has = wanted.any(axis=-1)
    lowest = np.argmax(wanted, axis=-1)
    cells = np.take_along_axis(grid, lowest[..., None], axis=-1)[..., 0][has]
    side = 2 * (package.dimension - 1)
    return Faces(np.asarray(cells), np.full(len(cells), side))


def process_check(model, package, folder: Path, thermal=None) -> tuple[dict, dict]:
    """Rows (name -> (ours, CalculiX, percent)) and times of the recipe of ``model``;
    ``thermal``: the heat solution of its ``"thermal"`` steps."""
    from thermomech.process import solve_process

    loads = model.mechanical
    dim = package.dimension
    element, order = ("HexS2", 2) if dim == 3 else ("Quad1", 1)
    start = time.perf_counter()
    history = solve_process(package, loads, element=element, thermal=thermal).increments
    ours_seconds = time.perf_counter() - start
    deck = write_inp(model, package, folder / "process.inp", "process", element_order=order,
                     expansion_scale=PROCESS_SCALE, temperature=thermal)
    ccx_seconds = run_ccx(deck.path)
    blocks = read_displacement_blocks(folder / "process.dat")
    added = {p for step in loads.steps for p in step.add}
    removed = {p for step in loads.steps for p in step.remove}
    kept = [p for p in package.parts if p not in added | removed]
    surfaces = dict(package.surfaces, base=base_surface(package, kept))
    base = dataclasses.replace(package, surfaces=surfaces)
    space = history[0].result.space
    kept_dofs = np.unique(space.dofs.element_dofs[:, np.isin(
        package.cell_part, [list(package.parts).index(p) for p in kept])])
    pairs = []
    for increment, number in zip(history, deck.reported):
        table = blocks[number - 1]
        u_nodes = np.zeros((len(deck.mesh.points), dim))
        u_nodes[table[:, 0].astype(int) - 1] = table[:, 1:1 + dim] / PROCESS_SCALE
        ours = dataclasses.replace(increment.result, package=base)
        theirs = dataclasses.replace(ours, displacement=displacement_vector(
            space, deck.mesh.element, u_nodes))
        pairs.append((increment, ours, theirs))
    largest = max(surface_warpage(t, "base").peak_to_valley for _, _, t in pairs)
    biggest = max(np.abs(o.displacement[kept_dofs]).max() for _, o, _ in pairs)
    rows = {}
    R = rigid_body_modes(space)[kept_dofs]
    for increment, ours, theirs in pairs:
        label = f"{increment.name} {increment.increment}"
        a = surface_warpage(ours, "base").peak_to_valley
        b = surface_warpage(theirs, "base").peak_to_valley
        rows[f"base_warpage_um {label} ({increment.temperature:g} C)"] = (
            a * 1e6, b * 1e6, percent(a, b, largest))
        difference = (theirs.displacement - ours.displacement)[kept_dofs]
        difference -= R @ np.linalg.lstsq(R, difference, rcond=None)[0]
        rows[f"displacement_field_max {label}"] = (
            0.0, 0.0, np.abs(difference).max() / biggest * 100)
    times = {"thermomech_s": ours_seconds, "ccx_s": ccx_seconds,
             "unknowns": int(history[-1].result.stats["unknowns"]), "element": element,
             "ccx_element": deck.element_type, "ccx_steps": len(blocks)}
    return rows, times


def check_process(path: Path, coarsen: float, out: Path) -> dict:
    model = load_model(path)
    model = model.with_values(mesh=dataclasses.replace(
        model.mesh, target_size=model.mesh.target_size * coarsen))
    package = mesh_model(model)
    folder = out / f"process_{path.stem}"
    folder.mkdir(parents=True, exist_ok=True)
    rows, times = process_check(model, package, folder)
    return {"model": f"process/{path.stem}", "dimension": package.dimension,
            "cells": int(package.ncells), "target_size_mm": model.mesh.target_size * 1e3,
            "symmetry": package.symmetry, "note": "recipe step by step", "rows": rows,
            "times": {"process": times}}


# --- driver --------------------------------------------------------------------------------

def coarse_model(path: Path, dim: int, coarsen: float):
    model = load_model(path)
    mesh = dataclasses.replace(model.mesh, dimension=dim,
                               target_size=model.mesh.target_size * coarsen)
    changes = {"mesh": mesh}
    if dim == 2 and model.mechanical is not None:
        changes["mechanical"] = dataclasses.replace(model.mechanical, plane="strain")
    return model.with_values(**changes)


def symmetric_loads(model, package) -> bool:
    """True when every powered part has cells in the meshed (symmetric) part."""
    powered = model.thermal.power if model.thermal is not None else {}
    return all(p in package.mesh.subdomains for p, w in powered.items() if w > 0)


def check_model(path: Path, dim: int, coarsen: float, out: Path) -> dict:
    model = coarse_model(path, dim, coarsen)
    package = mesh_model(model)
    note = ""
    if not symmetric_loads(model, package):
        # a powered part lies wholly in the mirrored-away region (panel_fan_out's outer
        # dies): thermomech's symmetric power placement refuses it, so mesh it all
        model = model.with_values(mesh=dataclasses.replace(
            model.mesh, symmetry="none", target_size=model.mesh.target_size * 2.5))
        package = mesh_model(model)
        note = "symmetry none (a powered part lies outside the symmetric part)"
    folder = out / f"{path.stem}_{dim}d"
    folder.mkdir(parents=True, exist_ok=True)
    report = {"model": path.stem, "dimension": dim, "cells": int(package.ncells),
              "target_size_mm": model.mesh.target_size * 1e3, "symmetry": package.symmetry,
              "note": note, "rows": {}, "times": {}}
    if model.thermal is not None:
        rows, times = thermal_check(model, package, folder)
        report["rows"].update(rows)
        report["times"]["heat"] = times
    if model.mechanical is not None:
        rows, times = mechanical_check(model, package, folder)
        report["rows"].update(rows)
        report["times"]["warpage"] = times
    return report


def print_report(report: dict, tolerance: float) -> bool:
    ok = True
    print(f"\n{report['model']} {report['dimension']}D  ({report['cells']} cells, target "
          f"{report['target_size_mm']:.3g} mm, symmetry {report['symmetry']}) {report['note']}")
    print(f"  {'quantity':<26} {'thermomech':>12} {'CalculiX':>12} {'diff %':>9}")
    for name, (ours, theirs, diff) in report["rows"].items():
        good = diff <= tolerance
        ok &= good
        values = (f"{ours:>12.6g} {theirs:>12.6g}" if "field_max" not in name
                  else f"{'(field)':>12} {'':>12}")
        print(f"  {name:<26} {values} {diff:>9.4f} {'ok' if good else 'FAIL'}")
    for analysis, t in report["times"].items():
        ratio = t["thermomech_s"] / t["ccx_s"]
        print(f"  {analysis:<8} {t['unknowns']:>8} unknowns: thermomech {t['thermomech_s']:.2f} s,"
              f" ccx {t['ccx_s']:.2f} s, ratio thermomech/ccx {ratio:.2f}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="model names in meshes/")
    parser.add_argument("--dims", nargs="*", type=int, default=[3, 2])
    parser.add_argument("--coarsen", type=float, default=None,
                        help="target size factor (default 4 in 3D, 1 in 2D)")
    parser.add_argument("--tolerance", type=float, default=0.5, help="percent")
    parser.add_argument("--out", default=str(ROOT / "out" / "crosscheck"))
    parser.add_argument("--process", nargs="*", default=["panel_fan_out", "fan_out"],
                        help="recipes in meshes/process/ (3D, coarsened like the models)")
    args = parser.parse_args(argv)
    if shutil.which("ccx") is None:
        print("ccx (CalculiX) not found: install it with 'apt-get install calculix-ccx'",
              file=sys.stderr)
        return EXIT_NO_CCX
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = args.models or sorted(p.stem for p in (ROOT / "meshes").glob("*.toml"))
    out = Path(args.out)
    reports, ok = [], True
    start = time.perf_counter()
    for name in names:
        for dim in args.dims:
            coarsen = args.coarsen if args.coarsen is not None else COARSEN[dim]
            report = check_model(ROOT / "meshes" / f"{name}.toml", dim, coarsen, out)
            ok &= print_report(report, args.tolerance)
            reports.append(report)
    for name in args.process:
        coarsen = args.coarsen if args.coarsen is not None else COARSEN[3]
        report = check_process(ROOT / "meshes" / "process" / f"{name}.toml", coarsen, out)
        ok &= print_report(report, args.tolerance)
        reports.append(report)
    (out / "crosscheck.json").write_text(json.dumps(reports, indent=2))
    print(f"\n{'all comparisons within' if ok else 'FAILED: some comparisons beyond'} "
          f"{args.tolerance} %; {time.perf_counter() - start:.0f} s; -> {out}/crosscheck.json")
    return 0 if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
