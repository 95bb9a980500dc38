"""Scalar Q1 matrices on a tensor grid as stencils: assembly and Galerkin coarse operators.

A linear (Q1) scalar field on a box mesh couples each grid node to its ``3^dim`` nearest
nodes only, so a matrix is a *stencil*: ``values[n, o] = A[n, n + o]`` for every grid node
``n`` and offset ``o`` in ``{-1, 0, 1}^dim`` (zero where a coupling does not exist). On box
cells a term's cell matrix entry depends only on the offset between its two nodes, not on
where the pair sits in the cell (``G[a, a + o]`` is the same for every corner ``a``: 1D
stiffness and mass are Toeplitz), so

    A[n, n + o] = sum_t g_t(o) * sum_{cells holding n and n + o} c_t(cell),

and the inner sum is a sum of shifted slices of the grid-shaped cell array: no per-cell
scatter at all. The CSR matrix is then written straight in the solver's order (each row's
entries in offset order, as :mod:`fem.grid_assembly` writes them), with the fixed dofs
dropped: no COO, no sum of matrices, no permuted copy.

The multigrid's in-plane semi-coarsening interpolates linearly along each coarsened axis,
rows renormalized next to missing coarse unknowns: ``P = D (Px (x) Py (x) I) Mc`` (``D`` a
diagonal scaling, ``Mc`` dropping missing coarse unknowns). Its Galerkin operator ``P^T A P``
keeps reach 1, so it is a stencil too, computed axis by axis from small 1D weight matrices
(:class:`StencilGalerkin`) instead of two generic sparse products.

Measured (quarter flip-chip heat, 1.31M unknowns): see docs/performance-solvers.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from .multigrid import axis_lines

try:  # SciPy's CSR kernel Y += A X (private module, stable since SciPy 1.8)
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover
    _csr_matvecs = None
from .space import Grid

ROWS_PER_CHUNK = 1 << 14
"""Rows written per chunk of the CSR build: (rows, 3^dim) temporaries of 0.4-3.5 MB,
reused from the heap (2^18 rows made 28-56 MB ones, fresh pages on every chunk)."""


def offsets(dim: int) -> np.ndarray:
    """(3^dim, dim) the offsets in stencil order (C order of ``o + 1``: the slot order)."""
    return np.array(list(itertools.product((-1, 0, 1), repeat=dim)), dtype=np.int64)


def offset_weights(grid: Grid, dofs: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(terms, 3^dim) ``g_t(o)``: the entry of reference matrix ``t`` between two local
    nodes at offset ``o``. Raises ValueError when it depends on the pair (not a Q1 box term).

    grid : where the dofs sit (reach 1, scalar); dofs : (nloc, cells) (cell 0 sets the
    layout); references : (terms, nloc, nloc).
    """
    if grid.reach != 1 or grid.ncomp != 1:
        raise ValueError("stencils are for scalar Q1 fields (reach 1, one component)")
    dim = len(grid.shape)
    multi = np.array(np.unravel_index(grid.node[dofs[:, 0]], grid.shape))  # (dim, nloc)
    delta = multi[:, None, :] - multi[:, :, None]  # (dim, I, J): J from I
    if np.abs(delta).max() > 1:
        raise ValueError("element dofs farther apart than one grid step")
    slot = np.ravel_multi_index(tuple(delta + 1), (3,) * dim)  # (I, J)
    out = np.zeros((references.shape[0], 3**dim))
    for t in range(references.shape[0]):
        out[t, slot.ravel()] = references[t].ravel()
        if not np.allclose(out[t, slot], references[t], rtol=0,
                           atol=1e-14 * np.abs(references[t]).max()):
            raise ValueError("a reference matrix whose entries depend on the cell corner")
    return out


