"""thermomech: thermal and thermo-mechanical finite-element analysis of IC packages."""

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
