"""The MPI/PETSc backend: partitions (NumPy only, always run), the serial fallback, and
2-rank heat and warpage runs against the serial ones (run where mpi4py, petsc4py and
mpiexec are present: .ci/run's MPI step; skipped elsewhere).

Agreement: junction temperature and warpage to 1e-8 relative. The distributed CG stops at
a true relative residual of ``system.RTOL`` = 1e-11 (the serial solve of these small models
is direct). Measured on this 1 mm flip chip, 2 ranks with MUMPS (``--solver direct``):
junction temperature 8e-13, warpage 9.5e-11 relative to the serial run.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from thermomech.distributed.partition import Numbering, owners, slab_partition

ROOT = Path(__file__).resolve().parents[1]


# --- partitions (no MPI) ---------------------------------------------------------------------

def test_slabs_split_the_longest_grid_axis_into_equal_shares():
    grid = np.arange(12 * 5 * 3).reshape(12, 5, 3)
    for parts in (1, 2, 3, 4, 12):
        rank = slab_partition(grid, parts)
        assert np.array_equal(np.bincount(rank), np.full(parts, 180 // parts))
        layer = np.nonzero(grid >= 0)[0]  # a slab is whole layers of axis 0 (the longest)
        assert all(len(np.unique(rank[layer == i])) == 1 for i in range(12))
    with pytest.raises(Exception, match="only 12 cell layers"):
        slab_partition(grid, 13)


def test_slabs_skip_voids_and_leave_no_rank_empty():
    grid = np.arange(6 * 4).reshape(6, 4)
    grid[:, 1:] = -1  # five voids in each layer but one column
    grid[grid >= 0] = np.arange((grid >= 0).sum())
    rank = slab_partition(grid, 6)
    assert np.array_equal(np.bincount(rank), np.ones(6))


def test_shared_dofs_belong_to_the_lowest_rank_and_blocks_are_contiguous():
    element_dofs = np.array([[0, 1, 2], [1, 2, 3]])  # three 1D cells, dofs 0..3
    owner = owners(element_dofs, np.array([1, 0, 1]), 4)
    assert owner.tolist() == [1, 0, 0, 1]
    numbering = Numbering(owner, np.array([3]), 2)
    assert numbering.order.tolist() == [1, 2, 0, 3]
    assert numbering.bounds.tolist() == [0, 2, 4]
    assert numbering.owned(1).tolist() == [0, 3]
    assert numbering.free.tolist() == [1, 2, 0]
    assert numbering.position[numbering.order].tolist() == [0, 1, 2, 3]


# --- the serial fallback -----------------------------------------------------------------------

def _have(*modules) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def test_importing_thermomech_imports_no_mpi():
    code = ("import sys, thermomech, thermomech.cli, thermomech.distributed; "
            "print('mpi4py' in sys.modules, 'petsc4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(_have("petsc4py"), reason="petsc4py is installed here")
def test_petsc_backend_without_petsc_says_how_to_install(tmp_path, capsys):
    from thermomech.cli import main

    code = main(["run", str(ROOT / "meshes/flip_chip.toml"), "--out", str(tmp_path / "o"),
                 "--backend", "petsc"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert 'pip install "thermomech[mpi]"' in err[0] and "python3-petsc4py" in err[0]
    assert not (tmp_path / "o").exists()


def _petsc_has(package: str) -> bool:
    """Whether this environment's PETSc was built with ``package`` (in a fresh process:
    initializing PETSc here would change this process's malloc settings)."""
    code = ("import petsc4py; petsc4py.init(['t']); from petsc4py import PETSc; "
            f"print(PETSc.Sys.hasExternalPackage({package!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    return out.stdout.strip() == "True"


def test_solvers_needing_a_petsc_package_it_lacks_are_refused_before_meshing(tmp_path):
    """``--solver cg-hypre`` / ``direct`` on a PETSc built without hypre / MUMPS (a pip
    build without --download-hypre): a ModelError naming the option that adds it, checked
    with the model file (before meshing), not PETSc's error code 86 from inside the solve."""
    import argparse

    from thermomech.distributed.command import _checked_model
    from thermomech.errors import ModelError

    class Sys:
        @staticmethod
        def hasExternalPackage(name):
            return False

    class PETSc:
        pass

    PETSc.Sys = Sys
    for solver, package in (("cg-hypre", "hypre"), ("direct", "mumps")):
        args = argparse.Namespace(solver=solver, model=str(ROOT / "meshes/flip_chip.toml"),
                                  out=str(tmp_path / "o"), force=False)
        with pytest.raises(ModelError) as error:
            _checked_model(None, args, PETSc)
        assert error.value.field == "solver" and f"--download-{package}" in str(error.value)
    assert not (tmp_path / "o").exists()


def test_petsc_solvers_are_refused_by_the_serial_backend(tmp_path, capsys):
    from thermomech.cli import main

    code = main(["run", str(ROOT / "meshes/flip_chip.toml"), "--out", str(tmp_path / "o"),
                 "--solver", "cg-gamg"])
    assert code == 2 and "--backend petsc" in capsys.readouterr().err


# --- 2 ranks against the serial run ------------------------------------------------------------

MPIEXEC = shutil.which("mpiexec")
HAVE_MPI = bool(MPIEXEC) and _have("mpi4py", "petsc4py")
if os.environ.get("THERMOMECH_REQUIRE_MPI") and not HAVE_MPI:  # .ci/run's MPI step
    raise RuntimeError("THERMOMECH_REQUIRE_MPI is set but mpi4py, petsc4py or mpiexec is "
                       "missing: the MPI tests would be skipped")
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="mpi4py, petsc4py and mpiexec are not all "
                                                    "here (.ci/run's MPI step has them)")

