"""Linear thermo-elasticity of a meshed package: warpage and stress from CTE mismatch.

Physics. Small strains, linear elastic parts (isotropic or orthotropic in the package axes,
``materials.elasticity_matrix``), thermal strain ``e_th = F(T) - F(T_sf)`` per axis with

    F(T) = a_1 min(T, Tg) + a_2 max(T - Tg, 0),

the integral of the instantaneous CTE (``a_1 = cte`` below the glass transition ``Tg``,
``a_2 = cte_above_tg`` above it; a material without Tg has ``F = a_1 T``). So the secant CTE
from the stress-free temperature ``T_sf`` is ``e_th / (T - T_sf)``: a mold cured at 175 degC
above its Tg of 150 degC cools with ``a_2`` to 150 degC and with ``a_1`` below.

Weak form: find u with ``∫ eps(v) : C (eps(u) - e_th) = 0`` for all v. Voigt order xx, yy, zz,
yz, xz, xy with engineering shears (3D); in 2D the mesh is the x-z section and the in-plane
order is xx, zz, xz, with ``plane`` (``MechanicalLoads``):

- ``"stress"``: s_yy = s_yz = s_xy = 0, D = (S_sub)^-1, load D e_th,sub;
- ``"strain"``: e_yy = 0, D = C_sub, load (C e_th)_sub (this carries the (1 + nu) alpha of a
  constrained strip);
- ``"generalized_strain"`` (default): e_yy = g0 + g1 x + g2 z with three extra unknowns and
  zero out-of-plane force and moments; exact for the equi-biaxial centre of a wide plate.

Elements: quadratic by default (``HexS2`` 20-node serendipity in 3D, ``Quad2`` in 2D), since
linear elements lock in bending of thin layers (~30 % of the exact curvature); ``order=1``
gives ``Hex1`` / ``Quad1``, ``element="Hex2"`` the 27-node Lagrange hexahedron.

Supports. Symmetry planes (``symmetry_x``: u_x = 0; ``symmetry_y``: u_y = 0) are applied
automatically; ``MechanicalLoads.supports`` clamp named surfaces and ``displacements``
prescribe u as a function of position on them (at every dof). Rigid-body modes left free
are removed by a minimal (statically determinate) set of held dofs chosen near ``hold``;
since a thermal load is self-equilibrated the held dofs carry no force (recorded in
``stats["held_reaction_relative"]``), and the displacement is then projected orthogonal to the
free rigid modes (least squares over the dof locations), so the result does not depend on
which point was held.

Units: m, Pa, degC, 1/K. Forces per unit depth (N/m) in 2D.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem

from .elasticity import (
    IN_PLANE,
    ElasticModel,
    apply_per_part,
    elastic_model,
    voigt_strain,
)
from .errors import ModelError
from .fem import constraints, simplex, structured, unit_cell
from .fem.solve import quadratic_simplex_solver
from .fem.solve import solve as fem_solve
from .fem.space import Field, Space, checked_order, space_of
from .linear_solvers import MULTIGRID_LIMIT
from .mechanical_loads import MechanicalLoads
from .mechanical_supports import constraint_set
from .meshing import MeshedPackage, cell_kind
from .results import WarpageResult

ELEMENTS = {"Hex1": skfem.ElementHex1, "HexS2": skfem.ElementHexS2, "Hex2": skfem.ElementHex2,
            "Quad1": skfem.ElementQuad1, "Quad2": skfem.ElementQuad2,
            "Tet1": skfem.ElementTetP1, "Tet2": skfem.ElementTetP2,
            "Tri1": skfem.ElementTriP1, "Tri2": skfem.ElementTriP2, "Wedge1": skfem.ElementWedge1}
"""Element names accepted by ``solve_warpage(element=...)``."""
DEFAULT_ELEMENTS = {("hex", 1): "Hex1", ("hex", 2): "HexS2", ("quad", 1): "Quad1",
                    ("quad", 2): "Quad2", ("tet", 1): "Tet1", ("tet", 2): "Tet2",
                    ("tri", 1): "Tri1", ("tri", 2): "Tri2", ("wedge", 1): "Wedge1"}
"""(cell type, order) -> default element (imported meshes bring tets, triangles, wedges)."""
INTORDER = {"Hex1": 2, "Quad1": 2, "HexS2": 4, "Hex2": 4, "Quad2": 4, "Tet1": 2, "Tet2": 4,
            "Tri1": 2, "Tri2": 4, "Wedge1": 2}
"""Quadrature order: exact for the stiffness on box cells (scikit-fem's default is 8-15x more
expensive on hexahedra, PERFORMANCE.md)."""

# --- temperature ---------------------------------------------------------------------------

TemperatureField = Field
"""A temperature (degC) on a scalar space of the package's mesh."""


