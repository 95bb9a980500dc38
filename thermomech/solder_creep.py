"""Solder creep: Garofalo (hyperbolic sine) and Anand viscoplasticity, integrated implicitly
(backward Euler) at integration points, vectorized over the points.

Small strains, isotropic elasticity (E, nu) and J2 (von Mises) flow, Voigt order xx, yy, zz,
yz, xz, xy with engineering shear strains (as :mod:`thermomech.elasticity`). The creep
strain rate is ``d eps_cr / dt = 3/2 p_dot s / q`` with ``s`` the stress deviator, ``q`` the
von Mises stress and the equivalent rate ``p_dot``:

- Garofalo: ``p_dot = C1 sinh(C2 q) ** C3 exp(-C4 / T)`` (T in K; C4 = Q / R);
- Anand (Anand 1985; Brown, Kim, Anand 1989): ``p_dot = A exp(-Q / R T) sinh(xi q / s) **
  (1 / m)`` with the deformation resistance ``s`` evolving as ``s_dot = h0 |1 - s / s*| ** a
  sign(1 - s / s*) p_dot``, ``s* = s_hat (p_dot / A exp(Q / R T)) ** n``.

One step from t_n to t_n+1 (backward Euler, radial return): the trial stress of the total
strain minus the old creep strain has von Mises value ``q_tr``; the stress is
``q = q_tr - 3 G dp`` along the trial deviator, and ``dp`` solves, in log form (monotone,
well scaled for rates spanning 30 decades), ``ln dp = ln dt + ln p_dot(q_tr - 3 G dp)``:
a bracketed Newton per point (Garofalo), or a damped 2 x 2 Newton on (ln dp, s_n+1)
started from it (Anand). The dissipated energy density per step is ``q_n+1 dp``
(``sigma : d eps_cr``). The consistent tangent is
``C = K 1x1 + 2G (1 - 3G dp/q_tr) I_dev + 2G (3G dp/q_tr - 3G d dp/d q_tr) N x N`` with
``N`` the unit trial deviator (Simo & Hughes, Computational Inelasticity, 1998, ch. 3).

Units: Pa, s, degC at the interface (K inside the Arrhenius terms), strains dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError, SolverError
from .material_library import library_material

KELVIN = 273.15
_NORMAL = slice(0, 3)
_SHEAR = slice(3, 6)
_LN2 = np.log(2.0)

_WANG_2000 = ("Cheng, Wang, Chen, Wilde, Becker, 'Viscoplastic Anand model for solder alloys "
              "and its application', Soldering & Surface Mount Technology 12(2), 2000: "
              "62Sn36Pb2Ag (near-eutectic SnPb)")
_MOTALAB_2012 = ("Motalab, Cai, Suhling, Lall, ITherm 2012 (doi 10.1109/ITHERM.2012.6231522) "
                 "and Motalab, PhD dissertation, Auburn 2013, table 4.1: SAC305, non-aged, "
                 "stress-strain fit")
_COMPILED = ("transcribed from the compilation in github.com/tengzhang48/CoupFE-EDA "
             "eda_multiphysics/anand.py (which cross-checks h0 = 180000 MPa against the "
             "dissertation)")


@dataclass(frozen=True)
class Garofalo:
    """Garofalo (hyperbolic-sine) steady creep: p_dot = c1 sinh(c2 q)^c3 exp(-c4 / T).

    c1 : 1/s.  c2 : 1/Pa.  c3 : dimensionless.  c4 : K (activation energy over R).
    """

    c1: float
    c2: float
    c3: float
    c4: float
    name: str = ""
    source: str = ""

    def __post_init__(self):
        _check_positive(self, ("c1", "c2", "c3", "c4"), "garofalo")

    def rate(self, stress, temperature_C):
        """Equivalent creep strain rate (1/s) at von Mises stress (Pa) and degC."""
        T = np.asarray(temperature_C) + KELVIN
        return self.c1 * np.sinh(self.c2 * np.asarray(stress)) ** self.c3 * np.exp(-self.c4 / T)


@dataclass(frozen=True)
class Anand:
    """Anand's viscoplastic model (nine constants).

    a : A, 1/s.  q_over_r : Q/R, K.  xi : dimensionless.  m : strain-rate sensitivity (the
    flow exponent is 1/m).  s0 : initial resistance, Pa.  h0 : hardening constant, Pa.
    s_hat : saturation coefficient, Pa.  n : saturation exponent.  hardening_exponent :
    the exponent a of the evolution law.
    """

    a: float
    q_over_r: float
    xi: float
    m: float
    s0: float
    h0: float
    s_hat: float
    n: float
    hardening_exponent: float
    name: str = ""
    source: str = ""

    def __post_init__(self):
        _check_positive(self, ("a", "q_over_r", "xi", "m", "s0", "h0", "s_hat",
                               "hardening_exponent"), "anand")
        if not self.n >= 0:
            raise ModelError("anand.n", f"must be >= 0, got {self.n!r}")

    def rate(self, stress, resistance, temperature_C):
        """p_dot (1/s) at von Mises stress and resistance (Pa), degC."""
        T = np.asarray(temperature_C) + KELVIN
        return self.a * np.exp(-self.q_over_r / T) * np.sinh(
            self.xi * np.asarray(stress) / np.asarray(resistance)) ** (1.0 / self.m)

    def resistance_rate(self, rate, resistance, temperature_C):
        """s_dot (Pa/s) at the rate p_dot (1/s) and resistance s (Pa)."""
        T = np.asarray(temperature_C) + KELVIN
        rate = np.asarray(rate, dtype=float)
        flowing = rate > 0
        saturation = self.s_hat * (np.where(flowing, rate, 1.0) / self.a
                                   * np.exp(self.q_over_r / T)) ** self.n
        phi = 1.0 - np.asarray(resistance) / saturation
        out = self.h0 * np.abs(phi) ** self.hardening_exponent * np.sign(phi) * rate
        return np.where(flowing, out, 0.0)


def _check_positive(law, names, prefix):
    for name in names:
        value = getattr(law, name)
        if isinstance(value, bool) or not (np.isfinite(value) and value > 0):
            raise ModelError(f"{prefix}.{name}", f"must be a finite number > 0, got {value!r}")


def garofalo_from_anand(anand: Anand) -> Garofalo:
    """Anand's flow rule with the resistance frozen at s0 is a Garofalo law: C1 = A,
    C2 = xi / s0, C3 = 1 / m, C4 = Q / R (the correspondence the Ansys Anand documentation
    draws). A derived set, not an independently fitted one."""
    return Garofalo(anand.a, anand.xi / anand.s0, 1.0 / anand.m, anand.q_over_r,
                    name=f"{anand.name} (Anand flow rule at s = s0)",
                    source=f"derived from {anand.source}")


ANAND = {
    "sac305": Anand(a=3501.0, q_over_r=9320.0, xi=4.0, m=0.25, s0=21.0e6, h0=180000e6,
                    s_hat=30.2e6, n=0.01, hardening_exponent=1.78, name="sac305",
                    source=f"{_MOTALAB_2012}; {_COMPILED}"),
    "snpb": Anand(a=4.0e6, q_over_r=9400.0, xi=1.5, m=0.303, s0=12.41e6, h0=1378.95e6,
                  s_hat=13.79e6, n=0.07, hardening_exponent=1.3, name="snpb",
                  source=f"{_WANG_2000}; {_COMPILED}"),
}
"""Published Anand sets by library solder name (SI units; the sources give MPa)."""

CREEP_LAWS = ("anand", "garofalo")


@dataclass(frozen=True)
class CreepMaterial:
    """A solder at an integration point: isotropic elasticity and a creep law.

    youngs_modulus : Pa.  poisson_ratio : dimensionless.  law : Garofalo or Anand.
    """

    youngs_modulus: float
    poisson_ratio: float
    law: Garofalo | Anand
    name: str = ""

    def __post_init__(self):
        if not self.youngs_modulus > 0:
            raise ModelError("youngs_modulus", f"must be > 0, got {self.youngs_modulus!r}")
        if not -1.0 < self.poisson_ratio < 0.5:
            raise ModelError("poisson_ratio", f"must be in (-1, 0.5), got "
                                              f"{self.poisson_ratio!r}")

    @property
    def shear_modulus(self) -> float:
        return self.youngs_modulus / (2 * (1 + self.poisson_ratio))

    @property
    def bulk_modulus(self) -> float:
        return self.youngs_modulus / (3 * (1 - 2 * self.poisson_ratio))


def solder_creep_material(solder: str, law: str = "anand") -> CreepMaterial:
    """The library solder (``"sac305"``, ``"snpb"``) with its published Anand constants
    (``law="anand"``) or their Garofalo form at s0 (``law="garofalo"``); elasticity from
    :data:`thermomech.LIBRARY`."""
    if law not in CREEP_LAWS:
        raise ModelError("law", f"must be one of {', '.join(CREEP_LAWS)}, got {law!r}")
    if solder not in ANAND:
        raise ModelError("solder", f"no published creep constants for {solder!r}; "
                                   f"known: {', '.join(ANAND)}")
    elastic = library_material(solder, "solder")
    constants = ANAND[solder] if law == "anand" else garofalo_from_anand(ANAND[solder])
    return CreepMaterial(float(elastic.youngs_modulus), float(elastic.poisson_ratio),
                         constants, name=f"{solder} ({law})")


@dataclass(frozen=True)
class CreepState:
    """The history at each point: creep strain (points, 6) engineering Voigt, deformation
    resistance (points,) Pa (Anand; the Garofalo law does not use it) and the dissipated
    energy density (points,) J/m^3 accumulated so far."""

    creep_strain: np.ndarray
    resistance: np.ndarray
    energy: np.ndarray

    @classmethod
    def initial(cls, material: CreepMaterial, points: int) -> CreepState:
        s0 = material.law.s0 if isinstance(material.law, Anand) else 0.0
        return cls(np.zeros((points, 6)), np.full(points, float(s0)), np.zeros(points))


@dataclass(frozen=True)
class CreepStep:
    """One implicit step: stress (points, 6) Pa, the new state, the consistent tangent
    (points, 6, 6) Pa (d stress / d strain, engineering shears) and the equivalent creep
    strain increment dp (points,)."""

    stress: np.ndarray
    state: CreepState
    tangent: np.ndarray
    increment: np.ndarray


def creep_step(material: CreepMaterial, state: CreepState, strain, dt: float,
               temperature_C) -> CreepStep:
    """Backward-Euler step to the mechanical strain ``strain`` (points, 6) (total minus
    thermal) at the end of a step of ``dt`` seconds at ``temperature_C`` (scalar or
    (points,), degC, taken at the end of the step)."""
    strain = np.atleast_2d(np.asarray(strain, dtype=float))
    n = len(strain)
    T = np.broadcast_to(np.asarray(temperature_C, dtype=float), (n,))
    G, K = material.shear_modulus, material.bulk_modulus
    elastic = _to_tensor(strain - state.creep_strain)
    volume = elastic[:, _NORMAL].sum(axis=1)
    dev = elastic.copy()
    dev[:, _NORMAL] -= volume[:, None] / 3
    s_trial = 2 * G * dev
    q_trial = np.sqrt(1.5 * _contract(s_trial, s_trial))
    active = (q_trial > 0) & (dt > 0)
    dp, resistance, slope = _return_map(material.law, state, q_trial, T, dt, G, active)
    beta = np.where(active, 3 * G * dp / np.where(active, q_trial, 1.0), 0.0)
    unit = np.where(active[:, None], s_trial / np.sqrt(np.maximum(
        _contract(s_trial, s_trial), 1e-300))[:, None], 0.0)
    s_new = (1 - beta)[:, None] * s_trial
    stress = s_new.copy()
    stress[:, _NORMAL] += (K * volume)[:, None]
    flow = 1.5 * dp[:, None] * np.where(active[:, None], s_trial / np.where(
        active, q_trial, 1.0)[:, None], 0.0)
    flow[:, _SHEAR] *= 2  # engineering shears
    q_new = (1 - beta) * q_trial
    new_state = CreepState(state.creep_strain + flow, resistance, state.energy + q_new * dp)
    tangent = _tangent(G, K, beta, 3 * G * slope, unit)
    return CreepStep(stress, new_state, tangent, dp)


def _to_tensor(voigt: np.ndarray) -> np.ndarray:
    """Engineering Voigt strains -> tensor components (shears halved)."""
    out = voigt.copy()
    out[:, _SHEAR] *= 0.5
    return out


def _contract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a : b of symmetric tensors in Voigt tensor components."""
    return (a[:, _NORMAL] * b[:, _NORMAL]).sum(axis=1) + 2 * (a[:, _SHEAR] * b[:, _SHEAR]
                                                               ).sum(axis=1)


