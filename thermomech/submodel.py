"""Submodelling: a local model of a region of a solved package, at finer resolution, driven
on its cut faces by the global solution.

Method (the cut-boundary, or displacement-driven, submodel of Abaqus and Ansys):

1. The package's layout (every box, the whole package even when the global model used
   symmetry) is cropped to the region, an axis-aligned box, and meshed on its own with the
   local ``resolution`` as target cell size (the global mesh options otherwise).
2. The *cut faces* are the local model's boundary faces on the region's planes behind which
   the package continues; the other boundary faces are the package's own surfaces and keep
   the global loads and supports (a support on ``bottom`` still clamps the bottom inside
   the region).
3. Mechanics: the global displacement, evaluated at every dof of the cut faces (mid-edge
   nodes of quadratic elements included), is prescribed there
   (:class:`~thermomech.mechanical_loads.PrescribedDisplacement` with the global result as
   its function, entered last, so it wins over any support on those faces). The temperature
   load is the global one: uniform, or the global temperature field interpolated at the
   local dofs, or the local thermal submodel's field.
4. Heat (:func:`thermal_submodel`): the global temperature is prescribed on the cut faces,
   the global powers, convection and fixed temperatures act on what lies in the region.

Where the global model is a half or quarter model, a point of the region on the other side
of a symmetry plane takes the mirrored global value (u_x changes sign across x = 0, u_y
across y = 0; temperatures are even).

Limits: the cut faces carry the global model's discretization error into the local model,
and it decays with distance from them (Saint-Venant): keep the region of interest at least
one global cell, preferably a layer thickness, away from every cut face (docs/submodel.md:
on a bi-material edge 45 % of the coarse model's error at 0.02 mm from the cut, under 1 %
beyond one global cell). The local
model is linear like the global one; material and loads must be those of the global model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from .errors import ModelError
from .fem.space import Field
from .geometry import Box, Layout
from .mechanical_loads import MechanicalLoads, PrescribedDisplacement
from .mechanical_metrics import part_maxima, von_mises
from .mechanics import solve_warpage
from .meshing import Faces, MeshedPackage, face_centres, mesh_layout
from .results import ThermalResult, WarpageResult
from .submodel_spec import SubmodelSpec
from .thermal import solve_thermal, thermal_space
from .thermal_loads import FixedTemperature

CUT = "cut"
"""Name of the local model's surface of cut faces (``local.surfaces["cut"]``)."""


# --- the local package ---------------------------------------------------------------------

def region_bounds(region, dimension: int, where: str = "region") -> np.ndarray:
    """(dim, 2) lower and upper bound per mesh axis (m) of a region given as one interval
    per axis ((x0, x1), (y0, y1), (z0, z1)); 2D: (x, z). ModelError naming ``where``."""
    try:
        bounds = np.array(region, dtype=float)
    except (TypeError, ValueError):
        bounds = np.zeros(0)
    if bounds.shape != (dimension, 2) or not np.all(np.isfinite(bounds)):
        axes = "(x0, x1), (y0, y1), (z0, z1)" if dimension == 3 else "(x0, x1), (z0, z1)"
        raise ModelError(where, f"expected {dimension} intervals {axes} in m, got {region!r}")
    if np.any(bounds[:, 1] <= bounds[:, 0]):
        raise ModelError(where, f"every interval needs hi > lo, got "
                                f"{np.round(bounds * 1e3, 6).tolist()} mm")
    return bounds


