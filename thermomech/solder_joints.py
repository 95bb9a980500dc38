"""Solder joints of a meshed package and their shear strain, averaged over a layer at each
pad (issue 17; PHYSICS_NEXT.md 6.1: "the FE shear-strain range of the critical joint,
volume-averaged over the interface layer").

A joint is one box of the joint part (discrete balls: a square column of the ball's
cross-section area). Its engineering shear strains ``gamma_xz = du_x/dz + du_z/dx`` and
``gamma_yz`` are averaged over the layer ``[z_bottom, z_bottom + t]`` (board side) and
``[z_top - t, z_top]`` (package side) of its modelled section by a Gauss-Legendre rule of
the finite-element field (4 x 4 x 2 points per layer: exact for the quadratic elements'
strain when the layer lies in one cell). On a half or quarter model, a joint centred on a
symmetry plane is cut in two: the component that is odd across that plane averages to zero
over the whole joint and is set to zero, the even one is the modelled half's mean.

The shear-strain range of a pad over a cycle is the largest distance between two of its
(gamma_xz, gamma_yz) states; the joint's range is the larger of its two pads'. DNP is the
distance of the joint's centre from the package centre (0, 0), the neutral point of the
centred families. Lengths m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .creep_paths import strain_path
from .errors import ModelError
from .solder_creep import ANAND, solder_creep_material

PADS = ("board_side", "package_side")
_GAUSS_XY, _GAUSS_Z = 4, 2


@dataclass(frozen=True)
class Joints:
    """The joints in the meshed region (n joints).

    centres : (n, 2) x, y of each joint's centre, m (in the meshed region).
    lower, upper : (n, 2) the modelled section (clipped to the symmetry planes), m.
    bottom, top : (n,) z of the board-side and package-side pads, m.
    on_plane : (n, 2) True where the centre lies on the x = 0 / y = 0 symmetry plane.
    side : (n, 2) full width of each joint in x, y, m.
    """

    centres: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    bottom: np.ndarray
    top: np.ndarray
    on_plane: np.ndarray
    side: np.ndarray

    @property
    def count(self) -> int:
        return len(self.centres)

    @property
    def dnp(self) -> np.ndarray:
        """(n,) distance to the neutral point (0, 0), m."""
        return np.hypot(self.centres[:, 0], self.centres[:, 1])

    @property
    def height(self) -> np.ndarray:
        return self.top - self.bottom


def find_joints(package, part: str, field: str = "reliability.joints") -> Joints:
    """The boxes of ``part`` in the package's layout that lie (partly) in the meshed region.
    A ModelError when the part does not exist or is a homogenized layer (one box of a
    mixed material: the balls must be discrete)."""
    boxes = [b for b in package.layout.boxes if b.part == part]
    if not boxes:
        raise ModelError(field, f"no part {part!r} in this model; parts: "
                                f"{', '.join(package.layout.parts)}")
    if any(b.material in package.layout.materials for b in boxes):
        raise ModelError("package.ball_model", f"the joints ({part!r}) are a homogenized "
                                               f"layer: set ball_model = \"discrete\" (one "
                                               f"column per ball)")
    lo = np.array([[b.x[0], b.y[0]] for b in boxes])
    hi = np.array([[b.x[1], b.y[1]] for b in boxes])
    z = np.array([b.z for b in boxes])
    cut = {"none": (False, False), "half": (True, False), "quarter": (True, True)}[
        package.symmetry]
    lower = lo.copy()
    for axis, clipped in enumerate(cut):
        if clipped:
            lower[:, axis] = np.maximum(lo[:, axis], 0.0)
    keep = np.all(hi > lower + 1e-12 * np.abs(hi - lo), axis=1)
    centres = 0.5 * (lo + hi)
    tol = 1e-9 * np.max(hi - lo)
    on_plane = np.column_stack([cut[a] & (np.abs(centres[:, a]) < tol) for a in (0, 1)])
    return Joints(centres[keep], lower[keep], hi[keep], z[keep, 0], z[keep, 1],
                  on_plane[keep], (hi - lo)[keep])


def pad_points(joints: Joints, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss points of the averaging layers: points (3, n, 2 pads, q) m and weights
    (n, 2, q) summing to 1 per joint and pad. A ModelError when the layer is thicker than
    half a joint."""
    if np.any(2 * thickness > joints.height):
        raise ModelError("reliability.layer_thickness", f"{thickness * 1e6:g} um is more than "
                                                        f"half the joint height "
                                                        f"({joints.height.min() * 1e6:g} um)")
    gx, wx = np.polynomial.legendre.leggauss(_GAUSS_XY)
    gz, wz = np.polynomial.legendre.leggauss(_GAUSS_Z)
    a, b, c = np.meshgrid(gx, gx, gz, indexing="ij")
    weights = np.einsum("i,j,k->ijk", wx, wx, wz).ravel() / 8.0  # sums to 1
    mid = 0.5 * (joints.lower + joints.upper)
    half = 0.5 * (joints.upper - joints.lower)
    x = mid[:, 0, None] + half[:, 0, None] * a.ravel()
    y = mid[:, 1, None] + half[:, 1, None] * b.ravel()
    z_mid = np.stack([joints.bottom + thickness / 2, joints.top - thickness / 2], axis=1)
    z = z_mid[:, :, None] + thickness / 2 * c.ravel()
    shape = z.shape
    points = np.stack([np.broadcast_to(x[:, None], shape), np.broadcast_to(y[:, None], shape),
                       z])
    return points, np.broadcast_to(weights, shape)


