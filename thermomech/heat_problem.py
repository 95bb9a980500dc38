"""The assembled heat problem: boundary conditions on faces, the problem assembled once on
a space (everything but the conductivity), cell means and the heat flows out.

Boundary conditions: convection ``-k dT/dn = h (T - T_a)``, a given flux, a fixed
temperature; later entries win shared faces. Heat flows are reported per boundary and per
path (faces looking up: heat sink, down: board, sideways: sides), W (W/m in 2D).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem

from .errors import ModelError
from .fem import simplex
from .fem.assembly import Assembly, unit_cell_weights
from .fem.constraints import face_values
from .fem.space import Space
from .heat_sources import face_powers, power_density, total_power
from .meshing import Faces, MeshedPackage, cell_kind
from .thermal_loads import ThermalLoads

PATHS = ("heat_sink", "board", "sides")
"""Heat paths: faces looking up (+z: heat sink / case top), down (-z: board), sideways."""


@dataclass(frozen=True)
class Boundary:
    """One boundary condition on the faces it owns (later conditions win shared faces).

    kind : "convection" (value = h W/(m^2 K), ambient degC), "flux" (value = W/m^2 into the
    body) or "fixed" (value = temperature degC, or ``function`` of position when given:
    ``f(points (dim, n) m) -> (1, n)`` degC).
    """

    name: str
    kind: str
    faces: Faces
    value: float
    ambient: float
    field: str
    function: object = None


def _entries(loads: ThermalLoads, dim: int = 3) -> list[tuple]:
    out = []
    preset = len(loads.all_convection) - len(loads.convection)
    for i, c in enumerate(loads.all_convection):
        field = "thermal.environment" if i < preset else f"thermal.convection[{i - preset}]"
        ambient = loads.ambient if c.ambient is None else c.ambient
        out.append((c.surface, "convection", c.h, ambient, field, None))
    for i, f in enumerate(loads.heat_flux):
        out.append((f.surface, "flux", f.flux, loads.ambient, f"thermal.heat_flux[{i}]",
                    None))
    for i, f in enumerate(loads.fixed_temperature):
        where = f"thermal.fixed_temperature[{i}]"
        out.append((f.surface, "fixed", f.temperature, loads.ambient, where,
                    f.point_function(dim, f"{where}.")))
    return out


def boundary_conditions(package: MeshedPackage, loads: ThermalLoads) -> list[Boundary]:
    """The boundary conditions of ``loads`` resolved to faces (later entries win)."""
    entries = _entries(loads, package.dimension)
    nside = 2 * package.dimension
    owner = np.full(package.ncells * nside, -1, dtype=np.int32)
    faces = []
    for i, (surface, _, _, _, field, _) in enumerate(entries):
        where = f"{field}.surface" if "[" in field else field
        if surface.startswith("symmetry_"):
            raise ModelError(where, f"{surface!r} is a symmetry plane, adiabatic by definition")
        f = package.surface(surface, where)
        faces.append(f)
        owner[f.cells * nside + f.sides] = i
    out = []
    for i, (surface, kind, value, ambient, field, function) in enumerate(entries):
        f = faces[i]
        mine = owner[f.cells * nside + f.sides] == i
        out.append(Boundary(surface, kind, f.subset(mine), value, ambient, field, function))
    return out


def check_heat_path(boundaries: list[Boundary]) -> None:
    """A steady problem needs a way out: convection with h > 0 or a fixed temperature."""
    if not any(len(b.faces) and (b.kind == "fixed" or (b.kind == "convection" and b.value > 0))
               for b in boundaries):
        raise ModelError("thermal.convection", "no heat path to ambient: every boundary is "
                         "adiabatic (no convection with h > 0 and no fixed_temperature), so the "
                         "steady temperature is undefined; add [[thermal.convection]] or an "
                         "environment preset")


def path_of(package: MeshedPackage, faces: Faces) -> np.ndarray:
    """(faces,) index into :data:`PATHS` of each face (+z: heat sink, -z: board, else sides).

    Box faces go by their side; facets of an imported mesh by their outward normal: up when
    it is within 45 degrees of +z, down within 45 degrees of -z, else sideways.
    """
    z = package.dimension - 1
    if faces.facets is None or not len(faces):
        return np.where(faces.sides == 2 * z + 1, 0, np.where(faces.sides == 2 * z, 1, 2))
    normal_z = outward_normals(package.mesh, faces.facets, faces.cells)[z]
    return np.where(normal_z >= np.sqrt(0.5), 0, np.where(normal_z <= -np.sqrt(0.5), 1, 2))


def outward_normals(mesh: skfem.Mesh, facets: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """(dim, facets) unit normals of ``facets`` pointing out of ``cells`` (one each)."""
    corners = mesh.p[:, mesh.facets[:, facets]]  # (dim, facet vertices, facets)
    if mesh.dim() == 3:
        normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0], axis=0)
    else:
        edge = corners[:, 1] - corners[:, 0]
        normal = np.array([edge[1], -edge[0]])
    centre = mesh.p[:, mesh.t[:, cells]].mean(axis=1)
    outward = np.sum(normal * (corners.mean(axis=1) - centre), axis=0) >= 0
    return np.where(outward, 1.0, -1.0) * normal / np.linalg.norm(normal, axis=0)


# --- the assembled problem ---------------------------------------------------------------

@dataclass(frozen=True)
class ThermalProblem:
    """Everything but the conductivity, assembled once (temperature rise over ``reference``).

    robin : sum of the convection boundary matrices; load : convection and flux loads (W);
    power : the heat sources as a load vector (W, meshed part, profile factor 1);
    terms : per (boundary, path): (name, path, matrix or None, vector) where the heat out
    is ``matrix @ theta - vector`` summed (convection) or ``-vector`` summed (flux);
    fixed : per fixed boundary (name, path index per dof, dofs, value).
    """

    package: MeshedPackage
    loads: ThermalLoads
    basis: Space
    assembly: Assembly
    reference: float
    boundaries: tuple[Boundary, ...]
    robin: sp.csr_matrix
    load: np.ndarray
    power: np.ndarray
    terms: tuple
    fixed_dofs: np.ndarray
    fixed_values: np.ndarray
    fixed_owner: tuple
    seconds: float

    @property
    def whole_power(self) -> float:
        return total_power(self.loads)


def assemble_problem(package: MeshedPackage, loads: ThermalLoads, basis: Space,
                     assembly: Assembly) -> ThermalProblem:
    """Powers and boundary conditions of ``loads`` assembled on ``basis``."""
    start = time.perf_counter()
    ref = loads.ambient
    n = basis.N
    power = assembly.source(package, basis, power_density(package, loads))
    for _, faces, flux in face_powers(package, loads):
        power = power + assembly.boundary_load(package, basis, faces, flux)
    boundaries = tuple(boundary_conditions(package, loads))
    robin = sp.csr_matrix((n, n))
    load = np.zeros(n)
    terms = []
    fixed = np.full(n, np.nan)
    owner_path, owner_name = np.zeros(n, dtype=np.int8), np.full(n, -1, dtype=np.int32)
    for index, b in enumerate(boundaries):
        paths = path_of(package, b.faces)
        for p in np.unique(paths):
            sel = b.faces.subset(paths == p)
            if b.kind == "convection":
                R = assembly.boundary_mass(package, basis, sel, b.value)
                r = R @ np.full(n, b.ambient - ref)
                robin, load = robin + R, load + r
                terms.append((b.name, PATHS[p], R, r))
            elif b.kind == "flux":
                g = assembly.boundary_load(package, basis, sel, b.value)
                load = load + g
                terms.append((b.name, PATHS[p], None, g))
            else:
                dofs, values = _fixed_values(package, basis, assembly, sel, b)
                fixed[dofs] = values - ref
                owner_path[dofs], owner_name[dofs] = p, index
    dofs = np.flatnonzero(np.isfinite(fixed))
    values = fixed[dofs]
    owners = tuple((boundaries[i].name, owner_path[dofs[owner_name[dofs] == i]],
                    dofs[owner_name[dofs] == i]) for i in np.unique(owner_name[dofs]))
    return ThermalProblem(package, loads, basis, assembly, ref, boundaries, robin.tocsr(), load,
                          power, tuple(terms), dofs, values, owners,
                          time.perf_counter() - start)


def _fixed_values(package, basis: Space, assembly: Assembly, faces: Faces, boundary: Boundary
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(dofs, degC) of a fixed-temperature boundary on ``faces``: uniform, or its function
    at the dofs (nodal interpolation)."""
    if boundary.function is None:
        dofs = assembly.face_dofs(package, basis, faces)
        return dofs, np.full(len(dofs), boundary.value)
    return face_values(basis, faces, boundary.function)


