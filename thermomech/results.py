"""Results of the solvers: fields, the space they live on, the material model and provenance.

Fields are numpy arrays of dof values on ``result.space`` (:class:`fem.space.Space`);
temperatures degC, displacements m, stresses Pa. Metrics, plots and exports evaluate fields
through the result (``temperature_at``, ``displacement_at``, ``stress_at``,
``quadrature_stress``, ``integral``), never through solver internals. ``stats`` holds
unknowns, times (s), iterations and residuals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import skfem

from .fem.assembly import choose_assembly
from .fem.space import Field, Space
from .mechanical_loads import MechanicalLoads
from .meshing import MeshedPackage
from .thermal_loads import ThermalLoads
from .threads import one_blas_thread


@dataclass(frozen=True)
class ThermalResult:
    """A temperature field: steady, or the end of a transient (owner: thermal.py).

    space : the scalar space of the field (``space.basis`` is scikit-fem's basis, built on
        first use).
    temperature : (N,) degC at the space's dofs.
    stats : unknowns, order, assembly, assembly_seconds, solve_seconds, linear_solver,
        iterations, relative_residual, nonlinear_iterations, energy_balance_error, seconds.
    heat_out : W leaving through each boundary-condition surface, whole package.
    heat_paths : W leaving through faces looking up ("heat_sink"), down ("board") and
        sideways ("sides"), whole package.
    power : W generated in the whole package (transient: the nominal power, profile 1).
    times : (outputs,) s, transient only; snapshots : (outputs, N) degC at those times.
    history : transient only: arrays over steps: "time" (s), "power_W", "<die>.max_C",
        "probe.<name>_C".
    """

    package: MeshedPackage
    loads: ThermalLoads
    space: Space
    temperature: np.ndarray
    stats: Mapping[str, object] = field(default_factory=dict)
    heat_out: Mapping[str, float] = field(default_factory=dict)
    heat_paths: Mapping[str, float] = field(default_factory=dict)
    power: float = 0.0
    times: np.ndarray | None = None
    snapshots: np.ndarray | None = None
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def is_transient(self) -> bool:
        return self.times is not None

    @property
    def field(self) -> Field:
        return Field(self.space, self.temperature)

    def temperature_at(self, points: np.ndarray, cells: np.ndarray | None = None,
                       field: str = "points") -> np.ndarray:
        """(n,) degC at points (dim, n), m (in ``cells`` if given, else located)."""
        return self.space.point_matrix(points, cells, field) @ self.temperature

    def cell_mean(self, indicator: np.ndarray) -> float:
        """Mean temperature (degC) over the cells weighted by ``indicator`` (cells,), the
        field integrated exactly."""
        weights = choose_assembly(self.space).source(self.package, self.space, indicator)
        return float(weights @ self.temperature / weights.sum())

    def face_mean(self, faces) -> float:
        """Area-averaged temperature (degC) over boundary ``faces`` (``meshing.Faces``)."""
        weights = choose_assembly(self.space).boundary_load(self.package, self.space, faces,
                                                            1.0)
        return float(weights @ self.temperature / weights.sum())


@dataclass(frozen=True)
class WarpageResult:
    """Displacement field of a thermo-elastic solve (owner: mechanics.py)."""

    package: MeshedPackage
    loads: MechanicalLoads
    space: Space              # the vector space the displacement lives on
    displacement: np.ndarray  # m at the space's dofs
    stats: Mapping[str, object] = field(default_factory=dict)
    # added by the mechanics solver (defaults keep older constructions working):
    element: str = ""         # "Hex1", "HexS2", "Hex2", "Quad1", "Quad2"
    plane: str | None = None  # 2D assumption: strain | stress | generalized_strain (3D: None)
    temperature: object = None  # degC: a float (uniform) or a Field on a scalar space
    stress_free_temperature: Mapping[str, float] = field(default_factory=dict)  # degC per part
    generalized_strain: np.ndarray | None = None  # 2D generalized plane strain: (3,) with
    # e_yy = g[0] + g[1] x + g[2] z (x, z in m)
    model: object = None  # the material model (mechanics.ElasticModel): stress(part, grad, T)
    # quadrature_stress, computed once: the summary, result.vtu and the von Mises figure all
    # read it (three evaluations were 1.6 s of a default run's 4.2 s of outputs, CPU). Not an
    # init field: dataclasses.replace makes a new, empty cache (a new displacement never
    # meets an old stress)
    _stress_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def temperature_at(self, points: np.ndarray, cells: np.ndarray | None = None):
        """degC at points (dim, n): a float (uniform load) or (n,)."""
        if isinstance(self.temperature, Field):
            return self.temperature.at(points, cells)
        return self.temperature

    def displacement_at(self, points: np.ndarray, cells: np.ndarray | None = None
                        ) -> np.ndarray:
        """(dim, n) displacement (m) at points (dim, n), m."""
        return self.space.evaluate(self.displacement, points, cells)[0]

    def stress_at(self, points: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """(6, n) stress (Pa, 3D Voigt xx, yy, zz, yz, xz, xy) at points (dim, n), evaluated
        in ``cells`` (default: the cell containing each point, + side on a grid line of a box
        mesh); pass cells for a one-sided value at an interface."""
        points = np.asarray(points, dtype=float)
        cells = self.space.locate(points) if cells is None else np.asarray(cells)
        _, grad = self.space.evaluate(self.displacement, points, cells)
        return self.stress_of_gradient(grad, points, cells, self.temperature_at(points, cells))

    def stress_of_gradient(self, grad: np.ndarray, points: np.ndarray, cells: np.ndarray,
                           T) -> np.ndarray:
        """(6, n) stress (Pa) from the displacement gradient (dim, dim, n) at points (dim, n)
        m in ``cells``, at temperature T: (n,) degC or one value."""
        T = T[:, None] if isinstance(T, np.ndarray) else T
        part = np.asarray(self.package.cell_part)[cells]
        stress = self.model.stress(part, grad[..., None], T, points[..., None],
                                   self.generalized_strain, cells=cells)
        return stress[..., 0]

    def quadrature_stress(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stress at the quadrature points of every cell.

        Returns (stress (6, cells, points) Pa in 3D Voigt order xx, yy, zz, yz, xz, xy;
        points (dim, cells, points) m; weights (cells, points): m^3, or m^2 in 2D), kept with
        the result (stress and points read-only: callers share them).
        """
        cache = self._stress_cache
        if "quadrature" not in cache:
            cache["from_box"] = "basis" not in self.space.__dict__ and _box_ready(
                self.space, self.temperature)  # as _quadrature_stress decides
            arrays = self._quadrature_stress()
            for a in arrays[:2]:  # the weights are the basis' own array
                a.flags.writeable = False
            cache["quadrature"] = arrays
        return cache["quadrature"]

    def __getstate__(self) -> dict:
        """The result's fields for pickle, without a quadrature stress made from the box
        cells' tables: made again from the box where it is read (0.08 s CPU at 562k
        unknowns, one BLAS thread), it is cheaper than its 87 MB of arrays through the
        figure helper's pipe (the von Mises figure reads it). Other quadrature stresses (from
        scikit-fem's basis, ~1 s there) go with the result."""
        state = dict(self.__dict__)
        if state["_stress_cache"].get("from_box"):
            state["_stress_cache"] = {}
        return state

    def _quadrature_stress(self):
        space = self.space
        if "basis" not in space.__dict__ and _box_ready(space, self.temperature):
            return self._box_quadrature_stress()
        if "basis" in space.__dict__:  # the vector basis is built already: use it
            basis = space.basis
            grad = basis.interpolate(self.displacement).grad
        else:  # from the scalar gradients (measured: docs/performance.md)
            basis = space.scalar_basis
            grad = space.gradient(self.displacement)
        coords = basis.mapping.F(basis.X)
        T = self.temperature.at_quadrature(basis) if isinstance(
            self.temperature, Field) else self.temperature
        part = np.asarray(self.package.cell_part)
        stress = self.model.stress(part, grad, T, coords, self.generalized_strain)
        return stress, coords, basis.dx

    def _box_quadrature_stress(self):
        """:meth:`quadrature_stress` on box cells from the unit cell's tables: every cell is
        the first one scaled by its edge lengths h, so a shape function's gradient at a
        quadrature point is the unit cell's divided by h, the point is the cell's low corner
        plus h times the unit point, the weight the unit weight times the volume (as
        ``process_points.BoxPoints``). The same points in scikit-fem's order and the same
        sums as its basis, without its per-cell arrays: 1.1 -> 0.2 s CPU at 562k unknowns;
        equal to the basis to round-off (``tests/test_mechanics.py``).

        The stress of a point-wise model (``elasticity.ElasticModel``'s own ``stress``) is
        made :data:`BOX_BLOCK` cells at a time: the gradient, strain and per-part products
        of a block stay in cache and their memory is reused, where the whole arrays touched
        437 MB of fresh pages for a 52 MB stress at 562k unknowns (0.14-0.68 s of kernel
        time). The same products per point, so the same numbers: bit for bit at 562k
        unknowns with OpenBLAS on one thread, to round-off in ``tests/test_mechanics.py``."""
        space = self.space
        cells = space.active_cells
        one, first, sizes, coords, dx = self._box_points()
        # (k, p, q): d phi_k / d xi_p on the unit cell at its quadrature points
        tables = np.array([phi[0].grad[:, 0, :] * sizes[:, :1] for phi in first.basis])
        T, values, field_dofs = self.temperature, None, None
        if isinstance(T, Field):  # its shape functions' values at the same unit points
            probe = skfem.Basis(one, T.space.elem, quadrature=first.quadrature)
            values = np.array([np.asarray(phi[0])[0] for phi in probe.basis])  # (k, q)
            field_dofs = T.space.dofs.element_dofs[:, cells]
        part = np.asarray(self.package.cell_part)
        ncells = coords.shape[1]
        step = BOX_BLOCK if (_pointwise(self.model) and len(part) == ncells) else ncells
        # the blocks' small products on one BLAS thread (a second one spins between them:
        # 0.16-0.19 s CPU instead of 0.07 at 562k unknowns), which also makes the numbers
        # those of one thread wherever this runs
        with one_blas_thread(step < ncells):
            return self._box_stress_blocks(step, tables, sizes, coords, dx, part, T, values,
                                           field_dofs)

    def _box_stress_blocks(self, step, tables, sizes, coords, dx, part, T, values,
                           field_dofs):
        """The loop of :meth:`_box_quadrature_stress` over blocks of ``step`` cells."""
        space, element_dofs = self.space, self.space.element_dofs
        nloc, ncomp, (dim, ncells, nq) = len(tables), space.ncomp, coords.shape
        stress = None
        for start in range(0, ncells, step):  # a loop over blocks of cells
            block = slice(start, start + step)
            local = self.displacement[element_dofs[:, block]].reshape(nloc, -1)  # (k, c cells)
            m = local.shape[1] // ncomp
            # one matrix product (c cells, k) @ (k, p q), then / h_p
            unit_grad = (local.T @ tables.reshape(nloc, -1)).reshape(ncomp, m, dim, nq)
            grad = np.divide(unit_grad.transpose(0, 2, 1, 3), sizes[None, :, block, None],
                             out=np.empty((ncomp, dim, m, nq)))
            here = T if values is None else np.asarray(T.values)[field_dofs[:, block]].T @ values
            out = self.model.stress(part[block] if step < ncells else part, grad, here,
                                    coords[:, block], self.generalized_strain)
            if step == ncells:
                return out, coords, dx
            if stress is None:
                stress = np.empty((len(out), ncells, nq))
            stress[:, block] = out
        return stress, coords, dx

    def _box_points(self):
        """(the first active cell as a mesh, its scalar basis, (dim, cells) edge lengths m,
        (dim, cells, points) quadrature points m, (cells, points) weights) of the box cells:
        every cell the first one scaled by its edge lengths."""
        space = self.space
        cells = space.active_cells
        mesh = space.mesh  # the first cell alone: a basis of the whole mesh numbers its dofs
        one = type(mesh)(mesh.p[:, mesh.t[:, cells[0]]], np.arange(mesh.t.shape[0])[:, None])
        first = skfem.Basis(one, space.scalar_element, intorder=space.intorder)
        sizes = space.box.cell_sizes[:, cells]  # (dim, cells) m
        h0 = sizes[:, 0]
        low = mesh.p[:, mesh.t[:, cells]].min(axis=1)  # (dim, cells)
        unit = (first.mapping.F(first.X)[:, 0, :] - low[:, :1]) / h0[:, None]
        coords = low[:, :, None] + sizes[:, :, None] * unit[:, None, :]
        dx = np.prod(sizes, axis=0)[:, None] * (first.dx[0] / np.prod(h0))[None, :]
        return one, first, sizes, coords, dx


BOX_BLOCK = 1024
"""Cells per block of the box-cell quadrature stress (:meth:`WarpageResult.
_box_quadrature_stress`): 1.3 MB of stress at 27 points. A multiple of 4: OpenBLAS makes
the rows of a product in tiles of 4, and a tile's rows come out the same wherever it lies,
so blocks of whole tiles (the last block ending as the whole array does) give the whole
product's numbers."""


def _pointwise(model) -> bool:
    """Whether ``model.stress`` is ``ElasticModel``'s own: each point's stress from its own
    gradient, temperature and part (a process increment's model reads its cells too)."""
    from .elasticity import ElasticModel

    return type(model).stress is ElasticModel.stress


def _box_ready(space: Space, temperature) -> bool:
    """Whether :meth:`WarpageResult.quadrature_stress` may use the unit cell's tables: a box
    mesh (cells with the mesher's vertex order, as ``fem.structured`` assumes), Lagrange
    elements, a temperature that is one value or a field of the same mesh."""
    return (space.box is not None and isinstance(space.scalar_element, skfem.ElementH1)
            and (not isinstance(temperature, Field) or (
                temperature.space.mesh is space.mesh
                and isinstance(temperature.space.elem, skfem.ElementH1))))
