"""solve_warpage: API, supports, rigid-body removal, assembly paths, Tg, stress-free temperatures,
bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import skfem

from thermomech.elasticity import elastic_model, stress_free_temperatures
from thermomech.errors import ModelError
from thermomech.fem.constraints import condense
from thermomech.geometry import Box, Layout
from thermomech.materials import Material
from thermomech.mechanical_loads import MechanicalLoads, Support
from thermomech.mechanics import (
    TemperatureField,
    _affine_thermal_strain,
    _stiffness,
    quadrature_stress,
    solve_setup,
    solve_warpage,
    solve_warpage_curve,
    thermal_load,
)
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.model_file import Model, mesh_model, model_from_dict
from thermomech.packages.flip_chip import FlipChipSpec

SI = Material("si", youngs_modulus=130e9, poisson_ratio=0.28, cte=2.6e-6, melting_point=1414.)
CU = Material("cu", youngs_modulus=117e9, poisson_ratio=0.34, cte=17e-6, melting_point=1085.)
MOLD = Material("emc", youngs_modulus=24e9, poisson_ratio=0.3, cte=10e-6, cte_above_tg=40e-6,
                glass_transition=150.0)
SOLDER = Material("solder", youngs_modulus=51e9, poisson_ratio=0.36, cte=21.7e-6,
                  melting_point=217.0)


def bilayer(dimension=3, symmetry="none", top=CU, target=1e-3):
    layout = Layout((Box("si", "si", (-2e-3, 2e-3), (-2e-3, 2e-3), (0, 1e-4)),
                     Box("top", top.name, (-2e-3, 2e-3), (-2e-3, 2e-3), (1e-4, 3e-4))))
    options = MeshOptions(dimension=dimension, symmetry=symmetry, target_size=target,
                          min_cells_per_layer=1)
    return mesh_layout(layout, options, {"si": SI, top.name: top})


def test_result_is_independent_of_the_held_point():
    # free-free body: two different holds give the same displacement (after the rigid-body
    # projection) and stress to round-off, and the held dofs carry no force. Round-off here
    # is ~1e-9 relative (thin layers: condition number ~1e9); a hold that added stress or a
    # rigid motion left in would differ at order 1.
    package = bilayer()
    loads = MechanicalLoads()
    a = solve_warpage(package, loads, hold=(-2e-3, -2e-3, 0.0))
    b = solve_warpage(package, loads, hold=(2e-3, 1e-3, 3e-4))
    scale = np.abs(a.displacement).max()
    assert np.abs(a.displacement - b.displacement).max() < 1e-8 * scale
    sa, sb = quadrature_stress(a)[0], quadrature_stress(b)[0]
    assert np.abs(sa - sb).max() < 1e-7 * np.abs(sa).max()
    assert a.stats["held_reaction_relative"] < 1e-10


def test_symmetric_models_match_the_full_model():
    # quarter (3D) and half (2D) models reproduce the full model's displacement where they
    # overlap (symmetry planes u_x = 0, u_y = 0 applied automatically)
    for dim, sym in ((3, "quarter"), (2, "half")):
        full = solve_warpage(bilayer(dim), MechanicalLoads())
        part = solve_warpage(bilayer(dim, sym), MechanicalLoads())
        key = lambda p: tuple(np.round(p * 1e9).astype(np.int64))  # noqa: E731
        lookup = {key(p): i for i, p in enumerate(full.package.mesh.p.T)}
        index = [lookup[key(p)] for p in part.package.mesh.p.T]
        uf = full.displacement[full.space.nodal_dofs][:, index]
        up = part.displacement[part.space.nodal_dofs]
        # equal up to a translation along z (each model removes its own mean rigid motion)
        difference = up - uf
        difference -= difference.mean(axis=1, keepdims=True)
        assert np.abs(difference).max() < 1e-8 * np.abs(uf).max()
        assert part.stats["rigid_modes_removed"] == 1  # translation along z only


def test_structured_and_generic_assembly_give_the_same_matrix():
    for dim in (2, 3):
        for order in (1, 2):
            package = bilayer(dim, target=2e-3)
            for plane in ("stress", "strain"):
                setup = solve_setup(package, MechanicalLoads(plane=plane), order, None)
                A = _stiffness(setup, "structured")
                B = _stiffness(setup, "generic")
                assert abs(A - B).max() < 1e-12 * abs(B).max()


def test_clamped_bottom_and_supports():
    package = bilayer(target=2e-3)
    loads = MechanicalLoads(supports=(Support("bottom", "xyz"),))
    result = solve_warpage(package, loads)
    assert result.stats["rigid_modes_removed"] == 0
    assert result.stats["force_balance"] < 1e-10  # reactions balance the (zero-sum) load
    # a roller on the bottom (z only) leaves in-plane rigid motion, removed automatically
    roller = solve_warpage(package, MechanicalLoads(supports=(Support("bottom", "z"),)))
    assert roller.stats["rigid_modes_removed"] == 3
    with pytest.raises(ModelError, match=r"mechanical.supports\[0\].surface"):
        solve_warpage(bilayer(symmetry="half", target=2e-3), MechanicalLoads(
            supports=(Support("symmetry_x", "xyz"),)))
    with pytest.raises(ModelError, match=r"mechanical.supports\[0\].surface.*no surface"):
        solve_warpage(package, MechanicalLoads(supports=(Support("bottomm", "z"),)))
    with pytest.raises(ModelError, match=r"mechanical.supports\[0\].directions"):
        solve_warpage(bilayer(2, target=2e-3), MechanicalLoads(supports=(Support("bottom",
                                                                                  "y"),)))


def test_glass_transition_secant_strain():
    # mold cured at 175 degC above Tg = 150: cooling to 25 degC gives
    # e = -(40e-6 * 25 + 10e-6 * 125) (the integral of the instantaneous CTE)
    package = bilayer(top=MOLD, target=2e-3)
    model = elastic_model(package, MechanicalLoads(stress_free_temperature=175.0))
    part = np.array([1])
    assert model.thermal_strain(part, 25.0)[:, 0, 0] == pytest.approx(
        [-(40e-6 * 25 + 10e-6 * 125)] * 3, rel=1e-12)
    assert model.thermal_strain(part, 200.0)[0, 0, 0] == pytest.approx(40e-6 * 25, rel=1e-12)
    assert model.thermal_strain(np.array([0]), 25.0)[0, 0, 0] == pytest.approx(-2.6e-6 * 150)


def test_stress_free_temperature_table_and_melting_point_expressions():
    package = bilayer(top=SOLDER, target=2e-3)
    loads = MechanicalLoads(stress_free_temperature={"default": "175 degC",
                                                     "top": "melting_point"})
    assert stress_free_temperatures(package, loads) == {"si": 175.0, "top": 217.0}
    # claim 25: molded 10 K below the bump melting point
    loads = MechanicalLoads(stress_free_temperature={"si": "solder.melting_point - 10 K",
                                                     "top": 150.0})
    assert stress_free_temperatures(package, loads) == {"si": 207.0, "top": 150.0}
    loads = MechanicalLoads(stress_free_temperature=175.0, solders_at_melting_point=True)
    assert stress_free_temperatures(package, loads) == {"si": 175.0, "top": 217.0}
    with pytest.raises(ModelError, match="mechanical.stress_free_temperature.top"):
        stress_free_temperatures(package, MechanicalLoads(stress_free_temperature={"si": 20}))
    with pytest.raises(ModelError, match="materials.cu.melting_point|materials.emc"):
        stress_free_temperatures(bilayer(top=MOLD, target=2e-3), MechanicalLoads(
            stress_free_temperature={"default": 175.0, "top": "melting_point"}))


def test_model_file_mechanical_section_round_trip_keys():
    model = model_from_dict({"package": {"family": "flip_chip"}, "mechanical": {
        "stress_free_temperature": {"default": "175 degC",
                                    "encapsulant": "sac305.melting_point - 10 K"},
        "temperature": "25 degC", "plane": "strain", "temperatures": [25, 260, 25],
        "supports": [{"surface": "bottom", "directions": "z"}]}})
    mech = model.mechanical
    assert mech.stress_free_entry("encapsulant").offset == -10.0
    assert mech.temperatures == (25.0, 260.0, 25.0)
    assert mech.supports[0].directions == "z"
    with pytest.raises(ModelError, match="mechanical.plane"):
        model_from_dict({"package": {"family": "flip_chip"}, "mechanical": {"plane": "x"}})


def test_bad_input_names_the_field():
    package = bilayer(target=2e-3)
    no_cte = Material("nocte", youngs_modulus=1e9, poisson_ratio=0.3)
    with pytest.raises(ModelError, match="materials.nocte.cte"):
        solve_warpage(bilayer(top=no_cte, target=2e-3))
    with pytest.raises(ModelError, match="materials.bad.poisson_ratio"):
        model_from_dict({"package": {"family": "flip_chip"},
                         "materials": {"bad": {"youngs_modulus": 1, "poisson_ratio": 0.5}}})
    other = bilayer(target=1e-3 / 1.5)
    with pytest.raises(ModelError, match="mechanical.temperature.*one value per mesh vertex"):
        solve_warpage(package, temperature=np.zeros(other.mesh.p.shape[1]))
    wrong = skfem.Basis(other.mesh, skfem.ElementHex1())
    with pytest.raises(ModelError, match="mechanical.temperature.*another mesh"):
        solve_warpage(package, temperature=(wrong, np.zeros(wrong.N)))
    with pytest.raises(ModelError, match="mechanical.temperature"):
        solve_warpage(package, MechanicalLoads(temperature="thermal"))


def test_temperature_field_from_a_thermal_basis():
    # a uniform field given as a Q2 thermal field equals the uniform temperature
    package = bilayer(target=2e-3)
    basis = skfem.Basis(package.mesh, skfem.ElementHex2())
    field = solve_warpage(package, temperature=(basis, np.full(basis.N, 60.0)))
    uniform = solve_warpage(package, temperature=60.0)
    assert np.allclose(field.displacement, uniform.displacement, rtol=0,
                       atol=1e-10 * np.abs(uniform.displacement).max())


def test_warpage_curve_factors_once_and_flat_at_stress_free_temperature():
    package = bilayer(target=2e-3)
    results = solve_warpage_curve(package, MechanicalLoads(stress_free_temperature=175.0),
                                  [25.0, 175.0, 260.0])
    assert np.abs(results[1].displacement).max() == 0.0
    # linear elasticity, no Tg here: warpage proportional to T - T_sf
    ratio = results[2].displacement / results[0].displacement
    big = np.abs(results[0].displacement) > 1e-3 * np.abs(results[0].displacement).max()
    assert np.allclose(ratio[big], (260 - 175) / (25 - 175), rtol=1e-8)


def test_default_flip_chip_quarter_model_runs_with_quadratic_elements():
    model = Model(FlipChipSpec(), mesh=MeshOptions(symmetry="quarter", target_size=2e-3,
                                                   min_cells_per_layer=1))
    result = solve_warpage(mesh_model(model), MechanicalLoads())
    assert result.element == "HexS2"
    assert result.stats["unknowns"] == result.space.N
    assert result.stats["force_balance"] < 1e-10
    assert result.stats["residual"] < 1e-8


def _field_through_tg(package, element):
    """A temperature rising along x from 100 to 200 degC: the mold's Tg (150) is crossed."""
    basis = skfem.Basis(package.mesh, element)
    x = basis.doflocs[0]
    values = 100.0 + 100.0 * (x - x.min()) / np.ptp(x)
    return TemperatureField(basis, values)


