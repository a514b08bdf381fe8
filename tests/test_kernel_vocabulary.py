"""The kernel does not know the plugins' vocabulary.

No kernel module names, as a string, a handler type, an attribute only a handler or backend
declares, or an event only a plugin emits; none calls a hook only plugins declare. The engine
(``attractor_core/engine``) names none of them at all; elsewhere in the kernel the exceptions
are listed below with their reason. Docstrings are prose and are not checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from attractor_core.attributes import AttributeSchema
from attractor_core.kernel_attributes import attractor_attribute_schema as kernel_schema
from attractor_core.plugins import collect_in_registration_order, make_plugin_manager
from attractor_core.registry import HandlerRegistry
from attractor_core.runtime.events import ALL_EVENTS

KERNEL = Path(__file__).resolve().parents[1] / "attractor_core"
PLUGIN_HOOKS = frozenset({"attractor_codergen_backends", "attractor_make_interviewer",
                          "attractor_failover_policy"})
# Where a run starts and ends is the kernel's own business (spec §3.2): the traversal begins at
# the start node and stops at an exit, whichever handler runs them.
KERNEL_NODE_KINDS = frozenset({"start", "exit"})
ALLOWED: dict[str, frozenset[str]] = {
    # The spec's shape table (§2.8) maps each shape to the spec's handler type, and its
    # default handler type runs a node whose type no plugin provides.
    "model/graph.py": frozenset({"codergen", "wait.human", "conditional", "parallel",
                                 "parallel.fan_in", "tool", "stack.manager_loop"}),
    # The directory that holds the stage dirs of a branch lane (docs/run-artifacts.md).
    "runtime/rundir.py": frozenset({"parallel"}),
    # A keyword of the DOT language.
    "dot/parser.py": frozenset({"subgraph"}),
}


def plugin_vocabulary() -> frozenset[str]:
    pm = make_plugin_manager()
    kernel_attrs = {name for specs in kernel_schema().values() for name in (s.name for s in specs)}
    schema = AttributeSchema.from_plugins(pm)
    attributes = {name for specs in schema.by_key.values() for name in specs} - kernel_attrs
    kernel_events = {cls.name for cls in ALL_EVENTS}
    events = {cls.name for cls in collect_in_registration_order(
        pm.hook.attractor_event_types())} - kernel_events
    types = set(HandlerRegistry.from_plugins(pm).types) - KERNEL_NODE_KINDS
    assert {"parallel", "tool", "tool_command", "max_parallel", "parallel_started",
            "provider_selected"} <= types | attributes | events  # the probe sees something
    return frozenset(types | attributes | events)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def names_used(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string constant outside docstrings and every attribute name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr


def kernel_modules() -> list[Path]:
    return sorted(KERNEL.rglob("*.py"))


@pytest.fixture(scope="module")
def vocabulary() -> frozenset[str]:
    return plugin_vocabulary()


@pytest.mark.parametrize("path", kernel_modules(), ids=lambda p: str(p.relative_to(KERNEL)))
def test_the_kernel_names_no_handler_type_attribute_event_or_plugin_hook(
        path: Path, vocabulary: frozenset[str]) -> None:
    relative = path.relative_to(KERNEL).as_posix()
    allowed = frozenset() if relative.startswith("engine/") else ALLOWED.get(relative, frozenset())
    found = sorted({f"line {line}: {text!r}" for line, text in names_used(path)
                    if (text in vocabulary or text in PLUGIN_HOOKS) and text not in allowed})
    assert not found, f"attractor_core/{relative} names plugin vocabulary: {found}"


def test_the_check_sees_a_handler_type_compared_in_code(tmp_path: Path,
                                                        vocabulary: frozenset[str]) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Mentions "parallel" in prose only."""\n'
                      'def f(node):\n    return node.handler_type == "parallel"\n'
                      'def g(pm):\n    return pm.hook.attractor_make_interviewer(spec="x")\n')
    used = {text for _, text in names_used(module)}
    assert "parallel" in used & vocabulary
    assert "attractor_make_interviewer" in used & PLUGIN_HOOKS
