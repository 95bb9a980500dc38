"""Typical named materials of IC packages, each value with its source.

Values are room-temperature handbook or datasheet figures, adequate for design studies;
a model overrides any of them in ``[materials.NAME]``. SI units (see ``materials``).
"""

from __future__ import annotations

from types import MappingProxyType

from .errors import ModelError
from .materials import Material
from .viscoelastic import Viscoelastic

_HANDBOOK = "CRC Handbook of Chemistry and Physics, 97th ed. (2016); ASM Handbook Vol. 2 (1990)"
_NIST_SOLDER = "NIST Database for Solder Properties with Emphasis on New Lead-free Solders (2002)"
_EMC = ("typical low-stress epoxy mold compound datasheets (Sumitomo EME-G700 / Hitachi "
        "CEL-9200 class); Ardebili & Pecht, Encapsulation Technologies for Electronic "
        "Applications (2009)")
_MUF = "molded-underfill datasheets (Sumitomo EME-G750 / Nagase MUF class); Ardebili & Pecht (2009)"
_CUF = "capillary underfill datasheets (Namics U8437 / Henkel Hysol FP4549 class)"


def _m(name, description, sources, **values) -> Material:
    return Material(name=name, description=description,
                    sources=MappingProxyType(sources), **values)


LIBRARY: dict[str, Material] = {m.name: m for m in (
    _m("silicon", "single-crystal silicon die",
       {"*": "Hull (ed.), Properties of Crystalline Silicon, INSPEC (1999)",
        "youngs_modulus": "Hopcroft, Nix, Kenny, J. MEMS 19 (2010) 229: E[100] = 130 GPa",
        "conductivity_exponent": "Glassbrenner & Slack, Phys. Rev. 134 (1964) A1058: k ~ T^-1.3"},
       conductivity=148.0, conductivity_exponent=-1.3, youngs_modulus=131e9,
       poisson_ratio=0.28, cte=2.6e-6, density=2329.0, specific_heat=705.0,
       melting_point=1414.0),
    _m("copper", "copper (heat sink, traces, vias, pillars)", {"*": _HANDBOOK},
       conductivity=398.0, youngs_modulus=117e9, poisson_ratio=0.34, cte=17.0e-6,
       density=8960.0, specific_heat=385.0, melting_point=1085.0),
    _m("aluminium", "aluminium (heat sink, pads)", {"*": _HANDBOOK},
       conductivity=237.0, youngs_modulus=69e9, poisson_ratio=0.33, cte=23.1e-6,
       density=2700.0, specific_heat=897.0, melting_point=660.0),
    _m("gold", "gold (stud bumps, wires)", {"*": _HANDBOOK},
       conductivity=318.0, youngs_modulus=79e9, poisson_ratio=0.44, cte=14.2e-6,
       density=19300.0, specific_heat=129.0, melting_point=1064.0),
    _m("sac305", "Sn-3.0Ag-0.5Cu lead-free solder", {"*": _NIST_SOLDER},
       conductivity=58.0, youngs_modulus=51e9, poisson_ratio=0.36, cte=21.7e-6,
       density=7380.0, specific_heat=232.0, melting_point=217.0),
    _m("snpb", "Sn63Pb37 eutectic solder", {"*": _NIST_SOLDER},
       conductivity=50.0, youngs_modulus=32e9, poisson_ratio=0.36, cte=24.5e-6,
       density=8400.0, specific_heat=176.0, melting_point=183.0),
    _m("high_lead_solder", "Pb95Sn5 high-lead solder (C4 bumps)", {"*": _NIST_SOLDER},
       conductivity=35.0, youngs_modulus=23.5e9, poisson_ratio=0.40, cte=29.0e-6,
       density=11000.0, specific_heat=134.0, melting_point=308.0),
    _m("mold", "epoxy mold compound (silica filled)", {"*": _EMC},
       conductivity=0.9, youngs_modulus=24e9, poisson_ratio=0.30, cte=10e-6,
       cte_above_tg=40e-6, glass_transition=150.0, density=1950.0, specific_heat=880.0,
       max_filler_size=75e-6),
    _m("molded_underfill", "molded underfill (fine-filler mold compound, 000 claims 1-2)",
       {"*": _MUF}, conductivity=0.8, youngs_modulus=20e9, poisson_ratio=0.30, cte=9e-6,
       cte_above_tg=35e-6, glass_transition=150.0, density=1950.0, specific_heat=850.0,
       max_filler_size=20e-6),
    _m("capillary_underfill", "capillary underfill", {"*": _CUF},
       conductivity=0.5, youngs_modulus=8e9, poisson_ratio=0.35, cte=30e-6,
       cte_above_tg=100e-6, glass_transition=120.0, density=1700.0, specific_heat=1000.0,
       max_filler_size=10e-6),
    _m("bt_laminate", "BT-epoxy glass laminate (package substrate core), orthotropic",
       {"*": "Mitsubishi Gas Chemical HL832 class datasheets; Tummala, Fundamentals of "
             "Microsystems Packaging (2001)"},
       conductivity=(0.8, 0.8, 0.35), youngs_modulus=(26e9, 26e9, 11e9),
       poisson_ratio=(0.15, 0.30, 0.30), shear_modulus=(10e9, 4e9, 4e9),
       cte=(15e-6, 15e-6, 48e-6), density=1850.0, specific_heat=1000.0),
    _m("fr4", "FR-4 glass-epoxy board laminate, orthotropic",
       {"*": "Sood & Pecht, Encyclopedia of Aerospace Engineering (2010), FR-4 typical; "
             "IPC-4101/21 class datasheets"},
       conductivity=(0.81, 0.81, 0.29), youngs_modulus=(17.9e9, 17.9e9, 7.9e9),
       poisson_ratio=(0.11, 0.39, 0.39), shear_modulus=(8.3e9, 3.3e9, 3.3e9),
       cte=(16e-6, 16e-6, 70e-6), density=1850.0, specific_heat=1100.0),
    _m("polyimide", "polyimide film / passivation (Kapton HN class)",
       {"*": "DuPont Kapton HN datasheet (H-38492)"},
       conductivity=0.12, youngs_modulus=2.5e9, poisson_ratio=0.34, cte=20e-6,
       density=1420.0, specific_heat=1090.0),
    _m("sio2", "silicon dioxide film", {"*": _HANDBOOK + "; Madou, Fundamentals of "
                                         "Microfabrication (2011)"},
       conductivity=1.4, youngs_modulus=70e9, poisson_ratio=0.17, cte=0.5e-6,
       density=2200.0, specific_heat=730.0),
    _m("sin", "silicon nitride film (PECVD)", {"*": "Madou, Fundamentals of "
                                                "Microfabrication (2011), PECVD SiN typical"},
       conductivity=3.0, youngs_modulus=220e9, poisson_ratio=0.23, cte=3.2e-6,
       density=3100.0, specific_heat=700.0),
    _m("glass", "borosilicate glass carrier", {"*": "SCHOTT Borofloat 33 datasheet"},
       conductivity=1.2, youngs_modulus=64e9, poisson_ratio=0.20, cte=3.25e-6,
       density=2230.0, specific_heat=830.0),
    _m("tim", "thermally conductive adhesive / TIM1 (silver-filled epoxy)",
       {"*": "silver-filled die-attach adhesive datasheets (Henkel Ablestik 2000 class)"},
       conductivity=3.0, youngs_modulus=5e9, poisson_ratio=0.35, cte=40e-6,
       density=3000.0, specific_heat=800.0),
    _m("die_attach", "die-attach film", {"*": "die-attach film datasheets (Hitachi DF class)"},
       conductivity=0.3, youngs_modulus=1.5e9, poisson_ratio=0.35, cte=60e-6,
       density=1300.0, specific_heat=1200.0),
    _m("solder_mask", "photoimageable solder mask", {"*": "Taiyo PSR-4000 datasheet"},
       conductivity=0.25, youngs_modulus=3.5e9, poisson_ratio=0.35, cte=60e-6,
       density=1500.0, specific_heat=1000.0),
    _m("resin", "low-viscosity, low-moisture filling resin (002)", {"*": _CUF},
       conductivity=0.6, youngs_modulus=9e9, poisson_ratio=0.33, cte=28e-6,
       cte_above_tg=90e-6, glass_transition=130.0, density=1750.0, specific_heat=950.0,
       max_filler_size=10e-6),
    _m("elastic_adhesive", "insulating high-elasticity adhesive (002 claim 5)",
       {"*": "silicone die-attach adhesive datasheets (Dow DA-6524 class)"},
       conductivity=0.2, youngs_modulus=0.01e9, poisson_ratio=0.45, cte=200e-6,
       density=1100.0, specific_heat=1400.0),
)}