def _tangent(G, K, beta, slope3G, unit) -> np.ndarray:
    """(points, 6, 6): K 1x1 + 2G (1 - beta) I_dev + 2G (beta - 3G d dp/dq_tr) N x N."""
    ones = np.r_[np.ones(3), np.zeros(3)]
    identity = np.diag([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])  # tensor stress per engineering strain
    dev = identity - np.outer(ones, ones) / 3
    out = K * np.outer(ones, ones)[None] + 2 * G * (1 - beta)[:, None, None] * dev[None]
    return out + 2 * G * (beta - slope3G)[:, None, None] * np.einsum("pi,pj->pij", unit, unit)


def ln_sinh(x):
    """ln(sinh(x)) for x > 0, without overflow for large x."""
    x = np.asarray(x, dtype=float)
    return x + np.log(-np.expm1(-2 * x)) - _LN2


def _coth(x):
    return 1.0 / np.tanh(x)


def _return_map(law, state, q_trial, T, dt, G, active):
    """(dp, s_n+1, d dp / d q_trial) per point; zeros where inactive."""
    kelvin = T + KELVIN
    dp = np.zeros_like(q_trial)
    slope = np.zeros_like(q_trial)
    resistance = state.resistance.copy()
    if not np.any(active):
        return dp, resistance, slope
    if isinstance(law, Garofalo):
        ln_rate0 = np.log(law.c1) - law.c4 / kelvin[active]
        u, slope_u = _solve_garofalo(q_trial[active], dt, ln_rate0, law.c2, law.c3, G)
    else:
        s = state.resistance[active]
        ln_rate0 = np.log(law.a) - law.q_over_r / kelvin[active]
        u, _ = _solve_garofalo(q_trial[active], dt, ln_rate0, law.xi / s, 1.0 / law.m, G)
        u, s, slope_u = _solve_anand(law, q_trial[active], dt, kelvin[active], s, u, G)
        resistance[active] = s
    dp[active] = np.exp(u)
    slope[active] = np.exp(u) * slope_u
    return dp, resistance, slope