SMALL = {"target_size = \"0.5 mm\"": "target_size = \"1 mm\""}
"""The bundled flip chip, coarser: heat with silicon's k(T) and quadratic warpage at the
thermal field's temperature, in seconds."""


def _model(tmp_path: Path, extra: str = "") -> Path:
    text = (ROOT / "meshes/flip_chip.toml").read_text()
    for old, new in SMALL.items():
        text = text.replace(old, new)
    path = tmp_path / "model.toml"
    path.write_text(text + extra)
    return path


def _mpirun(ranks: int, *args, env=None, module=("-m", "thermomech")
            ) -> subprocess.CompletedProcess:
    launcher = [MPIEXEC, "-n", str(ranks)]
    version = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    if "open-mpi" in version.lower() or "openrte" in version.lower():
        launcher += ["--oversubscribe", "--mca", "mpi_yield_when_idle", "1"]
    environment = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1",
                   "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([*launcher, sys.executable, *module, *args],
                          capture_output=True, text=True, cwd=ROOT, env=environment,
                          timeout=600)


def _serial(model: Path, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "thermomech", "run", str(model), "--out", str(out),
                    "--no-figures", "-q"], check=True, cwd=ROOT, capture_output=True)
    return json.loads((out / "summary.json").read_text())


def _relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@needs_mpi
def test_two_ranks_equal_the_serial_heat_and_warpage(tmp_path):
    solver = "cg-gmg-global"  # --solver auto on this box grid (solves.chosen)
    model = _model(tmp_path)
    serial = _serial(model, tmp_path / "serial")
    done = _mpirun(2, "run", str(model), "--out", str(tmp_path / "mpi"), "--backend",
                   "petsc", "--no-figures", "--pvtu")
    assert done.returncode == 0, done.stderr
    mpi = json.loads((tmp_path / "mpi" / "summary.json").read_text())
    names = {p.name for p in (tmp_path / "mpi").iterdir()}
    assert names >= {"summary.json", "result.pvtu", "result.vtm", "result", "report.html"}
    assert "result.vtu" not in names  # --pvtu: nothing gathered for it (result.vtm indexes
    # the ranks' part pieces: tests/test_distributed_pieces.py)
    _pieces_equal_the_serial_vtu(tmp_path / "mpi", tmp_path / "serial" / "result.vtu", 2)
    tj = mpi["thermal"]["junction_temperature_C"]
    assert _relative(tj, serial["thermal"]["junction_temperature_C"]) < 1e-8
    # the heat flows per boundary and path: rank 0 assembles the per-boundary terms again
    # after the solve (solves._heat_result; the ranks solved without them)
    for key in ("heat_out_W", "heat_path_W"):
        flows = serial["thermal"][key]
        assert mpi["thermal"][key].keys() == flows.keys()
        scale = sum(abs(v) for v in flows.values())
        for name, watts in flows.items():
            assert abs(mpi["thermal"][key][name] - watts) < 1e-8 * scale, (key, name)
    for surface, warpage in serial["mechanical"]["warpage_um"].items():
        assert _relative(mpi["mechanical"]["warpage_um"][surface], warpage) < 1e-8
    stats = mpi["solver"]["mechanical"]["linear_solver"]
    assert stats["ranks"] == 2 and stats["method"] == solver
    assert stats["relative_residual"] <= 1e-10
    assert mpi["solver"]["thermal"]["halo"]["rows_sent"] > 0  # the ranks did share rows
    assert done.stdout.count("junction temperature") == 1  # rank 0 alone prints


