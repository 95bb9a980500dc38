"""Lower layers never import higher ones, and no module imports itself through others
(ARCHITECTURE.md, as amended in docs/architecture.md).

Every import inside the package is resolved to the module it names (``fem.space``,
``plotting.model``, ``linear_solvers``), whether at the top of a file or inside a function:
a lazy import is still a dependency. Layers are given per module for the ``fem`` package
and per subpackage for the others; cycles are looked for between modules, so a cycle inside
one layer or inside one subpackage fails too.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "thermomech"

LAYERS = {
    "errors": 0, "units": 0, "parameters": 0, "files": 0, "threads": 0, "progress": 0, "heap": 0,
    "vtk_xml": 0, "startup": 0,
    "geometry": 1, "materials": 1, "sparse_cholesky": 1, "surface_values": 1,
    "viscoelastic": 1, "prony_fit": 1, "material_point": 2,
    "fem": 0, "fem.space": 1, "fem.multigrid": 2, "linear_solvers": 3,
    "fem.simplex": 2, "fem.stencil": 2, "fem.coarse_factor": 2,
    "material_library": 2, "packages": 2, "connectivity": 2, "grid_lines": 2, "board": 2,
    "meshing": 3, "thermal_loads": 3, "mechanical_loads": 3, "mesh_import": 3,
    "environments": 3, "submodel_spec": 3,
    "solder_life": 1, "solder_creep": 3, "reliability_spec": 3, "board_mechanics": 3,
    "fem.grid_assembly": 3, "fem.cell_operator": 3,
    "model_file": 4, "fem.unit_cell": 4, "fem.structured": 4, "schema": 4, "creep_paths": 4,
    "fem.constraints": 5, "fem.assembly": 5, "fem.solve": 5, "results": 5,
    "heat_sources": 5, "mechanical_supports": 5, "heat_problem": 5, "elasticity": 5,
    "thermal": 6, "mechanics": 6,
    "thermal_metrics": 7, "mechanical_metrics": 7, "process": 7, "process_history": 7,
    "process_temperature": 7, "process_bodies": 7, "steady_sets": 7, "zth": 7, "zth_spectrum": 7,
    "submodel": 7,
    "solder_joints": 7,
    "process_visco": 7, "process_model": 7,
    "process_systems": 7, "process_cells": 7,
    "process_creep": 7,
    "process_points": 7,
    "inp_mesh": 4, "inp_materials": 4, "melting": 4,
    "plotting": 8, "export": 8, "paraview": 8, "report": 8, "inp": 8, "diagnostics": 8,
    "inp_process": 8,
    "provenance": 8,
    "analysis": 9, "study": 9, "characterization": 9, "characterization_table": 8,
    "compact_models": 9, "delphi": 9, "reliability": 9, "cli": 10, "__init__": 10, "__main__": 10,
    "transient_characterization": 9, "distributed": 9,
}
"""Layer of each module (``fem.<module>``) or subpackage (``plotting``: all its modules)."""


def module_name(path: Path, package: Path | None = None) -> str:
    """``thermomech/fem/space.py`` -> ``fem.space``; a package's ``__init__`` -> its name."""
    parts = list(path.relative_to(package or PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


PER_MODULE = ("fem",)
"""Subpackages whose modules have layers of their own (every one must be listed)."""


def unit_of(module: str) -> str:
    """The key of ``module`` in :data:`LAYERS` (the module itself, else its subpackage)."""
    if module in LAYERS or module.split(".")[0] in PER_MODULE:
        return module
    return module.split(".")[0]


def _resolve(path: Path, node: ast.ImportFrom, package: Path) -> list[str]:
    here = list(path.relative_to(package).with_suffix("").parts)
    base = here[:-1] if node.level else []
    if node.level > 1:
        base = base[:len(base) - (node.level - 1)]
    if not node.level:
        if not (node.module or "").startswith("thermomech"):
            return []
        base, module = [], (node.module or "").split(".")[1:]
    else:
        module = (node.module or "").split(".") if node.module else []
    target = base + module
    found = []
    for alias in node.names:  # "from .fem import space": space may be a module itself
        candidate = target + [alias.name]
        if (package.joinpath(*candidate).with_suffix(".py").is_file()
                or package.joinpath(*candidate, "__init__.py").is_file()):
            found.append(".".join(candidate))
        elif target:
            found.append(".".join(target))
    return found


def imported_modules(path: Path, package: Path | None = None):
    """(module, line) of every thermomech module ``path`` imports (at any depth)."""
    package = package or PACKAGE
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for name in dict.fromkeys(_resolve(path, node, package)):
                yield name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("thermomech."):
                    yield alias.name.removeprefix("thermomech."), node.lineno


def import_graph(package: Path | None = None) -> dict[str, set[str]]:
    """module -> the package's modules it imports (a subpackage name stands for its
    ``__init__``)."""
    package = package or PACKAGE
    graph = {}
    for path in sorted(package.rglob("*.py")):
        here = module_name(path, package)
        graph.setdefault(here, set()).update(
            name for name, _ in imported_modules(path, package) if name != here)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_has_a_layer():
    modules = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert modules <= set(LAYERS), f"give these modules a layer: {modules - set(LAYERS)}"


def test_no_upward_imports():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        here = unit_of(module_name(path))
        for name, line in imported_modules(path):
            there = unit_of(name)
            if there in LAYERS and LAYERS[there] > LAYERS[here]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} {here} (layer "
                              f"{LAYERS[here]}) imports {there} (layer {LAYERS[there]})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_checker_catches_an_upward_import(tmp_path):
    """The check itself can fail: a fake low-layer module importing cli is reported."""
    fake = tmp_path / "thermomech"
    fake.mkdir()
    (fake / "units.py").write_text("from .cli import main\n")
    (fake / "cli.py").write_text("")
    found = list(imported_modules(fake / "units.py", fake))
    assert found == [("cli", 1)] and LAYERS["cli"] > LAYERS["units"]


def test_checker_catches_cycles_within_a_layer_and_a_subpackage(tmp_path):
    """Two modules of one layer importing each other (one lazily, inside a function), and
    two modules of one subpackage, are both found; an acyclic tree is not flagged."""
    fake = tmp_path / "thermomech"
    (fake / "fem").mkdir(parents=True)
    (fake / "fem" / "__init__.py").write_text("")
    (fake / "geometry.py").write_text("from .materials import x\n")
    (fake / "materials.py").write_text("def f():\n    from . import geometry\n")
    assert find_cycle(import_graph(fake)) in (["geometry", "materials", "geometry"],
                                              ["materials", "geometry", "materials"])
    (fake / "materials.py").write_text("")
    assert find_cycle(import_graph(fake)) is None
    (fake / "fem" / "space.py").write_text("from .solve import y\n")
    (fake / "fem" / "solve.py").write_text("from ..fem import space\n")
    assert find_cycle(import_graph(fake)) == ["fem.solve", "fem.space", "fem.solve"]


def test_the_architecture_page_shows_every_layer_entry():
    """docs/architecture.md names every module (or subpackage) of the layer table."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    missing = [name for name in LAYERS if name != "__main__"
               and f"`{name}`" not in text and f"`{name}/*`" not in text]
    assert not missing, f"add to docs/architecture.md: {missing}"