def _solve_garofalo(q_trial, dt, ln_rate0, c2, c3, G, tol=1e-12, iterations=200):
    """u = ln dp solving g(u) = u - ln dt - ln_rate0 - c3 ln sinh(c2 (q_tr - 3G e^u)) = 0,
    g increasing: Newton kept inside a bracket, bisection when it leaves it. Returns u and
    du / dq_tr."""
    upper = np.log(q_trial / (3 * G))  # dp = q_tr / 3G: q = 0, g = +inf
    explicit = np.log(dt) + ln_rate0 + c3 * ln_sinh(c2 * q_trial)  # g(explicit) >= 0
    hi = np.minimum(explicit, upper - 1e-12)
    lo = hi - 800.0
    u = hi.copy()
    for _ in range(iterations):
        q = q_trial - 3 * G * np.exp(u)
        g = u - np.log(dt) - ln_rate0 - c3 * ln_sinh(c2 * q)
        dg = 1.0 + c3 * c2 * _coth(c2 * q) * 3 * G * np.exp(u)
        # a log residual, relative to u; near q = 0 (dp -> q_tr / 3G) q loses digits to
        # cancellation, and there the Newton step in u is the measure
        if np.all((np.abs(g) < tol * (1 + np.abs(u)))
                  | (np.abs(g / dg) < 1e-3 * tol * (1 + np.abs(u)))):
            return u, c3 * c2 * _coth(c2 * q) / dg
        lo = np.where(g < 0, u, lo)
        hi = np.where(g > 0, u, hi)
        step = u - g / dg
        u = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
    raise SolverError(f"creep return mapping: Newton did not converge in {iterations} "
                      f"iterations (largest |residual| {np.max(np.abs(g)):.3g})")


