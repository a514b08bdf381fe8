"""The engine's modules form layers: its module import graph has no cycle.

The graph is read statically from every module of ``attractor_core/engine``:
module-level imports and imports inside functions alike, since an import in a
function body is how a runtime cycle hides. Imports under ``if TYPE_CHECKING:``
are left out: they never execute, so they cannot make import order matter or
let a lower module call an upper one (docs/decisions.md). Where a stage needs
the traversal again (a parallel branch, a child run) the top of the engine hands
it in through ``RunConfig.subruns`` instead of an import.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import attrs

import attractor_core.engine

ENGINE = Path(attractor_core.engine.__file__).parent
PACKAGE = "attractor_core.engine"


@attrs.frozen
class Import:
    target: str  # a module of the package, by its short name ("__init__" for the package)
    line: int


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _RuntimeImports(ast.NodeVisitor):
    """Every import statement that can execute: at module level, in functions, in
    ``try``/``except``, but not under ``if TYPE_CHECKING:``."""

    def __init__(self) -> None:
        self.found: list[ast.Import | ast.ImportFrom] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append(node)


def _package_targets(node: ast.AST, modules: frozenset[str], package: str) -> list[str]:
    """The modules of ``package`` that an import statement loads."""
    found: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == package:
                found.append("__init__")
            elif alias.name.startswith(package + "."):
                found.append(alias.name[len(package) + 1:].split(".")[0])
    elif isinstance(node, ast.ImportFrom):
        if node.level > 1:
            return found  # outside the package
        base = node.module or ""
        if node.level == 0:
            if base == package:
                base = ""
            elif base.startswith(package + "."):
                base = base[len(package) + 1:]
            else:
                return found
        if base:
            found.append(base.split(".")[0])
        else:  # ``from . import x``: a submodule, or a name of the package's __init__
            found.extend(a.name if a.name in modules else "__init__" for a in node.names)
    return [m for m in found if m in modules]


def import_graph(directory: Path, package: str) -> dict[str, list[Import]]:
    """Each module of the package with the package modules it imports at run time."""
    files = {p.stem: p for p in sorted(directory.glob("*.py"))}
    modules = frozenset(files)
    graph: dict[str, list[Import]] = {}
    for name, path in files.items():
        imports = _RuntimeImports()
        imports.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph[name] = [Import(target, node.lineno)
                       for node in imports.found
                       for target in _package_targets(node, modules, package)
                       if target != name]
    return graph


def find_cycle(graph: Mapping[str, list[Import]]) -> list[tuple[str, Import]] | None:
    """One cycle as its edges (module, import), or None if the graph has none."""
    done: set[str] = set()
    path: list[tuple[str, Import]] = []
    on_path: dict[str, int] = {}

    def visit(module: str) -> list[tuple[str, Import]] | None:
        on_path[module] = len(path)
        for edge in graph.get(module, []):
            if edge.target in on_path:
                return [*path[on_path[edge.target]:], (module, edge)]
            if edge.target not in done:
                path.append((module, edge))
                cycle = visit(edge.target)
                if cycle is not None:
                    return cycle
                path.pop()
        del on_path[module]
        done.add(module)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle is not None:
                return cycle
    return None


def describe(cycle: list[tuple[str, Import]], package: str) -> str:
    steps = [f"  {package}.{module} imports {edge.target} ({module}.py:{edge.line})"
             for module, edge in cycle]
    return "\n".join(["import cycle in the engine:", *steps,
                      "hand the upper module's behaviour in (see RunConfig.subruns) instead "
                      "of importing it"])


def test_the_engine_has_no_import_cycle() -> None:
    graph = import_graph(ENGINE, PACKAGE)
    cycle = find_cycle(graph)
    assert cycle is None, describe(cycle, PACKAGE)


def test_the_graph_holds_the_imports_inside_functions_too() -> None:
    # The recursion runs down through these imports; a reader that missed them would
    # pass any engine.
    graph = import_graph(ENGINE, PACKAGE)
    assert {e.target for e in graph["traversal"]} >= {"stage", "services"}
    assert {e.target for e in graph["stage"]} >= {"attempt"}
    assert {e.target for e in graph["subruns"]} == {"branches", "child_dispatch", "children",
                                                    "dispatch", "services"}
    assert not {e.target for e in graph["stage_run"]} & {"branches", "children", "traversal"}


def _write(root: Path, files: Mapping[str, str]) -> Path:
    package = root / "pkg"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    return package


def test_a_cycle_through_an_import_in_a_function_is_found(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "__init__.py": "",
        "low.py": "def call():\n    from .high import run\n    return run()\n",
        "mid.py": "from pkg import low\n",
        "high.py": "import pkg.mid\n\ndef run():\n    return 1\n",
    })
    cycle = find_cycle(import_graph(package, "pkg"))
    assert cycle is not None
    assert {module for module, _ in cycle} == {"low", "mid", "high"}
    message = describe(cycle, "pkg")
    assert "pkg.low imports high (low.py:2)" in message
    assert "pkg.mid imports low (mid.py:1)" in message


def test_a_cycle_only_under_type_checking_is_not_a_runtime_cycle(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "__init__.py": "",
        "low.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from .high import Run\nelse:\n    import os\n"),
        "high.py": "from .low import os\nclass Run: ...\n",
    })
    graph = import_graph(package, "pkg")
    assert find_cycle(graph) is None
    assert [e.target for e in graph["high"]] == ["low"]


def test_imports_in_except_clauses_and_nested_functions_count(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "__init__.py": "",
        "a.py": ("def f():\n    try:\n        pass\n    except OSError:\n"
                 "        def g():\n            from . import b\n"),
        "b.py": "from .a import f\n",
    })
    cycle = find_cycle(import_graph(package, "pkg"))
    assert cycle is not None and {module for module, _ in cycle} == {"a", "b"}