@needs_mpi
def test_two_ranks_equal_the_serial_2d_plane_strain(tmp_path):
    """2D (blocks of 2 dofs, four z-line colours) on 2 ranks with ``cg-gamg-lines``: each
    rank's dofs in the level order, PETSc's matrix on the rank's arrays, the smoother
    sharing them; same junction temperature and warpage as the serial (direct) run to 1e-8
    (``cg-gmg-global``, the default, in 2D: tests/test_distributed_gmg.py)."""
    text = (ROOT / "meshes/flip_chip.toml").read_text()
    text = text.replace("dimension = 3", "dimension = 2").replace(
        'target_size = "0.5 mm"', 'target_size = "0.2 mm"').replace(
        "[mechanical]\n", '[mechanical]\nplane = "strain"\n')
    model = tmp_path / "model.toml"
    model.write_text(text)
    serial = _serial(model, tmp_path / "serial")
    done = _mpirun(2, "run", str(model), "--out", str(tmp_path / "mpi"), "--backend",
                   "petsc", "--no-figures", "-q", "--solver", "cg-gamg-lines")
    assert done.returncode == 0, done.stderr
    mpi = json.loads((tmp_path / "mpi" / "summary.json").read_text())
    assert mpi["solver"]["mechanical"]["linear_solver"]["ranks"] == 2
    assert mpi["solver"]["mechanical"]["linear_solver"]["method"] == "cg-gamg-lines"
    assert _relative(mpi["thermal"]["junction_temperature_C"],
                     serial["thermal"]["junction_temperature_C"]) < 1e-8
    for surface, warpage in serial["mechanical"]["warpage_um"].items():
        assert _relative(mpi["mechanical"]["warpage_um"][surface], warpage) < 1e-8


def _pieces_equal_the_serial_vtu(out: Path, serial_vtu: Path, ranks: int) -> None:
    """The pvtu set: the index names one piece per rank with the arrays the pieces hold;
    the pieces together hold every cell once, and their vertex temperature and displacement
    equal the serial result.vtu's at the same points to 1e-8 of the field's largest value
    (the solves agree to 1e-8, above)."""
    import xml.etree.ElementTree as ET

    import meshio
    from scipy.spatial import cKDTree

    index = ET.parse(out / "result.pvtu").getroot().find("PUnstructuredGrid")
    sources = [piece.get("Source") for piece in index.iter("Piece")]
    assert sources == [f"result/piece_{r}.vtu" for r in range(ranks)]
    declared = {a.get("Name"): int(a.get("NumberOfComponents"))
                for a in index.find("PPointData").iter("PDataArray")}
    assert declared == {"temperature_C": 1, "displacement_m": 3}
    serial = meshio.read(serial_vtu)
    tree = cKDTree(serial.points)
    cells = 0
    for source in sources:
        piece = meshio.read(out / source)
        cells += len(piece.cells[0].data)
        assert set(piece.point_data) == set(declared)
        distance, match = tree.query(piece.points)
        assert distance.max() < 1e-12
        for name in declared:
            reference = serial.point_data[name]
            error = np.abs(piece.point_data[name] - reference[match]).max()
            assert error <= 1e-8 * np.abs(reference).max(), (name, error)
    assert cells == len(serial.cells[0].data)