def _solve_anand(law: Anand, q_trial, dt, kelvin, s_old, u, G, tol=1e-11, iterations=100):
    """Damped Newton on (u = ln dp, s) for the two backward-Euler equations of Anand's
    model, iterating only on the points not yet converged. A point is converged when its
    residual is below ``tol`` (relative to u, and to s_old for the resistance) or, as in
    ``_solve_garofalo``, when its Newton step is below ``1e-3 tol``: near full relaxation
    (q -> 0) q loses digits to cancellation and the residual stalls above ``tol``.
    Returns u, s_n+1 and du / dq_tr."""
    u, s = u.copy(), s_old.copy()
    upper = np.log(q_trial / (3 * G))
    ln_z0 = -np.log(dt) - np.log(law.a) + law.q_over_r / kelvin  # ln z = u + ln_z0
    todo = np.arange(len(u))

    def system(at, s_at, u_at):
        return _anand_system(law, q_trial[at], dt, kelvin[at], s_old[at], s_at, u_at, G,
                             ln_z0[at])

    for _ in range(iterations):
        F, J = system(todo, s[todo], u[todo])
        norm = np.abs(F).max(axis=0)
        det = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
        du = -(J[1, 1] * F[0] - J[0, 1] * F[1]) / det
        ds = -(-J[1, 0] * F[0] + J[0, 0] * F[1]) / det
        scale = tol * (1 + np.abs(u[todo]))
        done = (norm < scale) | ((np.abs(du) < 1e-3 * scale)
                                 & (np.abs(ds) < 1e-3 * tol * s_old[todo]))
        todo, norm, du, ds = todo[~done], norm[~done], du[~done], ds[~done]
        if not len(todo):
            break
        damping = np.ones(len(todo))
        for _ in range(40):  # backtracking: stay in the domain and reduce the residual
            u_try, s_try = u[todo] + damping * du, s[todo] + damping * ds
            ok = (u_try < upper[todo]) & (s_try > 0)
            F_try, _ = system(todo, np.where(ok, s_try, s[todo]), np.where(ok, u_try, u[todo]))
            better = ok & (np.abs(F_try).max(axis=0) < norm)
            if np.all(better):
                break
            damping = np.where(better, damping, 0.5 * damping)
        # no reduction found (the residual at its round-off floor): the full step, if
        # it stays in the domain, so that the step criterion can end the iteration
        full = ~better & (u[todo] + du < upper[todo]) & (s[todo] + ds > 0)
        damping = np.where(full, 1.0, damping)
        u[todo] += np.where(better | full, damping * du, 0.0)
        s[todo] += np.where(better | full, damping * ds, 0.0)
    else:
        raise SolverError(f"Anand return mapping: Newton did not converge in {iterations} "
                          f"iterations at {len(todo)} points (largest |residual| "
                          f"{np.max(norm):.3g})")
    every = np.arange(len(u))
    _, J = system(every, s, u)
    dF1_dq = -(1.0 / law.m) * _coth(law.xi * (q_trial - 3 * G * np.exp(u)) / s) * law.xi / s
    det = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
    return u, s, -(J[1, 1] * dF1_dq) / det


