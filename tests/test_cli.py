"""The command line: mesh and show, exit codes, nothing written on bad input."""

from pathlib import Path

import meshio
import pytest

from thermomech.cli import main

MODEL = """
[package]
family = "blocks"
[[package.blocks]]
name = "mold"
material = "mold"
x = ["-5 mm", "5 mm"]
y = ["-5 mm", "5 mm"]
z = [0, "1 mm"]
[[package.blocks]]
name = "die"
material = "silicon"
x = [-2, 2]
y = [-2, 2]
z = [0.2, 0.6]
[mesh]
dimension = 3
target_size = "1 mm"
"""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MODEL)
    return path


def test_mesh_writes_vtu_and_xdmf(model_file, tmp_path, capsys):
    out = tmp_path / "out" / "mesh.vtu"
    assert main(["mesh", str(model_file), "-o", str(out)]) == 0
    mesh = meshio.read(out)
    assert set(mesh.cell_data) >= {"part", "material"}
    assert meshio.read(out.with_suffix(".xdmf")).points.shape == mesh.points.shape
    line = capsys.readouterr().out
    assert "cells (mold" in line and "worst aspect ratio" in line


def test_show_writes_a_picture(model_file, tmp_path):
    out = tmp_path / "model.png"
    assert main(["show", str(model_file), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["show", str(model_file), "--mesh", "-o", str(tmp_path / "m.svg")]) == 0


@pytest.mark.parametrize("change, message", [
    (('z = [0.2, 0.6]', 'z = [0.6, 0.2]'), "package.blocks[1] (die).z: must be an interval"),
    (('material = "silicon"', 'material = "unobtainium"'), "unknown material 'unobtainium'"),
    (('target_size = "1 mm"', 'target_size = "1 GPa"'), "mesh.target_size: expected a length"),
    (('dimension = 3', 'dimension = 3\nsymmetry = "half"\nmax_cells = 10'), "mesh.max_cells"),
    (('[mesh]', '[meshing]'), "meshing: unknown section"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, change, message, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(MODEL.replace(*change))
    out = tmp_path / "out"
    assert main(["mesh", str(path), "-o", str(out / "mesh.vtu")]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_console_script_runs(model_file, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "thermomech", "mesh", str(model_file), "-o",
                             str(tmp_path / "m.vtu")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert Path(tmp_path / "m.vtu").exists()


def test_the_command_starts_without_numpy_or_scipy():
    """``thermomech`` parses its arguments (and starts ``run``'s figure helper) before it
    imports NumPy, SciPy, scikit-fem or matplotlib: the helper's own imports then run beside
    the run's (docs/performance.md)."""
    import subprocess
    import sys

    code = ("import sys, thermomech.cli; thermomech.cli.build_parser(); print(sorted(m for m "
            "in ('numpy', 'scipy', 'skfem', 'matplotlib', 'meshio') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_run_as_a_command_prints_everything_and_writes_every_file(tmp_path):
    """``python -m thermomech run``, stdout a pipe: the figure helper draws the figures, and
    the process, which leaves out Python's teardown after a run (``cli.command``), has
    flushed every line and written every file when it exits."""
    import dataclasses
    import json
    import os
    import subprocess
    import sys

    from thermomech.model_file import dump_model, load_model

    loaded = load_model(Path(__file__).resolve().parents[1] / "meshes" / "flip_chip.toml")
    dump_model(loaded.with_values(mesh=dataclasses.replace(loaded.mesh, target_size=1e-3)),
               tmp_path / "model.toml")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # block-buffered
    done = subprocess.run([sys.executable, "-m", "thermomech", "run", str(tmp_path / "model.toml"),
                           "--out", str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-2].startswith("times: mesh") and "outputs" in lines[-2]
    assert lines[-1] == (f"-> {out}/summary.json, {out}/report.html, {out}/result.vtm, "
                         f"{out}/result.vtu, {out}/figures/")
    assert json.loads((out / "summary.json").read_text())["mechanical"]["warpage_um"]
    assert len(list((out / "figures").glob("*.png"))) >= 10
    assert (out / "report.html").read_text().rstrip().endswith("</html>")
