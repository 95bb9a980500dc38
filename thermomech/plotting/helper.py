"""A helper process that draws a run's figures while the run goes on (``thermomech run``).

The figures were half of the output stage of the default run (docs/performance.md). The
command starts the helper before it meshes; it imports matplotlib and the plotting modules
while the model is meshed and solved, then draws the figures of the results it is sent
(``submit``) while this process writes summary.json, the VTU and the multiblock files. On
two cores the figures then cost no wall time of their own.

- Fresh process ("spawn"): forking a process that holds threads (the solvers' thread pool,
  the live progress display) can deadlock the child; the results go over a pipe instead
  (:func:`results_payload`: without the scikit-fem basis caches, which the figures rebuild
  if they need them).
- The same bytes as drawn in this process: the same drawing functions on the same data
  (tests/test_plot_views.py compares them).
- Only the ``thermomech`` command starts one (``cli._main_is_the_command``): a spawned
  process imports the main module again, and a user's script that calls ``cli.main``
  without an ``if __name__ == "__main__":`` guard would run again in it.
- Ctrl-C reaches the helper too: it ignores SIGINT and this process stops it (``close``);
  it exits by itself when this process dies (it watches its parent), so no process is left
  behind. An error in a figure is raised here as the error it was; if the helper dies, the
  figures are drawn in this process instead (one warning).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)


WATCHER = "thermomech-helper-watch"
"""The name of the helper's thread that waits for the run's end (``_watch_parent``)."""


def _watch_parent() -> None:
    """In the helper: exit when the process that started it is gone (killed, crashed)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the parent's sentinel closes
        os._exit(1)


def _start_helper() -> None:
    """In the helper: ignore Ctrl-C (the command stops it), watch the parent, import the
    plotting modules, the matplotlib modules the first figure would import (its axes,
    colorbar, contours; the PNG writer) and what the figures compute with (SciPy,
    scikit-fem): 0.5-0.6 s CPU before any figure is asked for. The command starts the helper
    before it imports these itself, so the two processes import side by side. (Drawing a
    throwaway figure as well cost 0.09 s more CPU than it saved on the first figures.)
    Its priority stays the run's: at niceness 5 the helper's figures were drawn later, not
    the solves faster (default run, load 10-13: outputs 2.8-4.9 s against 2.6-3.7 s at 0;
    on two cores its ~2 s of CPU must fit beside the run's either way)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, daemon=True, name=WATCHER).start()
    from ..startup import defer_unused_numpy_modules

    defer_unused_numpy_modules()  # numpy.f2py and numpy.testing, which SciPy's import loads
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.contour  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.legend  # noqa: F401
    import matplotlib.tri  # noqa: F401
    import PIL.PngImagePlugin  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401

    from .. import elasticity, thermal_metrics  # noqa: F401 - unpickled, used by figures
    from . import figures, mechanical, model, thermal  # noqa: F401


SPARES = 2
"""Blank figures the helper makes ahead (``figures.make_spares``) after the temperature
figures, for the mechanical ones drawn when the warpage is solved: on a quiet machine it
waits then (the warpage solve takes longer than the temperature figures), and the helper and
its forked copy (``_render_forked``) each draw half of that batch on their own copy of
these. Not after its imports nor after the model figures: the next batch is usually waiting
then, and a blank figure made ahead costs a little more than one made when needed (traced
at load 4-6, where the helper is behind all along: the model batch 0.34 -> 0.38 s CPU)."""


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored in this process while a helper is started (main thread only): the
    helper starts ignoring it and Python leaves an ignored SIGINT ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _ready() -> int:
    return os.getpid()


LATE = frozenset({"von_mises"})
"""Mechanical figures drawn from the summary's quadrature stress: sent after the summary;
the others as soon as the mechanical solve ends (``FigureHelper.early``)."""


def _draw(payload: bytes, format: str, skip_model: bool, part: str = "all"
          ) -> tuple[dict[str, bytes], list[str] | None]:
    """In the helper: (name -> bytes of the standard figures of the pickled results, None),
    without the model figures if ``skip_model`` (they were drawn from an earlier batch).
    ``part`` "early": the mechanical figures but :data:`LATE`; "late": all but those, and
    the order of every figure of these results (``FigureHelper.result`` sorts by it)."""
    from .figures import make_spares, render_all, run_figures

    package, thermal, mechanical, curve, history, section = pickle.loads(payload)
    if part == "late":  # the early batch's package and warpage, sent once
        package, mechanical = _KEPT["package"], _KEPT["mechanical"]
    elif part == "early":
        _KEPT.update(package=package, mechanical=mechanical)
    try:
        figures = run_figures(package, thermal, mechanical, curve, history=history)
        if section is not None:
            figures = [_von_mises_of_section(f, mechanical, section) for f in figures]
        skip = {f.name for f in run_figures(package)} if skip_model else set()
        if part == "early":
            skip |= LATE
        elif part == "late":
            skip |= {f.name for f in run_figures(package, None, mechanical)} - LATE
        wanted = [f for f in figures if f.name not in skip]
        drawn = (_render_forked(wanted, format) if part == "early" else
                 render_all(wanted, format))
        if thermal is not None and mechanical is None:  # the mechanical figures' canvases
            make_spares(SPARES)
        model = {f.name for f in run_figures(package)} if skip_model else set()
        return drawn, [f.name for f in figures if f.name not in model] if part == "late" \
            else None
    except BaseException as exc:  # sent back as itself when it pickles, else as its text
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        raise


_KEPT: dict = {}
"""In the helper: the package and warpage of the early mechanical batch, which the late
batch (``FigureHelper.submit`` after the summary) draws from without their being sent again."""


def _von_mises_of_section(figure, mechanical, section_stress):
    """The von Mises figure drawn from the stress of the section's cells, others as they are."""
    from . import mechanical as views
    from .figures import FigureSpec

    if figure.name != "von_mises":
        return figure
    return FigureSpec(figure.name, figure.caption, lambda ax: views.plot_von_mises(
        mechanical, ax, section_stress=section_stress))


