"""No user file lost: every command writes by the output-folder rule (files.OutputFolder).

thermomech replaces only files it wrote (the folder's manifest lists them with their
sha256), leaves everything else alone byte for byte, refuses a file in its way (exit 2,
nothing written) unless --force, and leaves no half-written or temporary file when a run
fails or is interrupted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thermomech import files
from thermomech.cli import main
from thermomech.files import MANIFEST, OutputConflictError, OutputFolder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _study_helpers import mesh_analyse  # noqa: E402

MODEL = """
[package]
family = "flip_chip"

[mesh]
dimension = 2
symmetry = "half"
target_size = "1 mm"
min_cells_per_layer = 1

[thermal]
ambient = "25 degC"
power = { die = "2 W" }

[[thermal.convection]]
surface = "top"
h = "500 W/(m^2*K)"

[mechanical]
stress_free_temperature = "175 degC"
"""
STUDY = """
[study]
model = "model.toml"
name = "widths"
responses = ["size_mm.die", "mesh.cells"]

[study.parameters]
"package.heat_sink_width" = "[10, 12, 13, 14] mm"
"package.die_thickness" = ["0.2 mm", "0.3 mm", "0.4 mm"]
"""
PARTS = ("balls", "carrier", "encapsulant", "bumps", "die", "adhesive", "heat_sink")
RUN_FILES = {"summary.json", "result.vtu", "result.vtm", "report.html",
             *(f"result/{part}.vtu" for part in PARTS)}  # result.vtm's pieces, one per part


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too): relative path -> content."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def user_files(folder: Path) -> dict[str, bytes]:
    """Put a user's files in ``folder``: notes, the model itself, a sub-folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("measured Tj 61.5 degC on board 3\n")
    (folder / "model.toml").write_text(MODEL)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "board.csv").write_bytes(b"x,y\n1,2\n")
    return snapshot(folder)


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())["files"]


def no_temporary_files(folder: Path) -> bool:
    """No staging folder and no hidden temporary file left (the manifest is expected)."""
    return not [p for p in folder.rglob(".*") if p.name != MANIFEST]


@pytest.fixture
def work(tmp_path) -> Path:
    """A folder with the user's files, the model among them."""
    user_files(tmp_path / "work")
    return tmp_path / "work"


# --- run ------------------------------------------------------------------------------------

def test_run_into_a_folder_with_user_files_keeps_them(work, capsys):
    before = snapshot(work)
    assert main(["run", str(work / "model.toml"), "--out", str(work), "--no-figures"]) == 0
    after = snapshot(work)
    assert {k: after[k] for k in before} == before, "a user file was changed"
    assert set(after) - set(before) == RUN_FILES | {MANIFEST}
    listed = manifest(work)
    assert set(listed) == RUN_FILES
    for name, entry in listed.items():  # the manifest's hashes are those of the files
        assert entry["sha256"] == hashlib.sha256(after[name]).hexdigest()
        assert entry["size"] == len(after[name]) and entry["group"] == "run"
        assert entry["command"].startswith("thermomech run ")
    assert json.loads(after["summary.json"])["thermal"]["power_W"] == pytest.approx(2.0)


def test_run_out_dot_works_in_the_working_directory(work, monkeypatch):
    monkeypatch.chdir(work)
    before = snapshot(work)
    assert main(["run", "model.toml", "--out", ".", "--no-figures"]) == 0
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert RUN_FILES <= set(after) and no_temporary_files(work)


def test_rerun_replaces_its_files_only_and_drops_unchanged_stale_ones(work):
    out = work / "out"
    assert main(["run", str(work / "model.toml"), "--out", str(out)]) == 0
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert "temperature_section.png" in figures and len(figures) >= 8
    (out / "figures" / "mine.png").write_bytes(b"the user's own picture")
    (out / "notes.txt").write_text("keep me")
    edited = out / "figures" / "heat_flow.png"
    edited.write_bytes(b"annotated by the user")
    summary_before = (out / "summary.json").read_bytes()
    (work / "model.toml").write_text(MODEL.replace('"2 W"', '"3 W"'))
    assert main(["run", str(work / "model.toml"), "--out", str(out), "--no-figures"]) == 0
    # its own files were replaced with the new results
    assert (out / "summary.json").read_bytes() != summary_before
    assert json.loads((out / "summary.json").read_text())["thermal"]["power_W"] == 3.0
    # the old figures it wrote (unchanged) are gone; the user's and the edited one stay
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["heat_flow.png", "mine.png"]
    assert edited.read_bytes() == b"annotated by the user"
    assert (out / "notes.txt").read_text() == "keep me"
    assert set(manifest(out)) == RUN_FILES  # the edited figure is the user's now


