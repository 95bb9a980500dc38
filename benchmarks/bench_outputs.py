"""CPU seconds of a run's stages in one process: mesh + solves, then the outputs by part
(summary, ParaView files, figures: CPU of the thread that ran each; every figure in this
process). CPU time is steadier than wall time on a shared machine;
the solves use every core, the outputs one, so wall ratios are larger (bench_run.py).

    python benchmarks/bench_outputs.py                      # the default flip-chip
    python benchmarks/bench_outputs.py --target-size 0.2 --min-cells-per-layer 2   # 562k
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = threading.Lock()


def _timed(function, name: str, parts: dict):
    """``function`` adding the CPU seconds of its thread to ``parts[name]`` (the ParaView
    files are made on a thread of their own while the summary is computed)."""
    def timed(*args, **kwargs):
        tick = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            with LOCK:  # pieces end on several threads
                parts[name] = parts.get(name, 0.0) + time.thread_time() - tick
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-size", type=float, help="mesh.target_size in mm")
    parser.add_argument("--min-cells-per-layer", type=int)
    args = parser.parse_args()
    from thermomech import analysis, paraview
    from thermomech.model_file import load_model

    model = load_model(ROOT / "meshes" / "flip_chip.toml")
    changes = {k: v for k, v in (("target_size", args.target_size and args.target_size * 1e-3),
                                 ("min_cells_per_layer", args.min_cells_per_layer)) if v}
    model = model.with_values(mesh=dataclasses.replace(model.mesh, **changes))
    cpu = time.process_time()
    run = analysis.run_model(model)
    solve = time.process_time() - cpu
    parts: dict[str, float] = {}
    for name in ("summarize", "paraview_files", "draw_figures"):
        setattr(analysis, name, _timed(getattr(analysis, name), name, parts))
    # the parts' pieces are made on threads of their own (paraview.multiblock_files), not
    # counted in paraview_files' thread: "pieces" (with one thread they run inside it, and
    # are counted in both); zlib blocks on the shared pool are in the process CPU only
    paraview.piece_file = _timed(paraview.piece_file, "pieces", parts)
    cpu, wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        analysis.write_outputs(run, out)
    outputs, wall = time.process_time() - cpu, time.perf_counter() - wall
    unknowns = run.thermal.stats["unknowns"] + run.mechanical.stats["unknowns"]
    print(f"unknowns {unknowns}: mesh + solves {solve:.2f} s CPU, outputs {outputs:.2f} s CPU "
          f"({outputs / solve:.0%} of the solves; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
          + f"; {wall:.2f} s wall); load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
