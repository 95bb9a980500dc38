"""What the ``thermomech`` command does before it imports NumPy-based code (start-up time).

SciPy's array-API shim (``scipy._lib.array_api_compat.numpy``, imported by
``scipy.sparse``) copies NumPy's namespace with ``from numpy import *``, and NumPy 2 lists
its lazily loaded submodules in ``numpy.__all__``: ``numpy.f2py`` (with
``charset_normalizer``) and ``numpy.testing`` (with ``unittest``) were imported by every
``thermomech run`` and by its figure helper, 0.07-0.09 s CPU in each, though neither is used.
:func:`defer_unused_numpy_modules` registers those two as lazy modules (the standard
library's ``importlib.util.LazyLoader``): the name exists at once, the module is executed on
its first attribute access, so ``numpy.testing.assert_allclose`` still works wherever it is
used. Only the command's own processes call it (``cli.main``, the figure helper); a module
already imported is left as it is.
"""

from __future__ import annotations

import importlib.util
import sys

UNUSED_NUMPY_MODULES = ("numpy.f2py", "numpy.testing")
"""NumPy submodules a run never uses that SciPy's import would load (see the module doc)."""


def defer_unused_numpy_modules(names=UNUSED_NUMPY_MODULES) -> list[str]:
    """Register each of ``names`` (NumPy submodules not imported yet) as a lazy module: it
    is loaded when one of its attributes is first used. Returns the names deferred (none if
    NumPy cannot be found)."""
    deferred = []
    for name in names:
        if name in sys.modules:
            continue
        parent_name, _, child = name.rpartition(".")
        try:
            parent = importlib.import_module(parent_name)
            spec = importlib.util.find_spec(name)
        except ImportError:
            continue
        if spec is None or spec.loader is None:
            continue
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)  # lazy: runs the module on the first attribute access
        # ``import numpy.f2py as f2py`` (NumPy's __getattr__) reads the parent's attribute
        setattr(parent, child, module)
        deferred.append(name)
    return deferred
