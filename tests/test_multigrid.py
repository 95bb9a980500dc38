"""Geometric multigrid on the tensor grid (thermomech.fem.multigrid) as a CG preconditioner.

The models are the bundled flip-chip at a coarse size: thin layers (25 um adhesive, 75 um
bump layer under a 0.3 mm die, one cell per layer, in-plane cells ~20x the thinnest layer),
conductivity contrast ~1000:1 (copper 400 vs underfill / laminate < 1 W/(m K)), stiffness
contrast ~100:1; the stacked-carrier model adds removed cells (grid_cells == -1).
"""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import skfem

from thermomech.errors import SolverError
from thermomech.fem.multigrid import Multigrid, permute
from thermomech.fem.space import Grid, element_grid
from thermomech.linear_solvers import MULTIGRID_LIMIT, choose_method, solve_linear
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.mechanics import solve_warpage
from thermomech.model_file import load_model, mesh_model
from thermomech.thermal import solve_thermal
from thermomech.thermal_loads import FixedTemperature


@pytest.fixture(scope="module")
def model():
    return load_model("meshes/flip_chip.toml")


@pytest.fixture(autouse=True)
def small_coarsest(monkeypatch):
    """Coarsen down to 150 unknowns so these small models get a real hierarchy (4-6 levels)."""
    monkeypatch.setattr("thermomech.fem.multigrid.COARSEST", 150)


def package_of(model, dimension, target):
    options = dataclasses.replace(model.mesh, dimension=dimension, target_size=target,
                                  symmetry="quarter" if dimension == 3 else "half")
    return mesh_model(model.with_values(mesh=options))


@pytest.mark.parametrize("dimension, elements", [
    (2, (skfem.ElementQuad1, skfem.ElementQuad2)),
    (3, (skfem.ElementHex1, skfem.ElementHexS2, skfem.ElementHex2))])
