"""thermomech: thermal and thermo-mechanical finite-element analysis of IC packages."""

from .analysis import Run, run_model, summarize
from .characterization import characterize
from .errors import ModelError, SolverError
from .geometry import Box, Layout
from .material_library import LIBRARY, library_material
from .material_point import material_point
from .materials import Material
from .mechanical_loads import MechanicalLoads, Support
from .mechanics import solve_warpage, solve_warpage_curve
from .meshing import MeshedPackage, MeshOptions, mesh_layout
from .model_file import Model, dump_model, load_model, mesh_model, model_from_dict
from .packages import FAMILIES
from .process import solve_process
from .prony_fit import PronyFit, fit_prony
from .results import ThermalResult, WarpageResult
from .study import StudyTable, define_study, load_study, run_study
from .thermal import solve_thermal, solve_transient
from .thermal_loads import Convection, ThermalLoads
from .viscoelastic import Viscoelastic

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "LIBRARY",
    "Box",
    "Convection",
    "Layout",
    "Material",
    "MechanicalLoads",
    "MeshOptions",
    "MeshedPackage",
    "Model",
    "ModelError",
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
    "characterize",
    "define_study",
    "dump_model",
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
    "solve_process",
    "solve_thermal",
    "solve_transient",
    "solve_warpage",
    "solve_warpage_curve",
    "summarize",
]
