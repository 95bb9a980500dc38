"""Supports of a warpage solve on its displacement space: symmetry planes, clamped and
prescribed surfaces (``mechanical.supports``, ``mechanical.displacements``), the rigid-body
modes and the minimal (3-2-1) supports of the rigid motion they leave free. Units: m.
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError
from .fem import constraints
from .fem.space import Space
from .mechanical_loads import MechanicalLoads
from .meshing import MeshedPackage


def rigid_body_modes(space: Space) -> np.ndarray:
    """(N, 6) in 3D or (N, 3) in 2D rigid motions of a displacement space
    (:func:`fem.constraints.rigid_body_modes` at its dofs)."""
    return constraints.rigid_body_modes(space.doflocs, space.components)


def support_dofs(package: MeshedPackage, basis: Space,
                 loads: MechanicalLoads) -> tuple[np.ndarray, np.ndarray]:
    """(symmetry dofs, clamped dofs) fixed to zero; ModelError for a bad support."""
    dim = package.dimension
    symmetry = [constraints.face_dofs(basis, package.surfaces[name], comp)
                for name, comp in (("symmetry_x", 0), ("symmetry_y", 1))
                if name in package.surfaces]
    letters = {"x": 0, "y": 1, "z": 2} if dim == 3 else {"x": 0, "z": 1}
    clamped = []
    for i, support in enumerate(loads.supports):
        where = f"mechanical.supports[{i}]"
        if support.surface.startswith("symmetry_"):
            raise ModelError(f"{where}.surface", f"{support.surface!r} is a symmetry plane, "
                             f"constrained automatically (normal displacement only); clamping "
                             f"it would over-constrain the model: remove this support")
        faces = package.surface(support.surface, f"{where}.surface")
        for letter in support.directions:
            if letter not in letters:
                raise ModelError(f"{where}.directions", f"a 2D model (x-z section) has no "
                                                        f"{letter!r} displacement")
            clamped.append(constraints.face_dofs(basis, faces, letters[letter]))
    join = lambda parts: np.unique(np.concatenate(parts)) if parts else np.zeros(  # noqa: E731
        0, dtype=np.int64)
    return join(symmetry), join(clamped)


def prescribed_dofs(package: MeshedPackage, basis: Space, loads: MechanicalLoads
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(dofs, values m) of ``loads.displacements`` (later entries win shared dofs)."""
    value = np.full(basis.N, np.nan)
    for i, entry in enumerate(loads.displacements):
        where = f"mechanical.displacements[{i}]"
        dofs, value[dofs] = constraints.face_values(
            basis, package.surface(entry.surface, f"{where}.surface"),
            entry.point_function(package.dimension, f"{where}."),
            ["xyz".index(c) if package.dimension == 3 else "xz".index(c)
             for c in entry.directions])
    dofs = np.flatnonzero(np.isfinite(value))
    return dofs, value[dofs]


# --- solve ---------------------------------------------------------------------------------


def constraint_set(package, space: Space, loads, hold, generalized: bool):
    """(fixed dofs, their values m, held dofs, rigid modes, free rigid modes): symmetry
    planes, supports and prescribed displacements on named surfaces, and the minimal
    supports of the rigid motion they leave free."""
    symmetry, clamped = support_dofs(package, space, loads)
    moved, moved_values = prescribed_dofs(package, space, loads)
    constrained = np.union1d(np.union1d(symmetry, clamped), moved)
    R = rigid_body_modes(space)
    free_modes = constraints.free_rigid_modes(R, constrained)
    point = np.asarray(hold, dtype=float) if hold is not None else 0.5 * (
        space.doflocs.min(axis=1) + space.doflocs.max(axis=1))
    held = constraints.minimal_supports(free_modes, space.doflocs, point)
    fixed = np.union1d(constrained, held)
    if generalized and "symmetry_x" in package.surfaces:
        fixed = np.union1d(fixed, [space.N + 1])  # e_yy even in x: no x term on a half model
    value = np.zeros(space.N + 3)
    value[moved] = moved_values
    value[symmetry] = 0.0  # a symmetry plane keeps its own condition
    return fixed, value[fixed], held, R, free_modes
