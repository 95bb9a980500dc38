"""MPI and PETSc, imported only when the distributed backend runs, and how ranks fail.

Nothing here is imported by ``import thermomech``: without mpi4py / petsc4py the serial
backends work as before, and ``--backend petsc`` stops with one line saying how to install
them (:func:`petsc`, a ModelError: exit code 2).

Failures. Everything before the first collective call is the same computation on every rank
(the model is read and meshed on each), so a bad input fails on all of them alike:
:func:`agreed` runs such a phase, then the ranks compare outcomes with one ``allgather``
and rank 0 alone reports the first failure (naming the rank when they disagree); all ranks
return the same exit code. Inside a phase with collective calls a rank that fails cannot
wait for the others: it prints its error (with its rank) and calls ``MPI_Abort``
(:func:`abort_on_failure`), which ends every rank: no hang.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ModelError, SolverError

INSTALL = ("--backend petsc needs mpi4py and petsc4py: pip install \"thermomech[mpi]\" plus "
           "petsc4py (no wheel on PyPI: MPICC and BLAS/LAPACK headers, then pip install petsc "
           "petsc4py, ~35 min), or apt-get install python3-mpi4py python3-petsc4py, or conda "
           "install -c conda-forge mpi4py petsc4py (docs/mpi.md)")
"""The one line ``--backend petsc`` prints when mpi4py or petsc4py is missing."""

EXIT_CODES = ((ModelError, 2), (SolverError, 3))


def petsc():
    """(MPI, PETSc): mpi4py's MPI and petsc4py's PETSc, initialized; a ModelError with the
    install line when either is missing or does not load (e.g. built for another NumPy)."""
    try:
        import petsc4py
        from mpi4py import MPI

        # the program's name only: thermomech's own arguments are not PETSc options (PETSc
        # 3.26 prints "options you set that were not used" at exit for each; as "python -c"
        # argv[0] is "-c", one). PETSC_OPTIONS still applies.
        petsc4py.init(["thermomech"])
        from petsc4py import PETSc
    except (ImportError, RuntimeError, ValueError) as exc:
        raise ModelError("backend", f"{INSTALL} [{type(exc).__name__}: {exc}]") from None
    large_blocks_mapped()
    return MPI, PETSc


MMAP_THRESHOLD = 1 << 20
"""Bytes from which glibc's malloc maps a block on its own (returned to the system when
freed); a fixed value also stops glibc from raising it as blocks are freed."""


def large_blocks_mapped() -> bool:
    """Let glibc's malloc map large blocks again and give freed memory back (mallopt
    M_MMAP_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD); False where there is no glibc.

    Once Debian's PETSc 3.18 (on Open MPI 4.1.4) is initialized, a freed 400 MB of NumPy
    arrays stayed in the process, as glibc does with M_MMAP_MAX = 0 and trimming off (every
    block from the heap, which keeps what is freed; mpi4py alone does not do it), so each
    phase's temporaries (the mesher's, the load set-up's, the
    assembly's) added to the rank's resident memory for good: 0.34 GB after meshing 1.07M
    cells instead of 0.08 GB (docs/performance.md, "where the memory of a rank goes")."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(option, value) == 1 for option, value in (
        (-4, 1 << 16), (-3, MMAP_THRESHOLD), (-1, MMAP_THRESHOLD)))


def exit_code(exc: BaseException) -> int:
    """2 for bad input, 3 for a solver failure, 1 for anything else."""
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), 1)


def message(exc: BaseException) -> str:
    """The CLI's line for a failure: ``error: ...`` or ``solver error: ...``."""
    if isinstance(exc, ModelError):
        return f"error: {exc}"
    if isinstance(exc, SolverError):
        return f"solver error: {exc}"
    return f"error: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Failure:
    """One rank's failed phase: its rank, exit code and message line."""

    rank: int
    code: int
    line: str


class RanksFailedError(Exception):
    """A phase failed on some rank; rank 0 has printed why. ``code``: the exit code."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def agreed(comm, phase: Callable, *args):
    """``phase(*args)`` on every rank, then the ranks agree (one allgather): all return its
    result, or all raise RanksFailedError with the first failure's exit code after rank 0 printed
    it. ``phase`` must make no collective call (every rank reaches the allgather)."""
    try:
        result, failure = phase(*args), None
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then re-raised
        result, failure = None, Failure(comm.rank, exit_code(exc), message(exc))
    failures = [f for f in comm.allgather(failure) if f is not None]
    if failures:
        first = failures[0]
        if comm.rank == 0:
            alone = "" if len(failures) == comm.size else f" (rank {first.rank} of {comm.size})"
            print(first.line + alone, file=sys.stderr, flush=True)
        raise RanksFailedError(first.code)
    return result


@contextlib.contextmanager
def abort_on_failure(comm):
    """Within the block a failure on this rank prints ``rank r: <error>`` and aborts every
    rank (MPI_Abort with the exit code): the other ranks may be waiting in a collective."""
    try:
        yield
    except RanksFailedError:  # every rank agreed on it: no one is waiting
        raise
    except Exception as exc:  # noqa: BLE001 - the other ranks must not wait for this one
        print(f"rank {comm.rank} of {comm.size}: {message(exc)}; aborting all ranks",
              file=sys.stderr, flush=True)
        comm.Abort(exit_code(exc))
