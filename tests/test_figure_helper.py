"""The figure helper process of ``thermomech run`` (plotting.helper): the same bytes as the
figures drawn in this process, its errors raised here, a dead helper replaced by drawing
here, and no process left behind on an error or Ctrl-C."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
from pathlib import Path

import pytest

from thermomech.analysis import run_model, write_outputs
from thermomech.cli import main
from thermomech.model_file import dump_model, load_model
from thermomech.plotting import helper as helper_module
from thermomech.plotting.helper import FigureHelper

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    """The default flip-chip, coarser (heat and warpage: every kind of standard figure)."""
    loaded = load_model(ROOT / "meshes" / "flip_chip.toml")
    return loaded.with_values(mesh=dataclasses.replace(loaded.mesh, target_size=1e-3))


def _figures(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "figures").iterdir())}


def test_the_helper_draws_the_bytes_drawn_here(model, tmp_path):
    with FigureHelper() as helper:
        run = run_model(model, helper=helper)  # model and temperature figures during solves
        helped = write_outputs(run, tmp_path / "helped", helper=helper)
    here = write_outputs(run, tmp_path / "here")
    assert [p.name for p in helped] == [p.name for p in here]  # the same files, same order
    drawn = _figures(tmp_path / "helped")
    assert len(drawn) >= 10 and drawn == _figures(tmp_path / "here")


def test_a_figure_on_a_spare_canvas_has_the_bytes_of_one_on_a_new_canvas(model):
    """The helper draws on blank figures made while it waits (figures.make_spares): every
    standard figure is the same PNG file as on a new canvas (an SVG differs between any two
    renders: its date and ids)."""
    from thermomech.analysis import summarize
    from thermomech.plotting import figures

    run = run_model(model)
    summarize(run)  # the von Mises figure's quadrature stress
    specs = figures.run_figures(run.package, run.thermal, run.mechanical)
    new = [figures.render(spec) for spec in specs]
    figures.make_spares(len(specs))
    assert len(figures._SPARES) == len(specs)
    assert [figures.render(spec) for spec in specs] == new
    assert not figures._SPARES


def test_a_dead_helper_is_replaced_by_drawing_here(model, tmp_path):
    run = run_model(model)
    with FigureHelper() as helper:
        helper._pool.submit(helper_module._ready).result()
        for process in list(helper._pool._processes.values()):
            process.kill()
            process.join()
        write_outputs(run, tmp_path / "helped", helper=helper)
    write_outputs(run, tmp_path / "here")
    assert _figures(tmp_path / "helped") == _figures(tmp_path / "here")


def test_an_error_in_the_helper_is_raised_here():
    with FigureHelper() as helper:
        helper._batches.append(helper._pool.submit(helper_module._draw, b"not a pickle",
                                                   "png", False))
        with pytest.raises(pickle.UnpicklingError):
            helper.result(lambda: pytest.fail("the helper did not die: no drawing here"))


def test_no_helper_is_left_behind_on_an_error():
    with pytest.raises(RuntimeError, match="boom"), FigureHelper() as helper:
        helper._pool.submit(helper_module._ready).result()
        processes = list(helper._pool._processes.values())
        raise RuntimeError("boom")
    assert processes and all(not p.is_alive() for p in processes)
    assert not multiprocessing.active_children()


def test_ctrl_c_during_a_run_stops_the_helper_and_exits_130(model, tmp_path, monkeypatch,
                                                           capsys):
    import thermomech.analysis

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import thermomech.cli

    monkeypatch.setattr(thermomech.analysis, "write_outputs", interrupted)
    assert not thermomech.cli._main_is_the_command()  # pytest: no helper unless told
    monkeypatch.setattr(thermomech.cli, "_main_is_the_command", lambda: True)
    started = []
    monkeypatch.setattr(FigureHelper, "__enter__", lambda self: started.append(self) or self)
    path = tmp_path / "model.toml"
    dump_model(model, path)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert len(started) == 1 and started[0]._pool._processes is None  # shut down
    assert not multiprocessing.active_children()
