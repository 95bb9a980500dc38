"""Thermo-mechanical verification (VERIFICATION.md, thermo-mechanical 1-7).

Each test computes the exact value from the cited formula and compares the finite-element
result with a stated tolerance. Meshes are coarse on purpose: thin layers with one or two
quadratic cells through each layer and in-plane cells 5-20x the layer thickness.
"""

from __future__ import annotations

import numpy as np
import pytest
import skfem

from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.mechanics import (
    _load_vector,
    _stiffness,
    quadrature_stress,
    solve_setup,
    solve_warpage,
)
from thermomech.meshing import MeshOptions, mesh_layout

DT = -100.0  # cooling from 125 degC to 25 degC
LOADS = {plane: MechanicalLoads(stress_free_temperature=125.0, temperature=25.0, plane=plane)
         for plane in ("stress", "strain", "generalized_strain")}


def _material(name, E, nu, cte):
    return Material(name, youngs_modulus=E, poisson_ratio=nu, cte=cte)


def _stack(layers, length, dimension=2, width=None, target=None, per_layer=1, symmetry="none"):
    """Layers [(part, Material, thickness)] bottom-up over x in [-L/2, L/2] (y likewise)."""
    width = width or length
    boxes, z = [], 0.0
    for part, material, t in layers:
        boxes.append(Box(part, material.name, (-length / 2, length / 2),
                         (-width / 2, width / 2), (z, z + t)))
        z += t
    options = MeshOptions(dimension=dimension, target_size=target or length / 20,
                          min_cells_per_layer=per_layer, symmetry=symmetry, growth=1.5)
    return mesh_layout(Layout(tuple(boxes)), options, {m.name: m for _, m, _ in layers})


def fitted_curvature(result, z_top, length):
    """kappa of u_z = w0 - kappa x^2 / 2 fitted (least squares) over the middle half, at the
    top surface along y = 0 (VERIFICATION.md: free-end zones are not beam theory)."""
    basis = result.space
    loc = basis.doflocs
    dim = loc.shape[0]
    comp = basis.components
    sel = (comp == dim - 1) & np.isclose(loc[dim - 1], z_top) & (np.abs(loc[0]) <= length / 4)
    if dim == 3:
        sel &= np.isclose(loc[1], loc[1][sel].min())  # the row nearest y = 0
    x = loc[0, sel]
    A = np.column_stack([np.ones_like(x), -x**2 / 2])
    return np.linalg.lstsq(A, result.displacement[sel], rcond=None)[0][1]


def timoshenko(E1, E2, a1, a2, t1, t2, dT):
    """Timoshenko (1925) bimetal curvature, layer 1 at the bottom; positive = centre up."""
    m, n, h = t1 / t2, E1 / E2, t1 + t2
    return 6 * (a2 - a1) * dT * (1 + m)**2 / (h * (3 * (1 + m)**2 + (1 + m * n) * (m**2 + 1 / (
        m * n))))


def laminate_curvature(E, alpha, t, dT):
    """n-layer curvature from N = 0, M = 0 with strain c + kappa z (Hsueh, J. Appl. Phys. 91
    (2002) 9652): layers bottom-up with effective moduli E and CTEs alpha."""
    z = np.concatenate([[0.0], np.cumsum(t)])
    z0, z1 = z[:-1], z[1:]
    A = np.array([[np.sum(E * (z1 - z0)), np.sum(E * (z1**2 - z0**2) / 2)],
                  [np.sum(E * (z1**2 - z0**2) / 2), np.sum(E * (z1**3 - z0**3) / 3)]])
    b = dT * np.array([np.sum(E * alpha * (z1 - z0)), np.sum(E * alpha * (z1**2 - z0**2) / 2)])
    return np.linalg.solve(A, b)[1]


SI = _material("si", 130e9, 0.28, 2.6e-6)
CU = _material("cu", 117e9, 0.34, 17e-6)


def _effective(material, plane):
    E, nu, a = material.youngs_modulus, material.poisson_ratio, material.cte
    return {"stress": (E, a), "strain": (E / (1 - nu**2), (1 + nu) * a),
            "generalized_strain": (E / (1 - nu), a), "3d": (E / (1 - nu), a)}[plane]


# --- 1. free expansion ---------------------------------------------------------------------