@pytest.mark.parametrize("dim,order,plane", [(3, 2, "strain"), (3, 1, "strain"),
                                             (2, 2, "strain"), (2, 2, "stress")])
def test_structured_thermal_load_equals_generic(dim, order, plane):
    # round-off: each entry is a sum of a few dozen terms of size ~ the largest entry
    package = bilayer(dim, top=MOLD, target=1e-3)
    setup = solve_setup(package, MechanicalLoads(plane=plane, stress_free_temperature=175.0),
                   order, None)
    scalar = {(3, 1): skfem.ElementHex1, (3, 2): skfem.ElementHex2,
              (2, 1): skfem.ElementQuad1, (2, 2): skfem.ElementQuad2}
    fields = [25.0, 260.0] + [_field_through_tg(package, scalar[(dim, k)]()) for k in (1, 2)]
    for field in fields:
        fast, generic = thermal_load(setup, field, True), thermal_load(setup, field, False)
        assert np.abs(fast - generic).max() < 1e-12 * np.abs(generic).max()
    # the fields hit both cases: cells on one side of Tg (affine) and cells straddling it
    affine = _affine_thermal_strain(setup.model, setup.part, fields[-1])[2]
    assert affine.any() and not affine.all()


def test_field_solve_equals_generic_assembly():
    package = bilayer(3, top=MOLD, target=1e-3)
    field = _field_through_tg(package, skfem.ElementHex1())
    loads = MechanicalLoads(stress_free_temperature=175.0)
    fast = solve_warpage(package, loads, temperature=(field.space, field.values),
                         assembly="structured", solver="direct")
    generic = solve_warpage(package, loads, temperature=(field.space, field.values),
                            assembly="generic", solver="direct")
    u = np.abs(generic.displacement).max()  # same matrix, direct solve: load round-off only
    assert np.abs(fast.displacement - generic.displacement).max() < 1e-9 * u


