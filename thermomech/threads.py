"""Threads for the memory-bound kernels: sparse matrix-vector products and assembly chunks
(and banded and tridiagonal line solves, :func:`banded_solve` and
:func:`tridiagonal_solve`, called without the GIL).

SciPy's CSR kernels and NumPy's large-array operations release the GIL, so a sparse product
split into row blocks runs on all cores from plain Python threads (measured on 2 cores: a
60M-nonzero CSR matvec 1.82x faster). Every result is the same to the last bit whatever the
thread count: each row is computed by one thread, in the order a single thread would use, and
chunked work is combined in a fixed order.

The thread count is ``THERMOMECH_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this
process may use; it is read at every call, so a parameter study's single-threaded workers
(which set ``OMP_NUM_THREADS=1``) stay single-threaded. ``thermomech --threads N`` sets it
(:func:`set_thread_count`, for BLAS / MKL / OpenMP too).

NumPy and SciPy are imported where they are used: the command imports this module before
it starts its figure helper, which should not wait for them (docs/performance.md).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from .errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

THREAD_VARIABLES = ("THERMOMECH_NUM_THREADS", "OMP_NUM_THREADS")
"""Environment variables that set the thread count, first found wins."""

MIN_NONZEROS_PER_THREAD = 200_000
"""Below this many nonzeros per thread a product runs on one thread (thread hand-off costs
~20-50 us, a 200k-nonzero row block ~0.2 ms)."""

_lock = threading.Lock()
_pools: dict[int, cf.ThreadPoolExecutor] = {}


def thread_count() -> int:
    """Threads the kernels may use (>= 1)."""
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                continue
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""What BLAS / MKL / OpenMP read when they load (``--threads`` sets them too)."""


def set_thread_count(threads: int):
    """Use ``threads`` threads from now on (``thermomech --threads N``): the kernels here,
    BLAS / MKL / OpenMP libraries not loaded yet (their environment variables) and those
    already loaded (threadpoolctl). Returns threadpoolctl's limiter
    (``restore_original_limits()`` undoes its part)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ModelError("threads", f"must be a whole number >= 1, got {threads!r}")
    os.environ.update(dict.fromkeys(("THERMOMECH_NUM_THREADS", *LIBRARY_VARIABLES),
                                    str(threads)))
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def one_blas_thread(when: bool = True):
    """A context in which already loaded BLAS libraries run on one thread (``when``; else
    nothing changes): for many small BLAS calls, where OpenBLAS's idle threads spin."""
    import contextlib

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas") if when else contextlib.nullcontext()


def add_arguments(parser) -> None:
    """``--threads N`` on an argparse parser (the command applies it with
    :func:`set_thread_count`)."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for the solvers and kernels (default: every core; in "
                             "a study, per worker process, default 1)")


def _pool(threads: int) -> cf.ThreadPoolExecutor:
    with _lock:
        if threads not in _pools:
            _pools[threads] = cf.ThreadPoolExecutor(threads, thread_name_prefix="thermomech")
        return _pools[threads]


def map_ordered(function: Callable, items: Iterable, threads: int | None = None) -> Iterator:
    """``map(function, items)`` on ``threads`` threads; results in the order of ``items``.

    At most ``threads`` items are in flight, so chunked work keeps a bounded memory.
    """
    threads = thread_count() if threads is None else threads
    if threads <= 1:
        yield from map(function, items)
        return
    pool = _pool(threads)
    pending: list[cf.Future] = []
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= threads:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def map_apart(function: Callable, items: list, threads: int, first=None) -> list:
    """``[function(item) for item in items]`` on ``threads`` threads of a pool of their own
    (``function`` may use :func:`map_ordered`'s shared pool without waiting on itself),
    started in the order of the key ``first`` (e.g. the largest item first); results in
    the order of ``items``."""
    if threads <= 1 or len(items) < 2:
        return [function(item) for item in items]
    with cf.ThreadPoolExecutor(min(threads, len(items)),
                               thread_name_prefix="thermomech-apart") as pool:
        futures = {i: pool.submit(function, items[i])
                   for i in sorted(range(len(items)), key=lambda i: first(items[i]))}
        return [futures[i].result() for i in range(len(items))]


def row_bounds(A: sp.csr_matrix, parts: int) -> np.ndarray:
    """(parts + 1,) row boundaries splitting CSR ``A`` into blocks of nearly equal nonzeros."""
    import numpy as np

    targets = np.linspace(0, A.nnz, parts + 1)
    bounds = np.searchsorted(A.indptr, targets, side="left")
    bounds[0], bounds[-1] = 0, A.shape[0]
    return np.maximum.accumulate(bounds)


def row_block(A: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
    """Rows ``start:stop`` of a CSR matrix sharing its arrays (no copy).

    The arrays are assigned after construction: SciPy's constructor "prunes" (copies) a
    slice that is less than half of its base array, which made every row block a copy.
    """
    import scipy.sparse as sp

    lo, hi = A.indptr[start], A.indptr[stop]
    block = sp.csr_matrix((stop - start, A.shape[1]), dtype=A.dtype)
    block.data, block.indices = A.data[lo:hi], A.indices[lo:hi]
    block.indptr = A.indptr[start:stop + 1] - lo
    block.has_sorted_indices = A.has_sorted_indices
    return block


class RowSplit:
    """``A @ x`` for CSR ``A`` in row blocks on threads (bitwise equal to ``A @ x``).

    The blocks share ``A``'s arrays; the split is made for the thread count at construction.
    """

    def __init__(self, A: sp.csr_matrix, threads: int | None = None):
        self.shape = A.shape
        threads = thread_count() if threads is None else threads
        parts = int(max(1, min(threads, A.nnz // MIN_NONZEROS_PER_THREAD)))
        self.bounds = row_bounds(A, parts).tolist()
        self.blocks = [row_block(A, s, e) for s, e in zip(self.bounds[:-1], self.bounds[1:])]
        self.threads = parts

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.matvec(x)

    def matvec(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``A @ x`` for (n,) or (n, k) ``x``, written into ``out`` if given."""
        import numpy as np

        if out is None:
            out = np.empty((self.shape[0],) + x.shape[1:], dtype=np.result_type(x, float))
        if self.threads == 1:
            out[...] = self.blocks[0] @ x
            return out

        def block(i):
            out[self.bounds[i]:self.bounds[i + 1]] = self.blocks[i] @ x

        for _ in map_ordered(block, range(self.threads), self.threads):
            pass
        return out


def _lapack_pointer(name: str):
    """The address of LAPACK routine ``name`` in SciPy's ``cython_lapack`` (None where the
    capsule is not available)."""
    try:
        from scipy.linalg import cython_lapack

        capsule = cython_lapack.__pyx_capi__[name]
        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        pointer = ctypes.pythonapi.PyCapsule_GetPointer
        pointer.restype, pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                              ctypes.c_char_p]
        return pointer(capsule, get_name(capsule))
    except (ImportError, KeyError, AttributeError, ValueError):  # pragma: no cover
        return None


