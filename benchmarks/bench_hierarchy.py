"""What one rank of ``cg-gmg-global`` allocates to build its geometric hierarchy.

Every rank builds the hierarchy's index arrays from the replicated tensor grid
(``distributed.geometric.hierarchy``) and keeps its own rows of each prolongation; the
temporaries are replicated memory (the same on every rank, whatever the rank count), so
they count into the per-rank memory model of docs/performance.md ("What a 16-node cluster
makes feasible"). Serial (no MPI needed): the partition and numbering of ``--ranks`` ranks
are made as the backend makes them, and one rank's hierarchy is built under tracemalloc.

    python benchmarks/bench_hierarchy.py --size 0.17e-3 --physics warpage --ranks 2 8 16
    python benchmarks/bench_hierarchy.py --size 0.06e-3 --physics heat --ranks 8
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(size: float, physics: str, ranks: list[int]) -> None:
    import skfem

    from thermomech.distributed import solves
    from thermomech.distributed.geometric import hierarchy, whole_lines
    from thermomech.distributed.partition import Numbering, owners
    from thermomech.fem.multigrid import level_order
    from thermomech.fem.space import element_grid
    from thermomech.mechanics import warpage_system
    from thermomech.model_file import load_model, mesh_model

    model = load_model(Path(__file__).resolve().parents[1] / "meshes" / "flip_chip.toml")
    model = model.with_values(mesh=dataclasses.replace(model.mesh, target_size=size))
    package = mesh_model(model)
    if physics == "warpage":
        built = warpage_system(package, model.mechanical, [25.0])
        basis, fixed = built.setup.basis, built.fixed
        grid, element_dofs, n = basis.grid, basis.element_dofs, basis.N
    else:  # Q1 heat: the dofs are the mesh vertices, no fixed temperature
        grid = element_grid(package.axes, package.cell_index, package.mesh,
                            skfem.ElementHex1(), 1)
        element_dofs, n = package.mesh.t, len(grid.node)
        fixed = np.array([], dtype=np.int64)
    for size_ranks in ranks:
        cell_rank = solves.cell_ranks(package, size_ranks, "cg-gmg-global")
        owner = whole_lines(owners(element_dofs, cell_rank, n), grid)
        numbering = Numbering(owner, fixed, size_ranks, level_order(grid))
        numbering.free, numbering.position, numbering.bounds  # noqa: B018 - made outside
        rank = size_ranks // 2
        tracemalloc.start()
        cpu = time.process_time()
        levels = hierarchy(grid, numbering, rank)
        cpu = time.process_time() - cpu
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{physics} {n} unknowns, {size_ranks} ranks, rank {rank}: {len(levels)} levels, "
              f"CPU {cpu:.2f} s, peak {peak / 1e6:.0f} MB ({peak / n:.0f} B per unknown), "
              f"kept {kept / n:.1f} B per unknown", flush=True)
        del levels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=0.3e-3, help="mesh.target_size, m")
    parser.add_argument("--physics", choices=("warpage", "heat"), default="warpage")
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 8])
    args = parser.parse_args(argv)
    measure(args.size, args.physics, args.ranks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
