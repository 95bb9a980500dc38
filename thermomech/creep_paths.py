"""Material-point drivers of :mod:`thermomech.solder_creep`: one point in uniaxial stress
(:func:`creep_point`, strain or stress control) and many points along prescribed strain
components with the other stresses zero (:func:`strain_path`, e.g. the pad-layer shear
strains of solder joints). Each step is the backward-Euler update of ``creep_step``; the
unprescribed strains are solved by Newton with its consistent tangent. Units: s, Pa, degC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError, SolverError
from .solder_creep import CreepMaterial, CreepState, creep_step


@dataclass(frozen=True)
class CreepHistory:
    """A uniaxial material-point history: times (k,) s, strain and stress (k, 6)
    (engineering Voigt, Pa), creep strain (k, 6), dissipated energy density (k,) J/m^3 and
    the deformation resistance (k,) Pa (Anand)."""

    times: np.ndarray
    strain: np.ndarray
    stress: np.ndarray
    creep_strain: np.ndarray
    energy: np.ndarray
    resistance: np.ndarray


def creep_point(material: CreepMaterial, times, strains=None, temperatures=25.0,
                stresses=None, tolerance: float = 1e-9) -> CreepHistory:
    """Drive one material point in uniaxial stress (sigma_xx only) through a history.

    times : (k,) s, increasing, starting at the unloaded state.  strains : (k,) axial
    mechanical strain (strain control), or ``stresses`` : (k,) Pa axial stress (stress
    control): exactly one of the two.  temperatures : degC, scalar or (k,).
    The lateral and shear strains are solved so that the other stresses vanish (Newton
    with the consistent tangent, to ``tolerance`` times the stress scale).
    """
    times = np.asarray(times, dtype=float)
    if (strains is None) == (stresses is None):
        raise ModelError("strains", "give exactly one of strains (strain control) and "
                                    "stresses (stress control)")
    target = np.asarray(strains if stresses is None else stresses, dtype=float)
    if times.ndim != 1 or len(times) < 2 or np.any(np.diff(times) <= 0):
        raise ModelError("times", "must be an increasing list of at least two times (s)")
    if target.shape != times.shape:
        raise ModelError("strains" if stresses is None else "stresses",
                         f"needs one value per time ({len(times)}), got {target.shape}")
    T = np.broadcast_to(np.asarray(temperatures, dtype=float), times.shape)
    free = np.arange(1, 6) if stresses is None else np.arange(6)
    state = CreepState.initial(material, 1)
    strain = np.zeros((1, 6))
    rows = [(strain[0].copy(), np.zeros(6), state)]
    for k in range(1, len(times)):
        strain, step = _uniaxial_step(material, state, strain, target[k], stresses is None,
                                      free, times[k] - times[k - 1], T[k], tolerance)
        state = step.state
        rows.append((strain[0].copy(), step.stress[0], state))
    return CreepHistory(times, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                        np.array([r[2].creep_strain[0] for r in rows]),
                        np.array([r[2].energy[0] for r in rows]),
                        np.array([r[2].resistance[0] for r in rows]))


def _uniaxial_step(material, state, strain, value, strain_control, free, dt, T, tolerance,
                   iterations=50):
    strain = strain.copy()
    goal = np.zeros(6)
    if strain_control:
        strain[0, 0] = value
    else:
        goal[0] = value
    scale = max(abs(goal[0]), material.youngs_modulus * 1e-6)
    for _ in range(iterations):
        step = creep_step(material, state, strain, dt, T)
        residual = step.stress[0, free] - goal[free]
        if np.max(np.abs(residual)) < tolerance * scale:
            return strain, step
        strain[0, free] -= np.linalg.solve(step.tangent[0][np.ix_(free, free)], residual)
    raise SolverError(f"uniaxial creep driver: stress did not converge in {iterations} "
                      f"iterations (residual {np.max(np.abs(residual)):.3g} Pa)")


@dataclass(frozen=True)
class StrainPath:
    """n points along a path of k times: stress (k, n, 6) Pa, creep strain (k, n, 6) and
    dissipated energy density (k, n) J/m^3 (engineering Voigt)."""

    times: np.ndarray
    stress: np.ndarray
    creep_strain: np.ndarray
    energy: np.ndarray


def strain_path(material: CreepMaterial, times, strains, components, temperatures,
                tolerance: float = 1e-9) -> StrainPath:
    """Drive n points through prescribed strain components, the other stresses zero.

    times : (k,) s, increasing, the points unloaded at times[0].  strains : (k, n, m) the
    prescribed engineering strains (mechanical: total minus thermal) of the Voigt
    ``components`` (m,) (e.g. (4, 3): gamma_xz, gamma_yz).  temperatures : degC, (k,).
    """
    times = np.asarray(times, dtype=float)
    strains = np.asarray(strains, dtype=float)
    components = np.asarray(components, dtype=int)
    free = np.setdiff1d(np.arange(6), components)
    k, n = strains.shape[:2]
    T = np.broadcast_to(np.asarray(temperatures, dtype=float), (k,))
    state = CreepState.initial(material, n)
    strain = np.zeros((n, 6))
    stress, creep, energy = (np.zeros((k, n, 6)), np.zeros((k, n, 6)), np.zeros((k, n)))
    scale = material.youngs_modulus * 1e-6
    for i in range(1, k):
        strain[:, components] = strains[i]
        for _ in range(50):
            step = creep_step(material, state, strain, times[i] - times[i - 1], T[i])
            residual = step.stress[:, free]
            if np.max(np.abs(residual)) < tolerance * scale:
                break
            tangent = step.tangent[:, free][:, :, free]
            strain[:, free] -= np.linalg.solve(tangent, residual[..., None])[..., 0]
        else:
            raise SolverError(f"strain path: the free stresses did not vanish (residual "
                              f"{np.max(np.abs(residual)):.3g} Pa)")
        state = step.state
        stress[i], creep[i], energy[i] = step.stress, state.creep_strain, state.energy
    return StrainPath(times, stress, creep, energy)
