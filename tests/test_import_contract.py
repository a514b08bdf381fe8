"""The layering contract, checked statically over every module: the kernel never imports a
handler or a plugin, and handlers and plugins reach the kernel only through its SDK (not even
inside a function, not even by name through importlib)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parent.parent
KERNEL = ROOT / "attractor_core"
OUTSIDE_THE_KERNEL = ("attractor_handlers", "attractor_plugins")
BUILT_IN_PLUGINS = (ROOT / "handlers" / "attractor_handlers", ROOT / "plugins" / "attractor_plugins")
SDK = "attractor_core.sdk"


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import statement and every ``import_module("...")`` call."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and isinstance(node.func, ast.Attribute | ast.Name)
              and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
              in ("import_module", "__import__")):
            yield node.lineno, node.args[0].value


def violations(package: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for line, name in imported_names(path):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(package.parent)}:{line}: imports {name}")
    return found


def test_the_kernel_never_imports_handlers_or_plugins():
    assert len(list(KERNEL.rglob("*.py"))) > 50  # the walk sees the kernel
    assert violations(KERNEL, OUTSIDE_THE_KERNEL) == []


def kernel_imports_besides_the_sdk(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for line, name in imported_names(path):
            if name.split(".")[0] == "attractor_core" and name != SDK:
                found.append(f"{path.relative_to(package.parent)}:{line}: imports {name}")
    return found


def test_handlers_and_plugins_import_only_the_sdk_from_the_kernel():
    for package in BUILT_IN_PLUGINS:
        assert len(list(package.rglob("*.py"))) > 10  # the walk sees the package
        assert kernel_imports_besides_the_sdk(package) == []
    # the walk reaches subpackages such as the git isolation plugin's
    assert (ROOT / "plugins" / "attractor_plugins" / "git_isolation" / "plugin.py").is_file()


def test_the_checker_sees_imports_in_functions_and_by_name(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("def f():\n    import attractor_handlers.tool\n")
    (package / "b.py").write_text("import importlib\nimportlib.import_module('attractor_plugins.x')\n")
    (package / "c.py").write_text("from attractor_core.model import Graph\n")
    found = violations(package, OUTSIDE_THE_KERNEL)
    assert [v.split(": ", 1)[1] for v in found] == [
        "imports attractor_handlers.tool", "imports attractor_plugins.x"]


def test_the_sdk_check_sees_every_way_past_the_sdk(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("from attractor_core.sdk import Outcome\n"
                                  "from attractor_core.engine.ingestion import status_sources\n")
    (package / "sub" / "b.py").write_text(
        "import importlib\n"
        "def hook():\n"
        "    from attractor_core.runtime import events\n"
        "    import attractor_core.model\n"
        "    return importlib.import_module('attractor_core.protocols')\n")
    (package / "c.py").write_text("from attractor_core import sdk\n")
    assert kernel_imports_besides_the_sdk(package) == [
        "pkg/a.py:2: imports attractor_core.engine.ingestion",
        "pkg/c.py:1: imports attractor_core",
        "pkg/sub/b.py:3: imports attractor_core.runtime",
        "pkg/sub/b.py:4: imports attractor_core.model",
        "pkg/sub/b.py:5: imports attractor_core.protocols",
    ]
