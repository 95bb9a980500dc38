"""``cg-gmg-global``: the project's geometric multigrid across the ranks (PETSc's PCMG,
``distributed.geometric``).

Without MPI: the prolongations the ranks hold together are the serial multigrid's
(``fem.multigrid._coarsen`` on the free dofs), entry by entry, the coarse dofs owned where
their coincident fine dof is, and every z line on one rank. With mpiexec (.ci/run's MPI
step): 2 ranks against the serial run, junction temperature and warpage to 1e-8 relative
(the CG stops at a true relative residual of 1e-11, the serial solve is direct), and the
same CG iterations as on one rank: the line sweeps go colour by colour over all ranks, the
serial sweep itself, so the ranks change only the rounding.
"""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from test_distributed import HAVE_MPI, ROOT, _mpirun, _relative

from thermomech.distributed.geometric import coincident, hierarchy, whole_lines
from thermomech.distributed.partition import Numbering
from thermomech.fem.multigrid import _coarsen, level_order
from thermomech.fem.space import Grid

needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="mpi4py, petsc4py and mpiexec are not all "
                                                    "here (.ci/run's MPI step has them)")


def _box_grid(shape: tuple, ncomp: int, reach: int) -> Grid:
    axes = tuple(np.cumsum(np.r_[0.0, np.random.default_rng(s).uniform(1, 2, s - 1)])
                 for s in shape)
    nodes = np.arange(int(np.prod(shape)))
    return Grid(axes, np.repeat(nodes, ncomp), np.tile(np.arange(ncomp), len(nodes)), ncomp,
                reach)


def _entries(P, fine: Grid, coarse: Grid) -> dict:
    """{(fine node, component, coarse node, component): weight} of a prolongation."""
    P = P.tocoo()
    return {(int(fine.node[i]), int(fine.component[i]), int(coarse.node[j]),
             int(coarse.component[j])): float(w) for i, j, w in zip(P.row, P.col, P.data)}


@pytest.mark.parametrize(("shape", "ncomp", "reach", "ranks"),
                         [((11, 7, 5), 3, 2, 2), ((13, 9, 4), 1, 1, 3), ((17, 5), 2, 2, 2)])
