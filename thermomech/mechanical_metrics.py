"""Engineering numbers from a warpage solve: warpage of named surfaces, stresses, interfaces.

Warpage (as COMSOL's warpage evaluation and JEDEC JESD22-B112 coplanarity): the out-of-plane
displacement u_z of a surface's nodes minus the least-squares best-fit plane (area-weighted;
in a symmetric model the plane is fitted to the mirrored surface, i.e. without slopes across
symmetry planes), reported as

- ``peak_to_valley`` (m): max - min of that deviation;
- ``center_minus_corner`` (m): deviation at the node nearest the package centre minus the
  deviation at the surface node farthest from it. ``sign_convention="center_up_positive"``
  (MODEL_FILE.md, the default): positive when the centre is higher (+z) than the corners.
  ``"center_down_positive"`` flips the sign (conventions differ between JEDEC and JEITA
  documents; state which one a report uses);
- ``shape``: with +z up (die side up), centre higher = "convex (cry, centre up)", centre
  lower = "concave (smile, centre down)";
- ``curvature`` (1/m): from a least-squares fit u_z = c + ... - (k_x x^2 + k_y y^2) / 2 - k_xy xy;
  positive = convex (centre up).

Stresses: von Mises and principal stresses at the quadrature points (no extrapolation), in Pa.
Interface stresses (peel = normal s_zz, shear = resultant of s_xz, s_yz) are evaluated on a
path from the die centre to its corner. The bimaterial corner is singular: corner values grow
with refinement and are reported with the mesh size there, never as converged values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ModelError
from .meshing import Faces, MeshedPackage, face_areas
from .results import WarpageResult

SINGULAR_NOTE = ("bimaterial corner: the elastic stress is singular there and this value grows "
                 "with mesh refinement; quoted with the mesh size, not a converged value")


# --- surfaces ------------------------------------------------------------------------------

def surface_nodes(package: MeshedPackage, faces: Faces) -> tuple[np.ndarray, np.ndarray]:
    """(nodes,) mesh vertices on ``faces`` and (nodes,) their tributary areas (m^2; 2D: m)."""
    t = package.mesh.t[:, faces.cells]  # (vertices per cell, faces)
    axis = faces.sides // 2
    coord = package.mesh.p[axis[None, :], t]
    target = np.where(faces.sides % 2 == 1, coord.max(axis=0), coord.min(axis=0))
    on_face = np.isclose(coord, target[None, :], rtol=0,
                         atol=1e-9 * np.ptp(package.mesh.p).max())
    per_face = on_face.sum(axis=0)
    share = np.broadcast_to(face_areas(package, faces) / per_face, t.shape)
    nodes, inverse = np.unique(t[on_face], return_inverse=True)
    weights = np.bincount(inverse, weights=share[on_face], minlength=len(nodes))
    return nodes, weights


def vertex_displacement(result: WarpageResult) -> np.ndarray:
    """(dim, vertices) displacement at the mesh vertices, m."""
    return result.displacement[result.space.nodal_dofs]


@dataclass(frozen=True)
class SurfaceWarpage:
    """Warpage of one surface. Lengths m, curvature 1/m.

    points : (dim - 1, n) in-plane coordinates of the surface nodes; deviation : (n,) u_z
    minus the best-fit plane; center, corner : in-plane coordinates of the two nodes used.
    """

    surface: str
    points: np.ndarray
    deviation: np.ndarray
    peak_to_valley: float
    center_minus_corner: float
    shape: str
    curvature: tuple[float, ...]
    center: np.ndarray
    corner: np.ndarray
    sign_convention: str


def package_center(package: MeshedPackage) -> np.ndarray:
    """In-plane centre (m) of the whole (unclipped) package: (x,) in 2D, (x, y) in 3D. An
    imported mesh has no layout boxes: the centre of its own bounding box."""
    if not package.layout.boxes:
        p = package.mesh.p
        return 0.5 * (p.min(axis=1) + p.max(axis=1))[:-1]
    lower, upper = package.layout.bounds
    centre = 0.5 * (lower + upper)
    return centre[:1] if package.dimension == 2 else centre[:2]


def _design(points: np.ndarray, package: MeshedPackage, quadratic: bool) -> np.ndarray:
    """Columns of the plane (and quadratic) fit, without terms odd across symmetry planes."""
    x = points[0]
    mirrored_x = "symmetry_x" in package.surfaces
    mirrored_y = "symmetry_y" in package.surfaces
    columns = [np.ones_like(x)]
    if not mirrored_x:
        columns.append(x)
    if points.shape[0] == 2 and not mirrored_y:
        columns.append(points[1])
    if quadratic:
        columns.append(-x**2 / 2)
        if points.shape[0] == 2:
            columns.append(-points[1]**2 / 2)
            if not (mirrored_x or mirrored_y):
                columns.append(-x * points[1])
    return np.column_stack(columns)


def _weighted_fit(A, b, w):
    root = np.sqrt(w)
    return np.linalg.lstsq(A * root[:, None], b * root, rcond=None)[0]


def surface_warpage(result: WarpageResult, surface: str = "bottom", *,
                    sign_convention: str | None = None,
                    field: str = "surface") -> SurfaceWarpage:
    """Warpage of the named surface (ModelError naming ``field`` if it does not exist)."""
    package = result.package
    faces = package.surface(surface, field)
    convention = sign_convention or getattr(result.loads, "sign_convention",
                                            "center_up_positive")
    nodes, weights = surface_nodes(package, faces)
    dim = package.dimension
    points = package.mesh.p[: dim - 1, nodes]
    uz = vertex_displacement(result)[dim - 1, nodes]
    deviation = uz - _design(points, package, False) @ _weighted_fit(
        _design(points, package, False), uz, weights)
    coefficients = _weighted_fit(_design(points, package, True), uz, weights)
    curvature = tuple(float(c) for c in coefficients[-(dim - 1):]) if dim == 2 else tuple(
        float(c) for c in _curvatures(points, package, coefficients))
    centre = package_center(package)
    distance = np.linalg.norm(points - centre[:, None], axis=0)
    i_centre, i_corner = int(np.argmin(distance)), int(np.argmax(distance))
    raw = float(deviation[i_centre] - deviation[i_corner])
    shape = ("convex (cry, centre up)" if raw > 0 else "concave (smile, centre down)"
             if raw < 0 else "flat")
    signed = raw if convention == "center_up_positive" else -raw
    return SurfaceWarpage(surface, points, deviation, float(np.ptp(deviation)), signed, shape,
                          curvature, points[:, i_centre], points[:, i_corner], convention)


def _curvatures(points, package, coefficients):
    """(k_x, k_y) of the 3D quadratic fit (the two -x^2/2, -y^2/2 coefficients)."""
    mixed = not ("symmetry_x" in package.surfaces or "symmetry_y" in package.surfaces)
    quadratic = coefficients[-3:-1] if mixed else coefficients[-2:]
    return quadratic


# --- stresses ------------------------------------------------------------------------------

def von_mises(stress: np.ndarray) -> np.ndarray:
    """von Mises stress of (6, ...) Voigt stresses (xx, yy, zz, yz, xz, xy), same unit."""
    sxx, syy, szz, syz, sxz, sxy = stress
    return np.sqrt(0.5 * ((sxx - syy)**2 + (syy - szz)**2 + (szz - sxx)**2)
                   + 3.0 * (syz**2 + sxz**2 + sxy**2))


def principal_stresses(stress: np.ndarray) -> np.ndarray:
    """(3, ...) principal stresses, ascending, of (6, ...) Voigt stresses."""
    tensor = np.empty(stress.shape[1:] + (3, 3))
    for (i, j), k in _VOIGT.items():  # 9 copies, no nested stacks
        tensor[..., i, j] = stress[k]
    return np.moveaxis(np.linalg.eigvalsh(tensor), -1, 0)


_VOIGT = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (1, 2): 3, (2, 1): 3, (0, 2): 4, (2, 0): 4,
          (0, 1): 5, (1, 0): 5}


def part_maxima(result: WarpageResult, stress: np.ndarray | None = None) -> dict[str, dict]:
    """Per part: max von Mises, max and min principal stress (Pa) over quadrature points."""
    if stress is None:
        stress = result.quadrature_stress()[0]
    part = np.asarray(result.package.cell_part)
    vm = von_mises(stress).max(axis=1)
    out = {}
    for i, name in enumerate(result.package.parts):  # a loop over parts
        mask = part == i
        if np.any(mask):
            top, bottom = extreme_principal(stress[:, mask])
            out[name] = {"von_mises_max": float(vm[mask].max()), "max_principal": top,
                         "min_principal": bottom}
    return out


def extreme_principal(stress: np.ndarray) -> tuple[float, float]:
    """(largest max principal, smallest min principal) stress over (6, ...) Voigt stresses,
    same unit: ``principal_stresses`` of only the points that can hold them. Gershgorin's
    discs bound each point's eigenvalues (diagonal -/+ the row's off-diagonal sum) and the
    largest (smallest) diagonal entry bounds the extreme from below (above), so the other
    points are left out; each point's eigenvalues do not depend on which others are
    computed with it, so the two numbers are those of all points, bit for bit. Measured at
    1.09M quadrature points: 0.66 s of eigenvalues for all (docs/performance.md)."""
    stress = stress.reshape(6, -1)
    if not np.all(np.isfinite(stress)):  # NaN / inf: no bounds; fails as for all points
        principal = principal_stresses(stress)
        return float(principal[2].max()), float(principal[0].min())
    diagonal, off = stress[:3], np.abs(stress[3:])  # off: yz, xz, xy
    radius = np.array([off[2] + off[1], off[2] + off[0], off[1] + off[0]])
    slack = 1e-9 * np.abs(stress).max()  # >> the eigensolver's rounding (1e-15 of it)
    top = (diagonal + radius).max(axis=0) >= diagonal.max() - slack
    bottom = (diagonal - radius).min(axis=0) <= diagonal.min() + slack
    return (float(principal_stresses(stress[:, top])[2].max()),
            float(principal_stresses(stress[:, bottom])[0].min()))


# --- interfaces ----------------------------------------------------------------------------

@dataclass(frozen=True)
class InterfacePath:
    """Stresses along a horizontal interface from the die centre to its corner (edge in 2D).

    distance : (n,) m from the centre; peel : (n,) s_zz, Pa; shear : (n,) Pa (3D: resultant
    of s_xz and s_yz; 2D: s_xz, signed); corner_mesh_size : m, in-plane size of the cell at
    the corner (the corner value is singular: see ``SINGULAR_NOTE``).
    """

    part: str
    side: str
    neighbours: tuple[str, ...]
    points: np.ndarray
    distance: np.ndarray
    peel: np.ndarray
    shear: np.ndarray
    corner_mesh_size: float


def interface_neighbours(package: MeshedPackage, part: str, side: str) -> tuple[str, ...]:
    """Parts touching ``part`` across its ``side`` ("bottom" or "top")."""
    if not package.is_structured:  # paths walk the tensor grid: none on imported meshes
        return ()
    cells = package.part_cells(part)
    index = package.cell_index[:, cells]
    z = package.dimension - 1
    step = -1 if side == "bottom" else 1
    k = index[z] + step
    inside = (k >= 0) & (k < package.grid_cells.shape[z])
    index = index[:, inside]
    index[z] = k[inside]
    neighbours = package.grid_cells[tuple(index)]
    neighbours = neighbours[neighbours >= 0]
    present = np.unique(np.asarray(package.cell_part)[neighbours])
    return tuple(package.parts[i] for i in present if package.parts[i] != part)


def interface_path(result: WarpageResult, part: str = "die", side: str = "bottom",
                   samples: int = 101) -> InterfacePath:
    """Peel and shear along ``part``'s ``side`` face from its centre to its corner.

    Evaluated inside ``part`` (one-sided) at ``samples`` points on the straight path from the
    centre of the part's footprint to its (+x, +y) corner.
    """
    package = result.package
    if part not in package.parts:
        raise ModelError("part", f"no part {part!r}; parts: {', '.join(package.parts)}")
    if side not in ("bottom", "top"):
        raise ModelError("side", f"must be bottom or top, got {side!r}")
    dim = package.dimension
    cells = package.part_cells(part)
    p = package.mesh.p[:, package.mesh.t[:, cells]]
    lower, upper = p.min(axis=(1, 2)), p.max(axis=(1, 2))
    boxes = [b for b in package.layout.boxes if b.part == part]
    full_lower = np.min([b.lower for b in boxes], axis=0)
    full_upper = np.max([b.upper for b in boxes], axis=0)
    centre = 0.5 * (full_lower + full_upper)
    centre = centre[[0, 2]] if dim == 2 else centre
    start = np.maximum(centre[: dim - 1], lower[: dim - 1])
    end = upper[: dim - 1]
    s = np.linspace(0.0, 1.0, samples)
    inset = 1e-9 * np.ptp(package.mesh.p, axis=1).max()
    inplane = start[:, None] + (end - start)[:, None] * s[None, :]
    inplane = np.minimum(inplane, end[:, None] - inset)
    height = lower[dim - 1] if side == "bottom" else upper[dim - 1]
    inward = inset if side == "bottom" else -inset
    points = np.vstack([inplane, np.full(samples, height)])
    probe = points.copy()
    probe[dim - 1] += inward
    host = result.space.locate(probe)
    stress = result.stress_at(points, host)
    shear = np.hypot(stress[3], stress[4]) if dim == 3 else stress[4]
    corner_cell = host[-1]
    sizes = package.cell_sizes[: dim - 1, corner_cell]
    return InterfacePath(part, side, interface_neighbours(package, part, side), points,
                         np.linalg.norm(inplane - start[:, None], axis=0), stress[2], shear,
                         float(sizes.max()))


# --- curves and summary --------------------------------------------------------------------

def warpage_curve(results: Sequence[WarpageResult], surface: str = "bottom",
                  sign_convention: str | None = None) -> dict[str, np.ndarray]:
    """temperature (degC), center_minus_corner (m), peak_to_valley (m) of each solve."""
    rows = [surface_warpage(r, surface, sign_convention=sign_convention) for r in results]
    temperatures = []
    for r in results:
        if not isinstance(r.temperature, int | float):
            raise ModelError("mechanical.temperatures", "a warpage curve needs uniform "
                                                        "temperatures")
        temperatures.append(float(r.temperature))
    return {"temperature": np.array(temperatures),
            "center_minus_corner": np.array([w.center_minus_corner for w in rows]),
            "peak_to_valley": np.array([w.peak_to_valley for w in rows])}


def zero_warpage_temperatures(temperature: np.ndarray, signed: np.ndarray) -> np.ndarray:
    """Temperatures (degC) where the signed warpage changes sign (linear interpolation)."""
    t, w = np.asarray(temperature, float), np.asarray(signed, float)
    change = np.flatnonzero(np.sign(w[:-1]) * np.sign(w[1:]) < 0)
    return t[change] - w[change] * (t[change + 1] - t[change]) / (w[change + 1] - w[change])


def mechanical_summary(result: WarpageResult, surfaces: Sequence[str] | None = None) -> dict:
    """The ``mechanical`` section of summary.json (MODEL_FILE.md keys plus the rest)."""
    package = result.package
    loads = result.loads
    surfaces = tuple(surfaces if surfaces is not None else getattr(
        loads, "warpage_surfaces", ("bottom", "top")))
    warpage = {s: surface_warpage(result, s, field="mechanical.warpage_surfaces")
               for s in surfaces}
    maxima = part_maxima(result)
    out: dict = {
        "warpage_um": {s: w.peak_to_valley * 1e6 for s, w in warpage.items()},
        "center_minus_corner_um": {s: w.center_minus_corner * 1e6 for s, w in warpage.items()},
        "von_mises_max_MPa": {p: m["von_mises_max"] / 1e6 for p, m in maxima.items()},
        "shape": {s: w.shape for s, w in warpage.items()},
        "curvature_per_m": {s: list(w.curvature) for s, w in warpage.items()},
        "sign_convention": next(iter(warpage.values())).sign_convention if warpage else None,
        "max_principal_MPa": {p: m["max_principal"] / 1e6 for p, m in maxima.items()},
        "stress_free_temperature_C": dict(result.stress_free_temperature),
        "temperature_C": (float(result.temperature) if isinstance(result.temperature,
                                                                  int | float) else "thermal"),
        "element": result.element,
        "plane": result.plane,
    }
    dies = package.dies
    out["die_max_principal_MPa"] = {d: maxima[d]["max_principal"] / 1e6 for d in dies}
    interfaces = {}
    for die in dies:
        for side in ("bottom", "top"):
            if not interface_neighbours(package, die, side):
                continue
            path = interface_path(result, die, side)
            interfaces[f"{die}.{side}"] = {
                "neighbours": list(path.neighbours),
                "peel_center_MPa": float(path.peel[0] / 1e6),
                "shear_center_MPa": float(path.shear[0] / 1e6),
                "peel_corner_MPa": float(path.peel[-1] / 1e6),
                "shear_corner_MPa": float(path.shear[-1] / 1e6),
                "corner_mesh_size_um": path.corner_mesh_size * 1e6,
                "corner_note": SINGULAR_NOTE,
            }
    out["interfaces"] = interfaces
    stats = result.stats
    out["solver"] = {k: stats[k] for k in ("unknowns", "assembly_seconds", "solve_seconds",
                                           "residual", "force_balance",
                                           "held_reaction_relative") if k in stats}
    return out