def test_edited_output_is_not_overwritten_without_force(work, capsys):
    out = work / "out"
    model = str(work / "model.toml")
    assert main(["run", model, "--out", str(out), "--no-figures"]) == 0
    (out / "summary.json").write_text('{"my": "edits"}')
    before = snapshot(out)
    capsys.readouterr()
    assert main(["run", model, "--out", str(out), "--no-figures"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: out: refusing to overwrite ") and "summary.json" in error
    assert "changed since thermomech wrote it" in error and "--force" in error
    assert "Traceback" not in error and error.count("\n") == 1
    assert snapshot(out) == before, "a refused run wrote something"
    assert main(["run", model, "--out", str(out), "--no-figures", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["thermal"]["power_W"] == 2.0
    assert manifest(out)["summary.json"]["sha256"] == hashlib.sha256(
        (out / "summary.json").read_bytes()).hexdigest()


def test_foreign_file_in_the_way_is_refused_before_solving(work, monkeypatch, capsys):
    (work / "summary.json").write_text("the user's summary")
    before = snapshot(work)

    def must_not_solve(*args, **kwargs):
        raise AssertionError("solved although the output was refused")

    monkeypatch.setattr("thermomech.analysis.run_model", must_not_solve)
    assert main(["run", str(work / "model.toml"), "--out", str(work)]) == 2
    error = capsys.readouterr().err
    assert f"refusing to overwrite {work / 'summary.json'}" in error
    assert "thermomech did not write it" in error
    assert snapshot(work) == before


def test_run_into_a_file_is_refused(work, capsys):
    before = snapshot(work)
    assert main(["run", str(work / "model.toml"), "--out", str(work / "notes.txt")]) == 2
    assert f"error: out: {work / 'notes.txt'} is not a folder\n" == capsys.readouterr().err
    assert main(["mesh", str(work / "model.toml"), "-o", str(work / "notes.txt" / "sub" / "m.vtu")]
                ) == 2
    assert f"({work / 'notes.txt'} is a file)" in capsys.readouterr().err
    assert snapshot(work) == before


def test_run_failing_half_way_leaves_the_earlier_outputs(work, monkeypatch):
    out = work / "out"
    assert main(["run", str(work / "model.toml"), "--out", str(out), "--no-figures"]) == 0
    before = snapshot(out)

    def broken_report(run, path, **kwargs):  # summary.json and result.vtu are staged by now
        Path(path).write_bytes(b"<html>half a rep")
        raise OSError("disk full")

    monkeypatch.setattr("thermomech.report.write_report", broken_report)
    (work / "model.toml").write_text(MODEL.replace('"2 W"', '"3 W"'))
    with pytest.raises(OSError, match="disk full"):
        main(["run", str(work / "model.toml"), "--out", str(out), "--no-figures"])
    assert snapshot(out) == before and no_temporary_files(out)


def test_failed_first_run_leaves_no_folder(tmp_path, monkeypatch):
    (tmp_path / "model.toml").write_text(MODEL)
    monkeypatch.setattr("thermomech.report.write_report", _raise_oserror)
    with pytest.raises(OSError):
        main(["run", str(tmp_path / "model.toml"), "--out", str(tmp_path / "new"),
              "--no-figures"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.toml"]


def _raise_oserror(*args, **kwargs):
    raise OSError("disk full")


def test_python_write_outputs_follows_the_rule(work):
    from thermomech.analysis import run_model, write_outputs
    from thermomech.model_file import load_model

    run = run_model(load_model(work / "model.toml"))
    (work / "report.html").write_text("my report")
    with pytest.raises(OutputConflictError, match="report.html"):
        write_outputs(run, work, figures=False)
    assert not (work / "summary.json").exists() and no_temporary_files(work)
    (work / "report.html").unlink()
    written = write_outputs(run, work, figures=False)
    assert {p.relative_to(work).as_posix() for p in written} == RUN_FILES
    assert all(p.exists() for p in written)


# --- mesh, show, export ---------------------------------------------------------------------

def test_mesh_keeps_user_files_and_refuses_a_foreign_target(work, capsys):
    before = snapshot(work)
    assert main(["mesh", str(work / "model.toml"), "-o", str(work / "mesh.vtu")]) == 0
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert set(manifest(work)) == {"mesh.vtu", "mesh.xdmf"}
    assert manifest(work)["mesh.vtu"]["group"] == "mesh mesh.vtu"
    # a rerun without the XDMF copy removes the unchanged copy it wrote
    assert main(["mesh", str(work / "model.toml"), "-o", str(work / "mesh.vtu"),
                 "--no-xdmf"]) == 0
    assert not (work / "mesh.xdmf").exists() and set(manifest(work)) == {"mesh.vtu"}
    (work / "other.xdmf").write_text("the user's")
    before = snapshot(work)
    assert main(["mesh", str(work / "model.toml"), "-o", str(work / "other.vtu")]) == 2
    assert "other.xdmf" in capsys.readouterr().err and snapshot(work) == before


def test_mesh_failing_half_way_writes_nothing(work, monkeypatch):
    import thermomech.export as export

    assert main(["mesh", str(work / "model.toml"), "-o", str(work / "mesh.vtu")]) == 0
    before = snapshot(work)
    calls = []

    def second_write_fails(package, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"<Xdmf half")
            raise OSError("disk full")
        return write_mesh(package, path, **kwargs)

    write_mesh = export.write_mesh
    monkeypatch.setattr(export, "write_mesh", second_write_fails)
    with pytest.raises(OSError, match="disk full"):
        main(["mesh", str(work / "model.toml"), "-o", str(work / "mesh.vtu")])
    assert len(calls) == 2 and snapshot(work) == before and no_temporary_files(work)


def test_xdmf_with_hdf5_companion_is_written_atomically(tmp_path):
    """meshio's XDMF writer puts an .h5 beside the .xdmf, named after it: both land under
    their final names, and the .xdmf refers to the final .h5."""
    pytest.importorskip("h5py")
    import meshio
    import numpy as np

    mesh = meshio.Mesh(np.eye(4, 3), [("tetra", np.array([[0, 1, 2, 3]]))])
    with files.atomic_files(tmp_path / "m.xdmf") as staged:
        mesh.write(staged, data_format="HDF")
        assert not (tmp_path / "m.xdmf").exists()  # nothing in place before the end
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5", "m.xdmf"]
    assert "m.h5:/data" in (tmp_path / "m.xdmf").read_text()
    assert meshio.read(tmp_path / "m.xdmf").points.shape == (4, 3)


def test_show_refuses_a_user_picture_and_overwrites_its_own(work, capsys):
    picture = work / "model.png"
    picture.write_bytes(b"my photo of the package")
    assert main(["show", str(work / "model.toml"), "-o", str(picture)]) == 2
    assert picture.read_bytes() == b"my photo of the package"
    assert main(["show", str(work / "model.toml"), "-o", str(picture), "--force"]) == 0
    first = picture.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["show", str(work / "model.toml"), "-o", str(picture), "--mesh"]) == 0
    assert picture.read_bytes() != first and no_temporary_files(work)


def test_interrupted_picture_leaves_no_truncated_file(work, monkeypatch, capsys):
    import matplotlib.figure

    def interrupted_savefig(self, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n trunc")  # what a kill mid-write leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted_savefig)
    before = snapshot(work)
    assert main(["show", str(work / "model.toml"), "-o", str(work / "model.png")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert snapshot(work) == before and no_temporary_files(work)


def test_export_keeps_user_decks(work, capsys):
    (work / "model.toml").write_text(MODEL + 'plane = "strain"\n')
    (work / "deck_heat.inp").write_text("** my hand-edited deck\n")
    before = snapshot(work)
    assert main(["export", str(work / "model.toml"), "-o", str(work / "deck.inp")]) == 2
    assert "deck_heat.inp" in capsys.readouterr().err and snapshot(work) == before
    assert main(["export", str(work / "model.toml"), "-o", str(work / "other.inp")]) == 0
    written = set(manifest(work))
    assert written == {"other_heat.inp", "other_warpage.inp"}
    assert (work / "other_heat.inp").read_text().count("*HEAT TRANSFER") == 1
    assert {k: v for k, v in snapshot(work).items() if k in before} == before


# --- study ----------------------------------------------------------------------------------

@pytest.fixture
def study_folder(tmp_path) -> Path:
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "study.toml").write_text(STUDY)
    return tmp_path


def study_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return [str(folder / "study.toml"), "--out", str(out), "--workers", "1", "--no-progress",
            *extra]


def test_study_keeps_user_files_and_resumes(study_folder, capsys):
    from thermomech.study import study_main

    out = study_folder / "out"
    before = user_files(out)
    assert study_main(study_args(study_folder, out), analyse=mesh_analyse) == 0
    after = snapshot(out)
    assert {k: after[k] for k in before} == before
    listed = manifest(out)
    assert {"study.json", "cases.jsonl", "table.csv"} <= set(listed)
    assert listed["cases.jsonl"]["append"] is True
    assert listed["table.csv"]["group"] == "study table"
    assert {name for name, entry in listed.items() if entry["group"] == "study plots"} == {
        f"plots/{r}_{kind}.png" for r in ("size_mm.die", "mesh.cells")
        for kind in ("vs_parameters", "contour")}
    # a rerun finds every case finished and rewrites only the table
    assert study_main(study_args(study_folder, out), analyse=mesh_analyse) == 0
    assert "12/12 cases finished" in capsys.readouterr().out
    assert (out / "cases.jsonl").read_text().count("\n") == 12
    assert {k: v for k, v in snapshot(out).items() if k in before} == before


def test_study_refuses_a_user_table_before_the_first_case(study_folder, capsys):
    from thermomech.study import study_main

    out = study_folder / "out"
    (out / "plots").mkdir(parents=True)
    (out / "table.csv").write_text("my own table\n")
    before = snapshot(out)
    assert study_main(study_args(study_folder, out), analyse=mesh_analyse) == 2
    assert "table.csv" in capsys.readouterr().err
    assert snapshot(out) == before  # no study.json, no cases
    assert study_main(study_args(study_folder, out, "--force"), analyse=mesh_analyse) == 0
    assert (out / "table.csv").read_text().startswith("case,")


def test_study_restart_discards_only_what_it_wrote(study_folder):
    from thermomech.study import study_main

    out = study_folder / "out"
    user_files(out)
    assert study_main(study_args(study_folder, out), analyse=mesh_analyse) == 0
    (out / "table.parquet").unlink(missing_ok=True)
    (out / "table.csv").write_text("edited\n")
    assert study_main(study_args(study_folder, out, "--restart"), analyse=mesh_analyse) == 2
    assert (out / "table.csv").read_text() == "edited\n"
    (out / "table.csv").unlink()
    assert study_main(study_args(study_folder, out, "--restart"), analyse=mesh_analyse) == 0
    assert (out / "cases.jsonl").read_text().count("\n") == 12
    assert (out / "notes.txt").exists() and (out / "data" / "board.csv").exists()


def test_interrupted_plot_leaves_no_truncated_png(study_folder, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    from thermomech.study import load_study, run_study
    from thermomech.study.command import write_plots

    out = study_folder / "out"
    study = dataclasses.replace(load_study(study_folder / "study.toml"),
                                responses=("size_mm.die",))
    table = run_study(study, out, mesh_analyse, workers=1, progress=False)
    first = write_plots(study, table, out)
    assert first and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in first)
    before = snapshot(out)
    calls = []

    def killed_mid_write(self, path, **kwargs):
        calls.append(path)
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n trunc")
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        write_plots(study, table, out)
    assert calls and snapshot(out) == before and no_temporary_files(out)


def test_ctrl_c_in_a_serial_study_exits_130_with_one_line(study_folder, monkeypatch,
                                                          capsys):
    from thermomech.study import study_main

    finished = []

    def interrupted_analyse(model):
        if len(finished) == 3:
            raise KeyboardInterrupt
        finished.append(model)
        return mesh_analyse(model)

    out = study_folder / "out"
    # the resume command repeats the run options but not --restart (it would discard)
    assert study_main(study_args(study_folder, out, "--restart"),
                      analyse=interrupted_analyse) == 130
    study = study_folder / "study.toml"
    assert capsys.readouterr().err == (
        f"interrupted: 3 finished case(s) are kept in {out}; resume with: "
        f"thermomech study {study} --out {out} --workers 1\n")
    assert study_main(study_args(study_folder, out), analyse=mesh_analyse) == 0
    assert (out / "cases.jsonl").read_text().count("\n") == 12


def test_sigint_to_a_parallel_study_exits_130_without_traceback(study_folder):
    out = study_folder / "out"
    code = (f"import sys; sys.path[:0] = [{str(REPO / 'tests')!r}, {str(REPO)!r}]\n"
            "from _study_helpers import slow_mesh_analyse\n"
            "from thermomech.study import study_main\n"
            f"sys.exit(study_main([{str(study_folder / 'study.toml')!r}, '--out', "
            f"{str(out)!r}, '--workers', '2'], analyse=slow_mesh_analyse))\n")
    env = {**os.environ, "STUDY_TEST_DELAY": "1.0"}
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                               stderr=subprocess.PIPE, text=True)
    cases = out / "cases.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if cases.exists() and cases.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=60)
    assert process.returncode == 130, error
    assert "Traceback" not in error and "KeyboardInterrupt" not in error
    last = error.strip().splitlines()[-1]
    assert re.fullmatch(rf"interrupted: \d+ finished case\(s\) are kept in {re.escape(str(out))}"
                        rf"; resume with: thermomech study .*study.toml --out .*", last), last
    kept = cases.read_text().count("\n")
    assert 2 <= kept < 12, "the study was not interrupted mid-way"


# --- the API and the source ---------------------------------------------------------------

def test_folder_commits_all_at_once_and_removes_only_unchanged_stale_files(tmp_path):
    folder = OutputFolder(tmp_path / "o", group="g", command="test")
    folder.write_bytes("a.txt", b"a1")
    folder.write_bytes("sub/b.txt", b"b1")
    assert not (tmp_path / "o" / "a.txt").exists()  # staged, not yet in place
    assert [p.name for p in folder.commit()] == ["a.txt", "b.txt"]
    other = OutputFolder(tmp_path / "o", group="h", command="test")
    other.write_bytes("c.txt", b"c1")
    other.commit()
    again = OutputFolder(tmp_path / "o", group="g", command="test")
    again.write_bytes("a.txt", b"a2")
    again.commit()  # sub/b.txt: not written again, unchanged -> removed with its folder
    assert snapshot(tmp_path / "o").keys() == {"a.txt", "c.txt", MANIFEST}
    assert (tmp_path / "o" / "a.txt").read_bytes() == b"a2"
    assert manifest(tmp_path / "o")["c.txt"]["group"] == "h"


def test_commit_hashes_staged_bytes_once_and_a_rewrite_again(tmp_path, monkeypatch):
    """write_bytes hashes the bytes it stages; the commit does not read those files again
    (0.07 s for a 562k-unknown run's 48 MB). A file staged again through ``path`` (same
    size, within the file system's time resolution) is hashed again: the manifest has the
    hash of what is in place."""
    reads = []
    monkeypatch.setattr(files, "file_sha256", lambda path: reads.append(path) or
                        hashlib.sha256(Path(path).read_bytes()).hexdigest())
    folder = OutputFolder(tmp_path, group="g")
    folder.write_bytes("a.bin", b"first")
    folder.write_bytes("b.bin", b"bytes")
    with folder.path("b.bin") as staged:  # rewritten in place by another writer
        staged.write_bytes(b"BYTES")
    folder.commit()
    assert [Path(p).name for p in reads] == ["b.bin"]
    entries = manifest(tmp_path)
    assert entries["a.bin"]["sha256"] == hashlib.sha256(b"first").hexdigest()
    assert entries["b.bin"]["sha256"] == hashlib.sha256(b"BYTES").hexdigest()


def test_a_kill_between_manifest_and_rename_is_not_an_edit(tmp_path, monkeypatch):
    """The manifest learns the new hash before the file is replaced: if the process dies in
    between, the old content (previous_sha256) still counts as thermomech's."""
    first = OutputFolder(tmp_path, group="g")
    first.write_bytes("a.txt", b"old")
    first.commit()
    replace = os.replace

    def dies_before_replacing_a(source, target):
        if Path(target).name == "a.txt":
            raise OSError("killed")
        replace(source, target)

    dying = OutputFolder(tmp_path, group="g")
    dying.write_bytes("a.txt", b"new")
    monkeypatch.setattr(files.os, "replace", dies_before_replacing_a)
    with pytest.raises(OSError, match="killed"):
        dying.commit()
    monkeypatch.undo()
    entry = manifest(tmp_path)["a.txt"]
    assert entry["sha256"] == hashlib.sha256(b"new").hexdigest()
    assert entry["previous_sha256"] == hashlib.sha256(b"old").hexdigest()
    assert (tmp_path / "a.txt").read_bytes() == b"old" and no_temporary_files(tmp_path)
    OutputFolder(tmp_path, group="g").check(["a.txt"])  # still thermomech's: no error
    (tmp_path / "a.txt").write_bytes(b"edited")
    with pytest.raises(OutputConflictError, match="changed since"):
        OutputFolder(tmp_path, group="g").check(["a.txt"])


def test_only_files_py_deletes_files():
    """Every deletion in the package goes through thermomech/files.py."""
    pattern = re.compile(r"rmtree|\.unlink\(|os\.remove\(|os\.unlink\(|\.rmdir\(|"
                         r"os\.rename\(|\.rename\(|os\.replace\(")
    offenders = []
    for path in sorted((REPO / "thermomech").rglob("*.py")):
        if path.name == "files.py" and path.parent.name == "thermomech":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    assert pattern.search((REPO / "thermomech" / "files.py").read_text())  # the check bites
