"""The material model of one increment of a process recipe (``process.solve_process``):
the elastic model with the parts' activation temperatures, their birth offsets eps0, the
cure shrinkage released, the active set, the per-point activation temperatures of parts
born at a temperature field and the history stress of the viscoelastic parts.
Units: m, Pa, degC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import process_temperature as thermal_steps
from .elasticity import ElasticModel


@dataclass(frozen=True)
class ProcessModel(ElasticModel):
    """The material model of one increment: ``ElasticModel`` with the stress-free
    temperatures set to the activation temperatures, and

    shrinkage : (parts,) linear cure shrinkage released so far (eps_ch = -shrinkage I);
    active : (parts,) bool, inactive parts carry no stress;
    births : ((part index, displacement at its birth (N,) m), ...): eps0 of the part's
        cells is the strain of that displacement;
    space : the displacement space;
    activation_fields : ((part index, nodal T_act (N_T,) degC), ...) on
        ``activation_space``: parts born while the temperature was a field, stress-free at
        it point by point (``process_temperature``);
    history : ((cells, sigma_hist (6, cells, points) Pa), ...) of the viscoelastic parts
        (``process_visco``): added to the stress, per point at the quadrature points and
        as the cell mean elsewhere.
    """

    shrinkage: np.ndarray = None
    active: np.ndarray = None
    births: tuple = ()
    space: object = None
    activation_fields: tuple = ()
    activation_space: object = None
    history: tuple = ()

    def thermal_strain(self, part: np.ndarray, T) -> np.ndarray:
        """eps_th + eps_ch (normal strains, see ``ElasticModel.thermal_strain``)."""
        strain = super().thermal_strain(part, T)
        shrink = self.shrinkage[part].reshape((1, len(part)) + (1,) * (strain.ndim - 2))
        return strain - shrink

    def thermal_stress(self, part: np.ndarray, strain: np.ndarray) -> np.ndarray:
        """The load density of ``ElasticModel.thermal_stress``, zero on inactive parts."""
        out = super().thermal_stress(part, strain)
        return out * self.active[part].reshape((1, len(part)) + (1,) * (out.ndim - 2))

    def stress(self, part, grad, T, coords, generalized_strain=None, cells=None):
        """(6, ...) Pa: C (eps(u) - eps0 - eps_th - eps_ch) on active parts, 0 elsewhere.
        ``cells`` (points,) the cell of each point (None: every cell at the quadrature
        points of ``space.basis``, or located)."""
        offset = self._birth_gradient(part, grad, coords, cells)
        out = super().stress(part, grad - offset, T, coords, generalized_strain)
        if self.activation_fields:
            out -= thermal_steps.activation_stress(self, part, coords, cells, generalized_strain)
        if generalized_strain is not None:  # eps0_yy = g_birth . (1, x, z) of born parts
            n = self.space.N
            for index, u in self.births:
                mask = part == index
                g = u[n:]
                out[:, mask] -= self.stiffness[index][:, 1].reshape(
                    (6,) + (1,) * (out.ndim - 1)) * (g[0] + g[1] * coords[0][mask]
                                                     + g[2] * coords[1][mask])
        self._add_history(out, cells, coords)
        return out * self.active[part].reshape((1, len(part)) + (1,) * (out.ndim - 2))

    def _add_history(self, out: np.ndarray, cells, coords) -> None:
        """Add sigma_hist of the viscoelastic parts to ``out`` (6, cells, points)."""
        for where, offset in self.history:
            if cells is None and out.shape[1:] == (self.space.basis.nelems, offset.shape[2]):
                out[:, where] += offset
                continue
            if cells is None:
                cells = self.space.locate(coords[..., 0])
            row = np.clip(np.searchsorted(where, cells), 0, len(where) - 1)
            hit = where[row] == cells
            out[:, hit] += offset.mean(axis=2)[:, row[hit], None]

    def _birth_gradient(self, part, grad, coords, cells) -> np.ndarray:
        """The displacement gradient whose strain is eps0, at the points of ``grad``."""
        offset = np.zeros_like(grad)
        if not self.births:
            return offset
        basis = self.space.basis if cells is None else None
        if basis is not None and grad.shape[2:] == (basis.nelems, basis.X.shape[-1]):
            for index, u in self.births:
                mask = part == index
                offset[:, :, mask] = basis.interpolate(u[:self.space.N]).grad[:, :, mask]
            return offset
        points = coords[..., 0]
        cells = self.space.locate(points) if cells is None else np.asarray(cells)
        for index, u in self.births:
            mask = part == index
            if np.any(mask):
                offset[:, :, mask, 0] = self.space.evaluate(u, points[:, mask],
                                                            cells[mask])[1]
        return offset