def linear_reference(corner: np.ndarray) -> dict:
    """``fem.unit_cell.reference`` of the Q1 box element in closed form: products over the
    axes of the 1D linear element's integrals on [0, 1] (mass [[1/3, 1/6], [1/6, 1/3]],
    stiffness [[1, -1], [-1, 1]], phi' phi = -/+ 1/2, phi = 1/2). corner : (dim, nloc) the
    unit cell's vertex of each local dof, 0 / 1 per axis. Equal to scikit-fem's quadrature
    of the same forms to round-off, without its bases (0.095 s at the start of a Q1 run)."""
    dim = corner.shape[0]
    a, b = corner[:, :, None], corner[:, None, :]  # test i, trial j
    mass_1d = np.where(a == b, 1 / 3, 1 / 6)
    stiff_1d = np.where(a == b, 1.0, -1.0)
    slope = np.where(a == 1, 0.5, -0.5) * np.ones_like(b)  # int phi_i' phi_j
    nloc = corner.shape[1]
    grad = np.empty((dim, dim, nloc, nloc))
    for p, q in itertools.product(range(dim), repeat=2):  # int dphi_j/dq dphi_i/dp
        factors = [stiff_1d[r] if r == p == q else slope[r] if r == p else
                   slope[r].T if r == q else mass_1d[r] for r in range(dim)]
        grad[p, q] = np.prod(factors, axis=0)
    positions = corner.astype(float)
    face_mass, face_load, face_dofs = [], [], []
    for side in range(2 * dim):
        axis, plus = divmod(side, 2)
        on = corner[axis] == plus
        others = np.prod([mass_1d[r] for r in range(dim) if r != axis], axis=0)
        face_mass.append(np.where(on[:, None] & on[None, :], others, 0.0))
        face_load.append(np.where(on, 0.5 ** (dim - 1), 0.0))
        face_dofs.append(np.flatnonzero(on))
    return {"nloc": nloc, "dim": dim, "grad": grad, "mass": np.prod(mass_1d, axis=0),
            "load": np.full(nloc, 0.5**dim),
            "grad_load": np.where(corner == 1, 1.0, -1.0) * 0.5 ** (dim - 1),
            "component": np.zeros(nloc, dtype=int), "positions": positions,
            "face_mass": np.array(face_mass), "face_load": np.array(face_load),
            "face_dofs": face_dofs}


