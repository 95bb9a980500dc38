"""Affine simplex cells (imported tetrahedra and triangles): cell matrices in closed form.

On a straight-sided simplex the map from the reference cell is affine, ``x = J xi + x0``,
so every basis gradient is the reference gradient times the constant ``J^-T`` and

    ∫_cell ∇phi_i . K ∇phi_j = sum_ab A_ab S^ab_ij,   A = |det J| J^-1 K J^-T,
    S^ab_ij = ∫_ref d(phi_i)/d(xi_a) d(phi_j)/d(xi_b),

with ``S`` computed once per element by scikit-fem on the reference cell (P1 and P2 share
the code). A cell matrix is one small product per cell instead of scikit-fem's loop over
local dof pairs and quadrature points and its basis of (nloc, dim, cells, points)
gradients (GiB on millions of cells); the global matrix is a COO -> CSR build with 32-bit
indices, chunked to bound memory. Equal to scikit-fem's generic assembly to round-off.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
import skfem

ELEMENTS = {skfem.MeshTet1: (skfem.ElementTetP1, skfem.ElementTetP2),
            skfem.MeshTri1: (skfem.ElementTriP1, skfem.ElementTriP2)}
"""Meshes (straight-sided simplices) and the scalar elements this module assembles."""

CHUNK_ENTRIES = 16_000_000
"""Cell-matrix entries per COO chunk (as ``fem.structured``): bounds the triplets' memory."""

VOIGT = {3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)), 2: ((0, 0), (1, 1), (0, 1))}
"""Voigt order of the engineering strains: xx, yy, zz, yz, xz, xy (3D); xx, zz, xz (2D)."""


def supports(space) -> bool:
    """True when ``space`` is a scalar or vector P1 / P2 space on a straight simplex mesh."""
    scalar = space.elem.elem if isinstance(space.elem, skfem.ElementVector) else space.elem
    return type(scalar) in ELEMENTS.get(type(space.mesh), ()) and (
        not isinstance(space.elem, skfem.ElementVector) or space.elem.dim == space.mesh.dim())


@functools.cache
def reference(element_type: type) -> dict:
    """Integrals over the reference simplex, local dof order of scikit-fem.

    ``grad`` (dim, dim, n, n): S^ab_ij; ``mass`` (n, n); ``load`` (n,): ∫ phi_i;
    ``grad_load`` (dim, n): ∫ d(phi_i)/d(xi_a).
    """
    element = element_type()
    dim = element.dim
    corners = np.hstack([np.zeros((dim, 1)), np.eye(dim)])  # J = I: physical = reference
    mesh = skfem.MeshTet1 if dim == 3 else skfem.MeshTri1
    basis = skfem.Basis(mesh(corners, np.arange(dim + 1)[:, None]), element,
                        intorder=2 * max(1, element.maxdeg))
    dx = basis.dx[0]
    phi = np.array([np.asarray(b[0])[0] for b in basis.basis])  # (n, points)
    grad = np.array([np.asarray(b[0].grad)[:, 0] for b in basis.basis])  # (n, dim, points)
    return {"grad": np.einsum("iaq,jbq,q->abij", grad, grad, dx),
            "mass": np.einsum("iq,jq,q->ij", phi, phi, dx), "load": phi @ dx,
            "grad_load": np.einsum("iaq,q->ai", grad, dx)}


