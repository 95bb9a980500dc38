"""Which rank owns which cells and which dofs: pure NumPy, the same on every rank.

Cells: on a box mesh of our mesher the tensor grid is cut into slabs across the grid axis
with the most cell layers (the smallest cut), each slab holding an equal share of the cells
(:func:`slab_partition`); any other mesh goes to METIS through pymetis
(:func:`metis_partition`, the dual graph as scikit-fem's ``Dofs.decompose``). Slabs are
exact for the thin, wide packages we mesh and cost nothing; METIS cuts less interface at
many ranks (``benchmarks/bench_mpi.py`` measures both; docs/performance.md).

Dofs: a dof shared by cells of several ranks belongs to the lowest of them. All dofs are
renumbered rank by rank (:class:`Numbering`), so each rank's rows of the distributed matrix
are one contiguous block, as PETSc wants; within a rank the dofs keep their relative order
or, given ``within`` (the backend passes the multigrid's level order of the tensor grid),
that order: then a rank's diagonal block of the matrix is the z-line smoother's level
matrix as it stands, with no copy (``distributed.smoother``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError


def slab_partition(grid_cells: np.ndarray, nparts: int, axis: int | None = None) -> np.ndarray:
    """(cells,) rank of each cell of a box mesh: slabs across ``axis`` (default the grid axis
    with the most cell layers), each with about ``cells / nparts`` cells.

    grid_cells : grid-shaped array of the cell index at each grid cell, -1 where none.
    A slab boundary falls between two cell layers, so ranks never split a layer; a ModelError
    when there are fewer layers than ranks.
    """
    axis = int(np.argmax(grid_cells.shape)) if axis is None else axis
    layers = grid_cells.shape[axis]
    if layers < nparts:
        raise ModelError("backend", f"{nparts} ranks but the mesh has only {layers} cell "
                                    f"layers to split: use at most {layers} ranks")
    present = grid_cells >= 0
    per_layer = present.sum(axis=tuple(a for a in range(grid_cells.ndim) if a != axis))
    middle = (np.cumsum(per_layer) - 0.5 * per_layer) / max(per_layer.sum(), 1)
    wanted = np.floor(middle * nparts).astype(np.int64)  # equal shares of the cells
    layer = np.arange(layers)
    wanted = np.clip(wanted, layer - (layers - nparts), layer)  # enough layers for the rest
    layer_rank = np.zeros(layers, dtype=np.int64)
    for i in range(1, layers):  # monotone, one rank at a time: none left empty
        layer_rank[i] = min(max(wanted[i], layer_rank[i - 1]), layer_rank[i - 1] + 1)
    cells = grid_cells[present]  # C order of the grid: the cell numbers of our mesher
    rank = np.empty(len(cells), dtype=np.int64)
    rank[cells] = layer_rank[np.nonzero(present)[axis]]
    return rank


def metis_partition(t: np.ndarray, nparts: int, ncommon: int) -> np.ndarray:
    """(cells,) rank of each cell from METIS on the dual graph (cells sharing ``ncommon``
    vertices, i.e. a face, are neighbours). t : (vertices per cell, cells)."""
    try:
        import pymetis
    except ImportError:
        raise ModelError("backend", "partitioning an imported mesh needs pymetis: pip install "
                                    "pymetis (or thermomech[mpi])") from None
    if nparts == 1:
        return np.zeros(t.shape[1], dtype=np.int64)
    found = pymetis.part_mesh(nparts, t.T, gtype=pymetis.GType.DUAL, ncommon=ncommon)
    return np.asarray(found.element_part, dtype=np.int64)


def owners(element_dofs: np.ndarray, cell_rank: np.ndarray, n: int) -> np.ndarray:
    """(n,) owning rank of each dof: the lowest rank among the cells that hold it (0 for a
    dof in no cell). element_dofs : (nloc, cells)."""
    owner = np.zeros(n, dtype=np.int64)
    for rank in np.unique(cell_rank)[::-1]:  # lower ranks overwrite higher ones
        owner[element_dofs[:, cell_rank == rank]] = rank
    return owner


@dataclass(frozen=True, eq=False)
class Numbering:
    """Every dof renumbered rank by rank; the free (unconstrained) dofs in that order.

    owner : (n,) rank of each dof; fixed : sorted constrained dofs; size : ranks; within :
    (n,) all dofs in the order each rank keeps its own, or None (their own numbering).
    """

    owner: np.ndarray
    fixed: np.ndarray
    size: int
    within: np.ndarray | None = None

    @functools.cached_property
    def order(self) -> np.ndarray:
        """(n,) old dof of each new position: the dofs of rank 0, then rank 1, ..."""
        if self.within is None:
            return np.argsort(self.owner, kind="stable")
        return self.within[np.argsort(self.owner[self.within], kind="stable")]

    @functools.cached_property
    def position(self) -> np.ndarray:
        """(n,) new position of each dof."""
        out = np.empty(len(self.owner), dtype=np.int64)
        out[self.order] = np.arange(len(self.owner))
        return out

    @functools.cached_property
    def bounds(self) -> np.ndarray:
        """(size + 1,) start of each rank's block in the new numbering of all dofs."""
        return np.searchsorted(self.owner[self.order], np.arange(self.size + 1))

    @functools.cached_property
    def is_fixed(self) -> np.ndarray:
        mask = np.zeros(len(self.owner), dtype=bool)
        mask[self.fixed] = True
        return mask

    @functools.cached_property
    def free(self) -> np.ndarray:
        """Old dof of each free unknown, rank by rank (the distributed vector's order)."""
        return self.order[~self.is_fixed[self.order]]

    def owned(self, rank: int) -> np.ndarray:
        """Old dofs owned by ``rank``, in the new order (free and fixed)."""
        return self.order[self.bounds[rank]:self.bounds[rank + 1]]


def halo(element_dofs: np.ndarray, cell_rank: np.ndarray, owner: np.ndarray, rank: int
         ) -> np.ndarray:
    """Dofs the cells of ``rank`` touch but another rank owns: the rows it sends away and
    the values it needs from its neighbours after each product."""
    touched = np.unique(element_dofs[:, cell_rank == rank])
    return touched[owner[touched] != rank]
