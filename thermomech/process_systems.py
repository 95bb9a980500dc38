"""The linear systems of a process recipe: kept while only the temperature changes, warm
started from the earlier solutions, solved with the rigid motion of every body removed.

A recipe solves one system per increment. ``Systems`` keeps the factorized system (the
condensed stiffness and its multigrid hierarchy or sparse factor) of each stiffness, keyed
by what it depends on (the active parts and their elasticity matrices): the ``SYSTEMS``
most recently used stay alive, so a reflow's solid package outlives the solder's molten
phase. Each solve starts from the earlier solutions of that stiffness combined as its load
combines their loads (least squares): exact, and the iterative solver starts converged,
when the load lies in their span. The load of a ramp spans a few directions (a constant,
T, one more per glass transition crossed, one per birth), so ``HISTORY`` solutions cover a
reflow; they are kept for the last ``KEPT`` stiffnesses and handed back when a stiffness
returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .mechanics import force_balance

HISTORY, KEPT, SYSTEMS = 8, 4, 2
"""Solutions kept per stiffness, stiffnesses whose solutions are kept, and factorized
systems alive at once (memory: two systems, each the condensed matrix and its multigrid
hierarchy or factor)."""


@dataclass(frozen=True)
class System:
    """The constrained stiffness of one active set, factorized once."""

    solve: object           # fem.solve.factorized_condensed (with .reactions)
    history: list           # the last (load, raw solution) pairs solved with it
    fixed: np.ndarray
    held: np.ndarray
    modes: np.ndarray       # (N, k) rigid motions of the active bodies left free
    rigid: np.ndarray       # (N, m) all rigid motions on the active dofs (zero elsewhere)
    active_dofs: np.ndarray
    bodies: list            # part names of each face-connected body (process_bodies)
    solves: list            # [number of solves with this factorization]
    K: object = None        # the assembled matrix (creep's Newton residual), else None


class Systems:
    """The systems alive and the solutions kept, by stiffness key (private to one solve)."""

    def __init__(self):
        self.systems: dict = {}
        self.histories: dict = {}

    def get(self, key: bytes, build: Callable[[list], System]) -> System:
        """The system of ``key``; ``build(history)`` makes it (with the solutions kept for
        that key) after the least recently used one beyond ``SYSTEMS - 1`` is freed."""
        if key in self.systems:
            self.systems[key] = self.systems.pop(key)  # the most recently used last
            return self.systems[key]
        while len(self.systems) >= SYSTEMS:
            del self.systems[next(iter(self.systems))]
        history = self.histories.pop(key, [])
        self.histories[key] = history  # the most recent last
        for old in list(self.histories)[:-KEPT]:
            del self.histories[old]
        self.systems[key] = build(history)
        return self.systems[key]


def guess(system: System, F: np.ndarray) -> np.ndarray:
    """The earlier solutions combined as ``F`` combines their loads (least squares)."""
    if not system.history:
        return np.zeros_like(F)
    loads = np.column_stack([f for f, _ in system.history])
    weights = np.linalg.lstsq(loads, F, rcond=None)[0]
    return np.column_stack([u for _, u in system.history]) @ weights


def solve_system(system: System, F: np.ndarray) -> tuple[np.ndarray, dict]:
    """(u, stats): the solution of load ``F`` with the free rigid motion of every body
    projected out; stats hold the force balance, the linear solver's, ``new_system`` (its
    first solve), unknowns, the rigid modes removed and the bodies."""
    u, stats = system.solve(F, np.zeros(len(system.fixed)), guess(system, F))
    system.history[:] = system.history[1 - HISTORY:] + [(F, u)]
    system.solves[0] += 1
    balance = force_balance(system.rigid, system.solve.reactions(u, F), F, system.held)
    if system.modes.shape[1]:
        rows = system.active_dofs
        u = u - system.modes @ np.linalg.lstsq(system.modes[rows], u[rows], rcond=None)[0]
    stats = {**balance, "linear_solver": dict(stats), "new_system": system.solves[0] == 1,
             "residual": stats.get("relative_residual"),
             "unknowns": int(len(u) - len(system.fixed)),
             "rigid_modes_removed": int(system.modes.shape[1]), "bodies": system.bodies}
    return u, stats
