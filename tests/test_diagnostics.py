"""The warnings of a run (thermomech.diagnostics): each one fires on a small model built to
trigger it, with the model's real numbers in its message, and the ones that must not fire on
the default flip-chip model do not."""

import json
from pathlib import Path

import pytest

from thermomech.analysis import run_model, summarize
from thermomech.diagnostics import RunWarning, warning_lines
from thermomech.model_file import load_model, model_from_dict

MESHES = Path(__file__).resolve().parents[1] / "meshes"


def strip_model(layers, **sections):
    """A 2D model of boxes 10 mm deep, one cell per layer; layers: (name, material, x, z)
    with x and z in mm."""
    blocks = [{"name": n, "material": m, "x": x, "y": [-5, 5], "z": z} for n, m, x, z in layers]
    mesh = {"dimension": 2, "target_size": "1 mm", "min_cells_per_layer": 1,
            "symmetry": "none", **sections.pop("mesh", {})}
    return model_from_dict({"package": {"family": "blocks", "blocks": blocks}, "mesh": mesh,
                            **sections})


def warnings_of(model) -> tuple[dict, dict[str, list[str]]]:
    """(summary, code -> messages) of a run."""
    summary = summarize(run_model(model))
    found: dict[str, list[str]] = {}
    for w in summary["warnings"]:
        found.setdefault(w["code"], []).append(w["message"])
    return summary, found


@pytest.fixture(scope="module")
def flip_chip():
    """The default model as shipped (3D quarter, steady heat and warpage)."""
    return warnings_of(load_model(MESHES / "flip_chip.toml"))


NEVER_ON_THE_DEFAULT = ("below_ambient", "large_warpage", "solder_above_melting",
                        "transient_not_steady", "energy_balance", "force_balance",
                        "linear_residual", "heat_sink_smaller_than_die")


def test_the_default_flip_chip_gets_only_the_warnings_that_apply(flip_chip):
    summary, found = flip_chip
    assert not set(found) & set(NEVER_ON_THE_DEFAULT), found
    # its corner stresses are singular; its theta_JC / theta_JB are not JEDEC's: 1000 and
    # 100 W/(m^2 K) films, no cold plate; its molded underfill (Tg 150 degC) is cooled
    # from 207 degC through its glass transition
    assert {"singular_corner_stress", "singular_von_mises", "theta_jc_setup", "theta_jb_setup",
            "secant_cte_above_tg"} <= set(found)
    thermal = summary["thermal"]
    share = round(100 * thermal["heat_path_share"]["heat_sink"])
    assert found["theta_jc_setup"] == [
        f"theta_JC = {thermal['theta_jc_K_per_W']:.4g} K/W: {share} % of the heat leaves "
        "through the case top, held by no cold plate (fixed temperature or h >= 1e+04 "
        "W/(m^2 K)); the JESD51-12/-14 junction-to-case set-up (a cold plate on the case top) "
        "sends at least 95 % that way, so this is the case top path resistance of this model, "
        "not a datasheet theta_JC"]
    assert 85 < share < 95
    # balls (19.6 % solder in air) and bumps (28.3 % in the underfill) are homogenized
    # layers: their von Mises maxima are the mixtures', named with the mixture
    vm = summary["mechanical"]["von_mises_max_MPa"]
    assert found["homogenized_layer_stress"] == [
        f"{part}: von Mises max {vm[part]:.3g} MPa is the stress of a homogenized layer "
        f"(homogenized sac305 columns ({fraction}) in {matrix}), not of a joint: model the "
        "joints one by one (the package's *_model = \"discrete\") for their stress and life"
        for part, fraction, matrix in (("balls", "19.6 %", "air"),
                                       ("bumps", "28.3 %", "molded_underfill"))]
    assert vm["balls"] < 0.1  # a ball layer over air carries almost nothing in plane


