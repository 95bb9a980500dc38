"""Fit a Prony series to relaxation (or DMA master-curve) data: non-negative moduli.

``E(t) = E_inf + sum_i E_i exp(-t / tau_i)`` with the relaxation times ``tau_i`` spaced
evenly in log between the first and the last data time (one per decade is the usual
choice for FE), and ``E_inf, E_i >= 0`` from SciPy's non-negative least squares on the
relative residual ``(E(t_k) - data_k) / data_k`` (each decade of a master curve counts,
the rubbery plateau as much as the glassy one). The fit reports its error; terms the data
do not need come out exactly zero (they may stay: a zero Prony modulus is valid input).
Units: s, Pa.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .errors import ModelError


@dataclass(frozen=True)
class PronyFit:
    """A fitted series: long_term_modulus Pa, moduli (n,) Pa, times (n,) s; the relative
    error of the fit at the data points, rms and max (dimensionless)."""

    long_term_modulus: float
    moduli: tuple[float, ...]
    times: tuple[float, ...]
    rms_relative_error: float
    max_relative_error: float

    def modulus(self, t) -> np.ndarray:
        """E(t) Pa of the fitted series at times ``t`` s."""
        t = np.asarray(t, dtype=float)
        return self.long_term_modulus + np.exp(-t[..., None] / np.array(self.times)) @ \
            np.array(self.moduli)


def fit_prony(times, modulus, n_terms: int, relaxation_times=None) -> PronyFit:
    """Prony series of ``n_terms`` terms fitted to ``modulus`` (Pa) at ``times`` (s, > 0,
    at the reference temperature of a master curve). ``relaxation_times`` (n_terms,) s:
    given instead of log-spaced over the data. ModelError naming the argument."""
    t = np.asarray(times, dtype=float)
    E = np.asarray(modulus, dtype=float)
    if t.ndim != 1 or t.shape != E.shape or len(t) < 2:
        raise ModelError("times", f"needs 2 or more times with one modulus each, got "
                                  f"{t.size} times and {E.size} moduli")
    if np.any(t <= 0) or np.any(E <= 0) or not np.all(np.isfinite(t * E)):
        raise ModelError("modulus", "times and moduli must be finite and > 0")
    if isinstance(n_terms, bool) or not isinstance(n_terms, int | np.integer) or n_terms < 1:
        raise ModelError("n_terms", f"must be a whole number >= 1, got {n_terms!r}")
    if relaxation_times is None:
        tau = np.geomspace(t.min(), t.max(), n_terms) if n_terms > 1 else \
            np.array([np.sqrt(t.min() * t.max())])
    else:
        tau = np.asarray(relaxation_times, dtype=float)
        if tau.shape != (n_terms,) or np.any(tau <= 0):
            raise ModelError("relaxation_times", f"needs {n_terms} times > 0, got "
                                                 f"{tau.tolist()}")
    design = np.column_stack([np.ones_like(t), np.exp(-t[:, None] / tau)]) / E[:, None]
    coefficients = nnls(design, np.ones_like(t))[0]
    relative = design @ coefficients - 1.0
    return PronyFit(float(coefficients[0]), tuple(map(float, coefficients[1:])),
                    tuple(map(float, tau)), float(np.sqrt(np.mean(relative ** 2))),
                    float(np.max(np.abs(relative))))