def cell_stencil(grid_cells: np.ndarray, coefficients: np.ndarray, weights: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): the stencil of ``sum_c sum_t coefficients[c, t] G_t`` on the
    node grid of ``grid_cells`` (the grid-shaped cell index, -1 where no cell is).

    coefficients : (cells, terms); weights : (terms, 3^dim) from :func:`offset_weights`.
    values : (3^dim, *nodes) float (offset-major: each offset's plane contiguous);
    present : (3^dim, *nodes) bool, the couplings some cell holds (the structural pattern,
    zero entries of cube cells included).
    """
    dim = grid_cells.ndim
    nodes = tuple(s + 1 for s in grid_cells.shape)
    filled = grid_cells >= 0
    index = np.where(filled, grid_cells, 0)
    cell_values = [np.where(filled, coefficients[:, t][index], 0.0)
                   for t in range(coefficients.shape[1])]
    values = np.zeros((3**dim,) + nodes)
    count = np.zeros((3**dim,) + nodes, dtype=np.int8)
    combined: dict[tuple, np.ndarray] = {}
    # symmetric terms (g(o) = g(-o)): A[n, n + o] = A[n + o, n], so the second half of the
    # offsets is the first half shifted (one copy instead of 1-4 shifted adds per offset)
    last = 3**dim - 1
    symmetric = np.array_equal(weights, weights[:, ::-1])
    for k, o in enumerate(offsets(dim)):
        if symmetric and k > last // 2:  # offset -o is slot last - k
            inside = [slice(max(0, -o[q]), nodes[q] - max(0, o[q])) for q in range(dim)]
            shifted = [slice(max(0, o[q]), nodes[q] + min(0, o[q])) for q in range(dim)]
            values[(k, *inside)] = values[(last - k, *shifted)]
            count[(k, *inside)] = count[(last - k, *shifted)]
            continue
        g = tuple(weights[:, k])
        if g not in combined:  # the cell array of this offset's weights
            combined[g] = sum(w * c for w, c in zip(g, cell_values) if w != 0) \
                if any(g) else None
        cell = combined[g]
        # the cells holding node n and n + o: corner a of the cell at n, a + o a corner too
        for a in itertools.product((0, 1), repeat=dim):
            if any(not 0 <= a[q] + o[q] <= 1 for q in range(dim)):
                continue
            where = (k,) + tuple(slice(a[q], a[q] + grid_cells.shape[q]) for q in range(dim))
            count[where] += filled
            if cell is not None:
                values[where] += cell
    return values, count > 0


def add_matrix(values: np.ndarray, A: sp.spmatrix, grid: Grid) -> None:
    """Add the (n, n) matrix ``A`` on ``grid``'s nodes (couplings within one grid step, e.g.
    convection on boundary faces) to the stencil ``values`` (in place)."""
    A = sp.coo_matrix(A)
    A.sum_duplicates()
    shape = values.shape[1:]
    dim = len(shape)
    row, col = grid.node[A.row], grid.node[A.col]
    delta = np.array(np.unravel_index(col, shape)) - np.array(np.unravel_index(row, shape))
    if A.nnz and np.abs(delta).max() > 1:
        raise ValueError("a coupling farther than one grid step")
    slot = np.ravel_multi_index(tuple(delta + 1), (3,) * dim)
    flat = values.reshape(-1)  # coo of a summed matrix: each (row, column) once
    flat[slot * int(np.prod(shape)) + row] += A.data


def to_csr(values: np.ndarray, present: np.ndarray | None, row_nodes: np.ndarray,
           column_of: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """The CSR matrix of the stencil for rows at grid nodes ``row_nodes`` (flat, in the
    order wanted), columns numbered by ``column_of`` (flat node -> column, -1: dropped), of
    ``n_columns``.

    present : the entries to store (None: the nonzero ones). Each row's entries are in
    offset order.

    One pass in chunks of ``ROWS_PER_CHUNK`` rows, each chunk's entries compressed straight
    into the output arrays (no concatenated copy); the chunks' temporaries (a few MB) stay
    below the allocator's mmap threshold, so they reuse the same memory instead of paying
    fresh page faults (see docs/performance-solvers.md).
    """
    shape = values.shape[1:]
    dim = len(shape)
    nstencil = values.shape[0]
    padded = tuple(s + 2 for s in shape)
    index_type = np.int32 if max(n_columns, nstencil * len(row_nodes),
                                 int(np.prod(padded))) < 2**31 else np.int64
    table = np.full(padded, -1, dtype=index_type)
    table[tuple(slice(1, s + 1) for s in shape)] = column_of.reshape(shape)  # -1 around
    table = table.ravel()
    strides = np.cumprod((1,) + padded[:0:-1])[::-1]
    step = (offsets(dim) @ strides).astype(index_type)  # (3^dim,) on the padded grid
    flat_values = values.reshape(nstencil, -1)
    flat_present = None if present is None else present.reshape(nstencil, -1)
    n_rows = len(row_nodes)
    # each row node's index on the padded grid
    where = sum((m + 1) * int(s) for m, s in zip(np.unravel_index(row_nodes, shape), strides))
    where = np.asarray(where, dtype=index_type)
    indptr = np.zeros(n_rows + 1, dtype=index_type)
    data = np.empty(nstencil * n_rows)
    indices = np.empty(nstencil * n_rows, dtype=index_type)
    nnz = 0  # arrays of the largest size: pages never written cost nothing
    for start in range(0, n_rows, ROWS_PER_CHUNK):
        stop = min(start + ROWS_PER_CHUNK, n_rows)
        nodes = row_nodes[start:stop]
        columns = table[where[start:stop, None] + step]  # (rows, 3^dim)
        vals = flat_values[:, nodes].T.copy()  # each plane gathered contiguously
        keep = columns >= 0
        keep &= vals != 0 if flat_present is None else flat_present[:, nodes].T
        np.cumsum(keep.sum(axis=1), out=indptr[start + 1:stop + 1])
        indptr[start + 1:stop + 1] += nnz
        size = int(indptr[stop]) - nnz
        keep = keep.ravel()
        np.compress(keep, vals.ravel(), out=data[nnz:nnz + size])
        np.compress(keep, columns.ravel(), out=indices[nnz:nnz + size])
        nnz += size
    if nnz <= len(data) // 2:  # SciPy would copy a view of less than half its base
        data, indices = data[:nnz].copy(), indices[:nnz].copy()
    return sp.csr_matrix((data[:nnz], indices[:nnz], indptr), shape=(n_rows, n_columns),
                         copy=False)


def node_set(grid: Grid) -> np.ndarray:
    """Grid-shaped bool: the nodes that carry an unknown of ``grid``."""
    exists = np.zeros(grid.shape, dtype=bool)
    exists.reshape(-1)[grid.node] = True
    return exists


def _axis_weights(x: np.ndarray) -> np.ndarray:
    """(fine, coarse) dense 1D linear interpolation along a grid axis with node coordinates
    ``x``: the coarse lines of :func:`fem.multigrid.axis_lines` (as ``_coarsen``)."""
    sel, pos, upper, w, exact = axis_lines(x)
    count = len(x)
    P = np.zeros((count, len(sel)))
    P[np.arange(count), pos] += w
    P[np.arange(count), upper] += np.where(exact, 0.0, 1.0 - w)
    return P


def _add_product(K: sp.csr_matrix, X: np.ndarray, Y: np.ndarray) -> None:
    """``Y += K @ X`` for C-contiguous 2D ``X``, ``Y`` in place: SciPy's CSR kernel
    (``csr_matvecs``) accumulates into ``Y``, no product temporary and no separate add
    (the Galerkin products at 1.31M unknowns: see docs/performance-solvers.md)."""
    if _csr_matvecs is None or K.dtype != X.dtype or not (X.flags.c_contiguous
                                                           and Y.flags.c_contiguous):
        Y += K @ X
        return
    _csr_matvecs(K.shape[0], K.shape[1], X.shape[1], K.indptr, K.indices, K.data,
                 X.reshape(-1), Y.reshape(-1))


def _galerkin_axis(values: np.ndarray, axis: int, P: np.ndarray) -> np.ndarray:
    """``P^T A P`` along one axis of a stencil (the other axes untouched): the coarse
    stencil for the coarse node count ``P.shape[1]`` along ``axis``.

    ``W[dx, ox][I, i] = P[i, I] P[i + ox, I + dx]`` takes fine band ``ox`` to coarse band
    ``dx``. Each offset plane is C-ordered (before, axis, after), so ``kron(I_before, W)``
    times the plane viewed as (before * axis, after) applies it without moving axes.
    """
    shape = values.shape[1:]
    dim = len(shape)
    fine, coarse = P.shape
    before = int(np.prod(shape[:axis]))
    after = int(np.prod(shape[axis + 1:]))
    shifted = np.zeros((fine + 2, coarse + 2))
    shifted[1:-1, 1:-1] = P
    eye = sp.identity(before, format="csr")
    V = np.ascontiguousarray(values).reshape(3**axis, 3, 3 ** (dim - 1 - axis),
                                             before * fine, after)
    out = np.zeros((3**axis, 3, 3 ** (dim - 1 - axis), before * coarse, after))
    for dx in (-1, 0, 1):
        for ox in (-1, 0, 1):
            W = P.T * shifted[1 + ox:1 + ox + fine, 1 + dx:1 + dx + coarse].T
            if not W.any():
                continue
            K = sp.kron(eye, sp.csr_matrix(W), format="csr")
            for a in range(3**axis):
                for c in range(3 ** (dim - 1 - axis)):
                    _add_product(K, V[a, ox + 1, c], out[a, dx + 1, c])
    return out.reshape((3**dim,) + shape[:axis] + (coarse,) + shape[axis + 1:])


class StencilGalerkin:
    """Coarse operators of the multigrid's in-plane semi-coarsening from stencils.

    Holds the fine stencil (all grid nodes; entries at nodes without an unknown are never
    used: the scaling below zeroes them) and the last coarse one it computed.
    ``__call__(fine_grid, coarse_grid, axes)`` returns the coarse level's CSR matrix in
    ``coarse_grid``'s order, equal to ``P^T A P`` of the multigrid's prolongation
    ``P = D (Px (x) Py) Mc`` (``D``: each row renormalized over the coarse unknowns that
    exist, zero at nodes without an unknown; ``Mc``: the coarse unknowns that exist), for
    the fine level or the level it returned last (a hierarchy built twice starts again).
    """

    def __init__(self, values: np.ndarray):
        self.fine, self.last = values, None

    def __call__(self, fine_grid: Grid, coarse_grid: Grid, axes: tuple[int, ...]
                 ) -> sp.csr_matrix:
        known = [v for v in (self.fine, self.last) if v is not None
                 and v.shape[1:] == fine_grid.shape]
        if not known:
            raise ValueError(f"no stencil of a level of shape {fine_grid.shape}")
        shape = fine_grid.shape
        dim = len(shape)
        weights = {a: _axis_weights(fine_grid.axes[a]) for a in axes}
        total = node_set(coarse_grid).astype(float)
        for a in sorted(axes):  # sum_k w_k [coarse corner k exists], axis by axis
            total = np.moveaxis(np.tensordot(weights[a], np.moveaxis(total, a, 0),
                                             axes=(1, 0)), 0, a)
        scale = np.where(node_set(fine_grid) & (total > 0),
                         1.0 / np.where(total > 0, total, 1.0), 0.0)
        padded = np.zeros(tuple(s + 2 for s in shape))
        padded[tuple(slice(1, s + 1) for s in shape)] = scale
        V = known[0]
        if not np.all(scale == 1.0):  # D A D: rows, then columns offset by offset
            V = V * scale
            for k, o in enumerate(offsets(dim)):
                V[k] *= padded[tuple(slice(1 + o[q], 1 + o[q] + shape[q])
                                      for q in range(dim))]
        for a in sorted(axes):
            V = _galerkin_axis(V, a, weights[a])
        self.last = V
        column_of = np.full(V[0].size, -1, dtype=np.int64)
        column_of[coarse_grid.node] = np.arange(len(coarse_grid.node))
        return to_csr(V, None, coarse_grid.node, column_of, len(coarse_grid.node))


class StencilMatrix(sp.csr_matrix):
    """A CSR matrix written from a stencil, carrying ``galerkin`` (:class:`StencilGalerkin`)
    for the multigrid's coarse operators. Arithmetic on it returns plain results (SciPy
    builds new matrices without the attribute)."""

    galerkin = None


def grid_blocks(values: np.ndarray, present: np.ndarray | None, grid: Grid):
    """``blocks(free, fixed) -> (A[free][:, free], A[fixed])`` of the stencil's matrix on
    the dofs of ``grid`` (dof i at node ``grid.node[i]``), free rows and columns in the
    order given (the multigrid's level order): the fast writer that ``fem.solve`` takes.
    ``blocks.seconds`` accumulates the time spent writing."""
    import time

    n = len(grid.node)
    nodes = int(np.prod(grid.shape))

    def blocks(free: np.ndarray, fixed: np.ndarray):
        start = time.perf_counter()
        column_of = np.full(nodes, -1, dtype=np.int64)
        column_of[grid.node[free]] = np.arange(len(free))
        free_block = to_csr(values, present, grid.node[free], column_of, len(free))
        K_free = StencilMatrix((free_block.data, free_block.indices, free_block.indptr),
                               shape=free_block.shape, copy=False)
        K_free.galerkin = StencilGalerkin(values)
        column_of[:] = -1
        column_of[grid.node] = np.arange(n)
        K_fixed = to_csr(values, present, grid.node[fixed], column_of, n)
        blocks.seconds += time.perf_counter() - start
        return K_free, K_fixed

    blocks.seconds = 0.0
    return blocks
