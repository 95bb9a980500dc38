"""Solder creep in process steps (issue 17; ``process_creep``): a solder block in uniaxial
stress through the finite-element Newton solve against the material point, stress
relaxation against the ODE, the hysteresis energy of a thermal cycle.

The block (1 x 1 x 1 mm quarter model, two quadratic cells) has its top and bottom held in
z and is free laterally, so a temperature change gives the homogeneous uniaxial state
``sigma_zz`` with the axial mechanical strain ``-alpha (T - T0)``: exactly the strain-driven
``creep_point``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from thermomech.creep_paths import creep_point
from thermomech.errors import ModelError
from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.parameters import from_dict
from thermomech.process import solve_process
from thermomech.solder_creep import ANAND, CreepMaterial, garofalo_from_anand

E, NU, ALPHA = 40e9, 0.35, 20e-6
SOLDER = Material("solder", youngs_modulus=E, poisson_ratio=NU, cte=ALPHA)
LAWS = {"anand": ANAND["sac305"], "garofalo": garofalo_from_anand(ANAND["sac305"])}


def _block():
    box = Box("solder", "solder", (-0.5e-3, 0.5e-3), (-0.5e-3, 0.5e-3), (0.0, 1e-3))
    options = MeshOptions(dimension=3, target_size=0.5e-3, symmetry="quarter",
                          min_cells_per_layer=2)
    return mesh_layout(Layout((box,)), options, {"solder": SOLDER})


def _loads(steps):
    return from_dict(MechanicalLoads, {
        "initial_temperature": 25.0, "steps": steps,
        "supports": [{"surface": "bottom", "directions": "z"},
                     {"surface": "top", "directions": "z"}]}, "mechanical")


def _history(result):
    """times, temperatures, mean sigma_zz, largest spread of sigma_zz over the points,
    mean energy density (each with the unloaded start)."""
    inc = result.increments
    stress = [i.creep[0].stress[2] for i in inc]
    return (np.array([0.0] + [i.time for i in inc]),
            np.array([25.0] + [i.temperature for i in inc]),
            np.array([0.0] + [s.mean() for s in stress]),
            max(np.ptp(s) for s in stress),
            np.array([0.0] + [i.creep[0].energy.mean() for i in inc]))


CYCLE = [{"name": "up", "temperature": 125.0, "duration": 900.0, "increments": 6},
         {"name": "dwell", "duration": 900.0, "increments": 6},
         {"name": "down", "temperature": -40.0, "duration": 1800.0, "increments": 6}]


@pytest.mark.parametrize("law", sorted(LAWS))
def test_homogeneous_block_equals_the_material_point(law):
    """The FE Newton solve of a homogeneous state is the material point's backward-Euler
    history (same steps, same strains): stress within 1e-8 of its range (the Newton
    tolerance 1e-10 on the force residual, amplified by the stiffness-to-tangent ratio),
    energy within 1e-8 relative; the state homogeneous to round-off."""
    result = solve_process(_block(), _loads(CYCLE), creep={"solder": LAWS[law]})
    times, T, stress, spread, energy = _history(result)
    point = creep_point(CreepMaterial(E, NU, LAWS[law]), times, strains=-ALPHA * (T - 25.0),
                        temperatures=T)
    scale = np.abs(point.stress[:, 0]).max()
    assert np.abs(stress - point.stress[:, 0]).max() < 1e-8 * scale
    assert spread < 1e-6 * scale
    assert np.abs(energy - point.energy).max() < 1e-8 * point.energy.max()
    assert point.energy[-1] > 0 and scale > 10e6  # creep and stress really happen


def _relaxation(increments_per_hold):
    """Instantaneous heating 25 -> 75 degC with z held (sigma0 = -E alpha 50 K = -40 MPa),
    then holds ending at 1, 10, 100, 1000 s."""
    steps = [{"name": "heat", "temperature": 75.0, "duration": 0.0}]
    ends = [1.0, 10.0, 100.0, 1000.0]
    for start, end in zip([0.0] + ends[:-1], ends):
        steps.append({"name": f"hold to {end:g} s", "duration": end - start,
                      "increments": increments_per_hold})
    return _loads(steps), np.array(ends)


def test_stress_relaxation_matches_the_ode():
    """Clamped (in z) bar after a sudden 50 K: d sigma / dt = -E p_dot(|sigma|) sign(sigma)
    (Garofalo), solved by scipy (Radau, rtol 1e-10). Backward Euler is first order: the
    error at the hold ends must halve with the increments (observed order within
    [0.8, 1.2]) and be below 1 % of sigma0 with 32 increments per hold."""
    law = LAWS["garofalo"]
    sigma0 = -E * ALPHA * 50.0

    def rate(t, s):
        return [-E * law.rate(abs(s[0]), 75.0) * np.sign(s[0])]

    errors = []
    for n in (8, 16, 32):
        loads, ends = _relaxation(n)
        result = solve_process(_block(), loads, creep={"solder": law})
        times, _, stress, _, _ = _history(result)
        ode = solve_ivp(rate, (0.0, ends[-1]), [sigma0], method="Radau", rtol=1e-10,
                        atol=1e-3, t_eval=ends, dense_output=True)
        fe = np.interp(ends, times[2:], stress[2:])
        errors.append(np.abs(fe - ode.y[0]).max())
    assert stress[1] == pytest.approx(sigma0, rel=1e-9)  # the instantaneous step is elastic
    order = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((order > 0.8) & (order < 1.2)), (errors, order)
    assert errors[-1] < 0.01 * abs(sigma0), errors
    assert abs(ode.y[0, -1]) < 0.5 * abs(sigma0)  # it really relaxed


def test_cycle_hysteresis_area_is_the_dissipated_energy():
    """Three -40/125 degC cycles of the clamped bar: the loop sigma_zz vs the axial
    mechanical strain closes (cycle 3 starts and ends within 1 % of the stress range of
    where cycle 2 did) and its area equals the creep energy of the cycle. The backward-Euler
    identity is exact: sum sigma_n+1 d eps_m = W + sum sigma_n+1 d sigma / E (elastic part
    of the uniaxial strain), so the right-point area minus the elastic terms is W to
    round-off (1e-8); the trapezoid area converges to W at first order (checked with the
    increments doubled)."""
    law = LAWS["anand"]
    out = []
    for n in (6, 12):
        steps = [{"name": "to -40", "temperature": -40.0, "duration": 600.0, "increments": n}]
        for k in range(3):
            steps += [{"name": f"up {k}", "temperature": 125.0, "duration": 900.0,
                       "increments": n},
                      {"name": f"hot {k}", "duration": 900.0, "increments": n},
                      {"name": f"down {k}", "temperature": -40.0, "duration": 900.0,
                       "increments": n},
                      {"name": f"cold {k}", "duration": 900.0, "increments": n}]
        result = solve_process(_block(), _loads(steps), creep={"solder": law})
        _, T, stress, _, energy = _history(result)
        per_cycle = 4 * n
        start2, start3 = n + per_cycle, n + 2 * per_cycle  # index 0: the unloaded start
        cycle = slice(start3, None)
        strain = -ALPHA * (T - 25.0)
        s, e = stress[cycle], strain[cycle]
        W = energy[-1] - energy[start3]
        right = np.sum(s[1:] * np.diff(e))
        elastic = np.sum(s[1:] * np.diff(s)) / E
        assert right - elastic == pytest.approx(W, rel=1e-8)
        assert abs(stress[-1] - stress[start3]) < 0.01 * np.ptp(s)
        assert abs(stress[start3] - stress[start2]) < 0.01 * np.ptp(s)
        out.append(abs(np.trapezoid(s, e) - W) / W)
    assert out[1] < 0.6 * out[0], out


def test_refused_without_durations_and_in_2d():
    with pytest.raises(ModelError, match="duration"):
        solve_process(_block(), _loads([{"name": "up", "temperature": 100.0}]),
                      creep={"solder": LAWS["anand"]})
    with pytest.raises(ModelError, match="no part"):
        solve_process(_block(), _loads(CYCLE), creep={"ball": LAWS["anand"]})


@pytest.mark.parametrize("order", [1, 2])
def test_point_tangent_matrix_equals_the_form(order):
    """The vectorized tangent assembly (batched B^T D B, scattered into a pattern found
    once; box cells from the unit cell's gradients, other meshes from scikit-fem's basis)
    equals scikit-fem's bilinear form with the 36 coefficient fields of a point stiffness
    D (random, symmetric) to 1e-12 of its largest entry, on every other cell of a block."""
    import skfem

    from thermomech.elasticity import voigt_strain
    from thermomech.mechanics import solve_setup
    from thermomech.process_points import BasisPoints, BoxPoints, PointStiffness

    box = Box("solder", "solder", (-0.5e-3, 0.5e-3), (-0.5e-3, 0.7e-3), (0.0, 1e-3))
    package = mesh_layout(Layout((box,)), MeshOptions(dimension=3, target_size=0.25e-3,
                                                      element_order=order), {"solder": SOLDER})
    space = solve_setup(package, MechanicalLoads(), order, None).basis
    cells = np.arange(0, package.mesh.t.shape[1], 2)
    basis = skfem.Basis(space.mesh, space.elem, intorder=space.intorder, elements=cells)
    D = np.random.default_rng(order).normal(size=basis.dx.shape + (6, 6)) * 1e10
    D = D + np.swapaxes(D, -1, -2)
    fields = {f"d{i}{j}": np.ascontiguousarray(D[..., i, j]) for i in range(6)
              for j in range(6)}

    @skfem.BilinearForm
    def form(u, v, w):
        eu, ev = voigt_strain(u.grad), voigt_strain(v.grad)
        return sum(w[f"d{i}{j}"] * ev[i] * eu[j] for i in range(6) for j in range(6))

    reference = form.assemble(basis, **fields).tocsr()
    for points in (BoxPoints(space, package, cells), BasisPoints(space, cells)):
        K = PointStiffness(points).matrix(D)
        assert K.shape == reference.shape
        assert abs(K - reference).max() < 1e-12 * abs(reference).max()


def test_a_cut_increment_equals_two_half_increments(monkeypatch):
    """An increment whose Newton fails is retried in halves (T linear in time): forcing
    every first attempt to fail gives, to the Newton tolerance, the recipe with twice the
    increments, and the results record the sub-increments and cuts."""
    from thermomech import process_creep

    law = LAWS["anand"]
    steps = [{**s, "increments": 3} for s in CYCLE]
    reference = solve_process(_block(), _loads([{**s, "increments": 6} for s in CYCLE]),
                              creep={"solder": law})
    newton, solve = process_creep._newton, process_creep.solve_creep_increment
    first = []

    def failing_first(*args):
        if first.pop() if first else False:
            raise process_creep._NewtonFailedError("forced", 1, 0)
        return newton(*args)

    def every_increment(*args):
        first[:] = [True]
        return solve(*args)

    monkeypatch.setattr(process_creep, "_newton", failing_first)
    monkeypatch.setattr(process_creep, "solve_creep_increment", every_increment)
    cut = solve_process(_block(), _loads(steps), creep={"solder": law})
    stats = [i.result.stats for i in cut.increments]
    assert [(s["cuts"], s["substeps"]) for s in stats] == [(1, 2)] * len(stats)
    _, _, stress, _, energy = _history(cut)
    _, _, stress2, _, energy2 = _history(reference)
    scale = np.abs(stress2).max()
    assert np.abs(stress - stress2[::2]).max() < 1e-8 * scale
    assert np.abs(energy - energy2[::2]).max() < 1e-8 * energy2.max()