def pad_shear(result, joints: Joints, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, 2 pads, 2) layer-averaged engineering shear strains (gamma_xz, gamma_yz) of one
    displacement solution (a ``WarpageResult``)."""
    flat = points.reshape(3, -1)
    _, grad = result.space.evaluate(result.displacement, flat,
                                    result.space.locate(flat, "reliability.joints"))
    gamma = np.stack([grad[0, 2] + grad[2, 0], grad[1, 2] + grad[2, 1]])  # (2, points)
    gamma = gamma.reshape((2,) + weights.shape)
    mean = np.einsum("cnpq,npq->npc", gamma, weights)
    mean[joints.on_plane[:, 0], :, 0] = 0.0  # gamma_xz is odd across x = 0
    mean[joints.on_plane[:, 1], :, 1] = 0.0  # gamma_yz is odd across y = 0
    return mean


def shear_range(history: np.ndarray) -> np.ndarray:
    """(n, 2 pads) range of the shear-strain vector over a history (n, 2, k, 2): the
    largest distance between two of its states."""
    difference = history[:, :, :, None, :] - history[:, :, None, :, :]
    return np.sqrt((difference ** 2).sum(axis=-1)).max(axis=(-1, -2))


@dataclass(frozen=True)
class CreepEstimate:
    """Per joint: the inelastic energy density dissipated in the last cycle (n,) J/m^3 and
    the range of the creep shear strain (gamma_xz, gamma_yz) over it (n,), at the pad of
    the larger elastic range; ``note`` says why there is none."""

    energy: np.ndarray | None
    creep_range: np.ndarray | None
    note: str


def creep_estimate(spec, steps, joints: Joints, history: np.ndarray, temperatures,
                   material: str) -> CreepEstimate:
    """The energy estimate of docs/reliability.md: the elastic FE pad-layer shear strains
    are linear in the temperature, ``gamma = g (T - T_start)`` with ``g`` from the last
    cycle's ``history`` (n, 2, k, 2) at ``temperatures`` (k,) degC; imposed on a material
    point of the joint's solder (``strain_path``: the other stresses zero) through every
    step of the cycle, ``spec.creep_substeps`` backward-Euler steps per ramp or dwell."""
    if spec.solder_creep == "none":
        return CreepEstimate(None, None, "reliability.solder_creep = \"none\"")
    if material not in ANAND:
        return CreepEstimate(None, None, f"no published creep constants for the joints' "
                                         f"material {material!r} (known: {', '.join(ANAND)})")
    T = np.asarray(temperatures, dtype=float)
    hot, cold = int(np.argmax(T)), int(np.argmin(T))
    slope = (history[:, :, hot] - history[:, :, cold]) / (T[hot] - T[cold])  # (n, 2, 2)
    pad = shear_range(history).argmax(axis=1)
    g = slope[np.arange(joints.count), pad]  # (n, 2)
    times, profile, last = _profile(spec, steps)
    path = strain_path(solder_creep_material(material, spec.solder_creep), times,
                       g[None] * (profile - spec.start_temperature)[:, None, None],
                       [4, 3], profile)
    energy = path.energy[-1] - path.energy[last]
    creep = path.creep_strain[last:][:, :, [4, 3]].transpose(1, 0, 2)[:, None]
    return CreepEstimate(energy, shear_range(creep)[:, 0],
                         f"{spec.solder_creep} ({material}), material point driven by the "
                         f"elastic FE shear strains")


def _profile(spec, steps) -> tuple[np.ndarray, np.ndarray, int]:
    """Times (s), temperatures (degC) of the cycle at the material-point steps, and the
    index where the last cycle starts."""
    times, temps = [0.0], [spec.start_temperature]
    last = 0
    for step in steps:
        if step.cycle == spec.cycles and not last:
            last = len(times) - 1
        end = temps[-1] if step.step.temperature is None else float(step.step.temperature)
        fraction = np.arange(1, spec.creep_substeps + 1) / spec.creep_substeps
        times += list(times[-1] + step.duration * fraction)
        temps += list(temps[-1] + (end - temps[-1]) * fraction)
    return np.array(times), np.array(temps), last
