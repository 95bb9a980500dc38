"""Values prescribed on a surface as functions of position: a Python callable, a safe
arithmetic expression of x, y, z, or samples read from a CSV / NPZ file and interpolated.

Every form resolves to one thing, a *point function*: ``f(points) -> values`` with points
(dim, n) in m (3D: x, y, z; 2D: the section's x, z) and values (k, n) in SI units (m for
displacements, degC for temperatures), k the number of components asked for.

Expressions are parsed with :mod:`ast` and evaluated node by node on numpy arrays; only
numbers, the names x, y, z, pi, e, the operators + - * / ** and the functions of
:data:`FUNCTIONS` are accepted, so a model file can never run code (no ``eval``).

Samples: a table with one column per coordinate (x, y, z; 2D: x, z) and one per value
(``ux, uy, uz`` or ``T``), as a CSV file with a header line naming the columns or an NPZ
file with one array per name. Values between samples are interpolated linearly: on the
Delaunay triangulation of the samples in the plane (or line) they span, so a surface map of
one planar face is interpolated on that face and a linear field is reproduced exactly.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError
from .units import parse_quantity

PointFunction = Callable[[np.ndarray], np.ndarray]
"""``f(points (dim, n) m) -> values (k, n)`` in SI units."""

FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
             "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh, "sinh": np.sinh,
             "cosh": np.cosh, "arctan": np.arctan}
"""Functions an expression may call (one argument each)."""

CONSTANTS = {"pi": math.pi, "e": math.e}
OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
             ast.Div: np.divide, ast.Pow: np.power}
SAMPLE_TOLERANCE = 1e-6
"""Points farther than this fraction of the samples' extent from the sampled plane (or
outside their hull) are refused: the file does not cover the surface."""


# --- expressions ---------------------------------------------------------------------------

def parse_expression(text: str, where: str) -> ast.Expression:
    """The syntax tree of an arithmetic expression of x, y, z; a ModelError naming ``where``
    for anything else (attribute access, subscripts, unknown names or functions, ...)."""
    if not isinstance(text, str):
        raise ModelError(where, f"expected an expression as text, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ModelError(where, f"cannot read {text!r} as an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        _check_node(node, text, where)
    return tree


def _check_node(node, text: str, where: str) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call,
               ast.Load, ast.UAdd, ast.USub, *OPERATORS)
    if not isinstance(node, allowed):
        raise ModelError(where, f"{text!r}: only numbers, x, y, z, + - * / ** and "
                                f"{', '.join(FUNCTIONS)} are allowed, not "
                                f"{type(node).__name__}")
    if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(
            node.value, int | float)):
        raise ModelError(where, f"{text!r}: {node.value!r} is not a number")
    if isinstance(node, ast.Name) and node.id not in ("x", "y", "z", *CONSTANTS,
                                                      *FUNCTIONS):
        raise ModelError(where, f"{text!r}: unknown name {node.id!r}; use x, y, z, pi, e")
    if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id
                                       not in FUNCTIONS or len(node.args) != 1
                                       or node.keywords):
        raise ModelError(where, f"{text!r}: only one-argument calls of "
                                f"{', '.join(FUNCTIONS)} are allowed")


def _evaluate(node, names: dict):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, names)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return names[node.id] if node.id in names else CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, names)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](_evaluate(node.args[0], names))
    return OPERATORS[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))


def expression_function(texts: Sequence[str], where: str, length_scale: float = 1.0,
                        value_scale: float = 1.0, value_offset: float = 0.0
                        ) -> PointFunction:
    """The point function of one expression per component.

    length_scale : m per unit of the expressions' x, y, z; ``value = value_scale * expr +
    value_offset`` in SI units. In 2D the points are (x, z) and y is 0.
    """
    trees = [parse_expression(t, f"{where}[{i}]" if len(texts) > 1 else where)
             for i, t in enumerate(texts)]

    def function(points: np.ndarray) -> np.ndarray:
        coords = np.asarray(points, dtype=float) / length_scale
        x, z = coords[0], coords[-1]
        y = coords[1] if len(coords) == 3 else np.zeros_like(x)
        names = {"x": x, "y": y, "z": z}
        with np.errstate(all="ignore"):
            return np.array([np.broadcast_to(_evaluate(t, names), x.shape) * value_scale
                             + value_offset for t in trees])
    return function


# --- samples -------------------------------------------------------------------------------

def read_samples(path: str | Path, columns: Sequence[str], where: str) -> dict[str, np.ndarray]:
    """The named columns of a CSV (header line of names, comma separated, ``#`` comments) or
    NPZ file (one array per name): name -> (n,) floats. A ModelError naming ``where`` for an
    unreadable file, a missing column, unequal lengths or non-finite values."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                table = {name: np.asarray(data[name], dtype=float).ravel()
                         for name in data.files}
        else:
            table = _read_csv(path, where)
    except OSError as exc:
        raise ModelError(where, f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ModelError(where, f"{str(path)!r}: {exc}") from None
    missing = [c for c in columns if c not in table]
    if missing:
        raise ModelError(where, f"{str(path)!r} has no column {missing[0]!r}; it needs "
                                f"{', '.join(columns)} (has {', '.join(table)})")
    out = {c: table[c] for c in columns}
    lengths = {len(v) for v in out.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ModelError(where, f"{str(path)!r}: the columns {', '.join(columns)} need equal, "
                                f"nonzero lengths")
    bad = [c for c, v in out.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ModelError(where, f"{str(path)!r}: column {bad[0]!r} holds a value that is not "
                                f"a finite number")
    return out


def _read_csv(path: Path, where: str) -> dict[str, np.ndarray]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(
        encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("empty file: a header line of column names is needed")
    names = [n.strip() for n in lines[0].split(",")]
    if len(lines) < 2:
        raise ValueError("no samples after the header line")
    try:
        rows = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    except ValueError:
        raise ValueError("a value is not a number, or a line has another number of values "
                         "(a header line of names, then numbers separated by commas)"
                         ) from None
    if rows.shape[1] != len(names):
        raise ValueError(f"every line needs {len(names)} values, one per column of the "
                         f"header")
    return {n: rows[:, i] for i, n in enumerate(names)}


def sampled_function(points: np.ndarray, values: np.ndarray, where: str) -> PointFunction:
    """Linear interpolation of samples: points (dim, n) m, values (k, n).

    The samples' affine span (a point, a line, a plane or space) is found by an SVD; queries
    are projected on it and interpolated on the Delaunay triangulation there (on a line,
    piecewise linearly). A query farther than :data:`SAMPLE_TOLERANCE` of the extent from
    the span, or outside the samples' hull by more, is a ModelError naming ``where``.
    """
    points, values = np.asarray(points, dtype=float), np.atleast_2d(values)
    centre = points.mean(axis=1, keepdims=True)
    extent = float(np.ptp(points, axis=1).max()) if points.shape[1] > 1 else 1.0
    _, s, vt = np.linalg.svd((points - centre).T, full_matrices=False)
    axes = vt[:int(np.sum(s > 1e-9 * max(s.max(initial=0.0), 1e-300)))]  # (rank, dim)
    inside = _interpolator(axes @ (points - centre), values)

    def function(query: np.ndarray) -> np.ndarray:
        query = np.asarray(query, dtype=float)
        coords = axes @ (query - centre)
        off = np.linalg.norm(query - centre - axes.T @ coords, axis=0)
        out = inside(coords)
        # a hair outside the hull (rounding, printed decimals): pulled in by the tolerance
        missing = np.isnan(out).any(axis=0)
        if np.any(missing):
            out[:, missing] = inside(coords[:, missing] * (1 - 2 * SAMPLE_TOLERANCE))
        off[np.isnan(out).any(axis=0)] = np.inf
        if np.any(off > SAMPLE_TOLERANCE * extent):
            bad = query[:, np.argmax(off)]
            raise ModelError(where, f"the point {np.round(bad * 1e3, 6).tolist()} mm of the "
                                    f"surface lies outside the sampled region: the samples "
                                    f"must cover the surface")
        return out
    return function


def _interpolator(local: np.ndarray, values: np.ndarray):
    """``f(coords (rank, m)) -> (k, m)``, linear in the samples' own coordinates (rank, n)
    centred on their mean; nan outside their hull."""
    rank, k = local.shape[0], values.shape[0]
    if rank == 0:
        return lambda coords: np.repeat(values[:, :1], coords.shape[1], axis=1)
    if rank == 1:
        order = np.argsort(local[0])
        t, v = local[0, order], values[:, order]
        return lambda coords: np.array([np.interp(coords[0], t, row, left=np.nan,
                                                  right=np.nan) for row in v])
    from scipy.interpolate import LinearNDInterpolator

    linear = LinearNDInterpolator(local.T, values.T)
    return lambda coords: np.atleast_2d(linear(coords.T).T).reshape(k, -1)


# --- the forms of a prescribed value ---------------------------------------------------------

def unit_scale(unit: str, kind: str, where: str) -> float:
    """SI value of one ``unit`` of ``kind`` ("mm" -> 1e-3 for a length)."""
    return parse_quantity(f"1 {unit}", kind, where)


def point_function(function, expression: Sequence[str], file: str, where: str, *,
                   columns: Sequence[str], dim: int | None, length_unit: str = "mm",
                   value_scale: float = 1.0, value_offset: float = 0.0,
                   base: Path | None = None) -> PointFunction | None:
    """The point function of exactly one of a callable, expressions or a samples file (None
    when none is given; a ModelError naming ``where`` when more than one is). Its values
    are checked (:func:`values_at`): ``len(columns)`` finite values per point.

    function : callable of the ``dim`` coordinate arrays (m), returning one array per
        component (SI units); expression : one text per component; file : path (relative
        to ``base``) of samples with the coordinate columns and ``columns``. dim : 3 or 2;
        None checks the input for either (a file then needs only x and z).
    """
    given = [name for name, present in (("function", function is not None),
                                         ("expression", bool(expression)),
                                         ("file", bool(file))) if present]
    if len(given) > 1:
        raise ModelError(_join(where, given[1]), f"give one of function, expression or file, "
                                                 f"not {' and '.join(given)}")
    if not given:
        return None
    unchecked = _unchecked(function, expression, file, where, columns, dim, length_unit,
                           value_scale, value_offset, base)
    return lambda points: values_at(unchecked, points, len(columns), where)


def _unchecked(function, expression, file, where, columns, dim, length_unit, value_scale,
               value_offset, base) -> PointFunction:
    if function is not None:
        if not callable(function):
            raise ModelError(_join(where, "function"), f"expected a callable, got {function!r}")
        return lambda points: np.asarray(function(*np.asarray(points)), dtype=float)
    length = unit_scale(length_unit, "length", _join(where, "length_unit"))
    if expression:
        if len(expression) != len(columns):
            raise ModelError(_join(where, "expression"), f"expected {len(columns)} "
                             f"expression(s), one per value ({', '.join(columns)}), got "
                             f"{len(expression)}")
        return expression_function(expression, _join(where, "expression"), length,
                                   value_scale, value_offset)
    path = Path(file)
    if base is not None and not path.is_absolute():
        path = base / path
    names = ("x", "y", "z") if dim == 3 else ("x", "z")  # dim None: x, z checked
    table = read_samples(path, (*names, *columns), _join(where, "file"))
    points = np.array([table[n] for n in names]) * length
    values = np.array([table[c] for c in columns]) * value_scale + value_offset
    return sampled_function(points, values, _join(where, "file"))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def values_at(function: PointFunction, points: np.ndarray, count: int, where: str
              ) -> np.ndarray:
    """(count, n) finite values of ``function`` at points (dim, n); a ModelError naming
    ``where`` for a wrong shape or a value that is not finite."""
    try:
        values = np.asarray(function(points), dtype=float)
    except ModelError:
        raise
    except Exception as exc:  # a user's callable: report it against the field
        raise ModelError(where, f"the function failed: {type(exc).__name__}: {exc}") from None
    n = points.shape[1]
    if values.ndim == 1 and count == 1:
        values = values[None]
    try:
        values = np.broadcast_to(values, (count, n))
    except ValueError:
        raise ModelError(where, f"expected {count} value(s) per point at {n} points, got "
                                f"shape {values.shape}") from None
    if not np.all(np.isfinite(values)):
        bad = points[:, np.argmin(np.isfinite(values).all(axis=0))]
        raise ModelError(where, f"a value is not finite at {np.round(bad * 1e3, 6).tolist()}"
                                f" mm")
    return values
