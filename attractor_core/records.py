"""Frozen value classes written by hand, for the modules short commands load.

``attractor validate`` and ``attractor status`` build the graph model, the
diagnostics and the run records they print. As attrs classes these cost the
import of attrs (with typing, inspect, platform and threading) and code
generated and compiled at every start; a ``Record`` subclass is compiled once
into its ``.pyc``. A subclass lists its fields in ``__match_args__`` (in
``__init__`` order, as attrs does) and ``__slots__``, and writes its own
``__init__`` setting each field with ``object.__setattr__``. ``Record`` gives
it what ``attrs.frozen`` would: assignment raises ``AttributeError``, equality
and hashing by field values within one class, an attrs-style ``repr``, and
pickling and copying through ``__init__``.

To attrs and cattrs a record looks like an attrs class: ``__attrs_attrs__`` is
built on first use (importing attrs then, on the paths that use it anyway), so
``attrs.evolve``, ``attrs.fields``, ``attrs.asdict``, ``attrs.has`` and the
cattrs converter keep working on them, for plugins as for the kernel. The
kernel's own short paths use ``evolve`` below, which needs no attrs.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar, cast

R = TypeVar("R")


class _AttrsFields:
    """A record class's ``__attrs_attrs__``: attrs' field descriptions, built on first use
    from ``__match_args__``, the ``__init__`` defaults and the class annotations."""

    def __get__(self, instance: object, owner: type[Record]) -> tuple[Any, ...]:
        built = _ATTRS_FIELDS.get(owner)
        if built is None:
            built = _ATTRS_FIELDS[owner] = _attrs_fields(owner)
        return built


_ATTRS_FIELDS: dict[type, tuple[Any, ...]] = {}


def _attrs_fields(cls: type[Record]) -> tuple[Any, ...]:
    import inspect

    import attrs

    parameters = inspect.signature(cls.__init__).parameters
    annotations: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations.update(getattr(base, "__annotations__", {}))
    fields: dict[str, Any] = {}
    for name in cls.__match_args__:
        hint = annotations.get(name)
        default = parameters[name].default
        fields[name] = attrs.field(
            type=_resolve(hint, cls.__module__) if isinstance(hint, str) else hint,
            default=attrs.NOTHING if default is inspect.Parameter.empty else default)
    # Only the field descriptions are wanted: no methods generated for the throwaway class.
    shadow = attrs.make_class(cls.__name__, fields, init=False, repr=False, eq=False)
    built: tuple[Any, ...] = attrs.fields(shadow)
    return built


_HINTS: dict[tuple[str, str], Any] = {}


def _resolve(hint: str, module: str) -> Any:
    """An annotation written as a string (``from __future__ import annotations``), evaluated
    in its module; None for a name imported for type checking only."""
    key = (module, hint)
    if key not in _HINTS:
        import builtins
        import sys

        namespace = vars(sys.modules[module])
        if hint.isidentifier():
            _HINTS[key] = namespace.get(hint, getattr(builtins, hint, None))
        else:
            try:
                _HINTS[key] = eval(hint, namespace)  # what typing.get_type_hints does
            except NameError:
                _HINTS[key] = None
    return _HINTS[key]


class Record:
    """Base of the hand-written frozen value classes (see the module docstring)."""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()
    __attrs_attrs__: ClassVar[Any] = _AttrsFields()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__.__qualname__, *self._values()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, self._values())


def evolve(instance: R, **changes: Any) -> R:
    """A copy of ``instance`` with ``changes`` (field name to new value) applied.

    ``instance`` is a ``Record`` or an attrs class (then this is ``attrs.evolve``).
    """
    if isinstance(instance, Record):
        unknown = set(changes) - set(instance.__match_args__)
        if unknown:
            raise TypeError(f"{type(instance).__name__} has no field {sorted(unknown)[0]!r}")
        values = {name: getattr(instance, name) for name in instance.__match_args__}
        return type(instance)(**{**values, **changes})
    import attrs  # attrs classes are built on run paths, where attrs is loaded already

    evolved: R = attrs.evolve(cast(Any, instance), **changes)
    return evolved
