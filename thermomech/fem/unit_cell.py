"""Reference matrices of Lagrange box elements on the unit cell (cached per element).

The box-cell strategy (``fem.structured``) scales these per cell: on a box of sizes h a term
with derivatives in directions p and q scales as V / (h_p h_q), a term without derivatives
as V. Computed once per element by scikit-fem's quadrature on the mesher's own unit cell
(so every Lagrange element works: Hex1, Hex2, HexS2, Quad1, Quad2 and their vector
versions); Q1 in closed form (``fem.stencil.linear_reference``).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import skfem

from ..meshing import _tensor_mesh
from .stencil import linear_reference


def element_key(element) -> tuple:
    """The cache key of a scikit-fem element: (kind, element class, vector dimension)."""
    if isinstance(element, skfem.ElementVector):
        return ("vector", type(element.elem), element.dim)
    return ("scalar", type(element), None)


def _element_from_key(key):
    kind, cls, dim = key
    return skfem.ElementVector(cls(), dim) if kind == "vector" else cls()


@functools.cache
def _unit_cell(dim: int) -> skfem.Mesh:
    # built by the mesher's own code: the same vertex order as every mesh we make
    axes = tuple(np.array([0.0, 1.0]) for _ in range(dim))
    mesh, _ = _tensor_mesh(axes, np.zeros((1,) * dim, dtype=np.int32))
    return mesh


@functools.cache
def reference(key: tuple) -> dict:
    """Reference matrices of an element on the unit cell (local dof order of scikit-fem).

    ``grad[p, q]``: (nloc, nloc) of ∫ dphi_i/dxi_p dphi_j/dxi_q (scalar elements);
    ``vgrad[a, p, b, q]``: ∫ d(v_a)/dxi_p d(u_b)/dxi_q (vector elements);
    ``mass``: ∫ phi_i phi_j; ``load``: ∫ phi_i; ``grad_load[p]``: ∫ dphi_i/dxi_p (scalar
    elements); ``positions``: (dim, nloc) dof positions on the unit cell; ``face_mass[s]``,
    ``face_load[s]``: the same on face ``s = 2 * axis + (1 if +)`` of unit area;
    ``face_dofs[s]``: local dofs on face s;
    ``component``: vector component of each local dof (0 for scalar elements).
    """
    if key[0] == "vector":
        return _vector_reference(key)
    if key[1] in (skfem.ElementHex1, skfem.ElementQuad1):  # closed form (Q1 dofs: vertices)
        mesh = _unit_cell(key[1]().dim)
        return linear_reference(np.rint(mesh.p[:, mesh.t[:, 0]]).astype(int))
    element = _element_from_key(key)
    dim = element.dim
    mesh = _unit_cell(dim)
    order = 2 * max(1, getattr(element, "maxdeg", 2)) + 2
    basis = skfem.Basis(mesh, element, intorder=order)
    local = basis.element_dofs[:, 0]

    def assemble(form, b=basis):
        return form.assemble(b).toarray()[np.ix_(local, local)]

    grad = np.empty((dim, dim, len(local), len(local)))
    for p, q in itertools.product(range(dim), repeat=2):
        grad[p, q] = assemble(skfem.BilinearForm(lambda u, v, w, p=p, q=q: u.grad[q] * v.grad[p]))
    out = {"nloc": len(local), "dim": dim, "grad": grad,
           "mass": assemble(skfem.BilinearForm(lambda u, v, w: u * v)),
           "load": skfem.LinearForm(lambda v, w: v).assemble(basis)[local],
           "grad_load": np.array([skfem.LinearForm(lambda v, w, p=p: v.grad[p]).assemble(
               basis)[local] for p in range(dim)]),
           "component": np.zeros(len(local), dtype=int)}
    positions = basis.doflocs[:, local]
    out["positions"] = positions
    face_mass, face_load, face_dofs = [], [], []
    for side in range(2 * dim):
        axis, plus = divmod(side, 2)
        facets = mesh.facets_satisfying(lambda x, axis=axis, plus=plus: np.isclose(
            x[axis], float(plus)))
        fb = skfem.FacetBasis(mesh, element, facets=facets, intorder=order)
        face_mass.append(skfem.BilinearForm(lambda u, v, w: u * v).assemble(fb).toarray()[
            np.ix_(local, local)])
        face_load.append(skfem.LinearForm(lambda v, w: v).assemble(fb)[local])
        face_dofs.append(np.flatnonzero(np.isclose(positions[axis], float(plus))))
    out.update(face_mass=np.array(face_mass), face_load=np.array(face_load),
               face_dofs=face_dofs)
    return out


def _vector_reference(key: tuple) -> dict:
    """Vector element matrices from the scalar ones: scikit-fem's ``ElementVector`` numbers
    local dof ``i`` as scalar dof ``i // dim``, component ``i % dim``, so
    ``vgrad[a, p, b, q]`` is ``grad[p, q]`` on the rows of component a and columns of b."""
    _, cls, dim = key
    scalar = reference(("scalar", cls, None))
    n = scalar["nloc"]
    vgrad = np.zeros((dim, dim, dim, dim, dim * n, dim * n))
    for a, p, b, q in itertools.product(range(dim), repeat=4):
        vgrad[a, p, b, q][a::dim, b::dim] = scalar["grad"][p, q]
    face_dofs = [np.sort((dim * f[:, None] + np.arange(dim)).ravel())
                 for f in scalar["face_dofs"]]
    return {"nloc": dim * n, "dim": dim, "vgrad": vgrad, "face_dofs": face_dofs,
            "component": np.arange(dim * n) % dim,
            "positions": np.repeat(scalar["positions"], dim, axis=1)}


@functools.cache
def mixed_reference(key: tuple, other: tuple) -> np.ndarray:
    """(dim, nloc, nloc_other): ∫ dphi_i/dxi_p psi_j on the unit cell, for the scalar elements
    of ``key`` (phi, e.g. the displacement element) and ``other`` (psi, e.g. temperature)."""
    element, second = _element_from_key(key), _element_from_key(other)
    dim = element.dim
    mesh = _unit_cell(dim)
    order = 2 * max(getattr(element, "maxdeg", 2), getattr(second, "maxdeg", 2)) + 2
    vbasis = skfem.Basis(mesh, element, intorder=order)
    ubasis = skfem.Basis(mesh, second, intorder=order)
    index = np.ix_(vbasis.element_dofs[:, 0], ubasis.element_dofs[:, 0])
    return np.array([skfem.BilinearForm(lambda u, v, w, p=p: v.grad[p] * u).assemble(
        ubasis, vbasis).toarray()[index] for p in range(dim)])


def negative_lebesgue(element: skfem.Element) -> float:
    """max over the Gauss points (orders 1-8) of the unit cell of sum_j max(-psi_j, 0).

    With it, a field sum_j T_j psi_j lies in [min T_j - L s, max T_j + L s] at those points,
    s = max T_j - min T_j (0 for Q1, whose basis functions are non-negative).
    """
    return _negative_lebesgue(element_key(element))


@functools.cache
def _negative_lebesgue(key: tuple, orders=tuple(range(1, 9))) -> float:
    element = _element_from_key(key)
    mesh = _unit_cell(element.dim)
    worst = 0.0
    for order in orders:
        basis = skfem.Basis(mesh, element, intorder=order)
        phi = np.array([np.asarray(basis.basis[k][0]) for k in range(basis.Nbfun)])
        worst = max(worst, float(np.maximum(-phi, 0.0).sum(axis=0).max()))
    return worst
