"""Hooks only plugins call are declared by those plugins, through ``attractor_add_hookspecs``.

The kernel's hookspec module holds the hooks the kernel calls; the built-in distributions add
their own, and docs/plugins.md lists both groups.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pluggy
import pytest

from attractor_core import hookspecs as kernel_hookspecs
from attractor_core.plugins import PluginLoadError, make_plugin_manager

PLUGINS_MD = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
PLUGIN_HOOKS = {"attractor_codergen_backends": "attractor_handlers.hookspecs",
                "attractor_make_interviewer": "attractor_handlers.hookspecs",
                "attractor_failover_policy": "attractor_plugins.hookspecs"}
hookimpl = pluggy.HookimplMarker("attractor")


def kernel_hooks() -> set[str]:
    return {name for name, _ in inspect.getmembers(kernel_hookspecs, inspect.isfunction)
            if name.startswith("attractor_")}


def declared_hooks(pm: pluggy.PluginManager) -> dict[str, str]:
    """Hook name -> the module that declares it, for every hook with a specification."""
    return {name: caller.spec.namespace.__name__
            for name, caller in vars(pm.hook).items() if caller.spec is not None}


def documented(section: str) -> set[str]:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    body = text[text.index(f"### {section}"):]
    body = body[:body.index("\n\n", body.index("|"))]
    return set(re.findall(r"^\| `(attractor_\w+)\(", body, re.M))


def test_the_built_in_distributions_declare_the_hooks_only_they_call():
    declared = declared_hooks(make_plugin_manager())
    assert {name: declared[name] for name in PLUGIN_HOOKS} == PLUGIN_HOOKS
    assert not kernel_hooks() & set(PLUGIN_HOOKS)
    assert {n for n, m in declared.items() if m == "attractor_core.hookspecs"} == kernel_hooks()


def test_a_kernel_only_plugin_manager_knows_only_the_kernel_hooks():
    assert set(declared_hooks(make_plugin_manager(entry_points=False))) == kernel_hooks()


def test_docs_list_the_kernel_hooks_and_the_plugin_declared_hooks_apart():
    assert documented("Kernel hooks") == kernel_hooks()
    assert documented("Hooks the built-in distributions declare") == set(PLUGIN_HOOKS)


class _Specs:
    """A third party's own hook, declared the way the built-ins declare theirs."""

    @pluggy.HookspecMarker("attractor")
    def acme_greetings(self) -> list[str]:  # type: ignore[empty-body]
        """Contribute greetings."""


class _Declares:
    @hookimpl
    def attractor_add_hookspecs(self, pluginmanager: pluggy.PluginManager) -> None:
        pluginmanager.add_hookspecs(_Specs)

    @hookimpl
    def acme_greetings(self) -> list[str]:
        return ["hello"]


class _Implements:
    @hookimpl
    def acme_greetings(self) -> list[str]:
        return ["hi"]


def test_a_third_party_declares_its_own_hook_and_another_plugin_implements_it():
    # The implementer is registered first: its hook is checked once the declaration arrives.
    pm = make_plugin_manager(extra_plugins=[_Implements(), _Declares()])
    assert pm.hook.acme_greetings() == [["hello"], ["hi"]]


def test_implementing_a_hook_nobody_declares_is_a_load_error():
    with pytest.raises(PluginLoadError, match="unknown hook"):
        make_plugin_manager(entry_points=False, extra_plugins=[_Implements()])
