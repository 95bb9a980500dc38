"""Geometric multigrid on the tensor grid, a preconditioner for conjugate gradients.

Every unknown of a box mesh sits on a node of a tensor grid: Q1 dofs on the mesh's grid
lines, Q2 / serendipity dofs on the grid refined once (each interval halved). The hierarchy:

* a quadratic level first goes to the linear (Q1) space of the same mesh (p-multigrid: the
  refined grid coarsened by 2 in every direction, prolongation = linear interpolation, which
  is exact for the Q1 functions inside the quadratic space);
* then Q1 levels are **semi-coarsened in-plane** (every other grid line in x and y, 2D: x),
  keeping every z line: packages are thin layers, strongly coupled through the thickness;
* the smoother solves whole **z lines** at once (a banded Cholesky factor of each line's
  couplings, all vector components together: block-tridiagonal line smoothing), as
  Gauss-Seidel over colours of lines that do not couple (zebra / four-colour ordering);
* coarse operators are Galerkin ``P^T A P``, so material jumps, Robin terms and removed cells
  are inherited exactly; the prolongation is built on the full grid and restricted to the
  unknowns that exist (a coarse unknown exists where its coincident fine unknown does; rows
  are renormalized so constants are interpolated exactly).

The V-cycle (forward sweep down, backward sweep up) is symmetric: a valid CG preconditioner.
Pure NumPy / SciPy / LAPACK (banded Cholesky ``pbtrf``); no Python loop over cells or nodes.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpbtrf, dpttrf

from ..threads import (
    RowSplit,
    banded_solve,
    map_ordered,
    row_block,
    thread_count,
    tridiagonal_solve,
)
from .coarse_factor import banded_or_dense_factor, sparse_lu
from .space import Grid

COARSEST = 4000
"""Unknowns at or below which coarsening stops and the level is factorized."""

DENSE_LIMIT = 6000
"""The coarsest level is a dense Cholesky factor up to this many unknowns (0.3 GB), a
sparse one (PARDISO) above."""


# --- one level -----------------------------------------------------------------------------

def _colours(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(n,) line id and colour of each unknown (lines that couple get different colours).

    Nodes are C-ordered with the line axis last: the line is ``node // shape[-1]``, and the
    colour ``sum_a (m_a mod k) k^(dim - 2 - a)`` of the in-plane indices (integer arithmetic,
    no ``unravel_index`` / ``ravel_multi_index``: 1.4-2.5x faster, ~26 calls a set-up)."""
    shape, k = grid.shape, grid.reach + 1
    line = grid.node // shape[-1]
    colour, rest, weight = np.zeros_like(line), line, 1
    for a in range(len(shape) - 2, -1, -1):
        rest, m = np.divmod(rest, shape[a])
        colour += (m % k) * weight
        weight *= k
    return line, colour


def level_order(grid: Grid) -> np.ndarray:
    """The order of unknowns on a level: by colour, then node, then component. A matrix
    already in this order (``grid.restrict(level_order(grid))``) is used without a copy."""
    _, colour = _colours(grid)
    return np.lexsort((grid.component, grid.node, colour))


