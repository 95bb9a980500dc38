"""The transient part of a JEDEC characterization: Zth(t) with a cold plate on the package
top, its Foster and Cauer networks and structure function, and the JESD51-14 dual-interface
theta-JC (:mod:`thermomech.zth`).

Two routes to the structure function: the record's ``structure_function`` comes from the
model's exact time-constant spectrum (:func:`zth_spectrum.model_spectrum`, Lanczos on
K^-1 M, junction = power-weighted mean temperature; on a 1-D bar it reads each layer
interface within 0.4 %), ``as_measured`` holds the Foster fit of the Zth curve (the maximum
die temperature) and its ladder, what a measurement can do (the bar's inner interface
-10.4 %, docs/jedec.md); the dual-interface reading uses the fitted ladders.

Set-up: the package alone (no board; its meshed quarter or half by symmetry), power in the
dies as in :func:`characterization.base_loads`, every material's k at its reference
temperature (a linear model: Zth and its networks are linear descriptions, as DELPHI's),
only the case top cooled (the +z faces at the package's highest point), every other face
adiabatic. "Wet" is an isothermal cold plate at ambient (the steady end of its Zth is the
steady theta_JC top of the package alone); "dry" a contact whose resistance 1/(h A_case)
equals that steady theta_JC (the poor contact doubles the case path; JESD51-14 asks for a
second contact that changes Zth clearly, neither too little nor dominating).

The dual-interface reading (:func:`zth.separation`: C_sum as the lumped ladders hold it, a
staircase, parting by a factor 10) is where the wet ladder ends on the 1-D bar of
tests/test_zth.py (1e-3) and on J1 with 1 or 10 cells per layer (1e-4), and 4.7 % below the
steady value on the bundled flip-chip (0.1502 against 0.1577 K/W, for h_dry 0.5, 1 and 2
times the default; measured, docs/jedec.md). The data-sheet theta_JC top stays the steady
cold-plate value; the record gives both.

Cost: two :func:`zth.zth_transient` runs of ``steps_per_decade`` = 10 (100 steps per
decade of time) from :data:`T_MIN` to :data:`T_MAX`: on the flip-chip's 5120-unknown package
Zth at 10 and at 40 steps per decade differed by 1.4e-5 of Zth (measured at 1e-2 s).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .characterization import base_loads, package_layout
from .delphi import linear_materials
from .errors import ModelError
from .meshing import Faces, MeshedPackage, face_areas, face_centres, mesh_layout
from .model_file import Model
from .thermal import solve_thermal
from .thermal_loads import FixedTemperature, Transient
from .thermal_metrics import junction_temperature
from .zth import dual_interface, foster_to_cauer, foster_to_cauer_lanczos, structure_function
from .zth_spectrum import model_spectrum

T_MIN, T_MAX = 1e-5, 1e2  # s: the Zth time range (the end must reach the steady state)
SPECTRUM_STEPS = 100  # Lanczos steps of the model spectrum: 0.8 s CPU and 85 terms on the
# flip-chip's 5120 unknowns (200: 3.9 s, 163 terms; same total resistance to 1e-15)
STEADY = 1e-3  # relative change of Zth over its last decade below which it is steady
CASE = "jedec.case_top"
_EPS = 1e-9  # m


def case_top(package: MeshedPackage) -> Faces:
    """The package's top faces at its highest point (where a top cold plate touches)."""
    top = package.surfaces["top"]
    z = face_centres(package, top)[-1]
    return top.subset(np.abs(z - z.max()) < _EPS)


def transient_characterization(model: Model, *, t_min: float = T_MIN, t_max: float = T_MAX,
                               h_dry: float | None = None, steps_per_decade: int = 10,
                               solver="auto") -> dict:
    """Zth (wet cold plate on the case top), its Foster and Cauer networks, the cumulative
    structure function and the dual-interface theta-JC of ``model``'s package (module
    docstring); the characterization.json ``transient`` record (SI units in the keys).
    ``h_dry`` W/(m^2 K): the dry contact (default: 1/(A_case theta_JC,steady))."""
    layout = package_layout(model)
    if model.mesh.dimension != 3:
        raise ModelError("mesh.dimension", "the Zth set-up needs a 3D model, got 2")
    package = linear_materials(mesh_layout(layout, model.mesh, model.all_materials))
    package = dataclasses.replace(package, surfaces={**package.surfaces,
                                                     CASE: case_top(package)})
    loads = dataclasses.replace(base_loads(model, tuple(layout.dies)), transient=Transient())
    steady = steady_theta_jc(package, loads, solver)
    if h_dry is None:
        area = float(face_areas(package, package.surfaces[CASE]).sum()
                     * package.symmetry_factor)
        h_dry = 1.0 / (area * steady)
    dual = dual_interface(package, loads, CASE, t_min, t_max, h_dry=h_dry,
                          steps_per_decade=steps_per_decade, solver=solver)
    curve, foster = dual.wet, dual.fosters[0]
    cauer = foster_to_cauer(foster)
    r_sum, c_sum = dual.structure_functions[0]
    last = curve.zth[curve.time >= curve.time[-1] / 10]
    wet = dataclasses.replace(loads, environment="none", convection=(), heat_flux=(),
                              fixed_temperature=(FixedTemperature(CASE, loads.ambient),))
    spectrum = model_spectrum(package, wet, steps=SPECTRUM_STEPS, solver=solver)
    ladder = foster_to_cauer_lanczos(spectrum)
    model_r, model_c = structure_function(ladder)
    return {
        "set_up": "package alone, isothermal cold plate on the case top at ambient, other "
                  "faces adiabatic, k at the reference temperatures",
        "power_W": curve.power, "junction": curve.die,
        "steady_reached": bool(np.ptp(last) <= STEADY * curve.zth[-1]),
        "zth": {"time_s": curve.time.tolist(), "zth_K_per_W": curve.zth.tolist()},
        "structure_function": {"source": "model spectrum", "R_sum_K_per_W": model_r.tolist(),
                               "C_sum_J_per_K": model_c.tolist()},
        "model_spectrum": {
            "junction": "power-weighted mean temperature of the powered parts",
            "method": f"Lanczos on K^-1 M, at most {SPECTRUM_STEPS} steps (no fit)",
            "foster": {"R_K_per_W": spectrum.R.tolist(), "tau_s": spectrum.tau.tolist()},
            "cauer": {"R_K_per_W": ladder.R.tolist(), "C_J_per_K": ladder.C.tolist()}},
        "as_measured": {
            "junction": "maximum die temperature (the Zth curve)",
            "method": "NNLS Foster fit of the Zth curve",
            "foster": {"R_K_per_W": foster.R.tolist(), "tau_s": foster.tau.tolist()},
            "cauer": {"R_K_per_W": cauer.R.tolist(), "C_J_per_K": cauer.C.tolist()},
            "structure_function": {"R_sum_K_per_W": r_sum.tolist(),
                                   "C_sum_J_per_K": c_sum.tolist()}},
        "dual_interface": dual.as_dict() | {"steady_theta_JC_K_per_W": steady},
    }


def steady_theta_jc(package: MeshedPackage, loads, solver="auto") -> float:
    """(T_J - T_A) / P (K/W) with the case top held at ambient, every other face adiabatic."""
    steady = dataclasses.replace(loads, environment="none", convection=(), heat_flux=(),
                                 transient=None,
                                 fixed_temperature=(FixedTemperature(CASE, loads.ambient),))
    result = solve_thermal(package, steady, solver=solver)
    return (junction_temperature(result) - loads.ambient) / float(result.power)
