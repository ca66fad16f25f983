"""`quick_init`: a frozen slotted dataclass's faster `__init__` takes the same
arguments and makes the same objects as dataclasses' own."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import field, make_dataclass
from typing import Any

import pytest

from graph.model import quick_init


def _made(name: str) -> type:
    """A frozen slotted dataclass with a required field, defaults and a factory."""
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        ("key", str),
        ("count", int, field(default=1)),
        ("tags", tuple[str, ...], field(default=())),
        ("extra", dict[str, str], field(default_factory=dict, hash=False)),
    ]
    made = make_dataclass(name, spec, frozen=True, slots=True)
    made.__module__ = __name__  # where pickle finds it
    return made


_Plain = _made("_Plain")
_Quick: type = quick_init(_made("_Quick"))


def _fields(obj: Any) -> tuple[object, ...]:
    return dataclasses.astuple(obj)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 2), {}), (("a",), {"tags": ("x",)}), (("a", 3, ("y",), {"k": "v"}), {})],
)
def test_the_same_arguments_make_the_same_values(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    assert _fields(_Quick(*args, **kwargs)) == _fields(_Plain(*args, **kwargs))


def test_each_object_gets_its_own_default_from_the_factory() -> None:
    one, two = _Quick("a"), _Quick("b")
    assert one.extra == {}
    assert one.extra is not two.extra


def test_it_stays_frozen_hashable_replaceable_and_picklable() -> None:
    made = _Quick("a", 2, ("x",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.key = "b"
    assert hash(made) == hash(_Quick("a", 2, ("x",)))
    assert dataclasses.replace(made, count=5) == _Quick("a", 5, ("x",))
    assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - made here
    with pytest.raises(TypeError):
        _Quick()
    with pytest.raises(TypeError):
        _Quick("a", nope=1)


def test_fields_it_would_get_wrong_are_refused() -> None:
    specs: list[list[tuple[str, Any] | tuple[str, Any, Any]]] = [
        [("key", str), ("hidden", int, field(default=0, init=False))],
        [("key", str), ("named", int, field(default=0, kw_only=True))],
    ]
    for spec in specs:
        with pytest.raises(AssertionError, match="other fields"):
            quick_init(make_dataclass("_Odd", spec, frozen=True, slots=True))