@pytest.mark.parametrize("order", [1, 2])
def test_free_expansion_uniform_is_stress_free_with_u_alpha_dT_x(order):
    # homogeneous unconstrained body, uniform dT: the exact solution is in the FE space, so
    # the stress must vanish to round-off (1e-9 of E alpha dT) and u = alpha dT (x - centre)
    si = _material("si", 130e9, 0.28, 2.6e-6)
    package = _stack([("block", si, 1e-3)], 2e-3, dimension=3, target=0.5e-3, per_layer=2)
    result = solve_warpage(package, LOADS["stress"], order=order)
    stress, _, _ = quadrature_stress(result)
    scale = 130e9 * 2.6e-6 * abs(DT)
    assert np.abs(stress).max() < 1e-9 * scale
    loc = result.space.doflocs
    comp = result.space.components
    centre = 0.5 * (loc.min(axis=1) + loc.max(axis=1))
    exact = 2.6e-6 * DT * (loc[comp, np.arange(len(comp))] - centre[comp])
    assert np.abs(result.displacement - exact).max() < 1e-9 * np.abs(exact).max()
    assert result.stats["force_balance"] < 1e-12


def test_free_expansion_linear_temperature_field_is_stress_free_3d():
    # T linear in x, y, z gives a compatible thermal strain: stress-free (round-off)
    si = _material("si", 130e9, 0.28, 2.6e-6)
    package = _stack([("block", si, 1e-3)], 2e-3, dimension=3, target=0.5e-3, per_layer=2)
    p = package.mesh.p
    T = 25.0 + 4e4 * p[0] - 2e4 * p[1] + 6e4 * p[2]  # up to ~100 K across the block
    result = solve_warpage(package, LOADS["stress"], temperature=T)
    stress, _, _ = quadrature_stress(result)
    assert np.abs(stress).max() < 1e-8 * 130e9 * 2.6e-6 * 100


# --- 2. bimetal strip ----------------------------------------------------------------------

@pytest.mark.parametrize("plane", ["stress", "strain", "generalized_strain"])
def test_bimetal_curvature_2d_quadratic_within_1_percent_linear_locks(plane):
    # Si 0.1 mm on Cu 0.2 mm, 10 mm long, in-plane cells 0.5 mm (5x the total thickness),
    # one cell per layer: Q2 within 1 % of Timoshenko with the model's effective properties;
    # Q1 locks (PERFORMANCE.md measured ~31 %): below 70 %.
    L, t1, t2 = 10e-3, 0.1e-3, 0.2e-3
    package = _stack([("si", SI, t1), ("cu", CU, t2)], L, target=0.5e-3)
    (E1, a1), (E2, a2) = _effective(SI, plane), _effective(CU, plane)
    exact = timoshenko(E1, E2, a1, a2, t1, t2, DT)
    q2 = fitted_curvature(solve_warpage(package, LOADS[plane], order=2), t1 + t2, L)
    q1 = fitted_curvature(solve_warpage(package, LOADS[plane], order=1), t1 + t2, L)
    assert q2 == pytest.approx(exact, rel=0.01)
    assert abs(q1 / exact) < 0.7


def test_bimetal_curvature_3d_wide_plate_within_2_percent():
    # square 8 mm plate, quarter model, HexS2 with one cell per layer; the centre region is
    # equi-biaxial: effective E / (1 - nu) with alpha; 2 % (VERIFICATION.md)
    L, t1, t2 = 8e-3, 0.1e-3, 0.2e-3
    package = _stack([("si", SI, t1), ("cu", CU, t2)], L, dimension=3, target=0.5e-3,
                     symmetry="quarter")
    (E1, a1), (E2, a2) = _effective(SI, "3d"), _effective(CU, "3d")
    exact = timoshenko(E1, E2, a1, a2, t1, t2, DT)
    result = solve_warpage(package, LOADS["stress"])
    assert result.element == "HexS2"
    assert fitted_curvature(result, t1 + t2, L) == pytest.approx(exact, rel=0.02)


# --- 3. three-layer stack ------------------------------------------------------------------

@pytest.mark.parametrize("plane", ["stress", "generalized_strain"])
def test_three_layer_stack_against_laminate_theory(plane):
    # die / underfill / substrate (Hsueh 2002), Quad2 one or two cells per layer; 1 %
    die = _material("die", 131e9, 0.28, 2.6e-6)
    underfill = _material("underfill", 8e9, 0.35, 30e-6)
    substrate = _material("substrate", 26e9, 0.15, 15e-6)
    layers = [("substrate", substrate, 0.5e-3), ("underfill", underfill, 0.075e-3),
              ("die", die, 0.3e-3)]
    L = 10e-3
    package = _stack(layers, L, target=0.5e-3, per_layer=1)
    eff = [_effective(m, plane) for _, m, _ in layers]
    exact = laminate_curvature(np.array([e for e, _ in eff]), np.array([a for _, a in eff]),
                               np.array([t for _, _, t in layers]), DT)
    result = solve_warpage(package, LOADS[plane])
    assert fitted_curvature(result, 0.875e-3, L) == pytest.approx(exact, rel=0.01)


