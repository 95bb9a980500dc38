"""The bodies of a process step's active set, each held by its own minimal support.

When a part is removed or a solder part melts, the cells left may fall apart into bodies
that share no face: a die on molten bumps floats free of its substrate. Each such body has
its own rigid motions; the supports of the model (symmetry planes, clamps) hold the bodies
they touch, and every body gets a statically determinate (3-2-1) set of held dofs for the
rigid motion left free, chosen near its own middle. The held dofs carry no force under a
thermal load, and each body's rigid motion is projected out of the reported displacement,
so every body's warpage is that of a free body (the shadow-moire convention).

Bodies are the face-connected pieces of the active cells (two cells sharing a face): on box
meshes from neighbouring grid cells, on imported meshes from scikit-fem's facets. Bodies
that touch along an edge or at a corner only (sharing dofs but no face) cannot be held
this way (a hinge left free, or held twice): a ModelError names their parts.

``extended`` places a born part's own dofs in the deformed configuration of the body it is
born on (the displacement its birth strain is taken from).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .errors import ModelError
from .fem import constraints


def face_neighbours(package) -> np.ndarray:
    """(pairs, 2) cells sharing a face: neighbouring grid cells on a box mesh, the two cells
    of every interior facet otherwise."""
    grid = getattr(package, "grid_cells", None)
    if grid is None:
        f2t = package.mesh.f2t
        inner = f2t[1] >= 0
        return np.stack([f2t[0, inner], f2t[1, inner]], axis=1)
    pairs = []
    for axis in range(grid.ndim):
        first = tuple(slice(0, -1) if k == axis else slice(None) for k in range(grid.ndim))
        second = tuple(slice(1, None) if k == axis else slice(None) for k in range(grid.ndim))
        a, b = grid[first].ravel(), grid[second].ravel()
        keep = (a >= 0) & (b >= 0)
        pairs.append(np.stack([a[keep], b[keep]], axis=1))
    return np.concatenate(pairs)


def bodies(package, cell_active: np.ndarray) -> list[np.ndarray]:
    """The active cells grouped by face-connected body, largest first."""
    pairs = face_neighbours(package)
    keep = cell_active[pairs[:, 0]] & cell_active[pairs[:, 1]]
    n = len(cell_active)
    graph = coo_matrix((np.ones(int(keep.sum())), (pairs[keep, 0], pairs[keep, 1])),
                       shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    active = np.flatnonzero(cell_active)
    groups = [active[labels[active] == label] for label in np.unique(labels[active])]
    return sorted(groups, key=len, reverse=True)


def part_names(package, cells: np.ndarray) -> list[str]:
    """The names of the parts of ``cells``, in the package's order."""
    return [package.parts[p] for p in np.unique(np.asarray(package.cell_part)[cells])]


def body_supports(package, space, cell_active: np.ndarray, constrained: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """(held dofs, free rigid modes (N, k), part names per body) of the active cells.

    ``constrained``: dofs the model's supports fix (symmetry planes, clamps). Each body's
    rigid motions not fixed by them are held near the body's middle. ModelError when two
    bodies share dofs without a face (edge or corner contact)."""
    groups = bodies(package, cell_active)
    element_dofs = space.dofs.element_dofs
    owner = np.full(space.N, -1)
    rigid = constraints.rigid_body_modes(space.doflocs, space.components)
    held, modes = [], []
    for index, cells in enumerate(groups):
        dofs = np.unique(element_dofs[:, cells])
        shared = owner[dofs] >= 0
        if np.any(shared):
            other = groups[int(owner[dofs][shared][0])]
            raise ModelError("mechanical.steps", f"the parts {part_names(package, cells)} and "
                             f"{part_names(package, other)} touch only along an edge or at a "
                             "corner once the parts around them are removed or molten: such "
                             "a joint has no defined stiffness; keep a part that joins them "
                             "by a face")
        owner[dofs] = index
        on = np.zeros(space.N, dtype=bool)
        on[dofs] = True
        free = constraints.free_rigid_modes(rigid * on[:, None],
                                            np.intersect1d(constrained, dofs))
        where = space.doflocs[:, dofs]
        hold = 0.5 * (where.min(axis=1) + where.max(axis=1))
        held.append(dofs[constraints.minimal_supports(free[dofs], where, hold)])
        modes.append(free)
    return (np.concatenate(held), np.hstack(modes),
            [part_names(package, cells) for cells in groups])


def extended(space, u: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``u`` carried onto the dofs only the ``new`` cells touch: the first-order Taylor
    extension ``u(x_n) + grad u(x_n) (x - x_n)`` from the nearest dof x_n of the ``old``
    cells (evaluated in one old cell holding it). The stresses do not depend on it (eps0
    absorbs it); it places a born part in the deformed configuration of its neighbours,
    exactly so when they deform affinely (a part cast onto an expanded carrier)."""
    every = space.dofs.element_dofs
    old_dofs = np.unique(every[:, old])
    new_dofs = np.setdiff1d(np.unique(every[:, new]), old_dofs, assume_unique=True)
    if not len(old_dofs) or not len(new_dofs):
        return u
    cell_of = np.full(space.N, -1, dtype=np.int64)
    cell_of[every[:, old]] = np.broadcast_to(old, every[:, old].shape)
    loc = space.doflocs
    nearest = old_dofs[cKDTree(loc[:, old_dofs].T).query(loc[:, new_dofs].T)[1]]
    value, grad = space.evaluate(u, loc[:, nearest], cell_of[nearest])
    comp = space.components[new_dofs].astype(np.int64)
    step = loc[:, new_dofs] - loc[:, nearest]  # (dim, n)
    columns = np.arange(len(new_dofs))
    out = u.copy()
    out[new_dofs] = value[comp, columns] + np.einsum("dn,dn->n", grad[comp, :, columns].T,
                                                     step)
    return out
