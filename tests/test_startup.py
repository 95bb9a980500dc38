"""The command's start-up: NumPy submodules SciPy's import would load are deferred, and
still work when used (thermomech.startup)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return done.stdout.strip()


def test_scipy_sparse_loads_without_f2py_and_testing_once_deferred():
    code = ("import sys; from thermomech.startup import defer_unused_numpy_modules as d; "
            "print(d()); import scipy.sparse, skfem; "
            "loaded = lambda m: m in sys.modules and type(sys.modules[m]).__name__ != "
            "'_LazyModule'; print([m for m in ('numpy.f2py', 'numpy.testing', 'unittest', "
            "'charset_normalizer') if loaded(m)])")
    deferred, loaded = _python(code).splitlines()
    assert deferred == "['numpy.f2py', 'numpy.testing']"
    assert loaded == "[]"


def test_deferred_modules_work_on_first_use():
    code = ("from thermomech.startup import defer_unused_numpy_modules as d; d(); "
            "import numpy as np, scipy.sparse; import numpy.testing as t; "
            "from numpy.testing import assert_allclose; assert_allclose([1.0], [1.0]); "
            "print(t.assert_equal is np.testing.assert_equal, callable(np.f2py.get_include))")
    assert _python(code) == "True True"


def test_a_module_already_imported_is_left_alone():
    code = ("import numpy.testing, sys; from thermomech.startup import "
            "defer_unused_numpy_modules as d; m = sys.modules['numpy.testing']; "
            "print(d(('numpy.testing',)), sys.modules['numpy.testing'] is m)")
    assert _python(code) == "[] True"
