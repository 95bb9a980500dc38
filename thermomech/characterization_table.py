"""The JESD51-12 style data-sheet table of a characterization (characterization.md).

JESD51-12 ("Guidelines for Reporting and Using Electronic Package Thermal Information")
asks that every thermal metric be reported with the package, the test board and the
environment it was measured in; here each row names its set-up (PHYSICS_NEXT.md 4.2,
docs/jedec.md). Input: the dictionary :func:`characterization.characterize` returns.
"""

from __future__ import annotations

from collections.abc import Mapping

BOARD_NAMES = {"1s": "1s (JESD51-3, low effective conductivity)",
               "2s2p": "2s2p (JESD51-7, high effective conductivity)"}

ENVIRONMENT_NAMES = {"still_air": "still air (JESD51-2A stand-in)",
                     "moving_air_1m_s": "moving air 1 m/s (JESD51-6 stand-in)",
                     "moving_air_2m_s": "moving air 2 m/s (JESD51-6 stand-in)"}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _package_lines(table: Mapping) -> list[str]:
    package, board = table.get("package", {}), table["board"]
    lines = ["## Package, board, environments", ""]
    if package:
        fx, fy = package["footprint_mm"]
        lines.append(f"- package: {package['family']}, {_fmt(fx)} x {_fmt(fy)} mm, "
                     f"{_fmt(package['height_mm'])} mm high; junction: the largest "
                     f"temperature of {', '.join(package['dies'])}")
    bx, by = board["size_mm"]
    lines += [f"- power: {_fmt(table['power_W'])} W; ambient {_fmt(table['ambient_C'])} degC",
              f"- test board: {_fmt(bx)} x {_fmt(by)} x {_fmt(board['thickness_mm'])} mm FR-4, "
              f"layers {board['layers']}; {board['cells']} cells",
              "- environments, h W/(m^2 K) (top / bottom / edges, radiation included):"]
    for env, h in table["environments_h_W_per_m2K"].items():
        lines.append(f"  - {ENVIRONMENT_NAMES.get(env, env)}: {_fmt(h['top'])} / "
                     f"{_fmt(h['bottom'])} / {_fmt(h['edges'])} (radiation "
                     f"{_fmt(h['radiation'])})")
    return lines + [""]


def _ja_rows(table: Mapping) -> list[str]:
    rows = []
    for kind, envs in table["theta_JA_K_per_W"].items():
        for env, value in envs.items():
            where = f"{BOARD_NAMES.get(kind, kind)}, {ENVIRONMENT_NAMES.get(env, env)}"
            rows += [f"| theta_JA | {_fmt(value)} | {where}; h on every exposed face |",
                     f"| psi_JT | {_fmt(table['psi_JT_K_per_W'][kind][env])} | {where}; T_T "
                     f"at the centre of the package top |",
                     f"| psi_JB | {_fmt(table['psi_JB_K_per_W'][kind][env])} | {where}; T_B "
                     f"on the board top 1 mm from the package edge |"]
    return rows


def characterization_markdown(table: Mapping) -> str:
    """The table as Markdown: package, board, environments, then every metric (K/W) with
    its set-up and the two-resistor model."""
    ring = table["board"]["ring_width_mm"]
    rows = _ja_rows(table) + [
        f"| theta_JB | {_fmt(table['theta_JB_K_per_W'])} | 2s2p board, JESD51-8 ring cold "
        f"plate ({_fmt(ring)} mm wide) on the board top and bottom at ambient, other faces "
        f"adiabatic; T_B 1 mm from the package edge |",
        f"| theta_JC top | {_fmt(table['theta_JC_top_K_per_W'])} | isothermal cold plate on "
        f"the package top, other faces adiabatic |",
        f"| theta_JC bottom | {_fmt(table['theta_JC_bottom_K_per_W'])} | isothermal cold "
        f"plate on the package bottom (its footprint on the board), other faces adiabatic |"]
    two = table["two_resistor"]
    lines = ["# JEDEC thermal characterization (JESD51-12 style)", "",
             *_package_lines(table), "## Metrics", "",
             "| metric | K/W | set-up |", "|---|---|---|", *rows, "",
             "## Compact model", "",
             f"- two-resistor (JESD15-3): R_JC {_fmt(two['R_JC_K_per_W'])} K/W, R_JB "
             f"{_fmt(two['R_JB_K_per_W'])} K/W ({two['source']})",
             *_delphi_lines(table.get("delphi")), *_transient_lines(table.get("transient")),
             ""]
    return "\n".join(lines)


def _transient_lines(record: Mapping | None) -> list[str]:
    if not record:
        return []
    dual = record["dual_interface"]
    return ["", f"## Transient ({record['set_up']})", "",
            f"- Zth(t) from {record['zth']['time_s'][0]:.3g} s to "
            f"{record['zth']['time_s'][-1]:.3g} s, ending at "
            f"{_fmt(record['zth']['zth_K_per_W'][-1])} K/W"
            + ("" if record["steady_reached"] else " (not yet steady)")
            + f"; structure function from the model's spectrum "
              f"({len(record['model_spectrum']['foster']['R_K_per_W'])} terms, no fit) and "
              f"the fitted Foster network ({len(record['as_measured']['foster']['R_K_per_W'])}"
              f" terms, as measured) with their Cauer ladders in characterization.json",
            f"- theta_JC top, JESD51-14 dual interface (structure functions of an isothermal "
            f"and a dry contact, h {_fmt(dual['case_contact_h_W_per_m2K']['dry'])} W/(m^2 K), "
            f"separate): {_fmt(dual['theta_JC_K_per_W'])} K/W; steady cold plate, package "
            f"alone: {_fmt(dual['steady_theta_JC_K_per_W'])} K/W"]


def _delphi_lines(delphi: Mapping | None) -> list[str]:
    if not delphi:
        return []
    lines = [f"- DELPHI (JESD15-4 style, nodes {', '.join(delphi['nodes'])}; the package "
             f"alone, h {delphi['errors']['h_range_W_per_m2K'][0]:g} to "
             f"{delphi['errors']['h_range_W_per_m2K'][1]:g} W/(m^2 K) on every patch):", "",
             "| sets | count | T_J max relative error | patch heat flow max error / P |",
             "|---|---|---|---|"]
    for key in ("training", "held_out"):
        e = delphi["errors"][key]
        lines.append(f"| {key.replace('_', ' ')} | {e['sets']} | "
                     f"{e['junction_max_relative_error']:.3g} | "
                     f"{e['patch_flow_max_error_of_power']:.3g} |")
    return lines
