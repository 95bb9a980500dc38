"""Keep freed memory in the process while a long sequence of solves runs (glibc only).

By default glibc's malloc maps every large block (NumPy arrays above its mmap threshold) on
its own and unmaps it when freed, so a solve that allocates and frees the same large
temporaries increment after increment faults every page in again: the kernel zeroes it on
each first touch. On the 2-core benchmark machine a 50-increment viscoelastic history of
1.1M HexS2 unknowns spent 46.6 s of its 277 s CPU in the kernel that way
(`benchmarks/bench_history.py --case visco`, docs/performance-solvers.md).

:func:`freed_memory_kept` lets malloc serve large blocks from its heap (``M_MMAP_MAX`` 0),
never trim it while the sequence runs, and grow it in 256 MiB steps; on the way out the
defaults come back and ``malloc_trim`` returns the free heap to the system. Resident
memory then stays at the sequence's peak until it ends (flat over the increments, not
growing: a freed block is reused by the next of its size). Nothing else changes: the same
arithmetic, the same numbers. The heap keeps the address space after the trim, so a large
block allocated later may be served from it and is then given back at glibc's next trim,
not when it is freed.

Elsewhere (no glibc: macOS, Windows, musl) it does nothing. The MPI backend does the
opposite once PETSc is initialized (``distributed.mpi.large_blocks_mapped``).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4  # glibc's mallopt options
KEPT = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1), (M_TOP_PAD, 256 << 20))
"""mallopt settings while freed memory is kept: no mapped blocks, no trimming, 256 MiB of
heap growth at a time (bytes)."""
DEFAULTS = ((M_MMAP_MAX, 65536), (M_TRIM_THRESHOLD, 128 << 10), (M_TOP_PAD, 0))
"""glibc's documented defaults (mallopt(3)), set back when the outermost sequence ends."""

_lock = threading.Lock()
_depth = 0


def _libc():
    """(mallopt, malloc_trim) of glibc, or None."""
    try:
        libc = ctypes.CDLL(None)
        return libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def freed_memory_kept():
    """Within the block, freed memory stays in the process for the next allocation (see
    the module doc); nested and concurrent uses share one setting, undone by the last."""
    global _depth
    functions = _libc()
    if functions is None:
        yield
        return
    mallopt, malloc_trim = functions
    with _lock:
        if _depth == 0:
            for option, value in KEPT:
                mallopt(option, value)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for option, value in DEFAULTS:
                    mallopt(option, value)
                malloc_trim(0)
