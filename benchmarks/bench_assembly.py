"""Structured fast path vs scikit-fem's generic assembly, heat (Q1) and warpage (HexS2).

Same matrix (tests/test_structured.py); this measures the time of each, including what
each needs first (generic: the Basis with intorder set; structured: the dof numbering).
Run: ``python benchmarks/bench_assembly.py``.
"""

from __future__ import annotations

import time

import numpy as np
import skfem
import skfem.helpers

from thermomech.fem import structured, unit_cell
from thermomech.fem.space import space_of
from thermomech.material_library import LIBRARY
from thermomech.materials import elasticity_matrix
from thermomech.meshing import MeshOptions, mesh_layout
from thermomech.packages import FlipChipSpec


def timed(function):
    start = time.perf_counter()
    out = function()
    return out, time.perf_counter() - start


def heat(package):
    k = package.material_values(lambda m: float(np.mean(m.conductivity)))

    def generic():
        basis = skfem.Basis(package.mesh, skfem.ElementHex1(), intorder=2)
        field = basis.with_element(skfem.ElementHex0()).interpolate(k)
        return skfem.BilinearForm(lambda u, v, w: w["k"] * (
            u.grad[0] * v.grad[0] + u.grad[1] * v.grad[1] + u.grad[2] * v.grad[2])).assemble(
            basis, k=field)

    def fast():
        space = space_of(package, skfem.ElementHex1(), 2)
        return structured.assemble_diffusion(package, space, k)

    return generic, fast


def warpage(package):
    D = np.array([elasticity_matrix(package.cell_material(p)) for p in package.parts])
    D = D[package.cell_part]
    element = skfem.ElementVector(skfem.ElementHexS2())

    def generic():
        basis = skfem.Basis(package.mesh, element, intorder=4)
        P0 = basis.with_element(skfem.ElementHex0())
        lam = P0.interpolate(D[:, 0, 1])
        mu = P0.interpolate(D[:, 5, 5])
        # isotropic-equivalent form: the work of a generic assembly of this size
        return skfem.BilinearForm(lambda u, v, w: w["lam"] * skfem.helpers.div(u) *
                                  skfem.helpers.div(v) + 2 * w["mu"] * skfem.helpers.ddot(
                                      skfem.helpers.sym_grad(u), skfem.helpers.sym_grad(v))
                                  ).assemble(basis, lam=lam, mu=mu)

    def fast():
        space = space_of(package, element, 2)
        return structured.assemble_elasticity(package, space, D)

    return generic, fast


def main():
    layout = FlipChipSpec().layout(LIBRARY)
    unit_cell.reference(unit_cell.element_key(skfem.ElementHex1()))
    unit_cell.reference(unit_cell.element_key(skfem.ElementVector(skfem.ElementHexS2())))
    print(f"{'problem':>8} {'cells':>9} {'unknowns':>10} {'generic s':>10} {'structured s':>13} "
          f"{'ratio':>6}")
    for name, maker, size in (("heat", heat, 0.1e-3), ("heat", heat, 0.06e-3),
                              ("warpage", warpage, 0.3e-3), ("warpage", warpage, 0.2e-3)):
        package = mesh_layout(layout, MeshOptions(symmetry="quarter", target_size=size,
                                                  min_cells_per_layer=2), LIBRARY)
        generic, fast = maker(package)
        A, t_fast = timed(fast)
        _, t_generic = timed(generic)
        print(f"{name:>8} {package.ncells:>9} {A.shape[0]:>10} {t_generic:>10.2f} "
              f"{t_fast:>13.2f} {t_generic / t_fast:>6.1f}")


if __name__ == "__main__":
    main()
