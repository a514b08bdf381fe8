"""Reading a run's JSON records back into their record classes, without cattrs.

``structure(data, cls)`` gives what ``CONVERTER.structure(data, cls)`` gives for the types
the run records use: ``str``, ``int``, ``float``, ``bool`` (each called on the value),
``X | None``, ``tuple[X, ...]``, ``dict[K, V]``, ``Any`` (the value itself), records and
attrs classes (keys missing from the object take the field's default, other keys are
ignored).
Any other type raises ``TypeError`` when its reader is first built. The commands that only
read a run (``status``, ``runs``, ``stop``) then start without importing cattrs (~10 % of
their time); writing still goes through ``runtime.serialization.CONVERTER``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from attractor_core.records import Record

T = TypeVar("T")
_PLAIN = (str, int, float, bool)


def structure(data: Any, cls: type[T]) -> T:
    """``data`` (parsed JSON) as an instance of ``cls``; raises ``TypeError`` or
    ``ValueError`` when it does not fit."""
    result: T = _reader(typing.cast(Any, cls))(data)
    return result


@functools.cache
def _reader(tp: Any) -> Callable[[Any], Any]:
    if tp is Any:
        return _itself
    if tp in _PLAIN:
        return typing.cast(Callable[[Any], Any], tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return _optional(_reader(next(a for a in args if a is not type(None))))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_of(_reader(args[0]))
    if origin is dict and len(args) == 2:
        return _dict_of(_reader(args[0]), _reader(args[1]))
    if isinstance(tp, type) and issubclass(tp, Record):
        return _record(tp, [(name, name) for name in tp.__match_args__])
    if isinstance(tp, type) and hasattr(tp, "__attrs_attrs__"):
        import attrs

        return _record(tp, [(f.name, f.alias) for f in attrs.fields(tp) if f.init])
    raise TypeError(f"no JSON reader for {tp!r}; add one to runtime/structure.py")


def _itself(value: Any) -> Any:
    return value


def _optional(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


def _tuple_of(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: tuple(read(item) for item in value)


def _dict_of(key: Callable[[Any], Any], read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read_dict(value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        return {key(k): read(v) for k, v in value.items()}

    return read_dict


def _record(cls: type, names: list[tuple[str, str]]) -> Callable[[Any], Any]:
    """A reader of ``cls`` given its fields' names and ``__init__`` parameter names."""
    hints = typing.get_type_hints(cls)
    fields = [(name, alias, _reader(hints[name])) for name, alias in names]

    def read(value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(value).__name__}")
        return cls(**{alias: read_field(value[name])
                      for name, alias, read_field in fields if name in value})

    return read