def test_below_ambient_on_a_coarse_plate_under_a_strong_film():
    """A 0.1 mm copper plate cooled by h = 1e5 W/(m^2 K), 2 mm first-order cells: the field
    dips 4 % of its rise below the 25 degC ambient; 0.25 mm cells do not."""
    layers = [("plate", "copper", [-10, 10], [0, 0.1]), ("mold", "mold", [-10, 10], [0.1, 1.1]),
              ("die", "silicon", [-1, 1], [0.1, 0.3])]
    thermal = {"power": {"die": "1 W"},
               "convection": [{"surface": "bottom", "h": "1e5 W/(m^2*K)"}]}
    coarse = strip_model(layers, thermal=thermal, mesh={"target_size": "2 mm"})
    run = run_model(coarse)
    lowest, highest = run.thermal.temperature.min(), run.thermal.temperature.max()
    undershoot = 25.0 - lowest
    assert 0.03 < undershoot / (highest - 25.0) < 0.05
    found = [w for w in summarize(run)["warnings"] if w["code"] == "below_ambient"]
    assert found == [{"code": "below_ambient", "message": (
        f"the lowest temperature {lowest:.6g} degC (in 'plate') is {undershoot:.3g} K below "
        f"the coldest boundary temperature 25 degC, "
        f"{100 * undershoot / (highest - 25.0):.1f} % of the {highest - 25.0:.3g} K rise: a "
        "heated steady field cannot go below it, so the heat elements are too coarse there "
        "(refine the mesh or use mesh.element_order = 2)")}]
    fine = strip_model(layers, thermal=thermal, mesh={"target_size": "0.25 mm",
                                                      "min_cells_per_layer": 4})
    assert "below_ambient" not in warnings_of(fine)[1]


def test_large_warpage_of_a_thin_bimetal_strip():
    """Copper on silicon, 0.05 mm each, 20 mm long, cooled by 200 K: 2.2 mm of warpage on
    a 0.1 mm thick strip (Timoshenko: kappa = 1.5 * 14.4e-6 * 200 / 0.1 mm ~ 40 /m for
    equal layers, about 2 mm over 20 mm). 1 mm layers: 0.2 mm on 2 mm, no warning."""
    cooled = {"stress_free_temperature": "225 degC", "temperature": "25 degC"}
    thin = strip_model([("copper", "copper", [-10, 10], [0, 0.05]),
                        ("silicon", "silicon", [-10, 10], [0.05, 0.1])], mechanical=cooled)
    summary, found = warnings_of(thin)
    warpage = summary["mechanical"]["warpage_um"]["bottom"]
    assert 1500 < warpage < 3000
    assert found["large_warpage"] == [
        f"warpage of 'bottom' {warpage:.4g} um is {warpage / 100:.2f} times the package "
        "thickness 100 um (more than a third): the linear small-strain model no longer holds "
        "(large deflection stiffens the plate); the warpage is overestimated"]
    thick = strip_model([("copper", "copper", [-10, 10], [0, 1]),
                         ("silicon", "silicon", [-10, 10], [1, 2])], mechanical=cooled)
    summary, found = warnings_of(thick)
    assert summary["mechanical"]["warpage_um"]["bottom"] < 2000 / 3
    assert "large_warpage" not in found


SOLDER_JOINT = [("copper", "copper", [-5, 5], [0, 0.3]), ("joint", "sac305", [-5, 5], [0.3, 0.35]),
                ("die", "silicon", [-3, 3], [0.35, 0.75])]


@pytest.mark.parametrize("free, load, fires", [(25, 250, True), (25, 150, False),
                                               (250, 250, False)])
def test_solder_above_its_melting_point_while_stressed(free, load, fires):
    """SAC305 melts at 217 degC: heated to 250 degC from a stress-free 25 degC it is
    stressed and molten (fires); at 150 degC it is solid; stress-free at 250 degC it
    carries no stress (neither fires)."""
    model = strip_model(SOLDER_JOINT, mechanical={"stress_free_temperature": f"{free} degC",
                                                  "temperature": f"{load} degC"})
    summary, found = warnings_of(model)
    stress = summary["mechanical"]["von_mises_max_MPa"]["joint"]
    assert "homogenized_layer_stress" not in found  # a solid solder part is no mixture
    if not fires:
        assert "solder_above_melting" not in found
        return
    assert stress > 100
    assert found["solder_above_melting"] == [
        f"'joint' (sac305) reaches 250.0 degC, above its melting point 217 degC, while "
        f"carrying up to {stress:.3g} MPa von Mises: molten solder carries no stress, so the "
        "stresses and warpage are not physical there; keep the load temperature below the "
        "melting point"]


@pytest.mark.parametrize("plate, fires", [(250, True), (150, False)])
def test_solder_above_its_melting_point_under_the_thermal_field(plate, fires):
    """The load as the heat solve's field (``temperature = "thermal"``): the bottom held
    at 250 (150) degC, 1 W in the die warming the joint by less than 0.05 K above it; its
    hottest point, read from the field's dofs in its cells, is that value (the load is a
    Field, not a number: the check raised a TypeError on every thermal-field run)."""
    model = strip_model(SOLDER_JOINT, thermal={"power": {"die": "1 W"}, "fixed_temperature": [
        {"surface": "bottom", "temperature": f"{plate} degC"}]},
        mechanical={"stress_free_temperature": "25 degC", "temperature": "thermal"})
    summary, found = warnings_of(model)
    assert ("solder_above_melting" in found) == fires
    if fires:
        stress = summary["mechanical"]["von_mises_max_MPa"]["joint"]
        assert found["solder_above_melting"][0].startswith(
            f"'joint' (sac305) reaches 250.0 degC, above its melting point 217 degC, while "
            f"carrying up to {stress:.3g} MPa von Mises")