def temperature_field(package: MeshedPackage, temperature) -> float | TemperatureField:
    """A uniform temperature (float) or a checked field from a thermal solution.

    ``temperature``: a number (degC); an object with ``.space`` and ``.temperature`` (a
    ``ThermalResult``); a ``(space or scikit-fem basis, values)`` pair; or an array of
    values at the mesh's vertices (the mesh's own P1 / Q1 element: tetrahedra, triangles,
    hexahedra, quadrilaterals). A field on another mesh is a ModelError naming
    ``mechanical.temperature``.
    """
    where = "mechanical.temperature"
    if isinstance(temperature, str):
        raise ModelError(where, f"{temperature!r} needs the thermal solution: run the thermal "
                                f"analysis and pass its result as temperature")
    if isinstance(temperature, int | float | np.floating) and not isinstance(temperature, bool):
        return float(temperature)
    if hasattr(temperature, "space") and hasattr(temperature, "temperature"):
        basis, values = temperature.space, temperature.temperature
    elif isinstance(temperature, tuple) and len(temperature) == 2:
        basis, values = temperature
    else:
        values = np.asarray(temperature, dtype=float)
        nodes = package.mesh.p.shape[1]
        if values.shape != (nodes,):
            raise ModelError(where, f"a temperature array needs one value per mesh vertex "
                                    f"({nodes}), got shape {values.shape}")
        basis = space_of(package, package.mesh.elem(), 1)  # vertex dofs = vertex numbers
    if not _same_mesh(basis.mesh, package.mesh):
        raise ModelError(where, f"the temperature field lives on another mesh "
                                f"({basis.mesh.p.shape[1]} nodes, {basis.mesh.t.shape[1]} "
                                f"cells) than the mechanical model ({package.mesh.p.shape[1]} "
                                f"nodes, {package.ncells} cells); solve both on one mesh")
    values = np.asarray(values, dtype=float)
    if values.shape != (basis.N,) or not np.all(np.isfinite(values)):
        raise ModelError(where, f"needs {basis.N} finite values, got shape {values.shape}")
    space = basis if isinstance(basis, Space) else space_of(package, basis.elem, 1)
    return TemperatureField(space, values)


def _same_mesh(a: skfem.Mesh, b: skfem.Mesh) -> bool:
    if a is b:
        return True
    return (type(a) is type(b) and a.p.shape == b.p.shape and a.t.shape == b.t.shape
            and np.array_equal(a.t, b.t) and np.allclose(a.p, b.p, rtol=0, atol=1e-12))


def _temperature_at_quadrature(field, basis: skfem.Basis):
    """The temperature at ``basis``'s quadrature points: float or (cells, points) degC."""
    return field.at_quadrature(basis) if isinstance(field, TemperatureField) else field


# --- assembly ------------------------------------------------------------------------------

def generic_stiffness(basis: skfem.Basis, reduced_cells: np.ndarray) -> sp.csr_matrix:
    """scikit-fem's generic ∫ eps(v) : D eps(u), D (cells, nv, nv) per cell (non-box meshes)."""
    nv = reduced_cells.shape[1]
    shape = (reduced_cells.shape[0], basis.X.shape[1])
    pairs = [(i, j) for i in range(nv) for j in range(nv) if np.any(reduced_cells[:, i, j])]
    fields = {f"d{i}{j}": np.broadcast_to(reduced_cells[:, i, j, None], shape).copy()
              for i, j in pairs}

    @skfem.BilinearForm
    def elasticity(u, v, w):
        eu, ev = voigt_strain(u.grad), voigt_strain(v.grad)
        return sum(w[f"d{i}{j}"] * eu[j] * ev[i] for i, j in pairs)

    return elasticity.assemble(basis, **fields).tocsr()


