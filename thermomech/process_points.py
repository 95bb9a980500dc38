"""The quadrature points of a part's cells in a process recipe: the strain of a displacement
there and the load of a stress density given there (the viscoelastic history of
``process_visco``).

On box cells every cell is the unit cell scaled by its edge lengths h, so a shape
function's gradient at a point is the unit cell's divided by h and the weight is the unit
weight times the volume: ``BoxPoints`` keeps the unit cell's gradients and the cells' sizes
and dofs (no per-cell basis arrays: scikit-fem's basis of a quadratic hexahedral part holds
60 functions x 12 values per point, about 155 kB per cell). Elsewhere ``BasisPoints`` is
scikit-fem's basis of the cells. Both give the same values to round-off.

Both also give the strain-displacement operator B at every point and, from a stiffness per
point D (the creep parts' consistent tangent), the matrix ``∫ B^T D B`` as batched products
scattered into a CSR pattern computed once per set of cells (``PointStiffness``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem

from .elasticity import voigt_strain
from .fem.structured import VOIGT_2D, VOIGT_3D

CHUNK_ENTRIES = 4_000_000
"""Cell-matrix entries (cells x local dofs^2) per chunk of the point stiffness."""


class BasisPoints:
    """The points of ``cells`` through scikit-fem's basis (any mesh)."""

    def __init__(self, space, cells: np.ndarray):
        self.basis = skfem.Basis(space.mesh, space.elem, intorder=space.intorder,
                                 elements=cells)
        self.shape = (len(cells), self.basis.X.shape[-1])
        self.N = space.N

    @property
    def dx(self) -> np.ndarray:
        """(cells, points) quadrature weight times the Jacobian, m^dim."""
        return self.basis.dx

    def coordinates(self) -> np.ndarray:
        """(dim, cells, points) m."""
        return np.asarray(self.basis.global_coordinates())

    def strain(self, u: np.ndarray) -> np.ndarray:
        """(nv, cells, points) engineering strains of the displacement ``u`` (N,)."""
        return voigt_strain(self.basis.interpolate(u).grad)

    def load(self, density: np.ndarray) -> np.ndarray:
        """(N,) ∫ eps(v) . s for a stress-like density s (nv, cells, points)."""
        fields = {f"s{i}": np.ascontiguousarray(density[i]) for i in range(len(density))}

        @skfem.LinearForm
        def form(v, w):
            ev = voigt_strain(v.grad)
            return sum(w[f"s{i}"] * ev[i] for i in range(len(ev)))

        return form.assemble(self.basis, **fields)

    @property
    def dofs(self) -> np.ndarray:
        """(local dofs, cells) global dofs."""
        return self.basis.element_dofs

    def operator(self, cells: slice) -> np.ndarray:
        """(c, points, nv, local dofs) B of the ``cells`` (a slice of this set's cells):
        engineering strains per local dof value."""
        grads = [voigt_strain(f[0].grad[..., cells, :]) for f in self.basis.basis]
        return np.moveaxis(np.array(grads), 0, -1).transpose(1, 2, 0, 3)