HEATED = [("copper", "copper", [-5, 5], [0, 0.3]), ("die", "silicon", [-3, 3], [0.3, 0.7])]
FILM = [{"surface": "bottom", "h": "1000 W/(m^2*K)"}]


def test_transient_ended_before_steady_state():
    """1 W into a die on a copper plate, h = 1000 W/(m^2 K) below: after 0.5 s 0.29 W
    leave (71 % still stored: fires); after 2000 s (tau ~ rho c t / h ~ 10 s) it has
    settled (does not fire)."""
    def transient(end, step):
        return strip_model(HEATED, thermal={"power": {"die": "1 W"}, "convection": FILM,
                                            "transient": {"end_time": end, "time_step": step}})

    summary, found = warnings_of(transient("0.5 s", "0.1 s"))
    out = sum(summary["thermal"]["heat_out_W"].values())
    assert 0.2 < out < 0.4
    assert found["transient_not_steady"] == [
        f"the transient ends at t = 0.5 s with {out:.4g} W leaving against 1 W generated "
        f"({100 * (1 - out):.0f} % of the heat still going into storage): not a steady state, "
        "so T_j, theta and psi of the summary are end-of-transient values, not the steady "
        "metrics; run longer or solve steady"]
    summary, found = warnings_of(transient("2000 s", "50 s"))
    assert sum(summary["thermal"]["heat_out_W"].values()) == pytest.approx(1.0, rel=0.02)
    assert "transient_not_steady" not in found


@pytest.mark.parametrize("boundary, key, fires", [
    ({"convection": [{"surface": "top", "h": "1000 W/(m^2*K)"}]}, "theta_jc_setup", True),
    ({"fixed_temperature": [{"surface": "top", "temperature": "25 degC"}]}, "theta_jc_setup",
     False),
    ({"convection": [{"surface": "top", "h": "1e5 W/(m^2*K)"}]}, "theta_jc_setup", False),
    ({"convection": FILM}, "theta_jb_setup", True),
    ({"fixed_temperature": [{"surface": "bottom", "temperature": "25 degC"}]},
     "theta_jb_setup", False),
])
def test_theta_from_a_heat_split_that_is_not_its_jedec_setup(boundary, key, fires):
    """All heat leaves one way in each case; only a cold plate (fixed temperature, or a
    contact-like h >= 1e4) makes that the JEDEC theta_JC / theta_JB set-up."""
    summary, found = warnings_of(strip_model(HEATED, thermal={"power": {"die": "1 W"},
                                                              **boundary}))
    theta = summary["thermal"][key.replace("_setup", "_K_per_W")]
    assert theta is not None and theta > 0
    assert (key in found) == fires
    if fires:
        label = {"theta_jc_setup": "theta_JC", "theta_jb_setup": "theta_JB"}[key]
        assert found[key][0].startswith(f"{label} = {theta:.4g} K/W: 100 % of the heat "
                                        "leaves through the ")


def test_warnings_reach_the_terminal_summary_and_report_alike(tmp_path, capsys):
    from thermomech.cli import main

    path = tmp_path / "joint.toml"
    blocks = "".join(
        f'[[package.blocks]]\nname = "{n}"\nmaterial = "{m}"\nx = {x}\ny = [-5, 5]\nz = {z}\n'
        for n, m, x, z in SOLDER_JOINT)
    path.write_text(f'[package]\nfamily = "blocks"\n{blocks}[mesh]\ndimension = 2\n'
                    'target_size = "1 mm"\nmin_cells_per_layer = 1\nsymmetry = "none"\n'
                    '[mechanical]\nstress_free_temperature = "25 degC"\n'
                    'temperature = "250 degC"\n')
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--no-figures"]) == 0
    err = capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    codes = [w["code"] for w in summary["warnings"]]
    assert "solder_above_melting" in codes and "two_dimensional_model" in codes
    assert err.splitlines() == warning_lines(summary)
    assert all(line.startswith("warning: ") for line in err.splitlines())
    report = (tmp_path / "out" / "report.html").read_text()
    assert report.count('<li class="warning" data-code=') == len(codes)
    for code in codes:
        assert f'data-code="{code}"' in report


def test_a_run_warning_is_frozen_data():
    w = RunWarning("large_warpage", "text")
    assert w.as_dict() == {"code": "large_warpage", "message": "text"}
    with pytest.raises(AttributeError):
        w.code = "other"
