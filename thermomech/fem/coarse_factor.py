"""The coarsest level's factor of the geometric multigrid (:mod:`fem.multigrid`): a banded
Cholesky factor after a reverse Cuthill-McKee ordering, dense when the band is not narrow,
SciPy's sparse LU for levels too large for either."""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.lapack import dpbtrf, dpbtrs

from ..threads import one_blas_thread


def sparse_lu(A: sp.csr_matrix):
    """A solve function of SciPy's sparse LU of ``A`` (the coarse factor when the caller
    passes none; :mod:`thermomech.linear_solvers` passes its PARDISO Cholesky)."""
    from scipy.sparse.linalg import splu

    return splu(A.tocsc()).solve


def banded_or_dense_factor(A: sp.csr_matrix):
    """A solve function of the Cholesky factor of the (small) coarsest ``A``: banded after a
    reverse Cuthill-McKee ordering (LAPACK ``pbtrf`` / ``pbtrs``) when the band is narrow,
    else dense. The coarsest level of the in-plane semi-coarsening is a few in-plane lines
    by every z line: measured at 3696 unknowns (175k HexS2), band 522: factor 0.09 s and a
    solve 1.7 ms, against 1.0 s and 63 ms dense (one solve per V-cycle).

    The factor runs with BLAS on one thread: OpenBLAS's threads spin on the small blocks of
    ``pbtrf``, which under load cost seconds (measured, 2016 unknowns, band 284, load 12:
    0.3-1.9 s CPU on two threads, 5 ms on one; dense 0.2-1.6 s against 0.08-0.12 s)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = A.shape[0]
    perm = reverse_cuthill_mckee(sp.csr_matrix(A), symmetric_mode=True)
    B = sp.csr_matrix(A)[perm][:, perm].tocoo()
    upper = B.row <= B.col
    kd = int((B.col - B.row)[upper].max(initial=0))
    if 3 * kd >= n:  # no narrow band: dense
        with one_blas_thread():
            factor = cho_factor(A.toarray())
        return functools.partial(cho_solve, factor, check_finite=False)
    ab = np.zeros((kd + 1, n))
    ab[kd + B.row[upper] - B.col[upper], B.col[upper]] = B.data[upper]
    with one_blas_thread():
        factor, info = dpbtrf(ab, lower=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"coarsest level: the banded Cholesky factor failed "
                                    f"(LAPACK info {info}): the matrix is not positive "
                                    f"definite")

    def solve(b: np.ndarray) -> np.ndarray:
        x, _ = dpbtrs(factor, b[perm], lower=0)
        out = np.empty_like(x)
        out[perm] = x
        return out
    return solve