class BoxPoints:
    """The points of box ``cells`` (one local layout, the mesher's) from the unit cell's
    gradients: the first cell's scikit-fem basis times its sizes."""

    def __init__(self, space, package, cells: np.ndarray):
        first = skfem.Basis(space.mesh, space.elem, intorder=space.intorder,
                            elements=cells[:1])
        dim = space.mesh.dim()
        self.sizes = package.cell_sizes[:, cells]  # (dim, cells)
        h0 = self.sizes[:, 0]
        # scalar shape function s is vector function s * dim (component 0)
        self.gradients = np.array([first.basis[s * dim][0].grad[0][:, 0, :] * h0[:, None]
                                   for s in range(first.Nbfun // dim)])  # (s, p, q)
        self.weights = first.dx[0] / np.prod(h0)  # (q,)
        low = space.mesh.p[:, space.mesh.t[:, cells]].min(axis=1)  # (dim, cells)
        X0 = np.asarray(first.global_coordinates())[:, 0, :]  # (dim, q)
        self.unit_points = (X0 - low[:, :1]) / h0[:, None]
        self.low = low
        self.dofs = space.element_dofs[:, cells]  # (s * dim + a, cells)
        self.N, self.dim = space.N, dim
        self.shape = (len(cells), len(self.weights))

    @property
    def dx(self) -> np.ndarray:
        return np.prod(self.sizes, axis=0)[:, None] * self.weights[None, :]

    def coordinates(self) -> np.ndarray:
        return self.low[:, :, None] + self.sizes[:, :, None] * self.unit_points[:, None, :]

    def strain(self, u: np.ndarray) -> np.ndarray:
        local = u[self.dofs].reshape(-1, self.dim, self.shape[0])  # (s, a, cells)
        grad = np.einsum("sac,spq->apcq", local, self.gradients)
        return voigt_strain(grad / self.sizes[None, :, :, None])

    def load(self, density: np.ndarray) -> np.ndarray:
        sigma = _tensor(np.asarray(density, dtype=float))  # (a, p, cells, q)
        weighted = sigma * (self.dx[None, None] / self.sizes[None, :, :, None])
        local = np.einsum("apcq,spq->sac", weighted, self.gradients)
        return np.bincount(self.dofs.ravel(), weights=local.reshape(-1, self.shape[0]).ravel(),
                           minlength=self.N)


    def operator(self, cells: slice) -> np.ndarray:
        """(c, points, nv, local dofs) B of the ``cells`` (a slice of this set's cells)."""
        sizes = self.sizes[:, cells]  # (dim, c)
        # (c, s, p, q): d phi_s / d x_p at the points
        grad = self.gradients[None] / sizes.T[:, None, :, None]
        voigt = VOIGT_3D if self.dim == 3 else VOIGT_2D
        nv = 6 if self.dim == 3 else 3
        B = np.zeros((sizes.shape[1], grad.shape[-1], nv, grad.shape[1], self.dim))
        for (a, p), k in voigt.items():
            B[:, :, k, :, a] += grad[:, :, p, :].transpose(0, 2, 1)
        return B.reshape(B.shape[:3] + (-1,))


class PointStiffness:
    """``∫ B^T D B`` over a set of cells for a stiffness D given per point: the cell
    matrices as batched products of each point's B (``points.operator``), summed into a
    CSR pattern found once (the position of every cell-matrix entry in it). Pa * m."""

    def __init__(self, points):
        self.points = points
        dofs = points.dofs.T  # (cells, n)
        cells, n = dofs.shape
        N = points.N
        keys = (dofs[:, :, None].astype(np.int64) * N + dofs[:, None, :]).ravel()
        unique, self.position = np.unique(keys, return_inverse=True)
        self.position = self.position.astype(np.int64 if len(unique) > 2**31 - 1 else np.int32)
        rows = unique // N
        self.indices = (unique % N).astype(np.int32)
        self.indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=N))]
        self.chunk = max(1, CHUNK_ENTRIES // (n * n * points.shape[1]))

    def matrix(self, D: np.ndarray) -> sp.csr_matrix:
        """(N, N) ∫ B^T D B for ``D`` (cells, points, nv, nv)."""
        cells, q = self.points.shape
        n = self.points.dofs.shape[0]
        dx = self.points.dx
        data = np.zeros(len(self.indices))
        for start in range(0, cells, self.chunk):
            part = slice(start, min(start + self.chunk, cells))
            B = self.points.operator(part)  # (c, q, nv, n)
            DB = np.matmul(D[part], B) * dx[part][:, :, None, None]
            c = B.shape[0]
            local = np.matmul(B.reshape(c, -1, n).transpose(0, 2, 1), DB.reshape(c, -1, n))
            data += np.bincount(self.position[start * n * n:part.stop * n * n],
                                weights=local.ravel(), minlength=len(data))
        N = self.points.N
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(N, N))


def _tensor(voigt: np.ndarray) -> np.ndarray:
    """(dim, dim, ...) symmetric tensor of Voigt components (6, ...) or 2D (3, ...)."""
    index = [[0, 5, 4], [5, 1, 3], [4, 3, 2]] if voigt.shape[0] == 6 else [[0, 2], [2, 1]]
    return voigt[np.array(index)]


def points_of(setup, cells: np.ndarray):
    """The points of ``cells``: ``BoxPoints`` on a box mesh, else ``BasisPoints``."""
    if setup.basis.is_box:
        return BoxPoints(setup.basis, setup.package, cells)
    return BasisPoints(setup.basis, cells)
