"""The exact time-constant spectrum of a meshed package's Zth, by Lanczos (no fitting).

A simulation knows what a measurement has to deconvolve: with K the conductance matrix
(conduction, convection and fixed-temperature constraints, W/K, as the heat solver
assembles it), M the heat-capacity matrix (J/K) and p the power vector of the step (W per
dof, total P), the response to a power step P at t = 0 is T(t) = sum_i phi_i (phi_i' p /
lambda_i) (1 - exp(-lambda_i t)) with K phi = lambda M phi (phi M-normalized). The junction
here is the power-weighted mean temperature rise T_J = p' T / P (for a thin uniform heater
its mean temperature; the Zth curves of :mod:`thermomech.zth` use the die's maximum), so

    Zth(t) = T_J(t) / P = sum_i R_i (1 - exp(-t / tau_i)),
    tau_i = 1 / lambda_i (s),  R_i = (phi_i' p)^2 / (lambda_i P^2) (K/W).

A = K^-1 M is self-adjoint in the K-inner product (x, y)_K = x' K y; started from v0 = K^-1 p,
its spectral measure has the nodes tau_i and the weights R_i P^2, total mass v0' K v0 =
p' K^-1 p (the steady resistance * P^2). m Lanczos steps in that inner product (with full
re-orthogonalization) give the m-point Gauss quadrature of the measure: a Foster network
of m terms whose Ritz values are tau_j and whose weights are beta0^2 times the squared first
components of the tridiagonal's eigenvectors. It matches the slowest modes first, keeps the
total resistance exact, and is the model's own spectrum once the Krylov space is invariant
(then Lanczos stops; on a 1-D bar after one step per node level). Cost: one factorization
(or multigrid set-up) of K and one solve per step (G. H. Golub and G. Meurant, Matrices,
Moments and Quadrature with Applications, Princeton 2010, ch. 4 and 6).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigh_tridiagonal

from .fem.assembly import choose_assembly
from .fem.solve import factorized_condensed
from .heat_problem import assemble_problem
from .thermal import conductivity_field, heat_capacity_field, thermal_space
from .thermal_loads import ThermalLoads
from .zth import Foster

__all__ = ["model_spectrum", "STEPS"]

STEPS = 200  # default Lanczos steps (Foster terms at most)
NOISE = 1e-13  # Ritz weights below this share of the total: rounding, dropped
BREAKDOWN = 1e-10  # beta_k below this times the largest Ritz value: invariant subspace


def model_spectrum(package, loads: ThermalLoads, *, steps: int = STEPS,
                   order: int | None = None, solver="auto", assembly=None) -> Foster:
    """Foster network (R in K/W, tau in s) of the power-weighted mean temperature's Zth after
    a step of ``loads``' power, from the model's matrices by ``steps`` Lanczos steps (module
    docstring). k at each material's reference temperature (k(T) is not linearized);
    ``loads.transient`` is not used. Terms come slowest first. A symmetric part (half,
    quarter) gives the whole package's Zth (the meshed part's T_J over the whole power)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    basis = thermal_space(package, order)
    assembly = choose_assembly(basis, assembly)
    problem = assemble_problem(package, loads, basis, assembly)
    K = (assembly.diffusion(package, basis, conductivity_field(package)) + problem.robin
         ).tocsr()
    M = assembly.mass(package, basis, heat_capacity_field(package)).tocsr()
    p = np.asarray(problem.power, dtype=float)
    power = float(p.sum())  # W in the meshed part (a half or quarter by symmetry)
    if not power > 0:
        raise ValueError(f"the spectrum needs a power step > 0 W, got {power:g} W")
    whole = power * package.symmetry_factor  # W, the whole package
    n = basis.N
    fixed = np.asarray(problem.fixed_dofs, dtype=np.int64)
    free = np.setdiff1d(np.arange(n), fixed)
    K_free, M_free = K[free][:, free], M[free][:, free]
    solve = factorized_condensed(K, fixed, solver=solver,
                                 grid=basis.grid if isinstance(solver, str) else None)
    zeros = np.zeros(len(fixed))

    def inverse(f_free):  # K^-1 on the free dofs (fixed rise zero)
        f = np.zeros(n)
        f[free] = f_free
        return solve(f, zeros, np.zeros(n))[0][free]

    v = inverse(p[free])
    beta0 = float(np.sqrt(v @ (K_free @ v)))  # sqrt(p' K^-1 p)
    m = min(steps, len(free))
    Q, KQ = np.zeros((m, len(free))), np.zeros((m, len(free)))
    alpha, beta = np.zeros(m), np.zeros(m)
    Q[0] = v / beta0
    KQ[0] = K_free @ Q[0]
    for k in range(m):
        w = inverse(M_free @ Q[k])
        alpha[k] = KQ[k] @ w
        w -= alpha[k] * Q[k] + (beta[k - 1] * Q[k - 1] if k else 0.0)
        for _ in range(2):  # full re-orthogonalization in the K-inner product
            w -= (KQ[:k + 1] @ w) @ Q[:k + 1]
        if k + 1 == m:
            break
        Kw = K_free @ w
        beta[k] = float(np.sqrt(max(w @ Kw, 0.0)))
        if beta[k] <= BREAKDOWN * alpha[:k + 1].max():
            m = k + 1
            break
        Q[k + 1], KQ[k + 1] = w / beta[k], Kw / beta[k]
    tau, S = eigh_tridiagonal(alpha[:m], beta[:m - 1])
    R = beta0 ** 2 * S[0] ** 2 / (power * whole)  # T_J = p' T / power, Zth = T_J / whole
    # Ritz values outside the Krylov space of v0 (after it became invariant, up to rounding)
    # carry weights at the rounding level of the total: not modes of the junction
    keep = np.flatnonzero(R > NOISE * R.sum())
    keep = keep[np.argsort(-tau[keep])]
    return Foster(R[keep], tau[keep])