def test_laminate_theory_reduces_to_timoshenko():
    # the reference used above agrees with Timoshenko for two layers (a check of the test)
    E, a, t = np.array([130e9, 117e9]), np.array([2.6e-6, 17e-6]), np.array([1e-4, 2e-4])
    assert laminate_curvature(E, a, t, DT) == pytest.approx(
        timoshenko(*E, *a, *t, DT), rel=1e-12)


# --- 4. thin film --------------------------------------------------------------------------

def test_thin_film_against_exact_bilayer_and_stoney():
    # 5 um polyimide on a 775 um Si wafer, 20 mm section: FE within 1 % of the exact
    # bilayer; Stoney (1909) itself is a few tenths of a percent off (VERIFICATION.md ~0.6 %)
    film = _material("pi", 2.5e9, 0.34, 20e-6)
    L, ts, tf = 20e-3, 775e-6, 5e-6
    package = _stack([("wafer", SI, ts), ("film", film, tf)], L, target=0.5e-3, per_layer=1)
    (Es, as_), (Ef, af) = _effective(SI, "stress"), _effective(film, "stress")
    exact = timoshenko(Es, Ef, as_, af, ts, tf, DT)
    stoney = 6 * Ef * tf * (af - as_) * DT / (Es * ts**2)
    fe = fitted_curvature(solve_warpage(package, LOADS["stress"]), ts + tf, L)
    assert fe == pytest.approx(exact, rel=0.01)
    assert 1e-3 < abs(stoney / exact - 1) < 2e-2


# --- 5. interface shear resultant ----------------------------------------------------------

def test_interface_shear_resultant_equals_top_layer_axial_force():
    # equilibrium of the top layer from mid-span to its free end: the integral of the
    # interface shear over the half-length equals minus the axial force at mid-span; 1 %.
    # The shear is concentrated in a boundary layer about one thickness wide at the free end,
    # which needs several cells through each layer (2 per layer: 3.5 % off; 8: 0.3 %).
    L, t1, t2 = 10e-3, 0.1e-3, 0.2e-3
    package = _stack([("si", SI, t1), ("cu", CU, t2)], L, target=0.25e-3, per_layer=8)
    result = solve_warpage(package, LOADS["stress"])
    gauss, weights = np.polynomial.legendre.leggauss(4)
    xs = package.axes[0]
    half = xs[xs >= -1e-12]
    a, b = half[:-1], half[1:]
    x = (0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * gauss[None]).ravel()
    w = (0.5 * (b - a)[:, None] * weights[None]).ravel()
    on_interface = np.vstack([x, np.full_like(x, t1)])  # + side: evaluated in the top layer
    shear = np.sum(w * result.stress_at(on_interface)[4])
    zs = package.axes[1]
    top = zs[zs >= t1 - 1e-12]
    a, b = top[:-1], top[1:]
    z = (0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * gauss[None]).ravel()
    wz = (0.5 * (b - a)[:, None] * weights[None]).ravel()
    axial = np.sum(wz * result.stress_at(np.vstack([np.zeros_like(z), z]))[0])
    assert abs(axial) > 1e3  # N/m: a real load, not a trivial zero
    assert shear == pytest.approx(-axial, rel=0.01)


# --- 6. manufactured thermoelastic solution ------------------------------------------------

