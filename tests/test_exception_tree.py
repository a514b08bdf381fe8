"""One exception tree: every exception class the kernel defines derives from AttractorError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import attractor_core
from attractor_core.errors import AttractorError


def kernel_modules() -> list[str]:
    found = pkgutil.walk_packages(attractor_core.__path__, prefix="attractor_core.")
    return ["attractor_core", *(m.name for m in found if not m.name.endswith("__main__"))]


def kernel_exceptions() -> dict[str, type[BaseException]]:
    classes: dict[str, type[BaseException]] = {}
    for name in kernel_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name):
                classes[f"{name}.{value.__qualname__}"] = value
    return classes


def test_every_kernel_exception_is_an_attractor_error():
    classes = kernel_exceptions()
    assert len(classes) >= 13  # the walk really found the kernel's exceptions
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, AttractorError))
    assert outside == []


def test_the_tree_in_the_errors_docstring_names_every_kernel_exception():
    doc = importlib.import_module("attractor_core.errors").__doc__ or ""
    drawn = set(re.findall(r"[─ ] (\w+(?:Error))\b", doc))
    # Private helper classes (a leading underscore) are not part of the public tree.
    defined = {cls.__name__ for cls in kernel_exceptions().values()
               if not cls.__name__.startswith("_")}
    assert drawn == defined


def test_the_tree_is_reachable_from_the_package():
    for name in ("AttractorError", "InputError", "UsageError", "ParseError", "ValidationError", "RunError",
                 "AttributeSyntaxError"):
        assert issubclass(getattr(attractor_core, name), AttractorError)


def test_every_raise_in_the_kernel_names_a_class_of_the_tree_or_a_programming_error():
    allowed_builtins = {"TypeError", "NotImplementedError", "AttributeError", "SystemExit"}
    defined = {cls.__name__ for cls in kernel_exceptions().values()}
    root = Path(attractor_core.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"\s*raise ([A-Z]\w*)\(", line)
            if match and match[1] not in defined | allowed_builtins:
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
