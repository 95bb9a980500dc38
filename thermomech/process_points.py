"""The quadrature points of a part's cells in a process recipe: the strain of a displacement
there and the load of a stress density given there (the viscoelastic history of
``process_visco``).

On box cells every cell is the unit cell scaled by its edge lengths h, so a shape
function's gradient at a point is the unit cell's divided by h and the weight is the unit
weight times the volume: ``BoxPoints`` keeps the unit cell's gradients and the cells' sizes
and dofs (no per-cell basis arrays: scikit-fem's basis of a quadratic hexahedral part holds
60 functions x 12 values per point, about 155 kB per cell). Elsewhere ``BasisPoints`` is
scikit-fem's basis of the cells. Both give the same values to round-off.
"""

from __future__ import annotations

import numpy as np
import skfem

from .elasticity import voigt_strain


class BasisPoints:
    """The points of ``cells`` through scikit-fem's basis (any mesh)."""

    def __init__(self, space, cells: np.ndarray):
        self.basis = skfem.Basis(space.mesh, space.elem, intorder=space.intorder,
                                 elements=cells)
        self.shape = (len(cells), self.basis.X.shape[-1])

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


def _tensor(voigt: np.ndarray) -> np.ndarray:
    """(dim, dim, ...) symmetric tensor of Voigt components (6, ...) or 2D (3, ...)."""
    index = [[0, 5, 4], [5, 1, 3], [4, 3, 2]] if voigt.shape[0] == 6 else [[0, 2], [2, 1]]
    return voigt[np.array(index)]


def points_of(setup, cells: np.ndarray):
    """The points of ``cells``: ``BoxPoints`` on a box mesh, else ``BasisPoints``."""
    if setup.basis.is_box:
        return BoxPoints(setup.basis, setup.package, cells)
    return BasisPoints(setup.basis, cells)