def cell_mean(basis: Space, field: np.ndarray) -> np.ndarray:
    """(cells,) mean of a field over each cell (exact for Q1 and Q2 on box cells, where it
    is unit-cell weights, and on straight simplices, reference-cell weights; on other
    imported cells the integral over the cell / its volume)."""
    if cell_kind(basis.mesh) in ("hex", "quad"):
        weights = unit_cell_weights(basis.elem)
        return weights @ field[basis.element_dofs]
    if simplex.supports(basis):  # affine cells: the reference means, no quadrature basis
        weights = simplex.reference(type(basis.elem))["load"]
        return (weights / weights.sum()) @ field[basis.element_dofs]
    full = basis.basis
    integral = skfem.Functional(lambda w: w["T"]).elemental(full, T=full.interpolate(field))
    volume = skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).elemental(full)
    return integral / volume


# --- heat flows --------------------------------------------------------------------------

def heat_flows(problem: ThermalProblem, residual: np.ndarray, theta: np.ndarray
               ) -> dict[tuple[str, str], float]:
    """Heat leaving the meshed part through each (boundary name, path), W (W/m in 2D).

    residual : (N,) ``A theta - b`` (with the storage term in transients): at fixed dofs it
    is minus the heat leaving through them.
    """
    out: dict[tuple[str, str], float] = {}
    for name, path, R, r in problem.terms:
        value = float((R @ theta - r).sum()) if R is not None else -float(r.sum())
        out[(name, path)] = out.get((name, path), 0.0) + value
    for name, paths, dofs in problem.fixed_owner:
        for p in np.unique(paths):
            key = (name, PATHS[p])
            out[key] = out.get(key, 0.0) - float(residual[dofs[paths == p]].sum())
    return out