def _anand_system(law, q_trial, dt, kelvin, s_old, s, u, G, ln_z0):
    """Residuals (2, points), F1 dimensionless and F2 relative to s_old, and their Jacobian
    (2, 2, points) with respect to (u, s)."""
    dp = np.exp(u)
    q = q_trial - 3 * G * dp
    x = law.xi * q / s
    F1 = u + ln_z0 - (1.0 / law.m) * ln_sinh(x)  # ln dp - ln(dt * rate)
    saturation = law.s_hat * np.exp(law.n * (u + ln_z0))
    phi = 1.0 - s / saturation
    a = law.hardening_exponent
    psi = np.abs(phi) ** a * np.sign(phi)
    dpsi = a * np.abs(phi) ** (a - 1)
    F2 = (s - s_old - law.h0 * psi * dp) / s_old
    coth = _coth(x)
    J = np.empty((2, 2) + u.shape)
    J[0, 0] = 1.0 + (1.0 / law.m) * coth * law.xi * 3 * G * dp / s
    J[0, 1] = (1.0 / law.m) * coth * x / s
    J[1, 0] = -law.h0 * dp * (psi + dpsi * law.n * s / saturation) / s_old
    J[1, 1] = (1.0 + law.h0 * dp * dpsi / saturation) / s_old
    return np.array([F1, F2]), J