LIBRARY["air"] = _m(
    "air", "still air, as the void between solder balls in a homogenized ball layer; its "
    "modulus is a small stand-in for 'no stiffness' that keeps the layer solvable",
    {"*": _HANDBOOK, "youngs_modulus": "stand-in value (void), not a property of air"},
    conductivity=0.026, youngs_modulus=1e6, poisson_ratio=0.0, cte=0.0, density=1.2,
    specific_heat=1005.0)
LIBRARY["mlcc"] = _m(
    "mlcc", "multilayer ceramic capacitor body (BaTiO3 with Ni electrodes), effective",
    {"*": "Murata / TDK MLCC application notes; effective values of BaTiO3 + Ni stacks"},
    conductivity=4.0, youngs_modulus=110e9, poisson_ratio=0.30, cte=10e-6, density=5800.0,
    specific_heat=550.0)

# --- viscoelastic (Prony) sets: SYNTHETIC, clearly labelled ---------------------------------
# Published EMC / underfill Prony tables exist (FCPoP: Materials 14(17):4816, 2021, open
# access; Chae, Ho, Zhao, Edwards, J. Electron. Mater. 39(4):419, 2010) but their tables were
# not transcribed: the text was not available when these sets were made. Each set below is
# the 10-term NNLS fit (``prony_fit.fit_prony``, times 1e-3 ... 1e6 s, one per decade, data
# 1e-4 ... 1e9 s) of a stretched exponential E(t) = E_r + (E_g - E_r) exp(-(t / tau)^beta)
# whose glassy and rubbery moduli and Tg lie in the typical ranges of PHYSICS_NEXT.md 2.2 /
# 3.3; ``tests/test_viscoelastic.py`` re-derives the numbers. The shift: WLF with the
# "universal" constants C1 = 17.44, C2 = 51.6 K at T_ref = Tg above Tg and Arrhenius with
# E_a = 261 kJ/mol below it (the practice quoted in PHYSICS_NEXT.md 3.1).
SYNTHETIC_KWW = {
    "mold_ve": (24e9, 1e9, 100.0, 0.30),
    "molded_underfill_ve": (20e9, 0.8e9, 100.0, 0.30),
    "capillary_underfill_ve": (8e9, 0.1e9, 10.0, 0.35),
}
"""Library name -> (E_g Pa, E_r Pa, tau s at Tg, beta) of the curve each synthetic set fits."""
_WLF_SOURCE = ("WLF 'universal' constants C1 = 17.44, C2 = 51.6 K at T_ref = Tg (Williams, "
               "Landel, Ferry, J. Am. Chem. Soc. 77 (1955) 3701); Arrhenius below Tg with "
               "E_a = 261 kJ/mol (Cui, PhD thesis, Univ. of Florida, as quoted in "
               "PHYSICS_NEXT.md 3.1)")


