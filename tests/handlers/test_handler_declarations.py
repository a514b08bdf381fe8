"""The built-in handlers' declarations, read by validation and routing without importing
the handler classes, say what the classes themselves say."""

from __future__ import annotations

import importlib

import pytest

from attractor_core.registry import DeferredHandler
from attractor_handlers.plugin import HANDLERS, attractor_handler_types

DECLARED = ("custom_outcomes", "routes_outcome", "fans_out", "retries_any_failure")


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_declarations_match_the_handler_class(name: str) -> None:
    factory, _ = HANDLERS[name]
    module, _, cls_name = factory.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    deferred = attractor_handler_types()[name]
    assert isinstance(deferred, DeferredHandler)
    for attribute in DECLARED:
        assert getattr(deferred, attribute, None) == getattr(cls, attribute, None), attribute


def test_an_undeclared_attribute_loads_the_handler() -> None:
    deferred = DeferredHandler("attractor_handlers.tool:ToolHandler")
    assert deferred.custom_outcomes is True
