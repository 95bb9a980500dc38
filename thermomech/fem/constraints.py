"""Constraints in one place: dofs on named faces, condensation, rigid-body modes and the
minimal (3-2-1) supports that remove the rigid motion the other constraints leave free.

``face_dofs`` takes the faces of a named surface of any mesh: on a box mesh of our mesher
each face is (cell, side) and its dofs come from the unit cell's face dofs; on any other
mesh (imported tetrahedra, triangles, hexahedra) the faces carry scikit-fem facet indices
and the dofs are scikit-fem's facet dofs (vertices, edges and facets of those facets).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import ModelError
from . import structured
from .space import Space

# --- dofs on faces -------------------------------------------------------------------------

def face_dofs(space: Space, faces, component: int | None = None) -> np.ndarray:
    """Sorted unique dofs of ``space`` on ``faces`` (of one vector ``component`` if given).

    faces : ``meshing.Faces``: (cells, sides) on box meshes, scikit-fem ``facets`` otherwise.
    """
    if not len(faces):
        return np.zeros(0, dtype=np.int64)
    if faces.facets is None:
        return structured.face_dofs(space, faces, component)
    dofs = space.dofs.get_facet_dofs(np.asarray(faces.facets)).flatten()
    dofs = np.unique(dofs)
    if component is not None:
        dofs = dofs[space.components[dofs] == component]
    return dofs.astype(np.int64)


def face_values(space: Space, faces, function, components=None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(dofs, values): the dofs of ``space`` on ``faces`` and ``function`` at their
    locations (nodal interpolation: every dof of a quadratic element, mid-edge ones too).

    function : ``f(points (dim, m) m) -> (k, m)``; components : the k vector components
    its rows give (None: a scalar space, k = 1). Each location is evaluated once.
    """
    dofs = face_dofs(space, faces)
    row = np.zeros(len(dofs), dtype=np.int64)
    if components is not None:
        components = list(components)
        dofs = dofs[np.isin(space.components[dofs], components)]
        lookup = np.full(max(components) + 1, -1, dtype=np.int64)
        lookup[components] = np.arange(len(components))
        row = lookup[space.components[dofs]]
    if not len(dofs):
        return dofs, np.zeros(0)
    points, inverse = np.unique(space.doflocs[:, dofs], axis=1, return_inverse=True)
    values = np.asarray(function(points), dtype=float)
    return dofs, values[row, inverse.ravel()]


# --- condensation --------------------------------------------------------------------------

