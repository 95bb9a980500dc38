"""thermomech: thermal and thermo-mechanical finite-element analysis of IC packages.

The public names below are imported when first used (PEP 562): ``import thermomech`` and
the ``thermomech`` command load only what they need (the command's start-up was 0.6 s of
imports, docs/performance.md); ``from thermomech import X`` works as before.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

FUNCTION_MODULES = frozenset({"material_point", "submodel"})
"""Modules named like the function they define: ``thermomech.submodel`` is the function."""


class _Package(types.ModuleType):
    """The package module: importing ``thermomech.submodel`` (the module) sets the package
    attribute to the module; the function of the same name is kept instead. So these two
    load on first use too: the ``thermomech`` command starts its figure helper before
    SciPy and scikit-fem are imported (docs/performance.md)."""

    def __setattr__(self, name: str, value) -> None:
        if name in FUNCTION_MODULES and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # the names for type checkers and editors
    from .analysis import Run, run_model, summarize
    from .characterization import characterize
    from .creep_paths import creep_point
    from .errors import ModelError, SolverError
    from .geometry import Box, Layout
    from .material_library import LIBRARY, library_material
    from .material_point import material_point
    from .materials import Material
    from .mechanical_loads import MechanicalLoads, PrescribedDisplacement, Support
    from .mechanics import solve_warpage, solve_warpage_curve
    from .meshing import MeshedPackage, MeshOptions, mesh_layout
    from .model_file import Model, dump_model, load_model, mesh_model, model_from_dict
    from .packages import FAMILIES
    from .process import solve_process
    from .prony_fit import PronyFit, fit_prony
    from .reliability import assess_reliability
    from .results import ThermalResult, WarpageResult
    from .solder_creep import solder_creep_material
    from .solder_life import engelmaier_cycles, engelmaier_shear_strain
    from .study import StudyTable, define_study, load_study, run_study
    from .submodel import submodel, thermal_submodel
    from .thermal import solve_thermal, solve_transient
    from .thermal_loads import Convection, FixedTemperature, ThermalLoads
    from .viscoelastic import Viscoelastic

_SOURCES = {
    "Run": "analysis",
    "run_model": "analysis",
    "summarize": "analysis",
    "characterize": "characterization",
    "creep_point": "creep_paths",
    "ModelError": "errors",
    "SolverError": "errors",
    "Box": "geometry",
    "Layout": "geometry",
    "LIBRARY": "material_library",
    "library_material": "material_library",
    "Material": "materials",
    "MechanicalLoads": "mechanical_loads",
    "PrescribedDisplacement": "mechanical_loads",
    "Support": "mechanical_loads",
    "solve_warpage": "mechanics",
    "solve_warpage_curve": "mechanics",
    "MeshedPackage": "meshing",
    "MeshOptions": "meshing",
    "mesh_layout": "meshing",
    "Model": "model_file",
    "dump_model": "model_file",
    "load_model": "model_file",
    "mesh_model": "model_file",
    "model_from_dict": "model_file",
    "FAMILIES": "packages",
    "solve_process": "process",
    "PronyFit": "prony_fit",
    "fit_prony": "prony_fit",
    "assess_reliability": "reliability",
    "ThermalResult": "results",
    "WarpageResult": "results",
    "solder_creep_material": "solder_creep",
    "engelmaier_cycles": "solder_life",
    "engelmaier_shear_strain": "solder_life",
    "StudyTable": "study",
    "define_study": "study",
    "load_study": "study",
    "run_study": "study",
    "solve_thermal": "thermal",
    "solve_transient": "thermal",
    "Convection": "thermal_loads",
    "FixedTemperature": "thermal_loads",
    "ThermalLoads": "thermal_loads",
    "Viscoelastic": "viscoelastic",
    "material_point": "material_point",
    "submodel": "submodel",
    "thermal_submodel": "submodel",
}
"""Public name -> the module that defines it."""


def __getattr__(name: str):
    module = _SOURCES.get(name)
    if module is None:  # a submodule (``thermomech.study`` after ``import thermomech``)
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})


__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "LIBRARY",
    "Box",
    "Convection",
    "FixedTemperature",
    "Layout",
    "Material",
    "MechanicalLoads",
    "MeshOptions",
    "MeshedPackage",
    "Model",
    "ModelError",
    "PrescribedDisplacement",
    "PronyFit",
    "Run",
    "SolverError",
    "StudyTable",
    "Support",
    "ThermalLoads",
    "ThermalResult",
    "Viscoelastic",
    "WarpageResult",
    "__version__",
    "assess_reliability",
    "characterize",
    "creep_point",
    "define_study",
    "dump_model",
    "engelmaier_cycles",
    "engelmaier_shear_strain",
    "fit_prony",
    "library_material",
    "load_model",
    "load_study",
    "material_point",
    "mesh_layout",
    "mesh_model",
    "model_from_dict",
    "run_model",
    "run_study",
    "solder_creep_material",
    "solve_process",
    "solve_thermal",
    "solve_transient",
    "solve_warpage",
    "solve_warpage_curve",
    "submodel",
    "summarize",
    "thermal_submodel",
]