@pytest.mark.parametrize("dim", [3, 2])
def test_displacement_basis_is_lazy_and_matches_skfem(dim):
    package = bilayer(dim, target=1e-3)
    p = package.mesh.p  # a temperature field varying along every axis: 25-105 degC
    T = 25.0 + 1e4 * p[0] - 5e3 * p[1] + (2e5 * p[2] if dim == 3 else 0.0)
    result = solve_warpage(package, temperature=T)
    basis = result.space
    reference = skfem.Basis(package.mesh, basis.elem, intorder=basis.intorder)
    assert np.array_equal(basis.element_dofs, reference.element_dofs)
    assert np.allclose(basis.doflocs, reference.doflocs, rtol=0, atol=1e-15)
    # box cells: the quadrature stress from the unit cell's tables (2D: the solve built the
    # vector basis, which quadrature_stress then uses; the tables are compared here too)
    stress, points, weights = result._box_quadrature_stress()
    if dim == 3:  # the solve needed dofs and their locations only, and so does the stress
        assert "basis" not in vars(basis)
        assert all(np.array_equal(a, b) for a, b in zip(quadrature_stress(result),
                                                        (stress, points, weights)))
        assert "scalar_basis" not in vars(basis) and "basis" not in vars(basis)
    # equal to the stress from scikit-fem's basis of every cell (its gradients, points,
    # weights and temperature at the points) to round-off: 1e-12 of the largest stress
    # (the thermal strain cancels most of the total strain: the stress is a difference)
    coords = reference.mapping.F(reference.X)
    expected = result.model.stress(np.asarray(package.cell_part),
                                   reference.interpolate(result.displacement).grad,
                                   result.temperature.at_quadrature(reference), coords,
                                   result.generalized_strain)
    assert np.abs(expected).max() > 1e6  # a loaded body: 70 K on mismatched CTEs
    assert np.abs(stress - expected).max() < 1e-12 * np.abs(expected).max()
    assert np.abs(points - coords).max() < 1e-15 * np.abs(coords).max()
    assert np.abs(weights - reference.dx).max() < 1e-14 * reference.dx.max()
    assert stress.shape[1:] == weights.shape