def cropped_layout(layout: Layout, bounds: np.ndarray) -> Layout:
    """The boxes of ``layout`` cut to the region ``bounds`` (3, 2), in their order (later
    boxes still win overlaps); boxes outside it are dropped."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    boxes = []
    for b in layout.boxes:  # one box at a time (boxes, not cells)
        low, high = np.maximum(b.lower, lo), np.minimum(b.upper, hi)
        if np.all(high - low > 1e-12 * np.ptp(bounds)):
            boxes.append(Box(b.part, b.material, *zip(low.tolist(), high.tolist())))
    if not boxes:
        raise ModelError("region", f"no part of the package lies in the region "
                                   f"{np.round(bounds * 1e3, 6).tolist()} mm")
    parts = {b.part for b in boxes}
    return Layout(tuple(boxes), layout.materials,
                  {d: side for d, side in layout.dies.items() if d in parts})


def local_package(package: MeshedPackage, region, resolution: float | None = None
                  ) -> MeshedPackage:
    """The package cropped to ``region`` and meshed at ``resolution`` (m, target cell size;
    default a quarter of the global one), with the surface :data:`CUT` of its cut faces.

    The local package's ``layout`` is the global (whole) layout, as for a symmetric model:
    part volumes, die faces and powers keep referring to the whole package.
    """
    if not package.is_structured or not package.layout.boxes:
        raise ModelError("region", "a submodel crops the package's layout: the global model "
                                   "must be meshed from a layout (not an imported mesh)")
    dim = package.dimension
    bounds = region_bounds(region, dim)
    box_bounds = bounds if dim == 3 else np.array([bounds[0], [-np.inf, np.inf], bounds[1]])
    resolution = package.options.target_size / 4 if resolution is None else resolution
    if not resolution > 0:
        raise ModelError("resolution", f"must be > 0, got {resolution!r} m")
    layout = cropped_layout(package.layout, np.clip(box_bounds, *_layout_span(package)))
    options = dataclasses.replace(package.options, symmetry="none", target_size=resolution)
    materials = {**package.materials, **package.layout.materials}
    local = mesh_layout(layout, options, materials)
    faces = cut_faces(local, package.layout, dim)
    if not len(faces):
        raise ModelError("region", "the region holds the whole package (no cut face): solve "
                                   "the package itself at this resolution")
    return dataclasses.replace(local, layout=package.layout,
                               surfaces={**local.surfaces, CUT: faces})


def _layout_span(package: MeshedPackage) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = package.layout.bounds
    return lower[:, None], upper[:, None]


def cut_faces(local: MeshedPackage, layout: Layout, dim: int) -> Faces:
    """The boundary faces of ``local`` behind which ``layout`` has material: a point a hair
    outside each face's centre lies in one of its boxes."""
    pieces = [local.surfaces[n] for n in ("top", "bottom", "sides") if n in local.surfaces]
    faces = Faces(np.concatenate([f.cells for f in pieces]),
                  np.concatenate([f.sides for f in pieces]))
    centres = face_centres(local, faces)
    axis, plus = faces.sides // 2, faces.sides % 2
    step = 1e-6 * min(np.ptp(a) for a in local.axes)
    centres[axis, np.arange(len(faces))] += np.where(plus == 1, step, -step)
    if dim == 2:  # the section y = 0
        centres = np.array([centres[0], np.zeros(len(faces)), centres[1]])
    lower = np.array([b.lower for b in layout.boxes])[:, :, None]  # (boxes, 3, 1)
    upper = np.array([b.upper for b in layout.boxes])[:, :, None]
    near = np.all((lower[..., 0] <= centres.max(axis=1)) & (upper[..., 0] >= centres.min(
        axis=1)), axis=1)  # only boxes at the region (a board has thousands)
    lower, upper = lower[near], upper[near]
    inside = np.all((centres[None] >= lower) & (centres[None] <= upper), axis=1)
    if dim == 2:  # a box whose face lies on y = 0 counts only if it extends to y > 0
        inside &= (upper[:, 1] > 0)
    return faces.subset(np.any(inside, axis=0))


# --- global fields at local points -----------------------------------------------------------