def permute(A: sp.csr_matrix, order: np.ndarray) -> sp.csr_matrix:
    """``A[order][:, order]`` for CSR ``A``: rows gathered, columns renumbered (unsorted).

    ``order`` is mostly runs of consecutive rows (whole grid lines keep their order): each
    run is one slice copy, which keeps the memory traffic at one pass over the matrix
    (measured 91M nonzeros: 1.2 s, against 8.6 s for an index array per nonzero).
    """
    n = len(order)
    lengths = np.diff(A.indptr)[order]
    indptr = np.zeros(n + 1, dtype=A.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    inverse = np.empty(n, dtype=A.indices.dtype)
    inverse[order] = np.arange(n, dtype=A.indices.dtype)
    starts = np.r_[0, np.flatnonzero(np.diff(order) != 1) + 1]
    if len(starts) < n // 4:
        first, last = order[starts], order[np.r_[starts[1:], n] - 1] + 1
        lo, hi = A.indptr[first], A.indptr[last]
        data = np.concatenate([A.data[a:b] for a, b in zip(lo.tolist(), hi.tolist())])
        indices = np.concatenate([A.indices[a:b] for a, b in zip(lo.tolist(), hi.tolist())])
    else:
        source = np.repeat(A.indptr[order].astype(np.int64) - indptr[:-1], lengths)
        source += np.arange(indptr[-1], dtype=np.int64)
        data, indices = A.data[source], A.indices[source]
    return sp.csr_matrix((data, inverse[indices], indptr), shape=A.shape, copy=False)


def _colour_bounds(grid: Grid) -> np.ndarray:
    """Start of each colour's unknowns in level order, and the end."""
    counts = np.bincount(_colours(grid)[1])
    return np.r_[0, np.cumsum(counts[counts > 0])]


def band_width(grid: Grid) -> int:
    """Superdiagonals of a grid line's block in level order."""
    return (grid.reach + 1) * grid.ncomp - 1


def _line_factors(A: sp.csr_matrix, grid: Grid) -> tuple[list, bool]:
    """Per colour ``(start, stop, factor)`` of the Cholesky factors of the grid lines'
    blocks of ``A`` (level order), and whether they are tridiagonal (LAPACK ``pttrf``)."""
    n = A.shape[0]
    line, _ = _colours(grid)
    kd = band_width(grid)
    bounds = _colour_bounds(grid)
    # the line bands: per colour, the block of its own rows and columns (one pass over
    # the matrix in SciPy's submatrix kernel; lines of one colour do not couple, so the
    # block is the lines' blocks side by side), then its diagonals (``A.diagonal(k)``,
    # k = 0..kd, was kd + 1 passes over the whole matrix: 1.8 s at 1.1M HexS2 unknowns)
    ab = np.zeros((kd + 1, n))
    for s, e in itertools.pairwise(bounds):
        own = row_block(A, s, e)[:, s:e]
        ab[kd, s:e] = own.diagonal()
        for k in range(1, min(kd, e - s - 1) + 1):
            same = line[s:e - k] == line[s + k:e]
            ab[kd - k, s + k:e] = np.where(same, own.diagonal(k), 0.0)
    return factor_bands(ab, grid)


def factor_bands(ab: np.ndarray, grid: Grid) -> tuple[list, bool]:
    """``_line_factors`` from the (kd + 1, n) upper bands of the grid lines' blocks (LAPACK
    banded storage, level order; zero between lines)."""
    kd, bounds = band_width(grid), _colour_bounds(grid)
    factors = []
    tridiagonal = kd == 1  # LAPACK's tridiagonal LDL^T: 2.6x faster than banded
    for s, e in itertools.pairwise(bounds):
        if tridiagonal:
            *factor, info = dpttrf(ab[1, s:e], ab[0, s + 1:e])
        else:
            factor, info = dpbtrf(ab[:, s:e], lower=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"line smoother: the Cholesky factor of a grid line "
                                        f"failed (LAPACK info {info}): the matrix is not "
                                        f"positive definite")
        factors.append((int(s), int(e), factor))
    return factors, tridiagonal


def _line_solve(factor, tridiagonal: bool, r: np.ndarray) -> np.ndarray:
    """The line factor's solve without the GIL (``dpttrs`` / ``dpbtrs`` through ctypes)."""
    return tridiagonal_solve(*factor, r) if tridiagonal else banded_solve(factor, r)


LINE_SPLIT = 20_000
"""Colours of at least this many unknowns have their line solves (with their rows'
products on the fine levels) split in two halves (at a line boundary) on two threads."""


def _halves(factors: list, grid: Grid, tridiagonal: bool = False) -> list:
    """Per colour the (start, stop, factor) pieces of its line factor, each colour of at
    least ``LINE_SPLIT`` unknowns cut at the line boundary nearest its middle (the factor of
    block-diagonal lines is block diagonal: its columns split with the lines; a tridiagonal
    ``(d, e)`` has ``e = 0`` at the cut). One piece per colour on one thread."""
    line, _ = _colours(grid)
    out = []
    for s, e, factor in factors:
        cuts = np.flatnonzero(np.diff(line[s:e]) != 0) + 1 + s
        if e - s < LINE_SPLIT or not len(cuts) or thread_count() < 2:
            out.append([(s, e, factor)])
            continue
        m = int(cuts[np.argmin(np.abs(cuts - (s + e) / 2))])
        out.append([(s, m, (factor[0][:m - s], factor[1][:m - s - 1]) if tridiagonal
                     else factor[:, :m - s]),
                    (m, e, (factor[0][m - s:], factor[1][m - s:]) if tridiagonal
                     else factor[:, m - s:])])
    return out


def _run(work, pieces: list) -> None:
    """``work`` on each piece, on a thread each when there are several."""
    if len(pieces) == 1:
        work(pieces[0])
        return
    for _ in map_ordered(work, pieces, len(pieces)):
        pass


class _Level:
    """A level in colour order: the operator, its line smoother and the grid."""

    def __init__(self, A: sp.csr_matrix, grid: Grid):
        self.A, self.grid = A, grid
        self.factors, self.tridiagonal = _line_factors(A, grid)
        factors = self.factors
        # per colour, per half: its rows, whose product and line solve run on one thread
        # (lines of one colour do not couple: the halves are independent)
        self.colours = [[(s, e, row_block(A, s, e), f) for s, e, f in pieces]
                        for pieces in _halves(factors, grid, self.tridiagonal)]
        # after a forward sweep the last colour's residual is zero (its lines were solved
        # last): the residual needs only the rows before it
        self.last = factors[-1][0]
        self.before_last = RowSplit(row_block(A, 0, self.last))

    def sweep(self, x: np.ndarray, b: np.ndarray, reverse: bool, zero: bool = False) -> None:
        """One Gauss-Seidel sweep over the colours of lines (in place)."""
        for i, pieces in enumerate(self.colours[::-1] if reverse else self.colours):
            def work(piece, first=zero and i == 0):
                s, e, rows, factor = piece
                r = b[s:e] if first else b[s:e] - rows @ x
                x[s:e] += _line_solve(factor, self.tridiagonal, r)
            _run(work, pieces)


CHEBYSHEV_DEGREE = 1
"""Chebyshev steps per smoothing of a matrix-free level (before and after the coarse
correction). Measured, HexS2 178k unknowns (the stored level's Gauss-Seidel: 25 CG
iterations): degree 1 (damped line Jacobi) 26 iterations, 2: 22, 3: 21. Per iteration
a degree costs 2 products and 2 line solves more, so degree 1 does the least work
(26 x 3 products against 22 x 5); ratio 3 / 10 / 30 at degree 1: 28 / 26 / 26."""

CHEBYSHEV_RATIO = 10.0
"""The smoother damps eigenvalues of ``D^-1 A`` in [lambda_max / ratio, lambda_max]."""

POWER_STEPS = 6
"""Power iterations for lambda_max of ``D^-1 A`` (each a product and a line solve)."""

POWER_MARGIN = 1.25
"""lambda_max is taken as this times the power estimate. Measured, quarter flip-chip HexS2
(lambda_max 4.50 from 40 Lanczos steps at 178k and 1.1M unknowns): 6 steps estimate 3.96 /
3.83, 12 steps 4.25 / 4.22. The smoother is stable below ``2 theta = 1.1 upper`` (1.375
estimates) and the CG iterations are flat for upper in 1.1 x [3.96, 4.5] (178k: 25-26; 12
steps with 10 % margin: 26), so 6 steps with 25 % margin smooth as well for half the
set-up products."""


class _ChebyshevLevel:
    """A level known only as an operator (``A @ x``, no matrix): Chebyshev smoothing
    preconditioned by the grid lines' blocks (line Jacobi), the same polynomial before and
    after the coarse correction, so the V-cycle stays symmetric. ``bands``: the grid
    lines' blocks as (kd + 1, n) upper bands (:func:`factor_bands`)."""

    def __init__(self, A, bands: np.ndarray, grid: Grid):
        self.A, self.grid = A, grid
        self.factors, self.tridiagonal = factor_bands(bands, grid)
        self.pieces = _halves(self.factors, grid, self.tridiagonal)
        v = np.random.default_rng(0).standard_normal(A.shape[0])
        lam, norm = 1.0, float(np.sqrt(np.sum(v * v)))
        for _ in range(POWER_STEPS):
            w = self.line_solve(A @ v)
            w_norm = float(np.sqrt(np.sum(w * w)))
            lam, v, norm = w_norm / norm, w, w_norm
        self.upper = POWER_MARGIN * lam
        self.lower = self.upper / CHEBYSHEV_RATIO

    def line_solve(self, r: np.ndarray) -> np.ndarray:
        out = np.empty_like(r)

        def solve(piece):
            s, e, factor = piece
            out[s:e] = _line_solve(factor, self.tridiagonal, r[s:e])
        for pieces in self.pieces:
            _run(solve, pieces)
        return out

    def smooth(self, x: np.ndarray, b: np.ndarray, zero: bool = False) -> None:
        """``CHEBYSHEV_DEGREE`` Chebyshev steps on ``A x = b`` (in place; Saad, Iterative
        Methods, algorithm 12.1)."""
        theta, delta = (self.upper + self.lower) / 2, (self.upper - self.lower) / 2
        r = b.copy() if zero else b - self.A @ x
        sigma = theta / delta
        rho = 1.0 / sigma
        d = self.line_solve(r) / theta
        for k in range(CHEBYSHEV_DEGREE):
            x += d
            if k == CHEBYSHEV_DEGREE - 1:
                break
            r -= self.A @ d
            rho_next = 1.0 / (2.0 * sigma - rho)
            d = rho_next * rho * d + 2.0 * rho_next / delta * self.line_solve(r)
            rho = rho_next


def axis_lines(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The coarse lines of a grid axis with node coordinates ``x``: every other line, the
    last always. Returns (sel: the coarse lines' fine indices; per fine line pos, upper: the
    coarse lines below and above (equal on a coarse line), w: the weight of the one below
    (linear in the coordinates), exact: whether it is a coarse line)."""
    count = len(x)
    sel = np.arange(0, count, 2)
    if sel[-1] != count - 1:
        sel = np.r_[sel, count - 1]
    pos = np.searchsorted(sel, np.arange(count), side="right") - 1
    exact = sel[pos] == np.arange(count)
    upper = np.where(exact, pos, np.minimum(pos + 1, len(sel) - 1))
    span = np.where(exact, 1.0, x[sel[upper]] - x[sel[pos]])
    w = np.where(exact, 1.0, (x[sel[upper]] - x) / span)
    return sel, pos, upper, w, exact


def _coarsen(grid: Grid, axes_to_coarsen: tuple[int, ...], rows: np.ndarray | None = None
              ) -> tuple[sp.csr_matrix, Grid]:
    """Prolongation (n_fine, n_coarse) and the coarse grid (in coarse level order).

    Every other grid line of each axis in ``axes_to_coarsen`` (the last line always) is a
    coarse line; weights are linear interpolation in the coordinates, from the full grid
    restricted to the coarse unknowns that exist (coincident fine unknown present), rows
    renormalized to sum 1. ``rows``: only these fine unknowns' rows of the prolongation
    (len(rows), n_coarse), the same rows as the whole matrix's (a rank of
    ``distributed.geometric`` needs its own: the whole matrix's temporaries are about 0.3 kB
    per fine unknown).
    """
    shape = grid.shape
    dim = len(shape)
    n = len(grid.node)
    multi = np.unravel_index(grid.node, shape)
    coarsened = sorted(axes_to_coarsen)
    # per axis, per fine line: the coarse lines below / above and the weight of the one below
    coarse_axes, lines = [], []
    for a in range(dim):
        if a not in coarsened:
            coarse_axes.append(grid.axes[a])
            lines.append(None)
            continue
        sel, pos, upper, w, exact = axis_lines(grid.axes[a])
        coarse_axes.append(grid.axes[a][sel])
        lines.append((pos, upper, w, exact))
    coarse_shape = tuple(len(c) for c in coarse_axes)
    on_coarse = np.ones(n, dtype=bool)
    coarse_multi = list(multi)
    for a in coarsened:
        on_coarse &= lines[a][3][multi[a]]
        coarse_multi[a] = lines[a][0][multi[a]]
    # coarse unknowns: coincident fine unknowns, numbered in coarse level order
    coarse_node = np.ravel_multi_index(tuple(m[on_coarse] for m in coarse_multi), coarse_shape)
    coarse_comp = grid.component[on_coarse]
    order = level_order(Grid(tuple(coarse_axes), coarse_node, coarse_comp, grid.ncomp, 1))
    coarse = Grid(tuple(coarse_axes), coarse_node[order], coarse_comp[order], grid.ncomp, 1)
    table = np.full(int(np.prod(coarse_shape)) * grid.ncomp, -1, dtype=np.int64)
    table[coarse.node * grid.ncomp + coarse.component] = np.arange(len(coarse.node))
    if rows is not None:  # the rows asked for: their grid positions and components
        multi = tuple(m[rows] for m in multi)
        coarse_multi = list(multi)
        for a in coarsened:
            coarse_multi[a] = lines[a][0][multi[a]]
        component = grid.component[rows]
        n = len(rows)
    else:
        component = grid.component
    width = 2 ** len(coarsened)
    strides = np.cumprod((1,) + coarse_shape[:0:-1])[::-1]  # C-order strides of the coarse grid
    base = sum(coarse_multi[a] * int(strides[a]) for a in range(dim))  # lower corner
    step = {a: (lines[a][1] - lines[a][0])[multi[a]] * int(strides[a]) for a in coarsened}
    wlow = {a: lines[a][2][multi[a]] for a in coarsened}
    # int32 indices when they fit: SciPy scans int64 ones to downcast them (0.07 s at 1.3M)
    itype = np.int32 if width * n < 2**31 and len(coarse.node) < 2**31 else np.int64
    cols = np.empty((n, width), dtype=itype)
    vals = np.empty((n, width))
    total = np.zeros(n)
    index = table if grid.ncomp == 1 else None
    for k, choice in enumerate(itertools.product((0, 1), repeat=len(coarsened))):
        flat = base.copy()
        weight = None
        for a, c in zip(coarsened, choice):
            if c:
                flat += step[a]
            w = 1.0 - wlow[a] if c else wlow[a]
            weight = w.copy() if weight is None else np.multiply(weight, w, out=weight)
        col = index[flat] if index is not None else table[flat * grid.ncomp + component]
        cols[:, k] = col
        vals[:, k] = weight = np.where(col >= 0, weight, 0.0)
        total += weight  # the row sums as vals.sum(axis=1) adds them below 8 terms
    total = vals.sum(axis=1) if width >= 8 else total  # (pairwise from 8: its order)
    vals *= np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)[:, None]
    keep = vals > 0
    indptr = np.zeros(n + 1, dtype=itype)
    np.cumsum(np.count_nonzero(keep, axis=1), out=indptr[1:])
    P = sp.csr_matrix((vals[keep], cols[keep], indptr), shape=(n, len(coarse.node)),
                      copy=False)
    return P, coarse


# --- the hierarchy -------------------------------------------------------------------------

class Multigrid:
    """A geometric multigrid V-cycle for SPD ``A`` whose unknowns sit on ``grid``.

    ``coarse_factor(A) -> solve`` factorizes a coarsest level above ``DENSE_LIMIT`` unknowns
    (the caller's sparse direct solver; default SciPy's LU). A matrix with a ``galerkin``
    attribute (``galerkin(fine_grid, coarse_grid, axes) -> coarse A``, equal to ``P^T A P``:
    the scalar Q1 stencils of :mod:`fem.stencil`) gets its coarse operators from it instead
    of sparse triple products.

    ``__call__(r)`` applies one symmetric V-cycle (the preconditioner). ``levels`` lists the
    unknowns per level; ``setup_seconds`` the build time.
    """

    def __init__(self, A: sp.spmatrix, grid: Grid, *, coarsest: int | None = None,
                 max_levels: int = 20, coarse_factor=None, top=None):
        start = time.perf_counter()
        top_order = None
        if top is not None:  # (level, P): a first level built by the caller (matrix-free);
            top_order = np.arange(top[1].shape[0])  # A and grid are the second level's
            coarse_grid = grid
        coarsest = COARSEST if coarsest is None else coarsest
        galerkin = getattr(A, "galerkin", None)
        A = sp.csr_matrix(A)
        if len(grid.node) != A.shape[0]:
            raise ValueError(f"grid has {len(grid.node)} unknowns, the matrix {A.shape[0]}")
        self.order = level_order(grid)
        grid = Grid(grid.axes, grid.node[self.order], grid.component[self.order],
                    grid.ncomp, grid.reach)
        identity = np.array_equal(self.order, np.arange(len(self.order)))
        A = A if identity else permute(A, self.order)
        self.identity = identity
        self.levels: list = []
        self.prolongations: list[sp.csr_matrix] = []
        self.restrictions: list[sp.csr_matrix] = []
        if top is not None:
            if not identity:
                raise ValueError("the level below a caller's top level must be in level order")
            self.order, grid = top_order, coarse_grid
            self.levels.append(top[0])
            self.prolongations.append(sp.csr_matrix(top[1]))
            self.restrictions.append(self.prolongations[0].T.tocsr())
        while True:
            if A.shape[0] <= coarsest or len(self.levels) >= max_levels - 1:
                break
            if grid.reach > 1:
                axes = tuple(range(len(grid.shape)))  # quadratic -> linear on the same mesh
            else:
                axes = tuple(a for a in range(len(grid.shape) - 1) if grid.shape[a] > 3)
            if not axes:
                break
            self.levels.append(_Level(A, grid))
            fine_grid = grid
            P, grid = _coarsen(grid, axes)
            self.prolongations.append(P)
            R = P.T.tocsr()
            self.restrictions.append(R)
            if galerkin is not None and fine_grid.reach == 1 and fine_grid.ncomp == 1:
                A = galerkin(fine_grid, grid, axes)
            else:
                A = (R @ (A @ P)).tocsr()
                A.sum_duplicates()
        self.coarse_grid = grid
        self.coarse_matrix = A
        # a system too small to coarsen is the fine matrix itself (cg-gmg asked for on a small
        # model): sparse, factorized by PARDISO in milliseconds where a dense factor of 4000
        # unknowns takes seconds
        if A.shape[0] <= DENSE_LIMIT and self.levels:
            self._coarse = banded_or_dense_factor(A)
        else:
            self._coarse = (coarse_factor or sparse_lu)(A)
        self.sizes = [lv.A.shape[0] for lv in self.levels] + [A.shape[0]]
        self.setup_seconds = time.perf_counter() - start

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        if level == len(self.levels):
            return self._coarse(b)
        lv = self.levels[level]
        x = np.zeros_like(b)
        if isinstance(lv, _ChebyshevLevel):
            lv.smooth(x, b, zero=True)
            r = b - lv.A @ x
            x += self.prolongations[level] @ self._cycle(level + 1, self.restrictions[level] @ r)
            lv.smooth(x, b)
            return x
        lv.sweep(x, b, reverse=False, zero=True)
        r = np.zeros_like(b)
        r[:lv.last] = b[:lv.last] - lv.before_last @ x
        x += self.prolongations[level] @ self._cycle(level + 1, self.restrictions[level] @ r)
        lv.sweep(x, b, reverse=True)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        if self.identity:
            return self._cycle(0, np.asarray(r, dtype=float))
        out = np.empty_like(r)
        out[self.order] = self._cycle(0, np.asarray(r, dtype=float)[self.order])
        return out

    def operator(self):
        """The V-cycle as a SciPy LinearOperator (for ``scipy.sparse.linalg.cg``)."""
        from scipy.sparse.linalg import LinearOperator

        n = len(self.order)
        return LinearOperator((n, n), matvec=self.__call__, dtype=float)
