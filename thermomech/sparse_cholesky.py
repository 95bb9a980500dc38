"""One sparse Cholesky factorization of a symmetric positive definite matrix: MKL PARDISO
through pypardiso, or SciPy's SuperLU where pypardiso is not installed (slow in 3D).

:func:`direct_factor` returns a solve function whose factor (MKL's memory, which Python
does not see) is released by ``free()`` or when the function is garbage collected; every
failure of the factorization or a solve is a :class:`SolverError` naming ``direct``, the
PARDISO error translated, and what to try (:func:`advice`, shared with the iterative
solvers of :mod:`thermomech.linear_solvers`).
"""

from __future__ import annotations

import glob
import os
import sys
import weakref
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from .errors import SolverError


def advice(method: str) -> str:
    """What to try when ``method`` fails (one clause, no line break)."""
    if method == "direct":
        return ("the system is singular or too ill-conditioned for double precision: check "
                "that every part touches the rest by faces and that the model has a heat "
                "path (or supports), or use fewer cells across thin layers")
    if method in ("cg-amg", "cg-gmg"):
        other = "cg-gmg (box meshes)" if method == "cg-amg" else "cg-amg"
        return f"try the direct solver (--solver direct) or {other}, or a looser tolerance"
    return "try another linear solver (--solver direct, cg-gmg or cg-amg)"


PARDISO_ERRORS = {
    -1: "input inconsistent", -2: "not enough memory", -3: "reordering problem",
    -4: "zero or negative pivot: the matrix is not positive definite",
    -5: "unclassified internal error", -6: "reordering failed",
    -7: "diagonal matrix is singular", -8: "32-bit integer overflow",
    -9: "not enough memory for out-of-core", -10: "cannot open out-of-core files",
    -11: "out-of-core read/write error", -12: "wrong PARDISO interface (64-bit)",
}
"""MKL PARDISO's error codes (MKL reference, ``pardiso`` return value ``error``)."""


def has_pardiso() -> bool:
    """Whether MKL PARDISO is installed (pypardiso: x86-64 only)."""
    return _pardiso() is not None


def _pardiso():
    """pypardiso, or None. Points it at libmkl_rt before import: otherwise it globs the
    whole Python installation for the library at import and on every solver construction
    (0.3-0.6 s each). Asks MKL for conditional numerical reproducibility (``MKL_CBWR``,
    read when MKL loads; a user's own setting wins): threaded PARDISO otherwise sums in a
    run-dependent order, and the same model gave displacements differing by 1e-13
    relative between two runs, amplified to 1e-10 across a process recipe."""
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
    if "PYPARDISO_MKL_RT" not in os.environ:
        found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), key=len)
        if found:
            os.environ["PYPARDISO_MKL_RT"] = found[0]
    try:
        import pypardiso
    except ImportError:  # pragma: no cover - platforms without MKL
        return None
    if "PYPARDISO_MKL_RT" not in os.environ:  # elsewhere (Windows, conda): ask once
        os.environ["PYPARDISO_MKL_RT"] = pypardiso.PyPardisoSolver().libmkl._name
    return pypardiso


def direct_factor(A) -> Callable[[np.ndarray], np.ndarray]:
    """A solve function of one sparse Cholesky factorization of SPD ``A``.

    The function has ``free()`` (releases the factor; called at the latest when the
    function is garbage collected) and ``backend``. PARDISO keeps the factor in MKL's own
    memory, which Python does not see: without ``free`` every factorization leaked it
    (3.7 MB for a 4096-unknown 3D Laplacian, ~40 MB per 3D package solve).
    A failed factorization is a :class:`SolverError` naming ``direct``.
    """
    pypardiso = _pardiso()
    n = A.shape[0]
    if pypardiso is None:  # pragma: no cover - SciPy's SuperLU (slow in 3D)
        from scipy.sparse.linalg import splu

        try:
            lu = splu(A.tocsc())
        except RuntimeError as exc:  # "Factor is exactly singular"
            raise SolverError(f"direct (SuperLU) factorization failed: {exc} ({n} unknowns, "
                              f"no solution reached); {advice('direct')}") from exc

        def solve_lu(b):
            return lu.solve(b)
        solve_lu.free, solve_lu.backend = lambda: None, "superlu"
        return solve_lu
    solver = pypardiso.PyPardisoSolver(mtype=2)  # real symmetric positive definite
    upper = sp.triu(A, format="csr")
    upper.sort_indices()
    try:
        solver.factorize(upper)
    except (pypardiso.pardiso_wrapper.PyPardisoError, ValueError) as exc:
        _release(solver)
        raise SolverError(f"direct (PARDISO Cholesky) factorization failed: "
                          f"{_pardiso_reason(exc)} ({n} unknowns, no solution reached); "
                          f"{_pardiso_advice(exc)}") from exc

    def solve(b):
        try:
            x = solver.solve(upper, b.copy())
        except pypardiso.pardiso_wrapper.PyPardisoError as exc:
            raise SolverError(f"direct (PARDISO Cholesky) solve failed: "
                              f"{_pardiso_reason(exc)} ({n} unknowns, no solution reached); "
                              f"{_pardiso_advice(exc)}") from exc
        return np.asarray(x).reshape(b.shape)
    solve.free = weakref.finalize(solve, _release, solver)
    solve.free.atexit = False  # the process's memory goes with it
    solve.backend = "pardiso"
    return solve


def _release(solver) -> None:
    """Free all of MKL's memory of a PARDISO solver (phase -1)."""
    try:
        solver.free_memory(everything=True)
    except Exception:  # noqa: BLE001 - nothing to free after a failed set-up
        pass


def _pardiso_reason(exc) -> str:
    code = getattr(exc, "value", None)
    if code is None:  # pypardiso's own check: an empty row
        return str(exc)
    return f"{PARDISO_ERRORS.get(code, 'unknown error')} (PARDISO error {code})"


def _pardiso_advice(exc) -> str:
    if getattr(exc, "value", None) in (-2, -9):
        return ("try an iterative solver (--solver cg-gmg or cg-amg: far less memory) or a "
                "coarser mesh (mesh.target_size)")
    return advice("direct")