def mirrored(points: np.ndarray, symmetry: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(points in the meshed part of a symmetric model, (dim, n) sign of each vector
    component there): x -> |x| (half, quarter), y -> |y| (quarter, 3D)."""
    points = np.array(points, dtype=float)
    sign = np.ones_like(points)
    axes = [] if symmetry == "none" else [0] if symmetry == "half" or dim == 2 else [0, 1]
    for a in axes:
        sign[a] = np.where(points[a] < 0, -1.0, 1.0)
        points[a] = np.abs(points[a])
    return points, sign


def global_displacement(result: WarpageResult):
    """``f(*coordinates) -> (dim, n)`` the global displacement (m) at any point of the
    whole package (mirrored into a symmetric model's meshed part)."""
    package = result.package

    def displacement(*coordinates):
        points, sign = mirrored(np.array(coordinates), package.symmetry, package.dimension)
        return result.displacement_at(points) * sign
    return displacement


def global_temperature(space, values: np.ndarray, package: MeshedPackage):
    """``f(*coordinates) -> (n,)`` a global temperature field (degC) at any point of the
    whole package (mirrored)."""
    field = Field(space, values)

    def temperature(*coordinates):
        points, _ = mirrored(np.array(coordinates), package.symmetry, package.dimension)
        return field.at(points)
    return temperature


def _local_temperature(result: WarpageResult, local: MeshedPackage,
                       thermal: ThermalResult | None):
    """The temperature load of the local model: the thermal submodel's field, the global
    uniform temperature, or the global field interpolated at the local dofs (same order)."""
    if thermal is not None:
        return thermal
    field = result.temperature
    if not isinstance(field, Field):
        return float(field)
    space = thermal_space(local, _order(field.space))
    values = global_temperature(field.space, field.values, result.package)(*space.doflocs)
    return space, values


# --- the local solves ----------------------------------------------------------------------

def submodel(result: WarpageResult, region, resolution: float | None = None, *,
             thermal: ThermalResult | None = None, solver="auto") -> WarpageResult:
    """The local warpage of ``region`` driven by the global ``result``.

    Parameters
    ----------
    result : the solved global model (its package, loads, element and temperature load).
    region : ((x0, x1), (y0, y1), (z0, z1)) m, package coordinates (2D: ((x0, x1), (z0,
        z1))); it may cross symmetry planes of the global model.
    resolution : m, target cell size of the local mesh (default: a quarter of the global).
    thermal : the :func:`thermal_submodel` of the same region to load the local model with
        (its local package is used: resolution is then ignored); default the global
        temperature (uniform, or its field interpolated at the local dofs).
    solver : as for :func:`~thermomech.mechanics.solve_warpage`.

    Returns
    -------
    WarpageResult of the local package (``result.package.surfaces["cut"]``: the driven
    faces); ``stats["submodel"]`` holds the region, the cut-face count and the seconds.
    """
    start = time.perf_counter()
    if result.plane == "generalized_strain":
        raise ModelError("mechanical.plane", "a submodel of a generalized plane strain "
                                             "section is not supported (its out-of-plane "
                                             "strain belongs to the whole section): use "
                                             "plane = \"strain\" or \"stress\", or 3D")
    local = _same_region(thermal, region) if thermal is not None else local_package(
        result.package, region, resolution)
    loads = _local_loads(result.loads, local)
    drive = PrescribedDisplacement(CUT, "xyz" if local.dimension == 3 else "xz",
                                   function=global_displacement(result))
    loads = dataclasses.replace(loads, displacements=loads.displacements + (drive,))
    temperature = _local_temperature(result, local, thermal)
    out = solve_warpage(local, loads, temperature=temperature, element=result.element or None,
                        solver=solver)
    return dataclasses.replace(out, stats={**out.stats, "submodel": _stats(
        result.package, local, region, start)})


def _same_region(thermal: ThermalResult, region) -> MeshedPackage:
    """The local package of a thermal submodel of ``region`` (a ModelError otherwise)."""
    made = thermal.stats.get("submodel", {}).get("region_m")
    if CUT not in thermal.package.surfaces or made is None or not np.allclose(
            made, np.asarray(region, dtype=float)):
        raise ModelError("thermal", "expected the thermal_submodel of the same region")
    return thermal.package


def _local_loads(loads: MechanicalLoads, local: MeshedPackage) -> MechanicalLoads:
    """The global ``[mechanical]`` loads on the surfaces the local model has; a curve's
    temperatures and process steps do not carry over (one solve of one state)."""
    if loads.steps:
        raise ModelError("mechanical.steps", "a submodel of a process step is not yet "
                                             "supported: submodel the step's WarpageResult "
                                             "without steps")
    return dataclasses.replace(
        loads, temperatures=(), warpage_surfaces=(),
        supports=tuple(s for s in loads.supports if s.surface in local.surfaces),
        displacements=tuple(d for d in loads.displacements if d.surface in local.surfaces))


def thermal_submodel(result: ThermalResult, region, resolution: float | None = None, *,
                     order: int | None = None, solver="auto") -> ThermalResult:
    """The local steady temperature of ``region`` with the global temperature of ``result``
    prescribed on the cut faces, and the global powers (of the parts in the region),
    convection, fluxes and fixed temperatures on what lies in it.

    order : 1 or 2 (default: the global field's). Hot spots and floorplans are refused (a
    ModelError): use the global field through :func:`submodel`.
    """
    start = time.perf_counter()
    if result.is_transient:
        raise ModelError("thermal.transient", "a thermal submodel of a transient is not yet "
                                              "supported (steady only)")
    local = local_package(result.package, region, resolution)
    loads = result.loads
    if loads.hot_spots or loads.floorplan:
        raise ModelError("thermal.hot_spots", "hot spots and floorplans are not yet "
                                              "supported in a thermal submodel")
    drive = FixedTemperature(CUT, function=global_temperature(
        result.space, result.temperature, result.package))
    local_loads = dataclasses.replace(
        loads, power={p: w for p, w in loads.power.items() if p in local.mesh.subdomains},
        convection=tuple(c for c in loads.convection if c.surface in local.surfaces),
        heat_flux=tuple(f for f in loads.heat_flux if f.surface in local.surfaces),
        fixed_temperature=tuple(f for f in loads.fixed_temperature
                                if f.surface in local.surfaces) + (drive,))
    order = order or _order(result.space)
    out = solve_thermal(local, local_loads, order=order, solver=solver)
    return dataclasses.replace(out, stats={**out.stats, "submodel": _stats(
        result.package, local, region, start)})


def _order(space) -> int:
    """1 for a linear scalar space (a dof per vertex of a hexahedron, quadrilateral or
    simplex), else 2."""
    nloc, dim = space.element_dofs.shape[0], space.mesh.dim()
    return 1 if nloc in (2**dim, dim + 1) else 2


def _stats(package: MeshedPackage, local: MeshedPackage, region: Sequence, start: float
           ) -> dict:
    return {"region_m": np.asarray(region, dtype=float).tolist(),
            "cut_faces": int(len(local.surfaces[CUT])), "local_cells": int(local.ncells),
            "global_cells": int(package.ncells), "seconds": time.perf_counter() - start}


# --- a model file's [submodel] -------------------------------------------------------------

def solve_submodels(spec: SubmodelSpec, thermal: ThermalResult | None,
                    mechanical: WarpageResult | None, solver="auto"
                    ) -> tuple[ThermalResult | None, WarpageResult | None]:
    """The local results of a model file's ``[submodel]`` given its global results: a
    thermal submodel when asked for (``thermal_submodel``, a steady global field), and the
    mechanical submodel (loaded with it) when there is a global warpage."""
    if thermal is None and mechanical is None:
        raise ModelError("submodel", "needs a [thermal] or [mechanical] analysis to drive it")
    package = (mechanical or thermal).package
    region = spec.region(package.dimension)
    local_thermal = None
    if spec.thermal_submodel:
        if thermal is None:
            raise ModelError("submodel.thermal_submodel", "needs a [thermal] section")
        local_thermal = thermal_submodel(thermal, region, spec.resolution, solver=solver)
    if mechanical is None:
        return local_thermal, None
    local = submodel(mechanical, region, spec.resolution, solver=solver,
                     thermal=local_thermal if isinstance(mechanical.temperature, Field)
                     else None)
    return local_thermal, local


def submodel_summary(mechanical: WarpageResult | None, local: WarpageResult | None,
                     thermal: ThermalResult | None = None,
                     local_thermal: ThermalResult | None = None) -> dict:
    """The numbers of a submodel run (``submodel.json``): the region, both meshes, and per
    part the largest von Mises stress (MPa) of the local model and of the global model at
    its quadrature points in the region; the largest temperature (degC) of the local
    thermal model and of the global field at its nodes."""
    first = local or local_thermal
    stats = first.stats["submodel"]
    out = {"region_mm": (np.asarray(stats["region_m"]) * 1e3).tolist(),
           "local_cells": stats["local_cells"], "global_cells": stats["global_cells"],
           "cut_faces": stats["cut_faces"]}
    if local is not None:
        out["von_mises_max_MPa"] = {
            "local": {p: v["von_mises_max"] / 1e6 for p, v in part_maxima(local).items()},
            "global": _global_maxima(mechanical, stats["region_m"])}
        out["mechanical_seconds"] = stats["seconds"]
    if local_thermal is not None:
        at_local_nodes = global_temperature(thermal.space, thermal.temperature,
                                            thermal.package)(*local_thermal.space.doflocs)
        out["max_temperature_C"] = {"local": float(local_thermal.temperature.max()),
                                    "global": float(at_local_nodes.max())}
    return out


def _inside(package: MeshedPackage, points: np.ndarray, region) -> np.ndarray:
    """(n,) True where a point of the meshed part, or one of its mirror images under the
    package's symmetry, lies in the region."""
    bounds = np.asarray(region, dtype=float)
    dim = package.dimension
    images = [np.ones(dim)]
    if package.symmetry != "none":
        images.append(np.r_[-1.0, np.ones(dim - 1)])
        if package.symmetry == "quarter" and dim == 3:
            images += [np.array([1.0, -1.0, 1.0]), np.array([-1.0, -1.0, 1.0])]
    hit = np.zeros(points.shape[1], dtype=bool)
    for image in images:  # at most four mirror images
        mirrored_points = points * image[:, None]
        hit |= np.all((mirrored_points >= bounds[:, :1]) & (mirrored_points <= bounds[:, 1:]),
                      axis=0)
    return hit


def _global_maxima(result: WarpageResult, region) -> dict[str, float]:
    stress, points, _ = result.quadrature_stress()
    dim = points.shape[0]
    inside = _inside(result.package, points.reshape(dim, -1), region).reshape(
        points.shape[1:])
    vm = np.where(inside, von_mises(stress), -np.inf).max(axis=1)
    part = np.asarray(result.package.cell_part)
    return {name: float(vm[part == i].max() / 1e6) for i, name in
            enumerate(result.package.parts) if np.isfinite(vm[part == i]).any()}