def test_the_ranks_prolongations_are_the_serial_ones(shape, ncomp, reach, ranks):
    grid = _box_grid(shape, ncomp, reach)
    n = len(grid.node)
    x = np.unravel_index(grid.node, shape)[0]
    owner = np.minimum(x * ranks // shape[0], ranks - 1)
    owner[(x == shape[0] // 2) & (np.unravel_index(grid.node, shape)[-1] == 0)] = ranks - 1
    owner = whole_lines(owner, grid)  # a line split by the line above is made whole again
    line = grid.node // shape[-1]
    assert all(len(np.unique(owner[line == i])) == 1 for i in np.unique(line))
    fixed = np.flatnonzero((np.unravel_index(grid.node, shape)[-1] == 0) & (grid.component == 0))
    numbering = Numbering(owner, fixed, ranks, level_order(grid))
    levels = [hierarchy(grid, numbering, r, coarsest=40) for r in range(ranks)]
    assert len({len(lv) for lv in levels}) == 1 and len(levels[0]) >= 3
    fine = grid.restrict(numbering.free)  # the serial hierarchy of the free dofs
    for depth in range(len(levels[0]) - 1):
        axes = (tuple(range(len(shape))) if fine.reach > 1 else
                tuple(a for a in range(len(shape) - 1) if fine.shape[a] > 3))
        P, coarse = _coarsen(fine, axes)
        serial = _entries(P, fine, coarse)
        grids = [lv[depth].grid for lv in levels]
        coarse_grids = [lv[depth + 1].grid for lv in levels]
        rows = Grid(fine.axes, np.concatenate([g.node for g in grids]),
                    np.concatenate([g.component for g in grids]), ncomp, fine.reach)
        columns = Grid(coarse.axes, np.concatenate([g.node for g in coarse_grids]),
                       np.concatenate([g.component for g in coarse_grids]), ncomp, 1)
        stacked = sp.vstack([lv[depth].prolongation for lv in levels]).tocsr()
        if depth == 0:  # the matrix's rows: fixed dofs' rows are empty
            assert len(rows.node) == n
            empty = np.diff(stacked.indptr) == 0
            assert np.array_equal(np.flatnonzero(empty),
                                  np.sort(numbering.position[fixed]))
        assert _entries(stacked, rows, columns) == pytest.approx(serial, rel=0, abs=1e-15)
        assert set(_entries(stacked, rows, columns)) == set(serial)
        # a coarse dof belongs to the rank of the fine dof at its node, in level order
        found = coincident(rows, columns, axes)
        fine_bounds, bounds = levels[0][depth].bounds, levels[0][depth + 1].bounds
        assert np.array_equal(np.searchsorted(fine_bounds, found, side="right"),
                              np.searchsorted(bounds, np.arange(len(found)), side="right"))
        for r in range(ranks):
            here = coarse_grids[r]
            assert np.array_equal(level_order(here), np.arange(len(here.node)))
        fine = coarse


def _summary(out) -> dict:
    return json.loads((out / "summary.json").read_text())


@needs_mpi
@pytest.mark.parametrize("dimension", [3, 2])
def test_two_ranks_equal_the_serial_run_in_the_one_rank_iterations(tmp_path, dimension):
    """The bundled flip chip (0.5 mm: 61,728 HexS2 warpage unknowns, four levels; heat with
    silicon's k(T)) in 3D and in 2D plane strain (0.2 mm)."""
    import subprocess
    import sys

    text = (ROOT / "meshes/flip_chip.toml").read_text()
    if dimension == 2:
        text = text.replace("dimension = 3", "dimension = 2").replace(
            'target_size = "0.5 mm"', 'target_size = "0.2 mm"').replace(
            "[mechanical]\n", '[mechanical]\nplane = "strain"\n')
    model = tmp_path / "model.toml"
    model.write_text(text)
    subprocess.run([sys.executable, "-m", "thermomech", "run", str(model), "--out",
                    str(tmp_path / "serial"), "--no-figures", "-q", "--solver", "direct"],
                   check=True, cwd=ROOT, capture_output=True)
    serial = _summary(tmp_path / "serial")
    runs = {}
    for ranks in (1, 2):
        done = _mpirun(ranks, "run", str(model), "--out", str(tmp_path / f"mpi{ranks}"),
                       "--backend", "petsc", "--solver", "cg-gmg-global", "--no-figures",
                       "-q")
        assert done.returncode == 0, done.stderr
        runs[ranks] = _summary(tmp_path / f"mpi{ranks}")
    mpi = runs[2]
    assert _relative(mpi["thermal"]["junction_temperature_C"],
                     serial["thermal"]["junction_temperature_C"]) < 1e-8
    for surface, warpage in serial["mechanical"]["warpage_um"].items():
        assert _relative(mpi["mechanical"]["warpage_um"][surface], warpage) < 1e-8
    stats = [runs[r]["solver"]["mechanical"]["linear_solver"] for r in (1, 2)]
    assert [s["method"] for s in stats] == ["cg-gmg-global"] * 2
    assert stats[1]["ranks"] == 2 and stats[1]["relative_residual"] <= 1e-10
    assert abs(stats[1]["iterations"] - stats[0]["iterations"]) <= 1, stats
    assert stats[0]["iterations"] <= 40  # the serial cg-gmg's 28-29 (docs/mpi.md)
    heat = [runs[r]["solver"]["thermal"] for r in (1, 2)]
    assert heat[1]["linear_solver"] == "cg-gmg-global" and heat[1]["ranks"] == 2
    assert abs(heat[1]["iterations"] - heat[0]["iterations"]) <= 1, heat


def test_auto_is_the_global_multigrid_while_each_rank_gets_an_in_plane_layer():
    from types import SimpleNamespace

    from thermomech.distributed.solves import cell_ranks, chosen

    package = SimpleNamespace(grid_cells=np.arange(3 * 2 * 20).reshape(3, 2, 20))
    assert chosen("auto", package, 3) == "cg-gmg-global"
    assert chosen("auto", package, 4) == "cg-gamg-lines"  # 3 in-plane layers: no slab each
    assert chosen("cg-hypre", package, 1) == "cg-hypre"
    # the slabs cut x (3 layers), not z (20: the longest, cut by the other methods)
    rank = cell_ranks(package, 3, "cg-gmg-global").reshape(3, 2, 20)
    assert all(np.all(rank[i] == i) for i in range(3))
    assert np.all(cell_ranks(package, 2).reshape(3, 2, 20)[..., :10] == 0)