def _load_vector(basis: skfem.Basis, density: np.ndarray) -> np.ndarray:
    """∫ eps(v) . s for a stress-like density s (nv, cells, points)."""
    fields = {f"s{i}": np.ascontiguousarray(density[i]) for i in range(len(density))}

    @skfem.LinearForm
    def load(v, w):
        ev = voigt_strain(v.grad)
        return sum(w[f"s{i}"] * ev[i] for i in range(len(ev)))

    return load.assemble(basis, **fields)


def thermal_load(setup: SolveSetup, field, fast: bool) -> np.ndarray:
    """(N,) load ∫ eps(v) . s_th of the thermal stress at ``field`` (float or field).

    fast: the structured path (box mesh): a uniform temperature gives a per-cell stress
    (``structured.assemble_stress_load``); a field gives an affine stress in every cell whose
    CTE is constant over the cell's quadrature points (``assemble_stress_load_field``), and the
    remaining cells (straddling a glass transition) are assembled generically on those cells
    only. Not fast, a uniform temperature on straight simplices: ``simplex.stress_load``.
    Equal to the generic assembly to round-off.
    """
    basis, model, part, package = setup.basis, setup.model, setup.part, setup.package
    if not fast and not isinstance(field, TemperatureField) and simplex.supports(basis):
        stress = model.thermal_stress(part, model.thermal_strain(part, field))[..., 0]
        return simplex.stress_load(basis, stress)
    if not fast:
        full = basis.basis
        eth = model.thermal_strain(part, _temperature_at_quadrature(field, full))
        return _load_vector(full, model.thermal_stress(part, eth))
    if not isinstance(field, TemperatureField):
        stress = model.thermal_stress(part, model.thermal_strain(part, field))[..., 0]
        return structured.assemble_stress_load(package, basis, stress)
    rate, offset, affine = _affine_thermal_strain(model, part, field)
    cells = np.flatnonzero(affine)
    sub = part[cells]
    F = structured.assemble_stress_load_field(
        package, basis, model.thermal_stress(sub, rate[:, cells, None])[..., 0],
        model.thermal_stress(sub, offset[:, cells, None])[..., 0], field.space, field.values,
        cells)
    rest = np.flatnonzero(~affine)
    if len(rest):
        cell_basis = skfem.Basis(package.mesh, basis.elem, intorder=INTORDER[setup.element],
                                 elements=rest)
        probe = skfem.Basis(package.mesh, field.space.elem, quadrature=cell_basis.quadrature,
                            elements=rest)
        eth = model.thermal_strain(part[rest], np.asarray(probe.interpolate(field.values)))
        F = F + _load_vector(cell_basis, model.thermal_stress(part[rest], eth))
    return F