def _synthetic(name: str, base: str, tg: float, E_inf: float, moduli) -> Material:
    glassy, rubbery, tau, beta = SYNTHETIC_KWW[name]
    visco = Viscoelastic(tg, "wlf", 17.44, 51.6, 261e3, long_term_modulus=E_inf,
                         prony_moduli=tuple(moduli), prony_times=tuple(
                             10.0 ** k for k in range(-3, 7)),
                         where=f"materials.{name}.viscoelastic")
    source = (f"SYNTHETIC set, not measured data: 10-term NNLS Prony fit of E(t) = "
              f"{rubbery / 1e9:g} + {(glassy - rubbery) / 1e9:g} exp(-(t / {tau:g} s)^"
              f"{beta:g}) GPa at T_ref = Tg = {tg:g} degC (material_library.SYNTHETIC_KWW); "
              f"shift: {_WLF_SOURCE}")
    material = LIBRARY[base]
    return Material(**{**{f: getattr(material, f) for f in (
        "conductivity", "poisson_ratio", "cte", "cte_above_tg", "density", "specific_heat",
        "max_filler_size")}}, name=name, glass_transition=tg,
        youngs_modulus=E_inf + sum(moduli), viscoelastic=visco,
        description=f"{material.description}, viscoelastic (SYNTHETIC Prony set)",
        sources=MappingProxyType({**material.sources, "viscoelastic": source,
                                  "youngs_modulus": "instantaneous modulus of the "
                                                    "synthetic Prony set"}))


LIBRARY["mold_ve"] = _synthetic("mold_ve", "mold", 150.0, 0.99989e9, (
    0.4307e9, 0.725e9, 1.4361e9, 2.6351e9, 4.4646e9, 6.2016e9, 5.3738e9, 1.3803e9, 0.0,
    0.0032e9))
LIBRARY["molded_underfill_ve"] = _synthetic("molded_underfill_ve", "molded_underfill", 150.0,
                                            0.79989e9, (
    0.3596e9, 0.6051e9, 1.1993e9, 2.1987e9, 3.729e9, 5.1736e9, 4.4895e9, 1.1506e9, 0.0,
    0.0029e9))
LIBRARY["capillary_underfill_ve"] = _synthetic("capillary_underfill_ve",
                                               "capillary_underfill", 120.0, 0.099397e9, (
    0.2024e9, 0.3809e9, 0.844e9, 1.6062e9, 2.5695e9, 1.9775e9, 0.1891e9, 0.0, 0.0, 0.0))

ALIASES = {
    "aluminum": "aluminium",
    "epoxy_mold_compound": "mold",
    "emc": "mold",
    "muf": "molded_underfill",
    "underfill": "capillary_underfill",
    "cuf": "capillary_underfill",
    "bt": "bt_laminate",
    "fr-4": "fr4",
    "pi": "polyimide",
    "si": "silicon",
    "cu": "copper",
    "au": "gold",
    "si3n4": "sin",
    "daf": "die_attach",
}


def library_material(name: str, field: str = "") -> Material:
    """The library material called ``name`` (or one of its aliases)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in LIBRARY:
        known = ", ".join(sorted(LIBRARY))
        raise ModelError(field, f"unknown material {name!r}; known: {known} "
                                f"(or define it in [materials.{name}])")
    return LIBRARY[key]