@needs_mpi
def test_three_ranks_metis_and_hypre_equal_the_serial_heat(tmp_path):
    """Three ranks: METIS cuts the grid (solves.SLAB_RANKS), BoomerAMG preconditions."""
    model = _model(tmp_path)
    text = model.read_text()
    model.write_text(text[:text.index("[mechanical]")])  # BoomerAMG: heat only (docs/mpi.md)
    serial = _serial(model, tmp_path / "serial")
    done = _mpirun(3, "run", str(model), "--out", str(tmp_path / "mpi"), "--backend",
                   "petsc", "--solver", "cg-hypre", "--no-figures")
    if not _petsc_has("hypre"):  # a pip-built PETSc without --download-hypre: one line
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 2 and len(errors) == 1 and "--download-hypre" in errors[0]
        assert not (tmp_path / "mpi").exists()
        pytest.skip("this PETSc has no hypre (the refusal is checked)")
    assert done.returncode == 0, done.stderr
    mpi = json.loads((tmp_path / "mpi" / "summary.json").read_text())
    assert _relative(mpi["thermal"]["junction_temperature_C"],
                     serial["thermal"]["junction_temperature_C"]) < 1e-8
    assert mpi["solver"]["thermal"]["linear_solver"] == "cg-hypre"
    assert mpi["solver"]["thermal"]["ranks"] == 3
    assert {p.name for p in (tmp_path / "mpi").iterdir()} >= {  # gathered on rank 0
        "summary.json", "result.vtu", "result.vtm", "report.html"}


@needs_mpi
def test_bad_input_is_reported_once_with_exit_2(tmp_path):
    model = _model(tmp_path)
    model.write_text(model.read_text().replace('power = { die = "5 W" }',
                                               'power = { die = "5 parsecs" }'))
    done = _mpirun(2, "run", str(model), "--out", str(tmp_path / "o"), "--backend", "petsc")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "thermal.power" in lines[0], done.stderr
    assert not (tmp_path / "o").exists()


@needs_mpi
def test_a_solver_failure_ends_every_rank_with_exit_3(tmp_path):
    model = _model(tmp_path)
    done = _mpirun(2, "run", str(model), "--out", str(tmp_path / "o"), "--backend", "petsc",
                   env={"PETSC_OPTIONS": "-ksp_max_it 3"})
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if "solver error" in line]
    assert len(lines) == 1 and "did not converge" in lines[0]


ONE_RANK_FAILS = """
from mpi4py import MPI
from thermomech.distributed.mpi import abort_on_failure
from thermomech.errors import SolverError
comm = MPI.COMM_WORLD
with abort_on_failure(comm):
    if comm.rank == 1:
        raise SolverError("only this rank failed")
    comm.barrier()  # rank 0 would wait here forever without the abort
"""


@needs_mpi
def test_a_failure_on_one_rank_aborts_all_without_a_hang():
    done = _mpirun(2, module=("-c", ONE_RANK_FAILS))  # _mpirun's timeout: a hang fails
    assert done.returncode == 3, done.stderr
    assert "rank 1 of 2: solver error: only this rank failed; aborting all ranks" in \
        done.stderr


# --- the distributed operator on one rank (petsc4py, no mpiexec) ----------------------------

def test_numbering_keeps_each_ranks_dofs_in_the_given_order():
    """``within``: each rank's block in that order (the level order the line smoother
    reads its matrix in), ranks still contiguous."""
    owner = np.array([1, 0, 0, 1, 0])
    numbering = Numbering(owner, np.array([3]), 2, within=np.array([4, 3, 2, 1, 0]))
    assert numbering.order.tolist() == [4, 2, 1, 3, 0]
    assert numbering.bounds.tolist() == [0, 3, 5]
    assert numbering.free.tolist() == [4, 2, 1, 0]


