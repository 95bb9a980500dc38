"""Solder joints of a meshed package and their shear strain, averaged over a layer at each
pad (issue 17; PHYSICS_NEXT.md 6.1: "the FE shear-strain range of the critical joint,
volume-averaged over the interface layer").

A joint is one column of the joint part (discrete balls: a square column of the ball's
cross-section area): its boxes of one x-y footprint (``layered_joints`` cuts each at the
averaging layers, so that the mesh has cell faces there). Its engineering shear strains
``gamma_xz = du_x/dz + du_z/dx`` and ``gamma_yz`` are averaged over the layer
``[z_bottom, z_bottom + t]`` (board side) and ``[z_top - t, z_top]`` (package side) of its
modelled section by a Gauss-Legendre rule of the finite-element field (4 x 4 x 2 points
per layer: exact for the quadratic elements' strain when the layer lies in one cell).
History values at the quadrature points (the creep energy, stress) are averaged over the
points in the layer (``pad_layer_keys``: exact volume averages when the layer is a row of
cells). On a half or quarter model, a joint centred on a symmetry plane is cut in two: the
component that is odd across that plane averages to zero over the whole joint and is set
to zero, the even one is the modelled half's mean.

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
from .geometry import Box, Layout
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
    footprints = np.array([[b.x[0], b.y[0], b.x[1], b.y[1]] for b in boxes])
    keys, which = np.unique(footprints, axis=0, return_inverse=True)
    which = which.ravel()
    lo, hi = keys[:, :2], keys[:, 2:]
    z = np.column_stack([
        np.full(len(keys), np.inf), np.full(len(keys), -np.inf)])
    np.minimum.at(z[:, 0], which, [b.z[0] for b in boxes])
    np.maximum.at(z[:, 1], which, [b.z[1] for b in boxes])
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


def layered_joints(layout, part: str, thickness: float):
    """``layout`` with every box of ``part`` cut in z at ``thickness`` above its bottom and
    below its top (same part and material): the averaging layers become rows of cells.
    Boxes thinner than three layers are kept whole."""
    boxes = []
    for b in layout.boxes:
        if b.part != part or b.z[1] - b.z[0] <= 3 * thickness:
            boxes.append(b)
            continue
        cuts = (b.z[0], b.z[0] + thickness, b.z[1] - thickness, b.z[1])
        boxes += [Box(b.part, b.material, b.x, b.y, (lo, hi))
                  for lo, hi in zip(cuts[:-1], cuts[1:])]
    return Layout(tuple(boxes), layout.materials, layout.dies)


def pad_layer_keys(joints: Joints, points: np.ndarray, thickness: float) -> np.ndarray:
    """(c, q) ``2 joint + pad`` of each quadrature point (3, c, q) m lying in a joint's
    board-side (pad 0) or package-side (pad 1) averaging layer, -1 elsewhere."""
    x, y, z = points
    key = np.full(x.shape, -1, dtype=np.int64)
    slack = 1e-9 * float(np.max(joints.height))
    for j in range(joints.count):  # joints, not points: the points are vectorized
        inside = ((x >= joints.lower[j, 0]) & (x <= joints.upper[j, 0])
                  & (y >= joints.lower[j, 1]) & (y <= joints.upper[j, 1]))
        key[inside & (z <= joints.bottom[j] + thickness + slack)] = 2 * j
        key[inside & (z >= joints.top[j] - thickness - slack)] = 2 * j + 1
    return key


def pad_average(values: np.ndarray, key: np.ndarray, weights: np.ndarray, count: int
                ) -> np.ndarray:
    """(..., n, 2) volume averages over each joint's pad layers of ``values`` (..., c, q)
    at the points of ``key`` (c, q) (``pad_layer_keys``) with ``weights`` (c, q) m^3."""
    hit = key >= 0
    volume = np.bincount(key[hit], weights[hit], minlength=2 * count)
    flat = values[..., hit].reshape(-1, int(hit.sum()))
    sums = np.array([np.bincount(key[hit], v * weights[hit], minlength=2 * count)
                     for v in flat])
    mean = sums / np.where(volume > 0, volume, np.nan)
    return mean.reshape(values.shape[:-2] + (count, 2))


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
    """The material-point energy of docs/reliability.md (a comparison for the FE creep):
    the FE pad-layer shear strains taken linear in the temperature,
    ``gamma = g (T - T_start)`` with ``g`` from the last cycle's ``history`` (n, 2, k, 2)
    at ``temperatures`` (k,) degC, imposed on a material point of the joint's solder
    (``strain_path``: the other stresses zero) through every step of the cycle,
    ``spec.creep_substeps`` backward-Euler steps per ramp or dwell."""
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
                         f"FE pad-layer shear strains (linear in T)")


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


@dataclass(frozen=True)
class JointCreep:
    """Per joint from the FE creep of the cycle (n joints, c cycles, k increments):
    ``per_cycle`` (c, n, 2) inelastic energy density dissipated in each cycle, volume
    averaged over each pad layer, J/m^3; ``energy`` (n,) that of the last cycle at the pad
    where it is larger (``pad`` (n,)); ``creep_range`` (n,) the range of the pad-averaged
    creep shear strains (gamma_xz, gamma_yz) over the last cycle at that pad; ``stress``
    (n, 2, k, 2) the pad-averaged shear stresses (tau_xz, tau_yz) Pa at every increment."""

    per_cycle: np.ndarray
    energy: np.ndarray
    pad: np.ndarray
    creep_range: np.ndarray
    stress: np.ndarray

    @property
    def cycle_change(self) -> np.ndarray:
        """(n,) relative change of the energy per cycle from the last cycle but one to the
        last (at the last cycle's pad): how far the hysteresis has stabilized."""
        if len(self.per_cycle) < 2:
            return np.full(len(self.energy), np.nan)
        rows = np.arange(len(self.energy))
        last, before = self.per_cycle[-1][rows, self.pad], self.per_cycle[-2][rows, self.pad]
        return (last - before) / np.where(last > 0, last, np.nan)


def joint_creep(increments, cycle_of_step, joints: Joints, part: int, thickness: float
                ) -> JointCreep:
    """:class:`JointCreep` from the process increments (their ``creep`` records of the
    joints' part index ``part``); ``cycle_of_step`` (steps,) the cycle of each step (0: the
    lead-in)."""
    records = [next(r for r in inc.creep if r.part == part) for inc in increments]
    key = pad_layer_keys(joints, records[0].points, thickness)
    weights = records[0].weights
    energy = pad_average(np.stack([r.energy for r in records]), key, weights, joints.count)
    shear = [4, 3]  # (gamma_xz, gamma_yz), (tau_xz, tau_yz) in Voigt order
    stress = pad_average(np.stack([r.stress[shear] for r in records]), key, weights,
                         joints.count)  # (k, 2, n, 2)
    creep = pad_average(np.stack([r.creep_strain[shear] for r in records]), key, weights,
                        joints.count)
    for field in (stress, creep):  # odd across the symmetry plane the joint is centred on
        field[:, 0, joints.on_plane[:, 0]] = 0.0
        field[:, 1, joints.on_plane[:, 1]] = 0.0
    cycle = np.asarray(cycle_of_step)[[inc.step for inc in increments]]
    ends = [int(np.flatnonzero(cycle <= c)[-1]) for c in range(int(cycle.max()) + 1)]
    per_cycle = np.stack([energy[b] - energy[a] for a, b in zip(ends[:-1], ends[1:])])
    pad = per_cycle[-1].argmax(axis=1)
    rows = np.arange(joints.count)
    last = slice(ends[-2], None)
    creep_last = creep[last].transpose(2, 3, 0, 1)  # (n, 2 pads, k, 2)
    return JointCreep(per_cycle, per_cycle[-1][rows, pad],
                      pad, shear_range(creep_last)[rows, pad], stress.transpose(2, 3, 0, 1))