def _affine_thermal_strain(model: ElasticModel, part: np.ndarray, field: TemperatureField
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell, e_th = rate T + offset where T stays on one side of Tg.

    Returns rate (3, cells) 1/K, offset (3, cells) and affine (cells,) bool: the temperature
    at every Gauss point of the cell (bounded by the nodal values widened by
    ``unit_cell.negative_lebesgue``) lies below Tg (rate = cte) or above it (cte_above_tg).
    """
    nodal = field.values[field.space.element_dofs]  # (nloc, cells)
    low, high = nodal.min(axis=0), nodal.max(axis=0)
    widen = unit_cell.negative_lebesgue(field.space.elem) * (high - low)
    tg = model.glass_transition[part]
    below = high + widen <= tg
    above = (low - widen >= tg) & ~below
    a1, a2 = model.cte_below[part].T, model.cte_above[part].T  # (3, cells)
    finite_tg = np.where(np.isfinite(tg), tg, 0.0)
    sf = model.stress_free[part]
    integral_sf = a1 * np.minimum(sf, tg) + a2 * np.maximum(sf - tg, 0.0)  # F(T_sf)
    rate = np.where(above, a2, a1)
    offset = np.where(above, (a1 - a2) * finite_tg, 0.0) - integral_sf
    return rate, offset, below | above


@dataclass(frozen=True)
class SolveSetup:
    """What a warpage solve is set up with (``solve_setup``): the package, the displacement
    space, the element name, the elastic model and the part index of every cell."""

    package: MeshedPackage
    basis: Space  # the displacement space
    element: str
    model: ElasticModel
    part: np.ndarray  # (cells,)


def solve_setup(package, loads, order, element) -> SolveSetup:
    dim = package.dimension
    kind = cell_kind(package.mesh)
    if element is None:
        order = checked_order(order if order is not None else
                              package.options.element_order or 2)
        if (kind, order) not in DEFAULT_ELEMENTS:
            raise ModelError("mesh.element_order", f"no order-{order} element for {kind} cells")
        element = DEFAULT_ELEMENTS[(kind, order)]
    if element not in ELEMENTS or not element.lower().startswith(kind):
        known = ", ".join(e for e in ELEMENTS if e.lower().startswith(kind))
        raise ModelError("element", f"unknown element {element!r} for {kind} cells; known: "
                                    f"{known}")
    basis = space_of(package, skfem.ElementVector(ELEMENTS[element](), dim), INTORDER[element])
    return SolveSetup(package, basis, element, elastic_model(package, loads),
                  np.asarray(package.cell_part))


def _stiffness(setup: SolveSetup, assembly: str) -> sp.csr_matrix:
    reduced = setup.model.reduced[setup.part]
    if assembly == "auto":
        assembly = "structured" if setup.basis.is_box else "simplex" if simplex.supports(
            setup.basis) else "generic"
    if assembly == "structured":
        return structured.assemble_elasticity_lean(setup.package, setup.basis, reduced)
    if assembly == "simplex":
        return simplex.elasticity(setup.basis, reduced)
    if assembly == "generic":
        return generic_stiffness(setup.basis.basis, reduced)
    raise ValueError(f"unknown assembly {assembly!r}")


def generalized_blocks(setup: SolveSetup, eth_columns) -> tuple[sp.csr_matrix, np.ndarray,
                                                               np.ndarray, list[np.ndarray]]:
    """Coupling (N, 3), out-of-plane stiffness (3, 3) and loads (3, k) of e_yy = g . (1, x, z)."""
    basis, model, part = setup.basis.basis, setup.model, setup.part
    x = basis.mapping.F(basis.X)  # (2, cells, points)
    monomials = np.array([np.ones_like(x[0]), x[0], x[1]])
    c_in = model.stiffness[part][:, IN_PLANE, 1]  # (cells, 3)
    c_yy = model.stiffness[part][:, 1, 1][:, None]
    dx = basis.dx
    coupling = np.column_stack([
        _load_vector(basis, c_in.T[:, :, None] * m[None]) for m in monomials])
    out_of_plane = np.einsum("kcq,lcq->kl", monomials * c_yy * dx, monomials)
    loads = []
    for eth in eth_columns:
        full = np.zeros((6,) + eth.shape[1:])
        full[:3] = eth
        s_yy = apply_per_part(model.stiffness, part, full)[1]
        loads.append(np.einsum("kcq,cq->k", monomials, s_yy * dx))
    return sp.csr_matrix(coupling), out_of_plane, np.array(loads).T, monomials


def solve_warpage(package: MeshedPackage, loads: MechanicalLoads | None = None, *,
                  temperature=None, order: int | None = None, element: str | None = None,
                  solver="auto", hold: Sequence[float] | None = None,
                  assembly: str = "auto") -> WarpageResult:
    """Displacement of ``package`` brought from its stress-free temperatures to ``temperature``.

    Parameters
    ----------
    loads : the ``[mechanical]`` section (default ``MechanicalLoads()``).
    temperature : degC (uniform), a ``ThermalResult`` / ``(basis, values)`` field on the same
        mesh, or None for ``loads.temperature``.
    order : 1 or 2 (default: ``package.options.element_order`` or 2). ``element`` overrides:
        "Hex1", "HexS2", "Hex2", "Quad1", "Quad2".
    solver : ``linear_solvers.solve_linear`` method ("auto", "direct", "cg-gmg", "cg-amg",
        callable); "auto": direct up to 20k unknowns, then CG + geometric multigrid.
    hold : point (m) near which the dofs that remove free rigid-body motion are chosen
        (default: the middle of the mesh); the result does not depend on it.
    assembly : "auto" (structured fast path on box meshes, with the free block applied
        from the cells without a stored matrix for quadratic 3D elements under cg-gmg;
        closed-form cell matrices on P1 / P2 simplices), "structured" (the free block
        assembled), "cells" (matrix-free), "simplex" or "generic".

    Returns
    -------
    WarpageResult; ``stats`` holds unknowns, assembly/solve seconds, the solver's residual and
    iterations, and the force balance (``reaction_sum``, ``force_balance``: |sum of
    reactions| / sum |load|, ``held_reaction_relative``).
    """
    loads = loads if loads is not None else MechanicalLoads()
    value = temperature if temperature is not None else loads.temperature
    return _solve(package, loads, [value], order, element, solver, hold, assembly)[0]


def solve_warpage_curve(package: MeshedPackage, loads: MechanicalLoads | None = None,
                        temperatures: Sequence[float] | None = None,
                        **options) -> tuple[WarpageResult, ...]:
    """One warpage solve per uniform temperature (degC), e.g. 25 -> 260 -> 25 degC.

    Properties are temperature independent apart from the CTE change at Tg, so the stiffness is
    factored once and every temperature is one more right-hand side.
    """
    loads = loads if loads is not None else MechanicalLoads()
    temperatures = tuple(temperatures if temperatures is not None else loads.temperatures)
    if not temperatures:
        raise ModelError("mechanical.temperatures", "needs at least one temperature")
    return _solve(package, loads, list(temperatures), options.get("order"),
                  options.get("element"), options.get("solver", "auto"), options.get("hold"),
                  options.get("assembly", "auto"))


@dataclass(frozen=True)
class WarpageSystem:
    """A warpage solve but its stiffness and linear solve (``warpage_system``): loads F
    (n, cases) per temperature field, fixed and held dofs, rigid modes R and the free ones
    among them, the generalized plane strain blocks (``extra``) or None."""

    setup: SolveSetup
    loads: MechanicalLoads
    fields: list
    F: np.ndarray
    fixed: np.ndarray
    values: np.ndarray  # (fixed,) prescribed displacements, m
    held: np.ndarray
    R: np.ndarray
    free_modes: np.ndarray
    extra: tuple | None
    fast: bool
    start: float


def warpage_system(package, loads, temperatures, order=None, element=None, hold=None,
                   assembly="auto") -> WarpageSystem:
    """Everything of a warpage solve but the stiffness and its solve: the thermal loads of
    each temperature (``solve_warpage``'s meaning), the supports and the rigid modes."""
    start = time.perf_counter()
    setup = solve_setup(package, loads, order, element)
    fields = [temperature_field(package, t) for t in temperatures]
    basis, model, part = setup.basis, setup.model, setup.part
    generalized = package.dimension == 2 and model.plane == "generalized_strain"
    fast = not generalized and (assembly in ("structured", "cells") or (
        assembly == "auto" and basis.is_box))
    F = np.column_stack([thermal_load(setup, f, fast) for f in fields])
    extra = None
    if generalized:
        eth = [model.thermal_strain(part, _temperature_at_quadrature(f, basis.basis))
               for f in fields]
        coupling, out_of_plane, extra_loads, _ = generalized_blocks(setup, eth)
        F, extra = np.vstack([F, extra_loads]), (coupling, out_of_plane)
    fixed, values, held, R, free_modes = constraint_set(package, basis, loads, hold,
                                                         generalized)
    return WarpageSystem(setup, loads, fields, F, fixed, values, held, R, free_modes, extra,
                         fast, start)


def _solve(package, loads, temperatures, order, element, solver, hold, assembly):
    system = warpage_system(package, loads, temperatures, order, element, hold, assembly)
    setup, F, R, N = system.setup, system.F, system.R, system.setup.basis.N
    n = F.shape[0]
    solver = quadratic_simplex_solver(setup.basis, system.fixed, n, solver)
    blocks, timer = _timed(_blocks(setup, assembly, system.fast and setup.basis.is_box,
                                   system.extra, solver))
    assembly_seconds = time.perf_counter() - system.start
    solution = fem_solve(blocks, F, system.fixed,
                         np.repeat(system.values[:, None], F.shape[1], axis=1),
                         n=n, solver=solver,
                         # generalized plane strain: the e_yy unknowns (numbered last) are off
                         # the grid; cg-gmg borders the multigrid with them, auto stays direct
                         grid=setup.basis.grid if system.extra is None or solver == "cg-gmg"
                         else None,
                         near_null_space=np.vstack([R, np.zeros((n - N, R.shape[1]))]))
    return warpage_results(system, solution, assembly_seconds + timer[0])


def warpage_results(system: WarpageSystem, solution, assembly_seconds: float
                    ) -> tuple[WarpageResult, ...]:
    """One WarpageResult per load case of ``system`` from a solution of its linear system
    (``fem.solve.Solution``: x, reactions ``K x - F``, the linear solver's stats)."""
    setup, F, fixed, held = system.setup, system.F, system.fixed, system.held
    package, basis, model = setup.package, setup.basis, setup.model
    N, n, free_modes = basis.N, F.shape[0], system.free_modes
    results = []
    for j, field in enumerate(system.fields):
        u = solution.x[:N, j]
        if free_modes.shape[1]:
            u = u - free_modes @ np.linalg.lstsq(free_modes, u, rcond=None)[0]
        stats = force_balance(system.R, solution.reactions[:N, j], F[:N, j], held)
        stats.update(
            unknowns=int(n), constrained_dofs=int(len(fixed)), held_dofs=int(len(held)),
            rigid_modes_removed=int(free_modes.shape[1]), element=setup.element,
            intorder=INTORDER[setup.element], assembly_seconds=assembly_seconds,
            solve_seconds=solution.stats["seconds"],
            linear_solver=dict(solution.stats),
            residual=solution.stats["relative_residual"],
            seconds=time.perf_counter() - system.start)
        results.append(WarpageResult(
            package=package, loads=system.loads, space=basis,
            displacement=u, stats=stats,
            element=setup.element, plane=model.plane, temperature=field,
            stress_free_temperature=dict(zip(package.parts, model.stress_free.tolist())),
            generalized_strain=solution.x[N:, j].copy() if system.extra is not None else None,
            model=model))
    return tuple(results)


def matrix_free(setup: SolveSetup, assembly: str, on_grid: bool, n_free: int, solver) -> bool:
    """Whether the free block is a matrix-free cell operator (``assembly="cells"``, or
    ``"auto"`` on 3D box meshes with quadratic elements solved by cg-gmg)."""
    grid = setup.basis.grid if on_grid else None
    if grid is None or grid.reach != 2 or setup.package.dimension != 3:
        return False
    return assembly == "cells" or (assembly == "auto" and isinstance(solver, str) and (
        solver == "cg-gmg" or (solver == "auto" and n_free > MULTIGRID_LIMIT)))


def _blocks(setup: SolveSetup, assembly: str, on_grid: bool, extra, solver="auto"):
    """``blocks(free, fixed)`` of the stiffness: on box meshes written straight from the
    cells (grid_assembly: the full K is never built), or the free block as a matrix-free
    operator (:func:`matrix_free`); otherwise K assembled and condensed (built inside, so
    it is freed before the solve)."""
    def blocks(free, fixed):
        if extra is None and matrix_free(setup, assembly, on_grid, len(free), solver):
            return structured.elasticity_operator(setup.package, setup.basis,
                                                  setup.model.reduced[setup.part],
                                                  setup.basis.grid, free, fixed)
        if on_grid:
            return structured.elasticity_blocks(setup.package, setup.basis,
                                                setup.model.reduced[setup.part],
                                                setup.basis.grid, free, fixed)
        K = _stiffness(setup, assembly)
        if extra is not None:  # generalized plane strain: three more unknowns
            coupling, out_of_plane = extra
            K = sp.bmat([[K, coupling], [coupling.T, sp.csr_matrix(out_of_plane)]],
                        format="csr")
        return constraints.condense(K, free, fixed)
    return blocks


def _timed(function):
    """``function`` and a one-element list that receives the seconds it took."""
    seconds = [0.0]

    def timed(*args):
        tick = time.perf_counter()
        out = function(*args)
        seconds[0] += time.perf_counter() - tick
        return out
    return timed, seconds


def force_balance(R, reactions, load, held) -> dict:
    """Force balance: the reactions of a self-equilibrated (thermal) load sum to zero."""
    dim = 3 if R.shape[1] == 6 else 2
    translations = R[:, :dim]
    total = translations.T @ reactions
    scale = float(np.abs(load).sum()) or 1.0
    return {"reaction_sum": total.tolist(),
            "force_balance": float(np.linalg.norm(total) / scale),
            "held_reaction_relative": float(np.abs(reactions[held]).max(initial=0.0) / scale),
            "load_scale": scale}


# --- fields after the solve ----------------------------------------------------------------

def quadrature_stress(result: WarpageResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``result.quadrature_stress()``: stress (6, cells, points) Pa, points (dim, cells,
    points) m and weights (cells, points) at every cell's quadrature points."""
    return result.quadrature_stress()