def energy_balance(power_in: float, flows: Mapping, stored: float = 0.0,
                   through: float = 0.0) -> float:
    """Relative error of ``power_in = heat out + stored`` (W).

    through : W, the heat passing through the fixed-temperature dofs (the sum of their
    absolute reactions): the scale when the boundaries alone drive the heat (no power, a
    temperature map), where in- and outflow of one surface cancel in ``flows``.
    """
    out = sum(flows.values())
    scale = max(abs(power_in), sum(abs(v) for v in flows.values()), abs(stored), through,
                1e-300)
    return abs(power_in - out - stored) / scale


def whole_package(problem: ThermalProblem, flows: Mapping, power_in: float,
                  factor: float = 1.0) -> tuple[dict, dict]:
    """Heat out per boundary name and per path for the whole package, W.

    3D: times the symmetry factor. 2D: the section's shares of its power applied to the
    package's total power (``factor`` scales the total, e.g. the transient profile).
    """
    package = problem.package
    if package.dimension == 3 or power_in <= 0:
        scale = package.symmetry_factor
    else:
        scale = problem.whole_power * factor / power_in
    by_name: dict[str, float] = {b.name: 0.0 for b in problem.boundaries}
    by_path = dict.fromkeys(PATHS, 0.0)
    for (name, path), value in flows.items():
        by_name[name] += scale * value
        by_path[path] += scale * value
    return by_name, by_path
