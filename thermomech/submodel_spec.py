"""The ``[submodel]`` section: the region of a local model and its resolution.

``thermomech submodel MODEL.toml`` solves the model's analyses (the global model), then a
local model of the region at ``resolution``, driven on its cut faces by the global
displacements (and, with ``thermal_submodel``, a local heat solve by the global
temperatures); see :mod:`thermomech.submodel` and docs/submodel.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelError
from .parameters import param


@dataclass(frozen=True)
class SubmodelSpec:
    """A box region of the package (package coordinates, the whole package even when the
    global model is a symmetric part of it) and the local target cell size (m)."""

    x: tuple[float, float] = param((-0.5e-3, 0.5e-3), "length", "region in x: [lo, hi]")
    y: tuple[float, float] = param((-0.5e-3, 0.5e-3), "length", "region in y: [lo, hi] "
                                   "(ignored in 2D: the section is y = 0)")
    z: tuple[float, float] = param((0.0, 1e-3), "length", "region in z: [lo, hi]")
    resolution: float | None = param(None, "length", "target cell size of the local mesh "
                                     "(default: a quarter of mesh.target_size)")
    thermal_submodel: bool = param(False, None, "solve a local heat problem driven by the "
                                   "global temperatures on the cut faces (default: the "
                                   "global temperature field, interpolated)")

    def __post_init__(self):
        for axis in ("x", "y", "z"):
            lo, hi = getattr(self, axis)
            if not hi > lo:
                raise ModelError(axis, f"must be an interval [lo, hi] with hi > lo, got "
                                       f"[{lo * 1e3:g}, {hi * 1e3:g}] mm")
        if self.resolution is not None and not self.resolution > 0:
            raise ModelError("resolution", f"must be > 0, got {self.resolution * 1e3:g} mm")

    def region(self, dimension: int) -> tuple[tuple[float, float], ...]:
        """The region as one interval per mesh axis (m): (x, y, z), or (x, z) in 2D."""
        return (self.x, self.y, self.z) if dimension == 3 else (self.x, self.z)