def _manufactured(n, order):
    """L2 and H1 errors of a 3D thermoelastic manufactured solution on the unit cube.

    Two materials split at x = 1/2; u = (x - 1/2)^2 g(x, y, z) and dT = (x - 1/2) h(y, z), so
    the strain and the thermal strain vanish on the interface and the traction is
    continuous; the body force -div sigma is added; u = u_exact on the boundary.
    """
    sympy = pytest.importorskip("sympy")
    X, Y, Z = sympy.symbols("x y z")
    mats = {"left": (1.0, 0.3, 1e-2), "right": (10.0, 0.2, 3e-2)}
    s = X - sympy.Rational(1, 2)
    u = [s**2 * sympy.sin(Y + 1) * sympy.cos(Z), s**2 * sympy.exp(Z) * (1 + X),
         s**2 * sympy.cos(X + Y)]
    dT = s * (1 + Y * Z)
    coords = (X, Y, Z)
    forces = {}
    for name, (E, nu, a) in mats.items():
        lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
        eps = [[(sympy.diff(u[i], coords[j]) + sympy.diff(u[j], coords[i])) / 2
                for j in range(3)] for i in range(3)]
        tr = eps[0][0] + eps[1][1] + eps[2][2]
        sig = [[2 * mu * eps[i][j] + (lam * (tr - 3 * a * dT) if i == j else 0)
                - (2 * mu * a * dT if i == j else 0) for j in range(3)] for i in range(3)]
        forces[name] = sympy.lambdify(coords, [-sum(sympy.diff(sig[i][j], coords[j])
                                                     for j in range(3)) for i in range(3)])
    u_f = sympy.lambdify(coords, u)
    grad_f = sympy.lambdify(coords, [[sympy.diff(ui, c) for c in coords] for ui in u])
    T_f = sympy.lambdify(coords, 100 + dT)
    materials = {k: Material(k, youngs_modulus=E, poisson_ratio=nu, cte=a)
                 for k, (E, nu, a) in mats.items()}
    layout = Layout((Box("left", "left", (0, 0.5), (0, 1), (0, 1)),
                     Box("right", "right", (0.5, 1), (0, 1), (0, 1))))
    package = mesh_layout(layout, MeshOptions(target_size=1 / n, min_cells_per_layer=n,
                                              growth=1.5), materials)
    loads = MechanicalLoads(stress_free_temperature=100.0)
    setup = solve_setup(package, loads, order, None)
    space, model, part = setup.basis, setup.model, setup.part
    basis = space.basis
    tbasis = skfem.Basis(package.mesh, skfem.ElementHex2(), intorder=1)
    T = T_f(*tbasis.doflocs)
    tq = skfem.Basis(package.mesh, skfem.ElementHex2(), quadrature=basis.quadrature)
    eth = model.thermal_strain(part, np.asarray(tq.interpolate(T)))
    K = _stiffness(setup, "structured")
    F = _load_vector(basis, model.thermal_stress(part, eth))
    x = basis.mapping.F(basis.X)
    body = np.zeros_like(x)
    for i, name in enumerate(package.parts):
        cells = part == i
        body[:, cells] = np.array(forces[name](*x[:, cells]), dtype=float)
    F = F + skfem.LinearForm(lambda v, w: sum(w["f"][i] * v[i] for i in range(3))
                             ).assemble(basis, f=body)
    comp = space.components
    loc = basis.doflocs
    exact = np.array(u_f(*loc), dtype=float)[comp, np.arange(basis.N)]
    boundary = basis.get_dofs().all()
    uh = skfem.solve(*skfem.condense(K, F, x=exact.copy(), D=boundary))
    uq = basis.interpolate(uh)
    ue = np.array([np.broadcast_to(c, x[0].shape) for c in u_f(*x)])
    ge = np.array([[np.broadcast_to(c, x[0].shape) for c in row] for row in grad_f(*x)])
    l2 = np.sqrt(np.sum(np.sum((np.asarray(uq) - ue)**2, axis=0) * basis.dx))
    h1 = np.sqrt(np.sum(np.sum((uq.grad - ge)**2, axis=(0, 1)) * basis.dx))
    return l2, h1


@pytest.mark.parametrize("order, sizes, rates", [(1, (4, 8), (2, 1)), (2, (4, 8), (3, 2))])
def test_manufactured_thermoelastic_rates(order, sizes, rates):
    # observed rates within +-0.2 of the theoretical ones (VERIFICATION.md thermal 2)
    (l2a, h1a), (l2b, h1b) = (_manufactured(n, order) for n in sizes)
    ratio = np.log(sizes[1] / sizes[0])
    assert np.log(l2a / l2b) / ratio == pytest.approx(rates[0], abs=0.2)
    assert np.log(h1a / h1b) / ratio == pytest.approx(rates[1], abs=0.2)


# --- 7. force balance ----------------------------------------------------------------------

def test_reactions_of_a_free_body_sum_to_zero_and_held_points_carry_nothing():
    L, t1, t2 = 4e-3, 0.1e-3, 0.2e-3
    package = _stack([("si", SI, t1), ("cu", CU, t2)], L, dimension=3, target=1e-3)
    result = solve_warpage(package, LOADS["stress"])
    assert result.stats["rigid_modes_removed"] == 6
    assert result.stats["force_balance"] < 1e-10
    assert result.stats["held_reaction_relative"] < 1e-10