def _render_forked(figures: Sequence, format: str) -> dict[str, bytes]:
    """In the helper: ``render_all(figures)``, the second half drawn by a forked copy of the
    helper at the same time. The mechanical figures are the ones left when the warpage is
    solved, and the run's own process has an idle core while it waits for them after its
    summary (docs/performance.md). The copy draws with the same code and state, so the same
    bytes; if it fails (no fork, a failed draw) its figures are drawn here, and an error in
    them is raised here as it would have been.

    Forking is safe here where it is not in the run: the helper's only other thread waits
    in ``select`` for the run's end (no lock held), and the copy leaves by ``os._exit``.
    With any other thread (a pool whose threads the copy would not have) nothing is forked.
    """
    from .figures import render_all

    half = len(figures) // 2
    if half == 0 or not hasattr(os, "fork") or not _fork_safe():
        return render_all(figures, format)
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return render_all(figures, format)
    if pid == 0:  # the copy: its figures to the pipe, then out without any clean-up
        code = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                out.write(pickle.dumps(render_all(figures[half:], format)))
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    drawn = render_all(figures[:half], format)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    theirs = pickle.loads(data) if status == 0 and data else render_all(figures[half:], format)
    return {**drawn, **theirs}


def _fork_safe() -> bool:
    """Only this thread and the helper's parent watcher run."""
    return all(thread is threading.current_thread() or thread.name == WATCHER
               for thread in threading.enumerate())


def results_payload(package, thermal, mechanical, curve: Sequence = (),
                    history: Sequence = (), section=None) -> bytes:
    """The results a run's figures are drawn from, pickled for the helper; ``section``: the
    quadrature stress of the section's cells, for the von Mises figure of the late batch."""
    return pickle.dumps((package, thermal, mechanical, tuple(curve), tuple(history), section),
                        protocol=pickle.HIGHEST_PROTOCOL)


