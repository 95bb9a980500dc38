"""Transient thermal impedance Zth(t), its Foster and Cauer networks, the structure function.

Zth(t) = (T_J(t) - T_J(0)) / P (K/W) after a power step P at t = 0, T_J the largest die
temperature (JESD51-14 uses the same curve; PHYSICS_NEXT.md 4.2). The time-constant spectrum
is a Foster network fitted to Zth on a fixed log-spaced grid of time constants,

    Zth(t) = sum_i R_i (1 - exp(-t / tau_i)),   R_i >= 0 (K/W), tau_i (s),

by non-negative least squares (scipy.optimize.nnls) with a small Tikhonov term. Its
impedance Z(s) = sum_i R_i / (1 + s tau_i) is converted to a Cauer ladder (capacitors C_j
in J/K to the ambient, resistors R_j in K/W in series from the junction) by the continued-
fraction expansion of the polynomial ratio, done in exact rational arithmetic
(``fractions.Fraction``: every float is an exact rational), and the cumulative structure
function is C_sum (J/K) against R_sum (K/W) along the ladder (V. Szekely and T. Van Bien,
Solid-State Electronics 31 (1988) 1363, the structure function; JESD51-14 (2010) uses it).

Resolution (measured, tests/test_zth.py): a 1-D two-layer bar's interface is read from the
ladder 10 % low with the ~13 terms the fit keeps; even the bar's exact spectrum truncated to
12 / 25 / 40 modes reads it 6.3 / 3.6 / 2.3 % low, so the lumped ladder, not the FE curve
(~1e-4) or the fit (~1e-4), limits it (the bar's exact Zth through the fit: -7.6 %), and
the reading at that kink is ill-conditioned: the slope of C_sum drops 8 times there, so a
C_sum error of 1 % of the layer's capacity moves it 8 %. Total resistance: 1e-5.
That is the "as measured" route; a model knows its exact spectrum
(:func:`thermomech.zth_spectrum.model_spectrum`, Lanczos on K^-1 M) and, through
:func:`foster_to_cauer_lanczos` (float64, hundreds of terms), reads the same interface within
0.5 % (docs/jedec.md).

Time stepping: ``solve_transient`` has a fixed step, so :func:`zth_transient` runs one
transient per decade of time, each from t = 0 with the step 1 / (10 * steps_per_decade) of
its end, and keeps each run's last decade (see its docstring for the measured error).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.optimize import nnls

from .thermal import solve_transient
from .thermal_loads import Convection, FixedTemperature, ThermalLoads, Transient

__all__ = ["ZthCurve", "Foster", "Cauer", "DualInterface", "log_time_grid", "zth_curve",
           "zth_transient", "fit_foster", "foster_to_cauer", "foster_to_cauer_lanczos",
           "cauer_to_foster", "structure_function", "separation", "dual_interface"]


@dataclass(frozen=True)
class ZthCurve:
    """Zth (K/W) at times ``time`` (s), for the die ``die`` and step power ``power`` (W)."""

    time: np.ndarray
    zth: np.ndarray
    power: float
    die: str


@dataclass(frozen=True)
class Foster:
    """Foster network: Zth(t) = sum R (1 - exp(-t / tau)); R in K/W, tau in s."""

    R: np.ndarray
    tau: np.ndarray

    @property
    def C(self) -> np.ndarray:
        """The Foster capacitances tau / R (J/K; not physical node capacities)."""
        return self.tau / self.R

    @property
    def total_resistance(self) -> float:
        return float(self.R.sum())

    def zth(self, t) -> np.ndarray:
        """Zth (K/W) at times ``t`` (s)."""
        t = np.asarray(t, dtype=float)
        return (1.0 - np.exp(-t[..., None] / self.tau)) @ self.R


@dataclass(frozen=True)
class Cauer:
    """Cauer ladder from the junction: C[0] at the junction node, then R[0], C[1], R[1], ...,
    R[-1] to the ambient (C in J/K, R in K/W)."""

    R: np.ndarray
    C: np.ndarray


def log_time_grid(t_min: float, t_max: float, per_decade: int = 20) -> np.ndarray:
    """Log-spaced times (s) from ``t_min`` to ``t_max``, ``per_decade`` points per decade."""
    n = max(2, int(round(np.log10(t_max / t_min) * per_decade)) + 1)
    return np.geomspace(t_min, t_max, n)


def zth_curve(result, die: str | None = None) -> ZthCurve:
    """Zth(t) = (T_J(t) - T_J(0)) / P (K/W) at every step of a transient ``result``.

    T_J is ``history['<die>.max_C']`` (the first die unless ``die`` is given), P the power
    of the last step (W, whole package): the result must come from a power step (constant
    profile, or a step from 0 at t = 0).
    """
    history = result.history
    dies = [k[:-len(".max_C")] for k in history if k.endswith(".max_C")]
    if not dies:
        raise ValueError("the transient has no die history (no powered part)")
    die = die or dies[0]
    tj = np.asarray(history[f"{die}.max_C"], dtype=float)
    power = float(np.asarray(history["power_W"])[-1])
    if not power > 0:
        raise ValueError(f"Zth needs a power step > 0 W, got {power:g} W")
    return ZthCurve(np.asarray(history["time"], dtype=float), (tj - tj[0]) / power, power,
                    die)


def zth_transient(package, loads, t_min: float, t_max: float, *,
                  steps_per_decade: int = 40, scheme: str = "bdf2", per_decade: int = 20,
                  **solver) -> ZthCurve:
    """Zth on :func:`log_time_grid` (t_min .. t_max, s) from one transient per decade.

    Run k ends at t_k = t_min * 10^(k+1) with the fixed step t_k / (10 * steps_per_decade)
    (``loads.transient``'s other fields kept; the power a step from 0 at t = 0) and gives the
    grid times in (t_k / 10, t_k] by linear interpolation; the first run also gives the times
    up to t_min. Cost: 10 * steps_per_decade steps per decade. Error: the step is at most
    1 / (10 * steps_per_decade) of the run's end (1 / steps_per_decade of the times read),
    so BDF2 resolves the time constants near t; faster modes are damped (BDF2 is L-stable)
    and have settled. Measured on tests/test_zth.py's layered bar (1e-4 .. 1e2 s): 40 against
    160 steps per decade differ by at most 9.3e-5 of Zth(t) (at t = 1.1 s), 7.4e-5 of Zth_end.
    """
    base = loads.transient or Transient()
    grid = log_time_grid(t_min, t_max, per_decade)
    decades = max(1, int(np.ceil(np.log10(t_max / t_min) - 1e-9)))
    zth = np.full(len(grid), np.nan)
    curve = None
    for k in range(decades):
        end = t_min * 10.0 ** (k + 1)
        transient = dataclasses.replace(base, end_time=end, time_step=end / (10 *
                                        steps_per_decade), scheme=scheme, output_times=(),
                                        power_profile=None)
        curve = zth_curve(solve_transient(package, dataclasses.replace(loads,
                                                                       transient=transient),
                                          **solver))
        pick = (grid <= end * (1 + 1e-12)) & ((grid > end / 10 * (1 + 1e-12)) | (k == 0))
        zth[pick] = np.interp(grid[pick], curve.time, curve.zth)
    return ZthCurve(grid, zth, curve.power, curve.die)


def fit_foster(time, zth, tau=None, *, per_decade: int = 40, regularization: float = 1e-10,
               merge: float = 1e-4, max_terms: int = 40) -> Foster:
    """Foster network fitted to Zth (K/W) at ``time`` (s) by non-negative least squares.

    ``tau`` (s): the fixed time constants, by default ``per_decade`` per decade from
    (first positive time) / 10 to 10 * time[-1]. Each residual is divided by Zth(t) (a
    relative fit: the early times carry the structure near the junction); the Tikhonov term
    ``regularization`` * ||R / Zth_end||^2 (rows of sqrt(regularization) * I appended to
    the NNLS matrix) picks the smaller of nearly equal solutions and moves the curve by
    ~regularization (1e-10 default: far below the ~1e-4 accuracy of FE Zth curves).

    The grid must be fine (40 per decade): a coarse grid cannot place a dominant mode and
    NNLS answers with neighbouring pairs and spurious slow terms (measured on the layered
    bar: 6 to 12 per decade gave 2e-3 to 7e-4 misfit and a Cauer capacitance 50 to 1000
    times the bar's). NNLS returns a few runs of adjacent non-zero R, each one mode; each
    run becomes one term (R summed, tau the R-weighted log mean), then terms with
    R < ``merge`` * sum(R) go into their larger neighbour; both keep the total resistance.
    At most ``max_terms`` remain (the Cauer conversion's cost; an error otherwise).
    """
    time, zth = np.asarray(time, dtype=float), np.asarray(zth, dtype=float)
    keep = (time > 0) & (zth > 0)
    time, zth = time[keep], zth[keep]
    if tau is None:
        tau = log_time_grid(time[0] / 10, time[-1] * 10, per_decade)
    tau = np.asarray(tau, dtype=float)
    A = (1.0 - np.exp(-time[:, None] / tau)) / zth[:, None]
    A = np.vstack([A, np.sqrt(regularization) * np.eye(len(tau)) / zth[-1]])
    b = np.concatenate([np.ones(len(time)), np.zeros(len(tau))])
    R, _ = nnls(A, b, maxiter=50 * len(tau))
    R, tau = _runs(R, tau)
    R, tau = _merge(R, tau, merge * R.sum())
    if len(R) > max_terms:
        raise ValueError(f"{len(R)} Foster terms after merging, more than {max_terms}")
    return Foster(R, tau)


def _runs(R, tau):
    """One term per run of adjacent non-zero R (R summed, tau the R-weighted log mean)."""
    nonzero = R > 0
    starts = np.flatnonzero(nonzero & ~np.r_[False, nonzero[:-1]])
    ends = np.flatnonzero(nonzero & ~np.r_[nonzero[1:], False]) + 1
    total = np.array([R[a:b].sum() for a, b in zip(starts, ends)])
    logt = np.array([R[a:b] @ np.log(tau[a:b]) for a, b in zip(starts, ends)]) / total
    return total, np.exp(logt)


def _merge(R, tau, small):
    """Merge terms with R < ``small`` into the larger neighbour (log-tau weighted)."""
    R, logt = list(R), list(np.log(tau))
    while len(R) > 1:
        i = int(np.argmin(R))
        if R[i] >= small:
            break
        left = R[i - 1] if i > 0 else -1.0
        right = R[i + 1] if i + 1 < len(R) else -1.0
        j = i - 1 if left >= right else i + 1
        total = R[i] + R[j]
        if total > 0:
            logt[j] = (R[i] * logt[i] + R[j] * logt[j]) / total
        R[j] = total
        del R[i], logt[i]
    return np.array(R), np.exp(np.array(logt))


# --- Foster <-> Cauer -----------------------------------------------------------------------

def _pmul(a, b):
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def _padd(a, b):
    n = max(len(a), len(b))
    a, b = a + [Fraction(0)] * (n - len(a)), b + [Fraction(0)] * (n - len(b))
    return [x + y for x, y in zip(a, b)]


def _trim(a):
    while len(a) > 1 and a[-1] == 0:
        a = a[:-1]
    return a


def foster_to_cauer(foster: Foster) -> Cauer:
    """The Cauer ladder with the impedance of ``foster`` (exact rational arithmetic).

    Z(s) = sum R_i / (1 + s tau_i) = N(s) / D(s) (coefficients ascending in s; deg N = n-1,
    deg D = n); then Y = D/N = s C_1 + 1/(R_1 + 1/(s C_2 + ...)): each step takes the
    ratio of the leading coefficients and the exact remainder. Fractions make the expansion
    exact for any n; cost grows like n^4 digits, so keep n <= ~40 (seconds for 20 terms).
    """
    R = [Fraction(float(r)) for r in foster.R]
    tau = [Fraction(float(t)) for t in foster.tau]
    D = [Fraction(1)]
    for t in tau:
        D = _pmul(D, [Fraction(1), t])
    N = [Fraction(0)]
    for i, r in enumerate(R):
        term = [r]
        for j, t in enumerate(tau):
            if j != i:
                term = _pmul(term, [Fraction(1), t])
        N = _padd(N, term)
    num, den = _trim(D), _trim(N)  # admittance Y = num / den, deg num = deg den + 1
    Cs, Rs = [], []
    while True:
        c = num[-1] / den[-1]  # Y - s c: remainder of degree < deg den
        Cs.append(c)
        num = _trim(_padd(num, [-x for x in _pmul([Fraction(0), c], den)])[:-1])
        # impedance den / num, equal degrees: R = leading ratio
        r = den[-1] / num[-1]
        Rs.append(r)
        rest = _trim(_padd(den, [-r * x for x in num]))
        if len(rest) == 1 and rest[0] == 0:
            break
        num, den = num, rest  # admittance num / rest, deg num = deg rest + 1
        if len(Cs) > len(R):
            raise ArithmeticError("Foster -> Cauer did not terminate")
    return Cauer(np.array([float(x) for x in Rs]), np.array([float(x) for x in Cs]))


def foster_to_cauer_lanczos(foster: Foster) -> Cauer:
    """The Cauer ladder of ``foster`` in float64, for hundreds of terms (Lanczos / Stieltjes).

    Z(s) = sum R_i / (1 + s tau_i) = q' (s I + L)^-1 q with L = diag(1 / tau) and
    q = sqrt(R / tau); Lanczos on L from q (full re-orthogonalization) gives the tridiagonal
    (a_k, b_k) with Z(s) = |q|^2 e1' (s I + T)^-1 e1, which is the ladder: C_0 = 1 / |q|^2,
    the conductance g_k = C_k a_k - g_(k-1) from node k onward and C_(k+1) = g_k^2 /
    (C_k b_k^2). Stops early when the Krylov space is invariant (equal time constants);
    the ladder ends before a stage whose C overflows or turns non-positive (C grows without
    bound towards an isothermal sink: 1e93 J/K after 160 stages of a package's exact
    spectrum) or when Lanczos stops early, its last resistor taking the rest of Z(0) = sum R.
    Measured: a 200-stage ladder rebuilt from its exact spectrum to 1.5e-10 (relative)."""
    R, tau = np.asarray(foster.R, float), np.asarray(foster.tau, float)
    lam = 1.0 / tau
    q = np.sqrt(R / tau)
    norm = float(np.linalg.norm(q))
    n = len(R)
    Q = np.zeros((n, n))
    Q[0] = q / norm
    a, b = np.zeros(n), np.zeros(n)
    for k in range(n):
        v = lam * Q[k]
        a[k] = Q[k] @ v
        v -= a[k] * Q[k] + (b[k - 1] * Q[k - 1] if k else 0.0)
        for _ in range(2):
            v -= (Q[:k + 1] @ v) @ Q[:k + 1]
        if k + 1 == n:
            break
        b[k] = float(np.linalg.norm(v))
        if b[k] <= 1e-14 * abs(a[k]):
            n = k + 1
            break
        Q[k + 1] = v / b[k]
    C, G = np.zeros(n), np.zeros(n)
    C[0] = 1.0 / norm ** 2
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n):
            G[k] = C[k] * a[k] - (G[k - 1] if k else 0.0)
            if k + 1 < n:
                C[k + 1] = G[k] ** 2 / (C[k] * b[k] ** 2)
        bad = ~(np.isfinite(C) & np.isfinite(1.0 / G) & (C > 0) & (G > 0))
    if bad.any():  # C overflows towards a sink (C_sum -> inf there): end the ladder before
        n = max(1, int(np.argmax(bad)) - 1)
        C, G = C[:n], G[:n]
    rest = R.sum() - np.sum(1.0 / G[:-1])  # the last resistor: the rest of Z(0)
    if rest > 0:
        G[-1] = 1.0 / rest
    return Cauer(1.0 / G, C)


def cauer_to_foster(cauer: Cauer) -> Foster:
    """Foster network of a Cauer ladder: Z(s) = e1' (G + s C)^-1 e1, by the symmetric
    eigen-decomposition of C^-1/2 G C^-1/2 (eigenvalues 1/tau_i; R_i = v_i0^2 / (C_0 lam_i))."""
    R, C = np.asarray(cauer.R, float), np.asarray(cauer.C, float)
    g = 1.0 / R
    diag = g.copy()
    diag[1:] += g[:-1]
    G = np.diag(diag) - np.diag(g[:-1], 1) - np.diag(g[:-1], -1)
    s = 1.0 / np.sqrt(C)
    lam, V = np.linalg.eigh(s[:, None] * G * s[None, :])
    order = np.argsort(-lam)
    lam, V = lam[order], V[:, order]
    return Foster(V[0] ** 2 / (C[0] * lam), 1.0 / lam)


def structure_function(cauer: Cauer) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative structure function: (R_sum in K/W, C_sum in J/K) at the ladder's nodes.

    Point j: C_sum = C_0 + ... + C_j against R_sum = R_0 + ... + R_(j-1) (the resistance from
    the junction to node j), starting at (0, C_0); the last point adds R[-1] to the ambient,
    C_sum unchanged.
    """
    r = np.concatenate([[0.0], np.cumsum(cauer.R)])
    c = np.concatenate([np.cumsum(cauer.C), [np.sum(cauer.C)]])
    return r, c


def resistance_at_capacitance(cauer: Cauer, capacitance: float) -> float:
    """R_sum (K/W) where the cumulative capacitance reaches ``capacitance`` (J/K), linear in
    between the ladder's nodes: the position of a known interface on the structure function."""
    r, c = structure_function(cauer)
    return float(np.interp(capacitance, c[:-1], r[:-1]))


# --- JESD51-14 transient dual interface ----------------------------------------------------

SEPARATION = 9.0  # relative difference of C_sum (a factor 10) where structure functions part


def _staircase(r, c, grid):
    """C_sum (J/K) of the ladder (R_sum, C_sum) = (``r``, ``c``) at ``grid`` (K/W): each
    capacitance sits at its node, so C_sum is constant between nodes; infinite from the
    ladder's end on (the ambient, or a plate held at it)."""
    i = np.searchsorted(r[:-1], grid, side="right") - 1
    out = c[np.clip(i, 0, len(c) - 1)].astype(float)
    out[grid >= r[-1] * (1 - 1e-12)] = np.inf
    return out


def separation(sf_a, sf_b, threshold: float = SEPARATION, r_min: float = 0.0) -> float:
    """R_sum (K/W) where two cumulative structure functions ((R_sum, C_sum) pairs of
    :func:`structure_function`) separate: the first R_sum >= ``r_min`` at which their C_sum
    differ by more than ``threshold`` (relative, |ln(C_a / C_b)| > ln(1 + threshold)).

    C_sum is read as the lumped ladders hold it, a staircase (each capacitance at its node)
    that becomes infinite at the ladder's end (the ambient, or the cold plate held at it, is
    an infinite heat capacity); so the separation is at a node or at a ladder's end.
    Linear interpolation between nodes (the earlier reading) is wrong for the coarse
    ladders of packages: between the flip-chip's wet nodes at 0.017 and 0.150 K/W it rose
    towards the copper lid's 7.2 J/K through the TIM, which holds almost none, and read
    theta_JC 97 % low. Two fits of one package differ before the case by up to a factor
    2.4 in staircase C_sum (the flip-chip at 0.149 K/W, J1 at 0.87 theta_JC: nodes a
    little apart), while the wet ladder's capacity jumps by more than 60 times at the plate
    (the flip-chip: 7.2 against 0.115 J/K), hence a factor 10. Only R_sum >= ``r_min`` is
    compared: below Zth at the first time of the curves the structure function is not
    resolved by the data (the fits' junction capacitance C_0 depends on time constants
    shorter than any time read).
    """
    (ra, ca), (rb, cb) = sf_a, sf_b
    grid = np.union1d(np.r_[ra, rb], [r_min])
    grid = grid[grid >= r_min]
    a, b = _staircase(ra, ca, grid), _staircase(rb, cb, grid)
    both = np.isinf(a) & np.isinf(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        apart = ~both & ~(np.abs(np.log(a / b)) <= np.log1p(threshold))
    return float(grid[np.argmax(apart)] if apart.any() else grid[-1])


@dataclass(frozen=True)
class DualInterface:
    """JESD51-14 transient dual interface: theta_JC (K/W) where the structure functions of
    the wet (good contact) and dry (poor contact) transients separate, with both curves,
    their Foster fits and structure functions, and the wet curve's steady end (K/W)."""

    theta_jc: float
    wet: ZthCurve
    dry: ZthCurve
    fosters: tuple[Foster, Foster]
    structure_functions: tuple
    contacts: tuple  # (h_wet or None: isothermal, h_dry) W/(m^2 K)

    def as_dict(self) -> dict:
        return {"standard": "JESD51-14 style transient dual interface (simulated)",
                "theta_JC_K_per_W": self.theta_jc,
                "case_contact_h_W_per_m2K": {"wet": self.contacts[0],  # None: isothermal
                                             "dry": self.contacts[1]},
                "separation_threshold": SEPARATION,
                "wet_zth_end_K_per_W": float(self.wet.zth[-1]),
                "dry_zth_end_K_per_W": float(self.dry.zth[-1])}


def dual_interface(package, loads: ThermalLoads, case: str, t_min: float, t_max: float, *,
                   h_wet: float | None = None, h_dry: float = 1e3, **options) -> DualInterface:
    """theta_JC by the JESD51-14 transient dual interface method, simulated.

    Two power steps (``loads``' power, ambient, transient settings) with only the surface
    ``case`` cooled: "wet", held at ambient (``h_wet`` None: an ideal cold plate) or through
    ``h_wet`` W/(m^2 K) (grease), and "dry", through ``h_dry`` < h_wet; every other face
    adiabatic. theta_JC is the :func:`separation` of their structure functions (Zth by
    :func:`zth_transient` from ``t_min`` to ``t_max`` s, which must reach the steady state;
    ``options`` go to it). Both transients coincide until the heat reaches the case; the
    wet contact's own resistance 1/(h_wet A) is part of the reading, as in the measurement.
    """
    if h_wet is not None and not h_dry < h_wet:
        raise ValueError(f"the dry contact must be the poorer one: h_dry {h_dry:g} >= "
                         f"h_wet {h_wet:g} W/(m^2 K)")
    if not h_dry > 0:
        raise ValueError(f"h_dry must be > 0 W/(m^2 K), got {h_dry:g}")
    plain = dataclasses.replace(loads, environment="none", heat_flux=(), convection=(),
                                fixed_temperature=(), transient=loads.transient or Transient())
    wet = dataclasses.replace(plain, fixed_temperature=(FixedTemperature(case, loads.ambient),)
                              ) if h_wet is None else \
        dataclasses.replace(plain, convection=(Convection(case, h_wet),))
    dry = dataclasses.replace(plain, convection=(Convection(case, h_dry),))
    curves = [zth_transient(package, each, t_min, t_max, **options) for each in (wet, dry)]
    fosters = tuple(fit_foster(c.time, c.zth) for c in curves)
    sfs = tuple(structure_function(foster_to_cauer(f)) for f in fosters)
    resolved = max(curves[0].zth[0], curves[1].zth[0])  # Zth at t_min
    return DualInterface(separation(*sfs, r_min=resolved), curves[0], curves[1], fosters, sfs,
                         (h_wet, h_dry))
