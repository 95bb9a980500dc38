"""Linear viscoelasticity: a thermorheologically simple generalized Maxwell model.

Relaxation moduli (PHYSICS_NEXT.md 3.1), either E(t) with a constant Poisson's ratio nu
(the datasheet case: G_i = E_i / (2 (1 + nu)), K_i = E_i / (3 (1 - 2 nu))) or separate
shear and bulk series::

    G(xi) = G_inf + sum_i G_i exp(-xi / tau_i),   K(xi) = K_inf + sum_j K_j exp(-xi / tau_j)

in the reduced time ``xi = integral dt / a_T(T)`` with the shift factor ``a_T`` from WLF
(``log10 a_T = -C1 (T - T_ref) / (C2 + T - T_ref)``), Arrhenius (``ln a_T = E_a / R
(1 / T - 1 / T_ref)``, kelvin) or a table of log10 a_T (piecewise linear, constant outside).

Recursive update (Taylor-Pister-Goudreau / Simo, PHYSICS_NEXT.md 3.2), exact when the strain
is linear in time over the increment and a_T constant (T at mid-increment): per term i with
x = dxi / tau_i, ``d = exp(-x)``, ``Gamma = (1 - d) / x``,

    h_i <- d h_i + Gamma C_i (eps_new - eps_old),   sigma = C_inf eps + sum_i h_i,

where ``C_i`` is the isotropic matrix of (G_i, K_i) and ``h_i`` (6 per term: one stress
vector whatever its shear/bulk split) the internal stress of branch i. Written as
``sigma_new = C_alg eps_new + sigma_hist`` with the algorithmic moduli ``G_alg = G_inf +
sum G_i Gamma_i``, ``K_alg`` likewise (an isotropic stiffness: the elastic element matrices
with a per-cell modulus) and ``sigma_hist = sum_i (d_i h_i - Gamma_i C_i eps_old)``.
State per point: eps_old (6) and h (6 per term): 6 + 6 n doubles.

Voigt order xx, yy, zz, yz, xz, xy with engineering shears. Units: Pa, s, degC, J/mol.
Arrays of points have any trailing shape (``(6, cells, points)``), all vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError

SHIFTS = ("wlf", "arrhenius", "table")
GAS_CONSTANT = 8.314462618
"""J/(mol K)."""
KELVIN = 273.15
LOG10_LIMIT = 300.0
"""|log10 a_T| beyond which a reduced time is taken as overflowing (float range 1e308)."""


@dataclass(frozen=True)
class Viscoelastic:
    """The ``[materials.NAME.viscoelastic]`` table: Prony series and time-temperature shift.

    reference_temperature : degC at which the relaxation times hold (a_T = 1).
    shift : "wlf" (``wlf_c1``, ``wlf_c2`` K; with ``activation_energy`` also given, WLF
        above T_ref and Arrhenius below it: the usual EMC practice, since WLF is singular
        at T_ref - C2), "arrhenius" (``activation_energy`` J/mol) or "table"
        (``shift_temperatures`` degC with ``log10_shift_factors``).
    long_term_modulus, prony_moduli, prony_times : E_inf Pa, E_i Pa, tau_i s (E(t) with the
        material's constant Poisson ratio); or the ``shear_*`` and ``bulk_*`` series (Pa, s)
        for separate G(t) and K(t). Moduli >= 0 (a fit gives exact zeros), times > 0.
    where : the dotted path messages name (``materials.NAME.viscoelastic``).
    """

    reference_temperature: float
    shift: str = "wlf"
    wlf_c1: float | None = None
    wlf_c2: float | None = None
    activation_energy: float | None = None
    shift_temperatures: tuple[float, ...] = ()
    log10_shift_factors: tuple[float, ...] = ()
    long_term_modulus: float | None = None
    prony_moduli: tuple[float, ...] = ()
    prony_times: tuple[float, ...] = ()
    shear_long_term_modulus: float | None = None
    shear_moduli: tuple[float, ...] = ()
    shear_times: tuple[float, ...] = ()
    bulk_long_term_modulus: float | None = None
    bulk_moduli: tuple[float, ...] = ()
    bulk_times: tuple[float, ...] = ()
    where: str = "viscoelastic"

    def __post_init__(self):
        for name in ("prony_moduli", "prony_times", "shear_moduli", "shear_times",
                     "bulk_moduli", "bulk_times", "shift_temperatures",
                     "log10_shift_factors"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        check_viscoelastic(self)

    @property
    def separate(self) -> bool:
        """True for separate shear and bulk series (no constant Poisson ratio)."""
        return self.shear_long_term_modulus is not None

    @property
    def relaxation_times(self) -> np.ndarray:
        """(n,) s at the reference temperature, every term."""
        if self.separate:
            return np.array(self.shear_times + self.bulk_times)
        return np.array(self.prony_times)

    def terms(self, poisson_ratio: float | None = None) -> MaxwellTerms:
        """The shear and bulk moduli of every term (``poisson_ratio`` for the E(t) form)."""
        if self.separate:
            ns, nb = len(self.shear_moduli), len(self.bulk_moduli)
            G = np.concatenate([self.shear_moduli, np.zeros(nb)])
            K = np.concatenate([np.zeros(ns), self.bulk_moduli])
            return MaxwellTerms(float(self.shear_long_term_modulus),
                                float(self.bulk_long_term_modulus), G, K,
                                self.relaxation_times)
        if poisson_ratio is None or isinstance(poisson_ratio, tuple):
            raise ModelError(f"{self.where}.long_term_modulus", "an E(t) Prony series needs "
                             "the material's isotropic poisson_ratio (or give shear_* and "
                             "bulk_* series)")
        nu = float(poisson_ratio)
        g, k = 1 / (2 * (1 + nu)), 1 / (3 * (1 - 2 * nu))
        E = np.array(self.prony_moduli)
        return MaxwellTerms(g * self.long_term_modulus, k * self.long_term_modulus, g * E,
                            k * E, self.relaxation_times)

    def log10_shift(self, T) -> np.ndarray:
        """log10 a_T at ``T`` degC (any shape); a ModelError where it is undefined or its
        reduced time would overflow (WLF at or below T_ref - C2)."""
        T = np.asarray(T, dtype=float)
        dT = T - self.reference_temperature
        if self.shift == "wlf" and self.activation_energy is not None:
            out = np.where(dT >= 0, -self.wlf_c1 * np.maximum(dT, 0) / (
                self.wlf_c2 + np.maximum(dT, 0)), self._arrhenius(T))
        elif self.shift == "wlf":
            denominator = self.wlf_c2 + dT
            if np.any(denominator <= 0):
                bad = float(np.min(T[denominator <= 0]) if T.ndim else T)
                raise ModelError(f"{self.where}.wlf_c2", f"the WLF shift is singular at "
                                 f"{bad:g} degC (at or below T_ref - C2 = "
                                 f"{self.reference_temperature - self.wlf_c2:g} degC): the "
                                 f"reduced time overflows; give activation_energy for an "
                                 f"Arrhenius shift below T_ref, or a table")
            out = -self.wlf_c1 * dT / denominator
        elif self.shift == "arrhenius":
            out = self._arrhenius(T)
        else:
            out = np.interp(T, self.shift_temperatures, self.log10_shift_factors)
        if np.any(np.abs(out) > LOG10_LIMIT):
            raise ModelError(self.where, f"the reduced time overflows: log10 a_T = "
                             f"{float(np.max(np.abs(out))):g} at T = "
                             f"{float(np.max(T)) if T.ndim else float(T):g} degC")
        return out

    def _arrhenius(self, T: np.ndarray) -> np.ndarray:
        return (self.activation_energy / (GAS_CONSTANT * np.log(10))
                * (1 / (T + KELVIN) - 1 / (self.reference_temperature + KELVIN)))

    def reduced_time(self, dt, T) -> np.ndarray:
        """s of reduced time ``dt / a_T(T)`` of ``dt`` s at ``T`` degC."""
        return np.asarray(dt, dtype=float) * 10.0 ** (-self.log10_shift(T))


def _check_series(v: Viscoelastic, long_term: str, moduli: str, times: str) -> None:
    where = v.where
    E, tau = getattr(v, moduli), getattr(v, times)
    if getattr(v, long_term) is None:
        raise ModelError(f"{where}.{long_term}", "is needed with a Prony series")
    if len(E) != len(tau):
        raise ModelError(f"{where}.{times}", f"has {len(tau)} values but {moduli} has "
                                             f"{len(E)}: give one time per modulus")
    for name in (long_term, moduli):
        values = np.atleast_1d(getattr(v, name))
        if np.any(~np.isfinite(values)) or np.any(values < 0):
            raise ModelError(f"{where}.{name}", f"moduli must be >= 0, got "
                                                f"{list(map(float, values))}")
    if np.any(~np.isfinite(tau)) or np.any(np.asarray(tau) <= 0):
        raise ModelError(f"{where}.{times}", f"relaxation times must be > 0, got "
                                             f"{list(tau)}")
    if getattr(v, long_term) + sum(E) <= 0:
        raise ModelError(f"{where}.{moduli}", "the instantaneous modulus (long-term modulus "
                                              "plus the Prony moduli) must be > 0, got 0")


def check_viscoelastic(v: Viscoelastic) -> None:
    """Raise a ModelError naming the field: unknown shift or one without its constants,
    moduli < 0 or all zero, times <= 0, lists of different lengths, both forms or none."""
    where = v.where
    if v.shift not in SHIFTS:
        raise ModelError(f"{where}.shift", f"must be one of {', '.join(SHIFTS)}, got "
                                           f"{v.shift!r}")
    needed = {"wlf": ("wlf_c1", "wlf_c2"), "arrhenius": ("activation_energy",),
              "table": ("shift_temperatures", "log10_shift_factors")}[v.shift]
    for name in needed:
        value = getattr(v, name)
        if value is None or (isinstance(value, tuple) and not value):
            raise ModelError(f"{where}.{name}", f"is needed by shift = {v.shift!r}")
    if v.shift == "wlf" and not (v.wlf_c1 > 0 and v.wlf_c2 > 0):
        raise ModelError(f"{where}.wlf_c1", f"WLF constants must be > 0, got C1 = "
                                            f"{v.wlf_c1}, C2 = {v.wlf_c2} K")
    if v.activation_energy is not None and not v.activation_energy > 0:
        raise ModelError(f"{where}.activation_energy", f"must be > 0, got "
                                                       f"{v.activation_energy}")
    if v.shift == "table":
        T, a = np.array(v.shift_temperatures), np.array(v.log10_shift_factors)
        if len(T) != len(a):
            raise ModelError(f"{where}.log10_shift_factors", f"has {len(a)} values but "
                             f"shift_temperatures has {len(T)}")
        if np.any(np.diff(T) <= 0) or not np.all(np.isfinite(a)):
            raise ModelError(f"{where}.shift_temperatures", f"must be strictly increasing "
                             f"with finite factors, got {list(T)}")
    e_form = v.long_term_modulus is not None or v.prony_moduli or v.prony_times
    separate = any(getattr(v, n) not in (None, ()) for n in (
        "shear_long_term_modulus", "shear_moduli", "shear_times", "bulk_long_term_modulus",
        "bulk_moduli", "bulk_times"))
    if e_form and separate:
        raise ModelError(where, "give either long_term_modulus / prony_moduli / prony_times "
                                "(E(t), constant Poisson ratio) or the shear_* and bulk_* "
                                "series, not both")
    if separate:
        _check_series(v, "shear_long_term_modulus", "shear_moduli", "shear_times")
        _check_series(v, "bulk_long_term_modulus", "bulk_moduli", "bulk_times")
    else:
        _check_series(v, "long_term_modulus", "prony_moduli", "prony_times")


@dataclass(frozen=True)
class MaxwellTerms:
    """Moduli of a generalized Maxwell model: long-term G_inf, K_inf (Pa) and per term
    G (n,), K (n,) Pa with relaxation times tau (n,) s at the reference temperature."""

    G_inf: float
    K_inf: float
    G: np.ndarray
    K: np.ndarray
    tau: np.ndarray

    def factors(self, dxi) -> tuple[np.ndarray, np.ndarray]:
        """(d, Gamma), each (n, *dxi.shape): exp(-x) and (1 - exp(-x)) / x, x = dxi / tau
        (Gamma -> 1 as x -> 0, by expm1)."""
        dxi = np.asarray(dxi, dtype=float)
        x = dxi[None] / self.tau.reshape((-1,) + (1,) * dxi.ndim)
        safe = np.where(x > 0, x, 1.0)
        gamma = np.where(x > 0, -np.expm1(-safe) / safe, 1.0)
        return np.exp(-x), gamma

    def algorithmic(self, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """G_alg, K_alg (Pa, the shape of one factor array)."""
        shape = (-1,) + (1,) * (gamma.ndim - 1)
        return (self.G_inf + np.sum(self.G.reshape(shape) * gamma, axis=0),
                self.K_inf + np.sum(self.K.reshape(shape) * gamma, axis=0))

    def instantaneous(self) -> tuple[float, float]:
        """G_0, K_0 Pa (glassy)."""
        return self.G_inf + float(self.G.sum()), self.K_inf + float(self.K.sum())

    def relaxation(self, xi) -> tuple[np.ndarray, np.ndarray]:
        """G(xi), K(xi) Pa at reduced times ``xi`` s."""
        xi = np.asarray(xi, dtype=float)
        e = np.exp(-xi[..., None] / self.tau)
        return self.G_inf + e @ self.G, self.K_inf + e @ self.K


def isotropic_stress(G, K, strain: np.ndarray) -> np.ndarray:
    """(6, ...) Pa: 2 G dev(eps) + K tr(eps) I of engineering strains ``strain`` (6, ...);
    G, K scalars or arrays broadcasting against ``strain[0]``."""
    trace = strain[0] + strain[1] + strain[2]
    out = np.empty(np.broadcast_shapes(strain.shape, (6,) + np.shape(G)))
    for i in range(3):
        out[i] = 2 * G * (strain[i] - trace / 3) + K * trace
    for i in range(3, 6):
        out[i] = G * strain[i]
    return out


def isotropic_matrix(G: float, K: float) -> np.ndarray:
    """6x6 Voigt stiffness (engineering shears) of shear modulus G and bulk modulus K, Pa."""
    C = np.zeros((6, 6))
    C[:3, :3] = K - 2 * G / 3
    C[[0, 1, 2], [0, 1, 2]] = K + 4 * G / 3
    C[[3, 4, 5], [3, 4, 5]] = G
    return C


@dataclass(frozen=True)
class MaxwellState:
    """History of points: strain (6, ...) the mechanical strain of the last increment and
    history (n, 6, ...) Pa the internal stress of every term (zero: a part just added)."""

    strain: np.ndarray
    history: np.ndarray

    @classmethod
    def zero(cls, n_terms: int, shape: tuple) -> MaxwellState:
        return cls(np.zeros((6,) + tuple(shape)), np.zeros((n_terms, 6) + tuple(shape)))

    @property
    def doubles_per_point(self) -> int:
        return 6 + 6 * self.history.shape[0]


@dataclass(frozen=True)
class Increment:
    """One increment's factors: d, Gamma (n, ...) and the algorithmic moduli (Pa)."""

    decay: np.ndarray
    gamma: np.ndarray
    G_alg: np.ndarray
    K_alg: np.ndarray


def increment(terms: MaxwellTerms, dxi) -> Increment:
    """The factors of a reduced-time increment ``dxi`` s (scalar or per point)."""
    d, gamma = terms.factors(dxi)
    G_alg, K_alg = terms.algorithmic(gamma)
    return Increment(d, gamma, G_alg, K_alg)


def _expand(values: np.ndarray, ndim: int) -> np.ndarray:
    """``values`` (n, *dxi.shape) with trailing axes added up to ``ndim`` dimensions."""
    return values.reshape(values.shape + (1,) * (ndim - values.ndim))


def _branch_moduli(terms: MaxwellTerms, step: Increment, ndim: int):
    """G_i Gamma_i and K_i Gamma_i, (n, ...) with ``ndim`` dimensions."""
    gamma = _expand(step.gamma, ndim)
    shape = (-1,) + (1,) * (ndim - 1)
    return terms.G.reshape(shape) * gamma, terms.K.reshape(shape) * gamma


def history_stress(terms: MaxwellTerms, state: MaxwellState, step: Increment) -> np.ndarray:
    """(6, ...) Pa: sigma_hist = sum_i d_i h_i - Gamma_i C_i eps_old, so that the stress at
    the end of the increment is C_alg eps_new + sigma_hist."""
    if len(terms.tau) == 0:
        return np.zeros_like(state.strain)
    ndim = state.strain.ndim  # n + point axes
    d = _expand(step.decay, ndim)[:, None]
    G, K = _branch_moduli(terms, step, ndim)
    return (np.sum(d * state.history, axis=0)
            - isotropic_stress(G.sum(axis=0), K.sum(axis=0), state.strain))


def advanced(terms: MaxwellTerms, state: MaxwellState, step: Increment,
             strain: np.ndarray) -> MaxwellState:
    """The state at the end of the increment with mechanical strain ``strain`` (6, ...)."""
    if len(terms.tau) == 0:
        return MaxwellState(strain.copy(), state.history)
    ndim = state.strain.ndim
    d = _expand(step.decay, ndim)[:, None]
    G, K = _branch_moduli(terms, step, ndim)
    change = strain - state.strain
    history = d * state.history
    for i in range(len(terms.tau)):  # Prony terms (a few), each vectorized over the points
        history[i] += isotropic_stress(G[i], K[i], change)
    return MaxwellState(strain.copy(), history)


def stress(terms: MaxwellTerms, state: MaxwellState) -> np.ndarray:
    """(6, ...) Pa: C_inf eps + sum_i h_i of ``state``."""
    return isotropic_stress(terms.G_inf, terms.K_inf, state.strain) + state.history.sum(axis=0)


VISCOELASTIC_KEYS = {
    "reference_temperature": ("temperature", False),
    "shift": (None, False),
    "wlf_c1": ("dimensionless", False),
    "wlf_c2": ("temperature_difference", False),
    "activation_energy": ("molar_energy", False),
    "shift_temperatures": ("temperature", True),
    "log10_shift_factors": ("dimensionless", True),
    "long_term_modulus": ("modulus", False),
    "prony_moduli": ("modulus", True),
    "prony_times": ("time", True),
    "shear_long_term_modulus": ("modulus", False),
    "shear_moduli": ("modulus", True),
    "shear_times": ("time", True),
    "bulk_long_term_modulus": ("modulus", False),
    "bulk_moduli": ("modulus", True),
    "bulk_times": ("time", True),
}
"""The keys of ``[materials.NAME.viscoelastic]``: quantity kind (None: text) and whether
the value is a list."""