@pytest.mark.skipif(not _have("petsc4py", "mpi4py"), reason="petsc4py is not installed here")
def test_operator_is_the_condensed_matrix_on_arrays_petsc_shares():
    """``system.operator`` on one rank: PETSc's matrix is K with the fixed rows and columns
    replaced by ``scale`` times the identity, in the numbering's order, and its diagonal
    block is ``op.diagonal``'s arrays themselves (no copy: the line smoother's matrix);
    the block size survives the split-array constructor."""
    import scipy.sparse as sp
    from mpi4py import MPI

    from thermomech.distributed import system
    from thermomech.distributed.mpi import petsc

    _, PETSc = petsc()
    n = 42
    A = sp.random(n, n, density=0.2, random_state=7, format="csr")
    K = (A + A.T + 10 * sp.eye(n)).tocsr()
    fixed = np.array([3, 17, 30])
    numbering = Numbering(np.zeros(n, dtype=np.int64), fixed, 1,
                          within=np.random.default_rng(8).permutation(n // 3).repeat(3) * 3
                          + np.tile(np.arange(3), n // 3))
    op = system.operator(MPI.COMM_SELF, PETSc, numbering,
                         [system.Contribution(np.arange(n), K.copy())], block_size=3)
    assert op.matrix.getBlockSize() == 3  # GAMG aggregates whole nodes (lost: 231 -> 326
    # CG iterations at 97k warpage unknowns on 2 ranks)
    free = np.setdiff1d(np.arange(n), fixed)
    expected = np.zeros((n, n))
    expected[np.ix_(free, free)] = K[free][:, free].toarray()
    expected[fixed, fixed] = op.scale
    assert op.scale == pytest.approx(K.diagonal()[free].mean())
    order = numbering.order
    x = np.random.default_rng(9).standard_normal(n)
    vx, vy = op.matrix.createVecs()
    vx.setArray(x[order])
    op.matrix.mult(vx, vy)
    assert np.allclose(vy.getArray(), (expected @ x)[order], rtol=1e-14, atol=1e-12)
    assert np.allclose(op.diagonal.toarray(), expected[np.ix_(order, order)], atol=0)
    op.diagonal.data[:] *= 2.0  # the same memory: PETSc's product doubles
    op.matrix.mult(vx, vy)
    assert np.allclose(vy.getArray(), 2 * (expected @ x)[order], rtol=1e-14, atol=1e-12)
    op.destroy()


MAPPED = """
import ctypes, numpy as np
from thermomech.distributed.mpi import large_blocks_mapped
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1])
libc = ctypes.CDLL(None)  # M_MMAP_MAX 0, M_TRIM_THRESHOLD off: as after PetscInitialize
libc.mallopt(-4, 0), libc.mallopt(-1, 2**31 - 1)
if {restore}:
    assert large_blocks_mapped()
blocks = [np.ones(5_000_000) for _ in range(10)]  # 400 MB
before = rss()
del blocks
print((before - rss()) / 1e3)  # MB given back
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, /proc")
def test_freed_arrays_go_back_to_the_system_after_large_blocks_mapped():
    """With mmap off (what PETSc's initialization leaves) a freed 400 MB stays in the
    process; after ``large_blocks_mapped`` it goes back (a rank's resident memory is then
    what it holds, not the sum of every phase's temporaries)."""
    given_back = {}
    for restore in (False, True):
        out = subprocess.run([sys.executable, "-c", MAPPED.format(restore=restore)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        given_back[restore] = float(out.stdout)
    assert given_back[False] < 50 and given_back[True] > 350, given_back


PETSC_MAPPED = """
import numpy as np
from thermomech.distributed.mpi import petsc
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1])
petsc()  # initializes PETSc, then large_blocks_mapped
blocks = [np.ones(5_000_000) for _ in range(10)]  # 400 MB
before = rss()
del blocks
print((before - rss()) / 1e3)  # MB given back
"""


@pytest.mark.skipif(not (sys.platform.startswith("linux") and _have("petsc4py", "mpi4py")),
                    reason="petsc4py, mpi4py and /proc are not all here")
def test_freed_arrays_go_back_to_the_system_once_the_backend_has_started_petsc():
    """The backend's own start (``distributed.mpi.petsc``): PETSc initialized, then freed
    NumPy arrays still go back (measured without the mallopt: 0 of 400 MB)."""
    out = subprocess.run([sys.executable, "-c", PETSC_MAPPED], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert float(out.stdout.split()[-1]) > 350, out.stdout