@functools.cache
def _dpbtrs_nogil():
    """LAPACK ``dpbtrs`` (SciPy's ``cython_lapack``) called through ctypes, which releases
    the GIL around every call (z-line solves through SciPy's f2py wrapper measured 0.98x on
    two threads in an earlier session); None where the capsule is not available."""
    address = _lapack_pointer("dpbtrs")
    if address is None:  # pragma: no cover
        return None
    integer = ctypes.POINTER(ctypes.c_int)
    return ctypes.CFUNCTYPE(None, ctypes.c_char_p, integer, integer, integer, ctypes.c_void_p,
                            integer, ctypes.c_void_p, integer, integer)(address)


@functools.cache
def _dpttrs_nogil():
    """LAPACK ``dpttrs`` (tridiagonal ``L D L^T`` solve) through ctypes, without the GIL."""
    address = _lapack_pointer("dpttrs")
    if address is None:  # pragma: no cover
        return None
    integer = ctypes.POINTER(ctypes.c_int)
    return ctypes.CFUNCTYPE(None, integer, integer, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p, integer, integer)(address)


def tridiagonal_solve(d: np.ndarray, e: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``(L D L^T)^-1 r`` for the factor ``(d, e)`` of LAPACK ``dpttrf``: ``dpttrs`` without
    the GIL (line solves on threads), bitwise equal to SciPy's wrapper."""
    import numpy as np

    function = _dpttrs_nogil()
    if function is None or not (d.flags.c_contiguous and e.flags.c_contiguous
                                and d.dtype == e.dtype == np.float64):
        from scipy.linalg.lapack import dpttrs

        return dpttrs(d, e, r)[0]
    x = np.array(r, dtype=np.float64)  # a contiguous copy, solved in place
    m = len(d)
    info = ctypes.c_int(0)
    function(ctypes.byref(ctypes.c_int(m)), ctypes.byref(ctypes.c_int(1)), d.ctypes.data,
             e.ctypes.data, x.ctypes.data, ctypes.byref(ctypes.c_int(max(m, 1))),
             ctypes.byref(info))
    if info.value != 0:  # pragma: no cover - only for invalid arguments
        raise ValueError(f"dpttrs: argument {-info.value} invalid")
    return x


def banded_solve(factor: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``(U^T U)^-1 r`` for an upper banded Cholesky factor ``U`` of ``dpbtrf`` ((kd + 1, m),
    Fortran order): LAPACK's ``dpbtrs`` without the GIL (so line solves run on threads),
    bitwise equal to SciPy's wrapper."""
    import numpy as np

    function = _dpbtrs_nogil()
    if function is None or not factor.flags.f_contiguous or factor.dtype != np.float64:
        from scipy.linalg.lapack import dpbtrs

        return dpbtrs(factor, r, lower=0)[0]
    x = np.array(r, dtype=np.float64)  # a contiguous copy, solved in place
    band, m = factor.shape
    info = ctypes.c_int(0)
    function(b"U", ctypes.byref(ctypes.c_int(m)), ctypes.byref(ctypes.c_int(band - 1)),
             ctypes.byref(ctypes.c_int(1)), factor.ctypes.data, ctypes.byref(ctypes.c_int(band)),
             x.ctypes.data, ctypes.byref(ctypes.c_int(max(m, 1))), ctypes.byref(info))
    if info.value != 0:  # pragma: no cover - only for invalid arguments
        raise ValueError(f"dpbtrs: argument {-info.value} invalid")
    return x
