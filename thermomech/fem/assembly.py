"""One assembler, three strategies: the structured fast path on box cells, closed-form cell
matrices on straight simplices (imported tetrahedra and triangles) and scikit-fem's generic
forms on any other mesh.

An :class:`Assembly` holds the verbs of a scalar field's terms (diffusion, mass, source,
boundary mass and load, face dofs). :func:`choose_assembly` picks it once from the space
(``space.is_box``); callers never re-pick it from a string. On box meshes the structured
strategy scales unit-cell reference matrices per cell (:mod:`fem.structured`, written
straight into CSR on the tensor grid by :mod:`fem.grid_assembly`); on P1 / P2 simplices
reference matrices times each cell's affine Jacobian (:mod:`fem.simplex`); elsewhere
scikit-fem's ``Basis`` and forms with quadrature ``space.intorder``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem

from ..meshing import skfem_facets
from . import constraints, simplex, structured, unit_cell
from .space import Space


@dataclass(frozen=True)
class Assembly:
    """How the terms of a scalar field are assembled (a strategy: structured or generic)."""

    name: str
    diffusion: Callable    # (package, basis, k (dim, cells)) -> csr
    mass: Callable         # (package, basis, c (cells,)) -> csr
    source: Callable       # (package, basis, q (cells,)) -> (N,)
    boundary_mass: Callable  # (package, basis, faces, h (faces,)) -> csr
    boundary_load: Callable  # (package, basis, faces, g (faces,)) -> (N,)
    face_dofs: Callable      # (package, basis, faces) -> dofs


def _cell_field(basis, values: np.ndarray) -> np.ndarray:
    """(cells,) -> (cells, quadrature points): a P0 field for scikit-fem forms."""
    return np.repeat(np.asarray(values, dtype=float)[:, None], basis.X.shape[-1], axis=1)


@skfem.BilinearForm
def _diffusion_form(u, v, w):
    return sum(w[f"k{p}"] * u.grad[p] * v.grad[p] for p in range(u.grad.shape[0]))


@skfem.BilinearForm
def _mass_form(u, v, w):
    return w["c"] * u * v


@skfem.LinearForm
def _load_form(v, w):
    return w["g"] * v


def _facet_basis(package, basis, faces):
    return skfem.FacetBasis(package.mesh, basis.elem, facets=skfem_facets(package, faces),
                            intorder=basis.intorder)


def _generic_diffusion(package, basis, conductivity):
    full = basis.basis
    k = np.broadcast_to(conductivity, (package.dimension, package.ncells))
    return _diffusion_form.assemble(full, **{f"k{p}": _cell_field(full, k[p])
                                             for p in range(package.dimension)}).tocsr()


def _generic_mass(package, basis, coefficient):
    return _mass_form.assemble(basis.basis, c=_cell_field(basis.basis, coefficient)).tocsr()


def _generic_source(package, basis, density):
    return _load_form.assemble(basis.basis, g=_cell_field(basis.basis, density))


def _generic_boundary_mass(package, basis, faces, coefficient):
    if not len(faces):
        return sp.csr_matrix((basis.N, basis.N))
    fb = _facet_basis(package, basis, faces)
    h = np.broadcast_to(coefficient, (len(faces),))
    return _mass_form.assemble(fb, c=_cell_field(fb, h)).tocsr()


def _generic_boundary_load(package, basis, faces, values):
    if not len(faces):
        return np.zeros(basis.N)
    fb = _facet_basis(package, basis, faces)
    return _load_form.assemble(fb, g=_cell_field(fb, np.broadcast_to(values, (len(faces),))))


def _simplex_diffusion(package, basis, conductivity):
    return simplex.diffusion(basis, conductivity)


def _simplex_mass(package, basis, coefficient):
    return simplex.mass(basis, coefficient)


def _simplex_source(package, basis, density):
    return simplex.source(basis, density)


def _face_dofs(package, space, faces):
    """Dofs on faces, either strategy: box faces or facets (:func:`constraints.face_dofs`)."""
    return constraints.face_dofs(space, faces)


STRUCTURED = Assembly("structured", structured.assemble_diffusion, structured.assemble_mass,
                      structured.assemble_source, structured.assemble_boundary_mass,
                      structured.assemble_boundary_load, _face_dofs)
"""Reference matrices scaled per box cell: every mesh our mesher makes."""

SIMPLEX = Assembly("simplex", _simplex_diffusion, _simplex_mass, _simplex_source,
                   _generic_boundary_mass, _generic_boundary_load, _face_dofs)
"""Closed-form cell matrices on straight simplices (P1 / P2): imported tetrahedral meshes.
The boundary terms (a few faces) stay on scikit-fem's facet forms."""

GENERIC = Assembly("generic", _generic_diffusion, _generic_mass, _generic_source,
                   _generic_boundary_mass, _generic_boundary_load, _face_dofs)
"""scikit-fem's ``Basis`` + forms (quadrature ``2 * order``): any hexahedral / quad mesh."""


def choose_assembly(space: Space, assembly: Assembly | str | None = None) -> Assembly:
    """The assembler of ``space``: the structured fast path on a box mesh, closed-form cell
    matrices on a P1 / P2 simplex mesh, scikit-fem's forms otherwise (the space decides;
    "structured" / "simplex" / "generic" or an Assembly force one, for tests and
    benchmarks)."""
    if isinstance(assembly, Assembly):
        return assembly
    if assembly in (None, "auto"):
        return STRUCTURED if space.is_box else SIMPLEX if simplex.supports(space) else GENERIC
    strategies = {"structured": STRUCTURED, "simplex": SIMPLEX, "generic": GENERIC}
    if assembly not in strategies:
        raise ValueError(f"unknown assembly {assembly!r}")
    return strategies[assembly]


def unit_cell_weights(element) -> np.ndarray:
    """(nloc,) integrals of the basis functions over the unit box cell (cell means)."""
    return unit_cell.reference(unit_cell.element_key(element))["load"]
