"""Solder-joint maps: a value per joint drawn as the joint's footprint, seen from above; a
half or quarter model mirrored to the full package."""

from __future__ import annotations

import numpy as np

MIRRORS = {"none": [(1, 1)], "half": [(1, 1), (-1, 1)],
           "quarter": [(1, 1), (-1, 1), (1, -1), (-1, -1)]}


def mirrored_joints(centres: np.ndarray, side: np.ndarray, values: np.ndarray,
                    symmetry: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (m, 2), sides (m, 2) and values (m,) of every joint of the full package: the
    meshed ones and their mirror images (a joint on a mirror plane once)."""
    out_c, out_s, out_v = [], [], []
    for sx, sy in MIRRORS[symmetry]:
        keep = np.ones(len(centres), dtype=bool)
        if sx < 0:
            keep &= centres[:, 0] > 1e-12
        if sy < 0:
            keep &= centres[:, 1] > 1e-12
        out_c.append(centres[keep] * np.array([sx, sy]))
        out_s.append(side[keep])
        out_v.append(values[keep])
    return np.concatenate(out_c), np.concatenate(out_s), np.concatenate(out_v)


def plot_joint_map(joints, values: np.ndarray, symmetry: str = "none", ax=None, *,
                   label: str = "", highlight: int | None = None, cmap: str = "viridis"):
    """Each joint's footprint (mm) coloured by ``values`` (one per joint of ``joints``, a
    ``solder_joints.Joints``); the joint ``highlight`` (and its mirror images) outlined in
    red. Returns the Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    if ax is None:
        _, ax = plt.subplots()
    centres, sides, shown = mirrored_joints(joints.centres, joints.side,
                                            np.asarray(values, dtype=float), symmetry)
    patches = [Rectangle(((c - s / 2) * 1e3), *(s * 1e3)) for c, s in zip(centres, sides)]
    collection = PatchCollection(patches, cmap=cmap)
    collection.set_array(np.ma.masked_invalid(shown))
    ax.add_collection(collection)
    ax.figure.colorbar(collection, ax=ax, label=label)
    if highlight is not None:
        c, s, _ = mirrored_joints(joints.centres[highlight:highlight + 1],
                                  joints.side[highlight:highlight + 1], np.zeros(1), symmetry)
        for centre, side in zip(c, s):
            ax.add_patch(Rectangle((centre - side / 2) * 1e3, *(side * 1e3), fill=False,
                                   edgecolor="red", linewidth=1.5))
    pad = np.max(sides) * 1e3
    ax.set_xlim(centres[:, 0].min() * 1e3 - pad, centres[:, 0].max() * 1e3 + pad)
    ax.set_ylim(centres[:, 1].min() * 1e3 - pad, centres[:, 1].max() * 1e3 + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    return ax
