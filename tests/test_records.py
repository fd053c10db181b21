"""@record behaves as @dataclass(slots=True) does for what agentctl's data classes use."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import pytest

from agentctl.records import field, fields_of, record, replace


@record
class Entry:
    name: str
    count: int = 0
    tags: list[str] = field(default_factory=list)
    hook: Any = field(default=None, repr=False, compare=False)

    @property
    def double(self) -> int:
        return self.count * 2


@dataclasses.dataclass(slots=True)
class Twin:
    name: str
    count: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    hook: Any = dataclasses.field(default=None, repr=False, compare=False)


CASES = [
    ((), {"name": "a"}),
    (("a", 3), {}),
    (("a",), {"count": 2, "tags": ["x"], "hook": print}),
    (("a", math.nan), {}),
]


@pytest.mark.parametrize(("args", "kwargs"), CASES)
def test_init_repr_and_eq_match_dataclasses(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    mine, theirs = Entry(*args, **kwargs), Twin(*args, **kwargs)
    assert repr(mine).replace("Entry", "Twin") == repr(theirs)
    assert (mine == Entry(*args, **kwargs)) == (theirs == Twin(*args, **kwargs))
    assert mine == mine and mine != Entry("other")
    assert (mine == theirs) is False and mine.__eq__(theirs) is NotImplemented


def test_defaults_are_fresh_and_slots_hold_the_fields() -> None:
    first, second = Entry("a"), Entry("b")
    first.tags.append("x")
    assert second.tags == [] and first.double == 0
    assert Entry.__slots__ == ("name", "count", "tags", "hook") == fields_of(Entry)
    assert not hasattr(first, "__dict__")
    with pytest.raises(AttributeError):
        first.other = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        hash(first)  # compared by value and mutable: unhashable, as a dataclass with eq=True


def test_errors_match_dataclasses() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        Entry()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Entry("a", colour=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="follows a default one"):

        @record
        class Wrong:
            first: int = 0
            second: int  # type: ignore[misc]


def test_replace_copies_with_changes() -> None:
    entry = Entry("a", 2, ["x"])
    changed = replace(entry, count=5)
    assert changed == Entry("a", 5, ["x"]) and entry.count == 2
    with pytest.raises(TypeError, match="no field 'colour'"):
        replace(entry, colour=1)


def test_class_variables_are_not_fields() -> None:
    @record
    class Kind:
        kind: ClassVar[str] = "k"
        name: str

    @dataclasses.dataclass(slots=True)
    class KindTwin:
        kind: ClassVar[str] = "k"
        name: str

    assert fields_of(Kind) == ("name",) == tuple(f.name for f in dataclasses.fields(KindTwin))
    assert Kind("a").kind == Kind.kind == KindTwin("a").kind == "k" and repr(Kind("a")) == "Kind(name='a')"
