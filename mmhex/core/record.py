"""``@record``: the small part of ``@dataclass`` the command line's modules use, without its cost.

Importing ``dataclasses`` imports ``inspect`` (and ``ast``, ``dis``, ``tokenize`` ...): about 5 ms,
a third of ``python -c pass``, paid by every ``mmhex dump``. The value classes on the headless
path (the GUI request, a mapped window, a file identity, a parsed expression) need only what this
gives: fields in annotation order with class-level defaults (``factory(make)`` for a default made
per instance, as ``field(default_factory=make)``), keyword or positional construction, ``==``
(unless ``eq=False``: identity, hashable), ``repr`` and, when frozen, immutability and a hash;
``replace(obj, **changes)`` as ``dataclasses.replace``. The decorator keeps the dataclass spelling
so a class moves between the two by changing one import.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs 2 ms to import; only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as dataclasses.FrozenInstanceError)."""


class factory:
    """A field default made anew for each instance: ``items: list = factory(list)``."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def record(cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
    """Make ``cls`` a value class from its annotations: ``@record`` or ``@record(frozen=True)``."""

    def wrap(klass: type[T]) -> type[T]:
        return _build(klass, frozen, eq)

    return wrap if cls is None else wrap(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of record ``obj`` with ``changes`` (``dataclasses.replace``)."""
    fields = type(obj).__record_fields__  # type: ignore[attr-defined]
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    values = {name: getattr(obj, name) for name in fields}
    values.update(changes)
    return type(obj)(**values)


def _build(cls: type[T], frozen: bool, eq: bool = True) -> type[T]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in klass.__dict__.get("__annotations__", {}):  # noqa: RUF063  (no inspect)
            if name not in names:
                names.append(name)
    defaults = {name: getattr(cls, name) for name in names if hasattr(cls, name)}
    factories = {name: value.make for name, value in defaults.items() if type(value) is factory}
    for name in factories:
        if name in cls.__dict__:
            delattr(cls, name)  # as with dataclasses: no class attribute for a made default
    seen_default = False
    for name in names:
        if name in defaults:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default field {name!r} follows a default field")
    fields = tuple(names)
    positional = len(fields)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > positional:
            raise TypeError(f"{cls.__name__}() takes {positional} positional arguments")
        values = dict(zip(fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            values[name] = value
        for name in fields:
            value = values.get(name, defaults.get(name, _MISSING))
            if value is _MISSING:
                raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
            if name in factories and name not in values:
                value = factories[name]()
            object.__setattr__(self, name, value)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in fields)

    methods: dict[str, Callable[..., Any]] = {"__init__": __init__, "__repr__": __repr__}
    if eq:
        methods["__eq__"] = __eq__
    if frozen:

        def __setattr__(self: Any, name: str, value: Any) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        methods.update(__setattr__=__setattr__, __delattr__=__delattr__)
    if eq and frozen:

        def __hash__(self: Any) -> int:
            return hash(tuple(getattr(self, name) for name in fields))

        methods["__hash__"] = __hash__
    elif eq:
        methods["__hash__"] = None  # type: ignore[assignment]  (mutable and ==: unhashable)
    # eq=False: identity equality and hash, inherited from object
    for name, method in methods.items():
        if name == "__hash__" or name not in cls.__dict__:
            setattr(cls, name, method)
    cls.__match_args__ = fields  # type: ignore[attr-defined]
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    return cls