@pytest.mark.parametrize("dim,plane", [(3, "strain"), (2, "strain"), (2, "stress")])
def test_box_stress_in_blocks_equals_the_whole_arrays(dim, plane, monkeypatch):
    # the quadrature stress of box cells is made BOX_BLOCK cells at a time: each point's
    # gradient is the same sum of 20 products, in the order the BLAS kernel takes it (bit
    # for bit with OpenBLAS on one thread; two threads split the whole product at other
    # rows, 1 ulp apart), so the stress equals the whole arrays' to its round-off: an ulp
    # of the strain times E, where strain and thermal strain cancel to 1/100 (1e-13 of
    # the largest stress; a cell in the wrong block would be off by its whole stress); a
    # temperature field through the mold's Tg: both CTE branches
    import dataclasses

    from thermomech import results
    from thermomech.elasticity import ElasticModel

    package = bilayer(dim, top=MOLD, target=0.7e-3)
    element = skfem.ElementHex2() if dim == 3 else skfem.ElementQuad2()
    field = _field_through_tg(package, element)
    result = solve_warpage(package, MechanicalLoads(plane=plane,
                                                    stress_free_temperature=175.0),
                           temperature=(field.space, field.values))
    monkeypatch.setattr(results, "BOX_BLOCK", 10**9)
    whole = dataclasses.replace(result)._box_quadrature_stress()
    assert package.ncells > 2 * 8 and package.ncells % 8  # blocks, the last one shorter
    for block in (4, 8):
        monkeypatch.setattr(results, "BOX_BLOCK", block)
        blocked = dataclasses.replace(result)._box_quadrature_stress()
        scale = np.abs(whole[0]).max()
        assert scale > 1e6  # a loaded body
        assert np.abs(blocked[0] - whole[0]).max() <= 1e-13 * scale
        assert all(np.array_equal(a, b) for a, b in zip(blocked[1:], whole[1:]))
    # a model whose stress reads its cells (a process increment's) is not cut in blocks
    assert results._pointwise(result.model)

    class Cellwise(ElasticModel):
        def stress(self, *args, **kwargs):
            return super().stress(*args, **kwargs)

    assert not results._pointwise(Cellwise(**{f.name: getattr(result.model, f.name)
                                              for f in dataclasses.fields(ElasticModel)}))