class FigureHelper:
    """One helper process drawing a run's figures in ``format`` ("png", "svg", "pdf");
    ``with FigureHelper() as helper:`` stops it on the way out (at once on an error or
    Ctrl-C, after its work otherwise).

    The figures go in batches as their results appear: the model figures once the mesh is
    made (``early(package)``), the temperature figures once the heat solve is done
    (``early(package, thermal)``), the mechanical ones but :data:`LATE` once the warpage is
    solved (``early(package, thermal, mechanical)``: drawn while the summary is computed),
    the rest with ``submit``; ``result`` puts them together in the order of
    ``figures.run_figures``."""

    def __init__(self, format: str = "png") -> None:
        self.format = format
        self._pool = cf.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_helper)
        with _sigint_ignored():  # inherited through exec: a Ctrl-C while the helper starts
            self._pool.submit(_ready)  # (no traceback); starts it now: imports as we solve
        self._batches: list[cf.Future] = []
        self._sent = {"model": False, "thermal": False, "mechanical": False}
        self._broken = False

    def early(self, package, thermal=None, mechanical=None) -> None:
        """Draw the model figures (``thermal`` and ``mechanical`` None), the temperature
        figures (``mechanical`` None) or the mechanical ones but :data:`LATE` now."""
        group = ("mechanical" if mechanical is not None else
                 "thermal" if thermal is not None else "model")
        if self._sent[group] or (group != "model" and not self._sent["model"]):
            return
        if group == "mechanical":
            sent = self._send(package, None, mechanical, (), (), skip_model=True, part="early")
        else:
            sent = self._send(package, thermal, None, (), (), skip_model=group == "thermal")
        self._sent[group] = sent

    def submit(self, package, thermal, mechanical, curve: Sequence = (),
               history: Sequence = ()) -> bool:
        """Draw the figures of these results not drawn yet. False when the helper cannot
        (results that do not pickle, such as a callable surface value of the Python API;
        a helper that died): draw them all in this process then."""
        thermal = None if self._sent["thermal"] else thermal
        if not self._sent["mechanical"]:
            return self._send(package, thermal, mechanical, curve, history,
                              skip_model=self._sent["model"])
        # the late batch: the helper has the package and warpage of the early one; of the
        # quadrature stress (15 MB with them at 67k unknowns, 13 ms through the pipe alone)
        # the von Mises figure reads the section's cells
        from .mechanical import section_cells

        section = (mechanical.quadrature_stress()[0][:, section_cells(mechanical)]
                   if mechanical.package.is_structured else None)  # no von Mises figure else
        return self._send(None, thermal, None, curve, history, skip_model=True, part="late",
                          section=section)

    def _send(self, package, thermal, mechanical, curve, history, *, skip_model,
              part: str = "all", section=None) -> bool:
        if self._broken:
            return False
        try:
            payload = results_payload(package, thermal, mechanical, curve, history, section)
            self._batches.append(self._pool.submit(_draw, payload, self.format, skip_model,
                                                   part))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            log.debug("figures drawn in this process: the results do not pickle (%s)", exc)
            self._broken = True
        except cf.process.BrokenProcessPool as exc:  # it could not start, or died
            log.warning("the figure helper process stopped (%s): drawing the figures here",
                        exc)
            self._broken = True
        return not self._broken

    def result(self, draw_here) -> dict[str, bytes]:
        """The figures of every batch, in order, or ``draw_here()`` if the helper died."""
        drawn, order = {}, []
        try:
            for batch in self._batches:
                figures, names = batch.result()
                drawn.update(figures)
                order = names or order
        except cf.process.BrokenProcessPool as exc:
            log.warning("the figure helper process stopped (%s): drawing the figures here",
                        exc)
            return draw_here()
        self._stop()  # its work is done: it ends while this process writes the report
        # batches come in the order of run_figures but for LATE: the last batch's order
        first = [name for name in drawn if name not in order]  # model, temperature figures
        return {name: drawn[name] for name in first + [n for n in order if n in drawn]}

    def close(self, *, wait: bool = True) -> None:
        """Stop the helper: after its work (``wait``), or at once; terminated either way.
        Once its figures are here the helper has nothing left to do but tear its
        interpreter down (matplotlib, SciPy: 0.3-0.5 s measured on the default run), which
        the run need not wait for."""
        processes = list((self._pool._processes or {}).values())
        if wait:
            cf.wait(self._batches)
        self._stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for process in processes:  # reaped before this process goes on (or exits)
            process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join()

    def _stop(self) -> None:
        """Terminate the helper process (SIGTERM; ``close`` reaps it). After the last batch
        nothing is left for it but its interpreter's teardown; stopped then, it has ended by
        the time the run has written its report and ``close`` is called (0.01-0.03 s of
        waiting after the last file before)."""
        for process in list((self._pool._processes or {}).values()):
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> FigureHelper:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close(wait=kind is None)
