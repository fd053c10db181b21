"""`@record`: slotted data classes that cost a read-only command almost nothing to define.

`@dataclass(slots=True)` builds `__init__`, `__repr__` and `__eq__` with one `exec` each and then
builds the class a second time for its slots: about 1 ms per class on this project's machine. The
27 classes `agentctl validate FILE` imports cost 27 ms that way, a third of `import typer`, against a
start-up budget of 1.5x `import typer` for every read-only command (bench/startup.py). `@record`
writes the same three methods in one `exec` and builds the class once, in about a tenth of that.

What it supports is what agentctl's data classes use: fields in annotation order, defaults,
`field(default=..., default_factory=..., repr=..., compare=...)` (this module's, which spares read-only
commands the import of `dataclasses` too), and `ClassVar[...]` annotations, which are class attributes
and not fields (agentctl.events: each event's `kind`). No inheritance, no
`__post_init__`, no frozen classes: a class that needs those is a plain dataclass. mypy reads
decorated classes as dataclasses (PEP 681, `dataclass_transform`). tests/test_records.py holds it to
dataclasses' behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")
_ABSENT = object()  # the default of a field with a default_factory, and of a field left out
_SKIPPED = frozenset({"__dict__", "__weakref__"})


class _Field:
    """One field: its name, default or default factory, and whether repr and == show it."""

    __slots__ = ("compare", "default", "factory", "name", "repr")

    def __init__(
        self,
        name: str,
        default: Any = _ABSENT,
        factory: Callable[[], Any] | None = None,
        repr: bool = True,
        compare: bool = True,
    ) -> None:
        self.name, self.default, self.factory, self.repr, self.compare = name, default, factory, repr, compare


def field(
    *,
    default: Any = _ABSENT,
    default_factory: Callable[[], Any] | None = None,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field's default or default factory, and whether repr and == show it (dataclasses.field)."""
    return _Field("", default, default_factory, repr, compare)


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T]) -> type[T]:
    """The class with `__slots__`, `__init__`, `__repr__`, `__eq__` (and `__hash__ = None`)."""
    fields = _fields_of(cls)
    namespace = {key: value for key, value in cls.__dict__.items() if key not in _SKIPPED}
    for field in fields:
        namespace.pop(field.name, None)  # defaults live in __init__; a slot cannot share a name
    namespace.update(_methods(cls.__qualname__, fields))
    namespace["__slots__"] = tuple(field.name for field in fields)
    namespace["__record_fields__"] = tuple(field.name for field in fields)
    namespace["__match_args__"] = tuple(field.name for field in fields)
    namespace["__hash__"] = None  # mutable and compared by value, as a dataclass with eq=True
    built: type[T] = type(cls.__name__, cls.__bases__, namespace)
    return built


def _fields_of(cls: type) -> list[_Field]:
    if any(base is not object for base in cls.__bases__):
        raise TypeError(f"@record {cls.__qualname__}: inheritance is not supported; use a dataclass")
    fields = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 (this class's own)
        if _is_class_var(annotation):
            continue
        value = cls.__dict__.get(name, _ABSENT)
        if isinstance(value, _Field):
            fields.append(_Field(name, value.default, value.factory, value.repr, value.compare))
        else:
            fields.append(_Field(name, value))
    return fields


def _is_class_var(annotation: object) -> bool:
    # As dataclasses do, without importing typing's machinery: a string under `from __future__ import
    # annotations`, else the object, whose text starts with `typing.ClassVar`.
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _methods(qualname: str, fields: list[_Field]) -> dict[str, Any]:
    """`__init__`, `__repr__` and `__eq__`, compiled from one piece of source."""
    scope: dict[str, Any] = {"_ABSENT": _ABSENT}
    parameters, body = ["self"], []
    defaulted = False
    for field in fields:
        name = field.name
        if field.factory is not None:
            scope[f"_factory_{name}"] = field.factory
            parameters.append(f"{name}=_ABSENT")
            body.append(f"  self.{name} = _factory_{name}() if {name} is _ABSENT else {name}")
        elif field.default is not _ABSENT:
            scope[f"_default_{name}"] = field.default
            parameters.append(f"{name}=_default_{name}")
            body.append(f"  self.{name} = {name}")
        elif defaulted:
            raise TypeError(f"@record {qualname}: non-default field {name!r} follows a default one")
        else:
            parameters.append(name)
            body.append(f"  self.{name} = {name}")
        defaulted = defaulted or field.factory is not None or field.default is not _ABSENT
    source = "\n".join([f"def __init__({', '.join(parameters)}):", *(body or ["  pass"])])
    exec(source, scope)
    init = scope["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    shown = tuple(field.name for field in fields if field.repr)
    compared = tuple(field.name for field in fields if field.compare)
    return {"__init__": init, "__repr__": _repr_of(shown), "__eq__": _eq_of(compared)}


def _repr_of(names: tuple[str, ...]) -> Callable[[Any], str]:
    """`__repr__` as dataclasses write it, without compiling code for it (it runs rarely)."""

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({shown})"

    return __repr__


def _eq_of(names: tuple[str, ...]) -> Callable[[Any, Any], bool]:
    """`__eq__` as dataclasses write it: the same class, and equal compared fields in order."""

    def __eq__(self: Any, other: Any) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        # As tuple comparison does it: the same object is equal to itself (a NaN field too).
        return all(
            (mine := getattr(self, name)) is (theirs := getattr(other, name)) or mine == theirs for name in names
        )

    return __eq__


def fields_of(cls: type) -> tuple[str, ...]:
    """The names of a record's fields, in order (dataclasses.fields for @record classes)."""
    names: tuple[str, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    return names


def replace(instance: T, **changes: Any) -> T:
    """A copy of a record with some fields changed (dataclasses.replace for @record classes)."""
    names = fields_of(type(instance))
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(instance).__qualname__} has no field {sorted(unknown)[0]!r}")
    return type(instance)(**{name: changes.get(name, getattr(instance, name)) for name in names})
