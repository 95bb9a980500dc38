"""One material point driven by a strain history, the way MFront's mtest drives a behaviour:
for checking material data (a relaxation test, a DMA master curve) and for tests.

``material_point(material, times, strains, temperatures, state)`` returns the stress
history. The point starts unstrained and unloaded before ``times[0]``; the first strain is
applied instantaneously at ``times[0]``, and between two times the strain and the
temperature vary linearly. The strains are mechanical (thermal expansion excluded: the
temperature enters through the constitutive law, e.g. the time-temperature shift).

Each kind of material has its driver in :data:`DRIVERS` (``material_kind`` picks it): a
new inelastic model (solder creep) plugs in with one entry, a function ``(material, times,
strains, temperatures, state) -> stresses``. States: ``"uniaxial_stress"`` (strain eps_xx
given, the other stresses zero) and ``"uniaxial_strain"`` (eps_xx given, the other strains
zero); the stress returned is sigma_xx. Units: s, Pa, degC.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ModelError
from .materials import Material, elasticity_matrix
from .viscoelastic import (
    MaxwellState,
    advanced,
    history_stress,
    increment,
    isotropic_matrix,
)

STATES = ("uniaxial_stress", "uniaxial_strain")
LATERAL = np.array([1, 2])
"""Voigt indices of the lateral normal strains, free in uniaxial stress."""


def material_kind(material: Material) -> str:
    """"viscoelastic" for a material with a Prony series, else "elastic"."""
    return "viscoelastic" if getattr(material, "viscoelastic", None) is not None else "elastic"


def material_point(material: Material, times, strains, temperatures,
                   state: str = "uniaxial_stress") -> np.ndarray:
    """(n,) Pa: sigma_xx of one material point at ``times`` (n,) s under the strain
    eps_xx ``strains`` (n,) and temperatures ``temperatures`` (n,) degC (one value per
    time, or one for all). ModelError for a bad history (naming the argument)."""
    times, strains, temperatures = _history(times, strains, temperatures)
    if state not in STATES:
        raise ModelError("state", f"must be one of {', '.join(STATES)}, got {state!r}")
    return DRIVERS[material_kind(material)](material, times, strains, temperatures, state)


def _history(times, strains, temperatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    times = np.atleast_1d(np.asarray(times, dtype=float))
    strains = np.atleast_1d(np.asarray(strains, dtype=float))
    temperatures = np.broadcast_to(np.asarray(temperatures, dtype=float), times.shape)
    if times.ndim != 1 or not len(times):
        raise ModelError("times", "needs a list of at least one time (s)")
    if strains.shape != times.shape:
        raise ModelError("strains", f"has {strains.size} values but times has {times.size}")
    if np.any(np.diff(times) < 0) or not np.all(np.isfinite(times)):
        raise ModelError("times", f"must be finite and non-decreasing, got {times.tolist()}")
    for name, values in (("strains", strains), ("temperatures", temperatures)):
        if not np.all(np.isfinite(values)):
            raise ModelError(name, f"must be finite, got {np.asarray(values).tolist()}")
    return times, strains, np.array(temperatures)


def _solve_point(C: np.ndarray, offset: np.ndarray, strain_xx: float, state: str
                 ) -> np.ndarray:
    """(6,) strain with eps_xx given such that C eps + offset satisfies the state."""
    eps = np.zeros(6)
    eps[0] = strain_xx
    if state == "uniaxial_stress":  # sigma_yy = sigma_zz = 0, no shear load
        lateral = C[np.ix_(LATERAL, LATERAL)]
        eps[LATERAL] = -np.linalg.solve(lateral, C[LATERAL, 0] * strain_xx + offset[LATERAL])
    return eps


def _elastic(material: Material, times, strains, temperatures, state) -> np.ndarray:
    """Linear elasticity in the total form sigma = C(T) eps (E(T), nu(T) of a temperature
    table at each time's temperature)."""
    out = np.empty(len(strains))
    for k, (e, T) in enumerate(zip(strains, temperatures)):  # the time steps of one point
        C = elasticity_matrix(_at(material, T))
        out[k] = (C @ _solve_point(C, np.zeros(6), e, state))[0]
    return out


def _at(material: Material, T: float) -> Material:
    """``material`` with its tabulated E and nu at ``T`` degC."""
    table = material.temperature_table
    if table is None or not table.elastic:
        return material
    values = {n: table.value(n, T) for n in ("youngs_modulus", "poisson_ratio")
              if getattr(table, n) is not None}
    return material.with_values(temperature_table=None, **values)


def _viscoelastic(material: Material, times, strains, temperatures, state) -> np.ndarray:
    """The recursive update (``viscoelastic``): exact for strain linear in each interval
    at constant temperature (mid-interval temperature for the shift otherwise)."""
    visco = material.viscoelastic
    terms = visco.terms(material.poisson_ratio)
    history = MaxwellState.zero(len(terms.tau), ())
    out = np.empty(len(times))
    previous_time, previous_T = times[0], temperatures[0]
    for k in range(len(times)):  # the time steps of one point
        dxi = visco.reduced_time(times[k] - previous_time, 0.5 * (previous_T + temperatures[k]))
        step = increment(terms, dxi)
        C = isotropic_matrix(float(step.G_alg), float(step.K_alg))
        offset = history_stress(terms, history, step)
        strain = _solve_point(C, offset, strains[k], state)
        history = advanced(terms, history, step, strain)
        out[k] = (C @ strain + offset)[0]
        previous_time, previous_T = times[k], temperatures[k]
    return out


DRIVERS: dict[str, Callable] = {"elastic": _elastic, "viscoelastic": _viscoelastic}
"""Material kind -> driver ``(material, times, strains, temperatures, state) -> (n,) Pa``."""