def jacobians(mesh: skfem.Mesh, cells: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(inverse Jacobians (cells, dim, dim) with inv[c, a, x] = d(xi_a)/dx, |det J| (cells,))."""
    t = mesh.t if cells is None else mesh.t[:, cells]
    origin = mesh.p[:, t[0]]
    edges = [mesh.p[:, t[k + 1]] - origin for k in range(t.shape[0] - 1)]  # columns of J
    if len(edges) == 3:  # closed form (4x faster than a batched LAPACK inverse): the rows
        # of J^-1 are the cross products of the other two columns over det J
        rows = [np.cross(edges[1], edges[2], axis=0), np.cross(edges[2], edges[0], axis=0),
                np.cross(edges[0], edges[1], axis=0)]
        det = np.einsum("xc,xc->c", edges[0], rows[0])
        inv = np.stack(rows, axis=1).transpose(2, 1, 0) / det[:, None, None]
        return np.ascontiguousarray(inv), np.abs(det)
    J = np.moveaxis(np.stack(edges, axis=-1), 1, 0)  # (cells, x, a)
    return np.linalg.inv(J), np.abs(np.linalg.det(J))


def cell_volumes(mesh: skfem.Mesh) -> np.ndarray:
    """(cells,) volumes (areas in 2D) of a simplex mesh, m^3."""
    dim = mesh.dim()
    return jacobians(mesh)[1] / (6.0 if dim == 3 else 2.0)


def _chunks(ncells: int, entries_per_cell: int):
    step = max(1, CHUNK_ENTRIES // entries_per_cell)
    return (slice(s, min(s + step, ncells)) for s in range(0, ncells, step))


ROUND_OFF_ENTRY = 1e-12
"""Cell-matrix entries below this times sqrt(K_ii K_jj) are set to exactly zero: they are
zero in exact arithmetic (right-angled cells: the tetrahedra of a split box) and come out of
the A : S products as round-off (1e-17 relative), where scikit-fem's per-axis sums give
exact zeros. Kept, they doubled the stored entries of a P1 heat matrix and made pyamg's
strength graph (every stored entry strong) see couplings that are not there: 52 instead of
40 CG iterations at 97k unknowns. A true coupling is at least ~1e-4 of the diagonal even
in cells of aspect ratio 100, and dropping 1e-12 of it is far below solver tolerance."""


def _cleaned(local: np.ndarray) -> np.ndarray:
    """``local`` (cells, n, n) with its round-off entries (``ROUND_OFF_ENTRY``) set to 0."""
    diag = np.abs(np.diagonal(local, axis1=1, axis2=2)) * ROUND_OFF_ENTRY
    limit = diag[:, :, None] * diag[:, None, :]
    local[np.square(local) <= limit] = 0.0
    return local


def _scatter(space, local_of, nloc: int) -> sp.csr_matrix:
    """The global CSR of cell matrices ``local_of(cells slice) -> (cells, n, n)``."""
    dofs = space.element_dofs.T.astype(np.int32 if space.N < 2**31 else np.int64)
    total = None
    for chunk in _chunks(dofs.shape[0], nloc * nloc):
        d = dofs[chunk]
        rows = np.broadcast_to(d[:, :, None], d.shape + (nloc,)).ravel()
        cols = np.broadcast_to(d[:, None, :], d.shape + (nloc,)).ravel()
        part = sp.coo_matrix((_cleaned(local_of(chunk)).ravel(), (rows, cols)),
                             shape=(space.N, space.N)).tocsr()
        total = part if total is None else total + part
    total.eliminate_zeros()  # the entries that are zero in every cell: not stored
    return total


def diffusion(space, conductivity: np.ndarray) -> sp.csr_matrix:
    """∫ ∇v . diag(k) ∇u on a scalar space; conductivity (dim, cells) or broadcastable, W/m/K."""
    inv, det = jacobians(space.mesh, space.cells)
    dim, ncells = inv.shape[1], inv.shape[0]
    k = np.broadcast_to(np.asarray(conductivity, dtype=float), (dim, ncells))
    S = reference(type(space.elem))["grad"]
    n = S.shape[-1]

    def local(c):
        A = (inv[c] * (k[:, c].T * det[c, None])[:, None, :]) @ inv[c].transpose(0, 2, 1)
        return (A.reshape(-1, dim * dim) @ S.reshape(dim * dim, n * n)).reshape(-1, n, n)
    return _scatter(space, local, n)


def mass(space, coefficient: np.ndarray) -> sp.csr_matrix:
    """∫ c u v on a scalar space, c (cells,) or a number."""
    _, det = jacobians(space.mesh, space.cells)
    M = reference(type(space.elem))["mass"]
    c = np.broadcast_to(np.asarray(coefficient, dtype=float), det.shape) * det
    return _scatter(space, lambda s: c[s, None, None] * M, M.shape[0])


def source(space, density: np.ndarray) -> np.ndarray:
    """(N,) ∫ q v on a scalar space, q (cells,) or a number."""
    _, det = jacobians(space.mesh, space.cells)
    load = reference(type(space.elem))["load"]
    q = np.broadcast_to(np.asarray(density, dtype=float), det.shape) * det
    return np.bincount(space.element_dofs.ravel(), weights=(load[:, None] * q).ravel(),
                       minlength=space.N)


def strain_operator(dim: int) -> np.ndarray:
    """(nv, dim, dim) E with engineering strain ``e_m = sum_ux E[m, u, x] du_u/dx``."""
    E = np.zeros((len(VOIGT[dim]), dim, dim))
    for m, (u, x) in enumerate(VOIGT[dim]):
        E[m, u, x] = E[m, x, u] = 1.0
    return E


def elasticity(space, stiffness: np.ndarray) -> sp.csr_matrix:
    """∫ eps(v) . D eps(u) on a vector space; stiffness D (cells, nv, nv) in Voigt order
    (engineering shears), Pa. Local dof ``dim * i + u`` is scalar dof i, component u."""
    inv, det = jacobians(space.mesh, space.cells)
    dim = inv.shape[1]
    S = reference(type(space.elem.elem))["grad"]
    n = S.shape[-1]
    E = strain_operator(dim)

    def local(c):
        # G[c, x, y, i, j] = ∫ dphi_i/dx dphi_j/dy; T[c, u, w, x, y] = E^T D E
        W = np.einsum("cax,cby,c->cxyab", inv[c], inv[c], det[c]).reshape(-1, dim**2, dim**2)
        G = W @ S.reshape(dim**2, n * n)
        T = np.einsum("mux,cmn,nwy->cuwxy", E, stiffness[c], E, optimize=True)
        K = T.reshape(-1, dim**2, dim**2) @ G  # (c, (u, w), (i, j))
        K = K.reshape(-1, dim, dim, n, n).transpose(0, 3, 1, 4, 2)
        return K.reshape(-1, n * dim, n * dim)
    return _scatter(space, local, n * dim)


def stress_load(space, stress: np.ndarray) -> np.ndarray:
    """(N,) ∫ eps(v) . s on a vector space for a stress s (nv, cells) uniform in each cell."""
    inv, det = jacobians(space.mesh, space.cells)
    dim = inv.shape[1]
    grad_load = reference(type(space.elem.elem))["grad_load"]  # (a, i)
    g = np.einsum("cax,ai,c->cxi", inv, grad_load, det)  # ∫_cell dphi_i/dx
    sigma = np.einsum("mux,mc->cux", strain_operator(dim), np.asarray(stress, dtype=float))
    local = np.einsum("cux,cxi->ciu", sigma, g).reshape(len(det), -1)
    return np.bincount(space.element_dofs.T.ravel(), weights=local.ravel(),
                       minlength=space.N)


def vertex_prolongation(space) -> sp.csr_matrix:
    """(N, ncomp * vertices) interpolation of a P1 field on the mesh's vertices into
    ``space`` (P2: a vertex dof takes its vertex's value, an edge dof the mean of its two
    ends); vector components interleaved as scikit-fem's. The coarse space of the two-level
    preconditioner of quadratic elasticity on imported tetrahedra."""
    scalar = space.elem.elem if isinstance(space.elem, skfem.ElementVector) else space.elem
    ncomp = space.ncomp
    xi = np.asarray(scalar.doflocs, dtype=float)  # (nloc, dim) reference positions
    weights = np.column_stack([1.0 - xi.sum(axis=1), xi])  # barycentric: (nloc, dim + 1)
    dofs = skfem.Dofs(space.mesh, scalar).element_dofs  # (nloc, cells)
    rows = np.broadcast_to(dofs[:, None, :], weights.shape + dofs.shape[1:])
    cols = np.broadcast_to(space.mesh.t[None, :, :], rows.shape)
    keep = np.broadcast_to(weights[:, :, None] != 0, rows.shape)
    shape = (int(dofs.max()) + 1, space.mesh.p.shape[1])
    # every cell around a dof gives the same weight: the sum over cells / their count
    values = np.broadcast_to(weights[:, :, None], rows.shape)[keep]
    total = sp.coo_matrix((values, (rows[keep], cols[keep])), shape=shape).tocsr()
    count = sp.coo_matrix((np.ones(len(values)), (rows[keep], cols[keep])), shape=shape).tocsr()
    total.data /= count.data
    return sp.kron(total, sp.identity(ncomp), format="csr") if ncomp > 1 else total