def test_grid_nodes_are_the_dof_locations(model, dimension, elements):
    """Each dof's grid node is exactly scikit-fem's dof location (scalar and vector)."""
    package = package_of(model, dimension, 2e-3)
    for element in elements:
        for ncomp in (1, dimension):
            grid = element_grid(package.axes, package.cell_index, package.mesh, element(),
                                ncomp)
            vector = element() if ncomp == 1 else skfem.ElementVector(element(), dimension)
            basis = skfem.Basis(package.mesh, vector)
            multi = np.unravel_index(grid.node, grid.shape)
            where = np.array([axis[i] for axis, i in zip(grid.axes, multi)])
            # midpoints (a + b) / 2 vs scikit-fem's mapped reference points: round-off only
            assert np.allclose(where, basis.doflocs, rtol=0, atol=1e-12 * np.ptp(where))
            assert np.array_equal(grid.component[::ncomp], np.zeros(basis.N // ncomp))


@pytest.mark.parametrize("dimension, element", [(3, skfem.ElementHexS2), (3, skfem.ElementHex1),
                                                (2, skfem.ElementQuad2)])
def test_prolongation_rows_equal_the_whole_matrix_rows(model, dimension, element):
    """``_coarsen(..., rows=r)`` (a rank's own rows in distributed.geometric) is ``P[r]`` of
    the whole prolongation, bit for bit, on every coarsening of the hierarchy."""
    from thermomech.fem.multigrid import _coarsen
    package = package_of(model, dimension, 1e-3)
    grid = element_grid(package.axes, package.cell_index, package.mesh, element(), dimension)
    rng = np.random.default_rng(3)
    axes_list = [tuple(range(dimension))] if grid.reach > 1 else []
    axes_list += [tuple(range(dimension - 1))] * 2
    for axes in axes_list:
        rows = np.sort(rng.choice(len(grid.node), len(grid.node) // 3, replace=False))
        P, coarse = _coarsen(grid, axes)
        mine, same = _coarsen(grid, axes, rows=rows)
        assert np.array_equal(same.node, coarse.node)
        assert mine.shape == (len(rows), P.shape[1]) and mine.nnz > 0
        assert abs(mine - P[rows]).max() == 0.0
        grid = coarse


def test_permute_equals_fancy_indexing():
    A = sp.random(60, 60, density=0.2, format="csr", random_state=1)
    order = np.random.default_rng(2).permutation(60)
    assert abs(permute(A, order) - A[order][:, order]).max() == 0.0


def test_v_cycle_is_symmetric_positive_definite(model):
    """A CG preconditioner must be SPD: u.M(v) == v.M(u) and v.M(v) > 0 (round-off)."""
    package = package_of(model, 3, 1.5e-3)
    A, _, grid = heat_system(model, package)
    mg = Multigrid(A, grid, coarsest=200)
    assert len(mg.sizes) >= 3  # a real hierarchy, not just the coarse factor
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, A.shape[0]))
    assert abs(u @ mg(v) - v @ mg(u)) < 1e-10 * np.sqrt((u @ mg(u)) * (v @ mg(v)))
    assert v @ mg(v) > 0


@pytest.mark.parametrize("order", [1, 2])
def test_line_halves_on_two_threads_are_bitwise_one_thread(model, monkeypatch, order):
    """The smoother's colours split in two halves at a line boundary, each half's product
    and line solve on its own thread (tridiagonal Q1 lines; banded lines of the quadratic
    level): the same V-cycle to the last bit as one piece per colour on one thread.
    Control: the split happens (two pieces per colour on the fine level)."""
    from thermomech import thermal
    from thermomech.fem import multigrid

    package = package_of(model, 3, 1.5e-3)
    basis = thermal.thermal_space(package, order)
    assembly = thermal.choose_assembly(basis)
    problem = thermal.assemble_problem(package, model.thermal, basis, assembly)
    A = assembly.diffusion(package, basis, thermal.conductivity_field(package)) + problem.robin
    v = np.random.default_rng(3).standard_normal(A.shape[0])
    monkeypatch.setattr(multigrid, "LINE_SPLIT", 50)
    cycles = {}
    for count in ("1", "2"):
        monkeypatch.setenv("THERMOMECH_NUM_THREADS", count)
        mg = Multigrid(A, basis.grid, coarsest=200)
        assert mg.levels[0].tridiagonal == (order == 1)
        assert {len(pieces) for pieces in mg.levels[0].colours} == {int(count)}
        cycles[count] = mg(v)
    assert np.array_equal(cycles["1"], cycles["2"])


def heat_system(model, package):
    from thermomech import thermal

    basis = thermal.thermal_space(package, 1)
    assembly = thermal.choose_assembly(basis)
    problem = thermal.assemble_problem(package, model.thermal, basis, assembly)
    A = assembly.diffusion(package, basis, thermal.conductivity_field(package)) + problem.robin
    return A, problem.power + problem.load, problem.basis.grid


@pytest.mark.parametrize("path, dimension, target", [
    ("meshes/flip_chip.toml", 2, 0.1e-3), ("meshes/flip_chip.toml", 3, 0.5e-3),
    ("meshes/stacked_carriers.toml", 3, 0.4e-3)])
def test_heat_multigrid_equals_the_direct_solver(path, dimension, target):
    """cg-gmg converges in few iterations on the thin-layer, 1000:1-contrast heat problem
    and equals the Cholesky answer to the solver tolerance: relative residual 1e-10 and a
    condition number below 1e4 bound the relative error by 1e-6 (measured: ~1e-9)."""
    model = load_model(path)
    package = package_of(model, dimension, target)
    if "stacked" in path:
        assert np.any(package.grid_cells < 0)  # removed cells (air between the carriers)
    A, b, grid = heat_system(model, package)
    _, stats = solve_linear(A, b, "cg-gmg", grid=grid)
    assert stats["levels"] >= 4 and stats["iterations"] <= 25
    direct = solve_thermal(package, model.thermal, solver="direct")
    mg = solve_thermal(package, model.thermal, solver="cg-gmg")
    assert mg.stats["linear_solver"] == "cg-gmg"
    assert mg.stats["iterations"] <= 25 * mg.stats["nonlinear_iterations"]
    rise = direct.temperature - model.thermal.ambient
    assert np.max(np.abs(mg.temperature - direct.temperature)) < 1e-6 * rise.max()


def test_heat_multigrid_with_fixed_temperatures(model):
    """Dirichlet dofs are condensed out: the grid is restricted to the free dofs."""
    package = package_of(model, 3, 0.6e-3)
    loads = dataclasses.replace(model.thermal, fixed_temperature=(
        FixedTemperature("bottom", 40.0),))
    direct = solve_thermal(package, loads, solver="direct")
    mg = solve_thermal(package, loads, solver="cg-gmg")
    assert mg.stats["iterations"] <= 25 * mg.stats["nonlinear_iterations"]
    rise = direct.temperature.max() - 40.0
    assert np.max(np.abs(mg.temperature - direct.temperature)) < 1e-6 * rise


@pytest.mark.parametrize("dimension, target, element", [(3, 1.5e-3, "HexS2"),
                                                        (3, 1.0e-3, "Hex1"),
                                                        (2, 0.1e-3, "Quad2")])
def test_warpage_multigrid_equals_the_direct_solver(model, dimension, target, element):
    """p-multigrid (quadratic -> linear on the same grid) then semi-coarsening: the
    displacement equals the direct solver's to 1e-6 of the peak (tolerance 1e-10 on the
    relative residual; measured difference ~1e-9)."""
    package = package_of(model, dimension, target)
    loads = MechanicalLoads(plane="strain") if dimension == 2 else MechanicalLoads()
    direct = solve_warpage(package, loads, element=element, solver="direct")
    mg = solve_warpage(package, loads, element=element, solver="cg-gmg")
    assert mg.stats["linear_solver"]["method"] == "cg-gmg"
    assert mg.stats["linear_solver"]["iterations"] <= 40
    assert mg.stats["linear_solver"]["levels"] >= 3
    peak = np.abs(direct.displacement).max()
    assert np.max(np.abs(mg.displacement - direct.displacement)) < 1e-6 * peak


def test_auto_picks_multigrid_when_the_grid_is_known():
    grid = Grid((np.arange(3.0),), np.arange(3), np.zeros(3, dtype=int))
    assert choose_method(MULTIGRID_LIMIT + 1, grid) == "cg-gmg"
    assert choose_method(MULTIGRID_LIMIT, grid) == "direct"
    assert choose_method(MULTIGRID_LIMIT + 1) != "cg-gmg"


def test_multigrid_without_a_grid_falls_back_to_amg_and_checks_convergence(model):
    """No tensor grid (an imported mesh): cg-gmg runs cg-amg and says so; an unconverged
    multigrid solve is a SolverError naming the method and the residual reached."""
    A = sp.diags([-1.0, 2.01, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    x, stats = solve_linear(A, np.ones(50), "cg-gmg")
    assert stats["method"] == "cg-amg" and "cg-gmg needs the tensor grid" in stats["fallback"]
    assert np.linalg.norm(A @ x - 1.0) < 1e-9 * np.sqrt(50)
    package = package_of(model, 3, 1.5e-3)
    A, b, grid = heat_system(model, package)
    with pytest.raises(SolverError, match=r"cg-gmg solve did not converge: relative residual "
                                          r"\d\.\d\de[-+]\d\d > 1e-12"):
        solve_linear(A, b, "cg-gmg", grid=grid, maxiter=1, tol=1e-12)


@pytest.mark.parametrize("path, target, element", [
    ("meshes/flip_chip.toml", 0.1e-3, "Quad2"), ("meshes/panel_fan_out.toml", 0.5e-3, "Quad2"),
    ("meshes/flip_chip.toml", 0.1e-3, "Quad1")])
def test_generalized_plane_strain_multigrid_equals_the_direct_solver(path, target, element):
    """2D default (generalized plane strain): the e_yy unknowns are off the grid; cg-gmg
    borders the multigrid with them (Schur complement) and equals the direct answer. It
    raised ValueError ("needs the grid") on every 2D model. Tolerance: displacement to
    1e-6 of the peak, e_yy terms to 1e-6 of the largest (CG to 1e-9). Measured: 3e-10 on
    the flip chip; 3e-7 on the panel fan-out, whose 1 um layers make it ill-conditioned
    (both answers have backward errors near 1e-15: the difference is conditioning)."""
    model = load_model(path)
    package = package_of(model, 2, target)
    loads = model.mechanical
    assert loads.plane == "generalized_strain"
    direct = solve_warpage(package, loads, element=element, solver="direct")
    mg = solve_warpage(package, loads, element=element, solver="cg-gmg")
    solver = mg.stats["linear_solver"]
    assert solver["method"] == "cg-gmg" and solver["levels"] >= 3
    assert solver["iterations"] <= 60
    peak = np.abs(direct.displacement).max()
    assert np.max(np.abs(mg.displacement - direct.displacement)) < 1e-6 * peak
    g = np.abs(direct.generalized_strain)
    assert np.all(np.abs(mg.generalized_strain - direct.generalized_strain) <= 1e-6 * g.max())
    assert g[0] > 1e-4  # e_yy of a 150 K cool-down: a real number, not a zero


def test_bordered_multigrid_is_symmetric_positive_definite(model):
    """The Schur-complement preconditioner is a valid CG preconditioner."""
    from thermomech.linear_solvers import _gmg_preconditioner

    A, grid = generalized_system(model)
    M = _gmg_preconditioner(A, grid)
    assert A.shape[0] - len(grid.node) in (2, 3)
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal((2, A.shape[0]))
    assert abs(u @ M(v) - v @ M(u)) < 1e-10 * np.sqrt((u @ M(u)) * (v @ M(v)))
    assert v @ M(v) > 0


def generalized_system(model):
    """The free block of 2D generalized plane strain and the grid of its leading unknowns,
    as solve_warpage hands them to the solver."""
    import thermomech.fem.solve as fem_solve

    package = package_of(model, 2, 0.2e-3)
    captured = {}

    def capture(A, b, method, **options):
        captured.update(A=A, grid=options["grid"])
        raise _CapturedError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fem_solve, "solve_linear", capture)
        with pytest.raises(_CapturedError):
            solve_warpage(package, model.mechanical, solver="cg-gmg")
    return sp.csr_matrix(captured["A"]), captured["grid"]


class _CapturedError(Exception):
    pass


def test_factorized_multigrid_reuses_the_hierarchy(model):
    """Transient steps: one hierarchy, many right-hand sides, each checked to tolerance."""
    from thermomech.linear_solvers import factorized

    package = package_of(model, 3, 1.0e-3)
    A, b, grid = heat_system(model, package)
    solve = factorized(A, "cg-gmg", grid=grid, tol=1e-10)  # this heat problem reaches it
    exact = solve_linear(A, b, "direct")[0]
    for scale in (1.0, 2.0):
        x, stats = solve(scale * b, x0=0.9 * scale * exact)
        assert stats["method"] == "cg-gmg" and stats["relative_residual"] < 1e-10
        assert np.max(np.abs(x - scale * exact)) < 1e-6 * scale * np.abs(exact).max()


def test_quadratic_heat_uses_p_multigrid(model):
    """Q2 temperature (Hex2): quadratic -> linear -> semi-coarsened levels; equals direct."""
    package = package_of(model, 3, 1.5e-3)
    direct = solve_thermal(package, model.thermal, order=2, solver="direct")
    mg = solve_thermal(package, model.thermal, order=2, solver="cg-gmg")
    assert mg.stats["iterations"] <= 30 * mg.stats["nonlinear_iterations"]
    rise = direct.temperature.max() - model.thermal.ambient
    assert np.max(np.abs(mg.temperature - direct.temperature)) < 1e-6 * rise


@pytest.mark.parametrize("shape", [(6, 40), (3, 3)])
def test_coarsest_factor_banded_or_dense_solves_exactly(shape):
    """The coarsest level's factor (banded after reverse Cuthill-McKee when the band is
    narrow, dense otherwise: the 3 x 3 grid) solves to round-off: a 2D Laplacian plus a shift,
    numbered with the long axis first (a wide band before reordering)."""
    from thermomech.fem.coarse_factor import banded_or_dense_factor

    def line(m):
        return sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))

    a, b = shape
    A = (sp.kron(line(a), sp.eye(b)) + sp.kron(sp.eye(a), line(b)) + 0.1 * sp.eye(a * b))
    A = sp.csr_matrix(A)
    rhs = np.random.default_rng(1).random(a * b)
    x = banded_or_dense_factor(A)(rhs)
    assert np.linalg.norm(A @ x - rhs) <= 1e-12 * np.linalg.norm(rhs)
