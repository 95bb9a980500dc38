"""Elastic properties of the JEDEC test board's parts, for thermo-mechanics on the board
(solder-joint reliability). :func:`thermomech.board.board_materials` gives the thermal
properties; this adds Young's moduli, Poisson ratios, shear moduli and CTEs mixed from the
same layers (laminate and metal, trace coverage, plane, via fraction):

- each layer: metal area fraction f in the laminate. In plane (x, y) the phases are in
  parallel: ``E = f E_m + (1 - f) E_l`` and the CTE stiffness-weighted (Turner, exact for
  bonded phases stretched together), ``a = (f E_m a_m + (1 - f) E_l a_l) / E``; through the
  thickness in series: ``1 / E_z = f / E_m + (1 - f) / E_lz``, ``a_z`` volume-weighted,
  the shear moduli G_yz, G_xz in series like E_z; the via barrels (fraction f_v) are in
  parallel through the thickness: ``E_z <- f_v E_m + (1 - f_v) E_z`` (also G_yz, G_xz);
- the slab of several layers: in plane thickness-weighted (parallel; the CTE weighted by
  t E), through the thickness in series (the CTE thickness-weighted);
- Poisson ratios are the laminate's; G_xy = E / (2 (1 + nu_xy)) of the mixed in-plane E.

Exact for uniform in-plane stretching and through-thickness loading of the layered slab;
the bending stiffness of a homogenized slab ignores where its layers sit (``layers =
"resolved"`` meshes each layer and is exact). Units: Pa, 1/K.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from .board import BoardSpec, board_materials, layer_groups
from .errors import ModelError
from .material_library import library_material
from .materials import Material, as_vector, check_material

_METAL_FRACTION = {"plane": 1.0, "laminate": 0.0}


def _elastic(material: Material, field: str) -> dict[str, np.ndarray]:
    if material.youngs_modulus is None or material.cte is None:
        raise ModelError(field, f"material {material.name!r} needs youngs_modulus and cte "
                                f"for the board's mechanics")
    E = as_vector(material.youngs_modulus)
    nu = as_vector(material.poisson_ratio)
    if material.shear_modulus is not None:
        G = np.asarray(material.shear_modulus, dtype=float)
    else:
        G = E / (2 * (1 + nu))
    return {"E": E, "nu": nu, "G": G, "a": as_vector(material.cte)}


def layer_elastic(laminate: Mapping, metal: Mapping, fraction: float, via_fraction: float
                  ) -> dict[str, float]:
    """In-plane E and CTE, through-thickness E_z, G_t (G_yz = G_xz) and CTE of one layer
    with metal area fraction ``fraction`` and via barrels ``via_fraction``."""
    f = fraction
    E_in = f * metal["E"][0] + (1 - f) * laminate["E"][0]
    a_in = (f * metal["E"][0] * metal["a"][0] + (1 - f) * laminate["E"][0] * laminate["a"][0]
            ) / E_in
    E_z = 1.0 / (f / metal["E"][2] + (1 - f) / laminate["E"][2])
    G_t = 1.0 / (f / metal["G"][1] + (1 - f) / laminate["G"][1])
    a_z = f * metal["a"][2] + (1 - f) * laminate["a"][2]
    v = via_fraction
    return {"E_in": E_in, "a_in": a_in, "E_z": v * metal["E"][2] + (1 - v) * E_z,
            "G_t": v * metal["G"][1] + (1 - v) * G_t, "a_z": a_z}


def slab_elastic(thicknesses, layers: list[dict[str, float]]) -> dict[str, float]:
    """The layers of one slab: in plane parallel, through the thickness series."""
    t = np.asarray(thicknesses, dtype=float)
    get = {k: np.array([layer[k] for layer in layers]) for k in layers[0]}
    E_in = float(t @ get["E_in"] / t.sum())
    return {"E_in": E_in, "a_in": float(t @ (get["E_in"] * get["a_in"]) / (t @ get["E_in"])),
            "E_z": float(t.sum() / (t / get["E_z"]).sum()),
            "G_t": float(t.sum() / (t / get["G_t"]).sum()),
            "a_z": float(t @ get["a_z"] / t.sum())}


def board_elastic_materials(spec: BoardSpec, materials: Mapping[str, Material],
                            board_type: str | None = None) -> dict[str, Material]:
    """:func:`board_materials` with the elastic properties of each board part."""
    thermal = board_materials(spec, materials, board_type)
    laminate_material = _lookup(materials, spec.laminate_material, "board.laminate_material")
    laminate = _elastic(laminate_material, "board.laminate_material")
    metal = _elastic(_lookup(materials, spec.metal_material, "board.metal_material"),
                     "board.metal_material")
    kind = board_type or spec.type
    via = spec.via_fraction if (spec.vias and kind == "2s2p") else 0.0
    nu = as_vector(laminate_material.poisson_ratio)
    out = {}
    for suffix, layers in layer_groups(spec, kind):
        thicknesses = [t for _, t, _ in layers]
        for region, fv in (("board", 0.0), ("board_vias", via)):
            mixed = slab_elastic(thicknesses, [layer_elastic(
                laminate, metal, _METAL_FRACTION.get(k, spec.trace_coverage), fv)
                for _, _, k in layers])
            name = f"{region}{suffix}"
            material = dataclasses.replace(
                thermal[name], youngs_modulus=(mixed["E_in"], mixed["E_in"], mixed["E_z"]),
                poisson_ratio=(float(nu[0]), float(nu[1]), float(nu[2])),
                shear_modulus=(mixed["E_in"] / (2 * (1 + float(nu[0]))), mixed["G_t"],
                               mixed["G_t"]),
                cte=(mixed["a_in"], mixed["a_in"], mixed["a_z"]),
                description="JEDEC test board layer(s), thermal and elastic properties",
                sources={"*": "thermomech.board / board_mechanics: parallel / series layer "
                              "mixing of the laminate and metal"})
            check_material(material, f"board ({name})")
            out[name] = material
    return out


def _lookup(materials: Mapping[str, Material], name: str, field: str) -> Material:
    return materials[name] if name in materials else library_material(name, field)