def condense(K: sp.csr_matrix, free: np.ndarray, fixed: np.ndarray,
             chunk: int = 1 << 24) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(K[free][:, free], K[fixed])`` of a CSR matrix, in blocks of about ``chunk`` entries.

    ``free`` and ``fixed`` partition the rows; ``fixed`` is sorted, ``free`` may come in any
    order (the solver's, e.g. the multigrid's colour order), and the block is numbered in
    that order. It is written straight into arrays of its final size (each row's entry order
    kept), so the peak is K, the block and one chunk of work arrays, not the intermediate
    ``K[free]`` of two-step indexing nor a second, reordered copy of the block.
    """
    K = K.tocsr()
    n = K.shape[0]
    free = np.asarray(free, dtype=np.int64)
    new = np.full(n, -1, dtype=np.int64)
    new[free] = np.arange(len(free))
    counts, blocks = _kept_counts(K, new, chunk)
    indptr = np.zeros(len(free) + 1, dtype=np.int64)
    np.cumsum(counts[free], out=indptr[1:])
    data = np.empty(indptr[-1], dtype=K.dtype)
    indices = np.empty(indptr[-1], dtype=K.indices.dtype)
    ascending = bool(np.all(np.diff(free) > 0))
    position = 0
    for r0, r1, a, keep in blocks():
        k = int(keep.sum())
        values = K.data[a:a + len(keep)][keep]
        columns = new[K.indices[a:a + len(keep)][keep]]
        if ascending:  # kept rows land one after another
            data[position:position + k] = values
            indices[position:position + k] = columns
            position += k
            continue
        # each kept entry goes to its row's start in the block plus its rank in the row
        rows = np.flatnonzero(counts[r0:r1]) + r0
        per_row = counts[rows]
        first_in_chunk = np.cumsum(per_row) - per_row
        target = np.arange(k, dtype=np.int64)
        target += np.repeat(indptr[new[rows]] - first_in_chunk, per_row)
        data[target] = values
        indices[target] = columns
    block = sp.csr_matrix((data, indices, indptr.astype(K.indices.dtype)),
                          shape=(len(free), len(free)))
    return block, K[fixed]


def _kept_counts(K: sp.csr_matrix, new: np.ndarray, chunk: int):
    """(rows,) kept entries per row, and the row blocks (first, last + 1, entry offset,
    kept-entry mask) of about ``chunk`` entries."""
    n = K.shape[0]
    row_free = new >= 0
    bounds = np.unique(np.concatenate([
        [0], np.searchsorted(K.indptr, np.arange(chunk, K.nnz, chunk), side="right") - 1,
        [n]]))

    def blocks():
        for r0, r1 in zip(bounds[:-1], bounds[1:]):
            a, b = K.indptr[r0], K.indptr[r1]
            keep = new[K.indices[a:b]] >= 0
            keep &= np.repeat(row_free[r0:r1], np.diff(K.indptr[r0:r1 + 1]))
            yield r0, r1, a, keep

    counts = np.zeros(n, dtype=np.int64)
    for r0, r1, a, keep in blocks():
        before = np.concatenate([[0], np.cumsum(keep)])
        counts[r0:r1] = before[K.indptr[r0 + 1:r1 + 1] - a] - before[K.indptr[r0:r1] - a]
    return counts, blocks


def free_dofs(n: int, fixed: np.ndarray) -> np.ndarray:
    """The dofs 0..n-1 not in ``fixed`` (sorted unique)."""
    return np.setdiff1d(np.arange(n), fixed, assume_unique=True)


def lifted_load(K_fixed_columns: sp.csr_matrix, b_free: np.ndarray, x: np.ndarray,
                fixed: np.ndarray) -> np.ndarray:
    """Right-hand side of the free equations with ``x[fixed]`` given: ``b_free - K_fc x_c``."""
    if not len(fixed):
        return b_free
    return b_free - K_fixed_columns @ x[fixed]


def fixed_columns(K: sp.csr_matrix, free: np.ndarray, fixed: np.ndarray) -> sp.csr_matrix:
    """``K[free][:, fixed]`` (the coupling a nonzero Dirichlet value loads the free rows by)."""
    return sp.csr_matrix(K)[free][:, fixed]


# --- rigid-body modes and minimal supports -------------------------------------------------

def rigid_body_modes(locations: np.ndarray, components: np.ndarray,
                     centre: np.ndarray | None = None) -> np.ndarray:
    """(n, 6) in 3D (3 translations, rotations about x, y, z) or (n, 3) in 2D (two
    translations, the in-plane rotation) of the dofs at ``locations`` (dim, n), m, with
    vector ``components`` (n,). Rotations about ``centre`` (default: the middle of the
    bounding box); every column scaled to unit largest entry."""
    dim = locations.shape[0]
    if centre is None:
        centre = 0.5 * (locations.min(axis=1) + locations.max(axis=1))
    r = locations - np.asarray(centre)[:, None]
    modes = [(components == c).astype(float) for c in range(dim)]

    def rotation(a, b):  # rotation in the (a, b) plane: u_a = -r_b, u_b = r_a
        return np.where(components == a, -r[b], 0.0) + np.where(components == b, r[a], 0.0)

    modes += [rotation(1, 2), rotation(2, 0), rotation(0, 1)] if dim == 3 else [rotation(0, 1)]
    R = np.column_stack(modes)
    return R / np.abs(R).max(axis=0)


def free_rigid_modes(R: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Columns spanning the rigid motions (columns of ``R``) with u[fixed] = 0."""
    if len(fixed) == 0:
        return R
    # only V is needed: the full U of a tall R[fixed] would be (fixed, fixed) (GiB on big models)
    _, s, vt = np.linalg.svd(R[fixed], full_matrices=len(fixed) < R.shape[1])
    rank = int(np.sum(s > 1e-9 * max(s.max(), 1e-300)))
    return R @ vt[rank:].T


def minimal_supports(modes: np.ndarray, locations: np.ndarray, hold: np.ndarray
                     ) -> np.ndarray:
    """A statically determinate set of dofs, nearest ``hold`` (dim,) first, whose rows of
    ``modes`` (n, k: the rigid motions left free) are independent: holding them removes the
    rigid motion and carries no force under a self-equilibrated (thermal) load."""
    k = modes.shape[1]
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(np.linalg.norm(locations - hold[:, None], axis=0), kind="stable")
    chosen: list[int] = []
    basis_rows = np.zeros((0, k))
    scale = np.abs(modes).max()
    for dof in order:  # stops after k accepted dofs (a handful of candidates)
        row = modes[dof]
        residual = row - basis_rows.T @ (basis_rows @ row)
        norm = np.linalg.norm(residual)
        if norm > 1e-6 * scale:
            chosen.append(int(dof))
            basis_rows = np.vstack([basis_rows, residual / norm])
            if len(chosen) == k:
                break
    if len(chosen) < k:
        raise ModelError("mechanical.supports", "cannot remove the rigid-body motion of this "
                                                "model (degenerate mesh?)")
    return np.array(chosen, dtype=np.int64)


def supports_removing_rigid_motion(locations: np.ndarray, components: np.ndarray,
                                   fixed: np.ndarray, hold: np.ndarray | None = None
                                   ) -> tuple[np.ndarray, np.ndarray]:
    """(held dofs, free rigid modes): the minimal supports that, with the dofs ``fixed``,
    leave no rigid motion, chosen nearest ``hold`` (default: the middle of the dofs)."""
    R = rigid_body_modes(locations, components)
    free = free_rigid_modes(R, fixed)
    if hold is None:
        hold = 0.5 * (locations.min(axis=1) + locations.max(axis=1))
    return minimal_supports(free, locations, np.asarray(hold, dtype=float)), free