@pytest.mark.parametrize("dim", [3, 2])
def test_pickled_result_and_its_quadrature_stress(dim):
    # the figure helper is sent the result: on box cells without its quadrature stress,
    # which the helper makes again (the same code on one BLAS thread: the same arrays to
    # the bit, also unpickled in a fresh interpreter, as the helper is); 2D: the solve
    # built the vector basis, whose stress, points and weights go with the result
    import pickle
    import subprocess
    import sys

    package = bilayer(dim, top=MOLD, target=0.7e-3)
    result = solve_warpage(package, MechanicalLoads(stress_free_temperature=175.0))
    bare = len(pickle.dumps(result))
    arrays = result.quadrature_stress()
    data = pickle.dumps(result)
    back = pickle.loads(data)
    assert all(np.array_equal(a, b) for a, b in zip(back.quadrature_stress(), arrays))
    sent = len(data) - bare  # what the quadrature arrays add
    if dim == 3:
        assert sent == 0
        assert not back.quadrature_stress()[0].flags.writeable  # shared, as made here
        script = ("import pickle, sys, numpy as np; r = pickle.loads(sys.stdin.buffer.read());"
                  "sys.stdout.buffer.write(pickle.dumps(r.quadrature_stress()[0]))")
        made = subprocess.run([sys.executable, "-c", script], input=data, check=True,
                              capture_output=True).stdout
        assert np.array_equal(pickle.loads(made), arrays[0])
    else:
        assert sent > sum(a.nbytes for a in arrays)


def test_condense_equals_two_step_indexing():
    rng = np.random.default_rng(3)
    dense = sp.random(60, 60, density=0.2, random_state=4).toarray()
    dense[[5, 59]] = 0.0  # an empty row, and an empty last row
    K = sp.csr_matrix(dense)
    fixed = np.sort(rng.choice(60, 12, replace=False))
    free = np.setdiff1d(np.arange(60), fixed)
    for chunk in (7, 1 << 24):  # many blocks (rows split across none) and one block
        block, rows = condense(K, free, fixed, chunk=chunk)
        assert (block != K[free][:, free]).nnz == 0  # exact: the same entries, copied
        assert (rows != K[fixed]).nnz == 0
        assert block.has_sorted_indices or not K.has_sorted_indices
        shuffled = rng.permutation(free)  # any order of the free rows: numbered in that order
        block, rows = condense(K, shuffled, fixed, chunk=chunk)
        assert (block != K[shuffled][:, shuffled]).nnz == 0
        assert (rows != K[fixed]).nnz == 0
