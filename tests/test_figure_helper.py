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


def _line_figures(count: int, fail_in_a_copy: bool = False, record: Path | None = None):
    """Small standard figures; with ``fail_in_a_copy`` they raise in any process but this;
    with ``record`` each appends the id of the process that drew it to that file."""
    import os

    from thermomech.plotting.figures import FigureSpec

    here = os.getpid()

    def drawer(i):
        def draw(ax):
            if record is not None:
                with open(record, "a") as ids:
                    ids.write(f"{os.getpid()}\n")
            if fail_in_a_copy and os.getpid() != here:
                raise RuntimeError("drawn in a copy")
            ax.plot([0, 1, 2], [i, 2 * i, i * i], label=f"line {i}")
            ax.legend()
            return ax
        return draw

    return [FigureSpec(f"f{i}", "", drawer(i)) for i in range(count)]


@pytest.mark.parametrize("fail_in_a_copy", [False, True])
def test_a_forked_copy_draws_half_of_the_figures_with_the_same_bytes(monkeypatch, tmp_path,
                                                                     fail_in_a_copy):
    """helper._render_forked: the same files in the same order as drawn in one process,
    also when the copy fails (its figures are then drawn here)."""
    import os

    from thermomech.plotting.figures import render_all

    expected = render_all(_line_figures(4))
    monkeypatch.setattr(helper_module, "_fork_safe", lambda: True)
    record = tmp_path / "pids"
    drawn = helper_module._render_forked(_line_figures(4, fail_in_a_copy, record), "png")
    assert list(drawn) == list(expected) and drawn == expected
    pids = [int(line) for line in record.read_text().split()]
    copy = [pid for pid in pids if pid != os.getpid()]
    assert len(copy) == (1 if fail_in_a_copy else 2) and len(pids) - len(copy) == (
        4 if fail_in_a_copy else 2)  # the copy's first figure failed: all four drawn here


def test_no_fork_beside_other_threads_or_when_fork_fails(monkeypatch):
    import os
    import threading

    from thermomech.plotting.figures import render_all

    specs = _line_figures(2)
    expected = render_all(specs)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not helper_module._fork_safe()
        monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked beside another thread"))
        assert helper_module._render_forked(specs, "png") == expected
    finally:
        stop.set()
        other.join()

    def no_fork():
        raise OSError("no more processes")

    monkeypatch.setattr(helper_module, "_fork_safe", lambda: True)
    monkeypatch.setattr(os, "fork", no_fork)
    assert helper_module._render_forked(specs, "png") == expected


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
