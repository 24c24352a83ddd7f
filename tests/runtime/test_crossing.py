"""What can cross a process boundary (corehost.crossing), checked against what really crosses.

Every annotation the check accepts is paired with a value of that type sent
through a real ``multiprocessing.connection`` pipe (the wire isolated modules
use: pickled by ``Connection.send``) and compared on arrival; every kind of
value it refuses because it belongs to its process (a callable, a generator,
a lock, an open file) is shown to fail that same trip, so the check says no
where the wire would break.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import datetime
import decimal
import enum
import io
import pathlib
import pickle
import socket
import sys
import threading
import types
import typing
import uuid
from collections.abc import Callable, Iterator
from multiprocessing.connection import Pipe
from typing import Any, Literal, NamedTuple, Protocol, TypedDict

import pytest

from corehost import wire
from corehost.crossing import crossing_problems, why_not
from corehost.frozen import from_data, to_data
from corehost.guards import check_modules
from corehost.registry import Registry


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str | None = None


@dataclasses.dataclass
class Tree:
    """Recursive: a tree of trees crosses like any nested data."""

    name: str
    children: list[Tree] = dataclasses.field(default_factory=list)


class Pair(NamedTuple):
    left: str
    right: float


class Options(TypedDict, total=False):
    verbose: typing.Required[bool]
    tags: list[str]
    level: typing.NotRequired[int]


@dataclasses.dataclass
class Limits:
    most: typing.Final[int] = 3  # Final in a dataclass field: a constant per instance


@dataclasses.dataclass
class WithCallback:
    name: str
    on_done: Callable[[str], None]


class Handle:
    """A plain class: what it holds is not declared, so it does not cross."""

    def __init__(self) -> None:
        self.fd = 3


#: Annotation, then a value of that type. Each must be accepted and arrive equal through a pipe.
CROSSABLE: list[tuple[Any, Any]] = [
    (None, None),
    (int, 7),
    (float, 2.5),
    (bool, True),
    (str, "你好"),
    (bytes, b"\x00\xff"),
    (decimal.Decimal, decimal.Decimal("1.10")),
    (datetime.datetime, datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)),
    (datetime.timedelta, datetime.timedelta(seconds=3)),
    (uuid.UUID, uuid.UUID(int=1)),
    (pathlib.PurePosixPath, pathlib.PurePosixPath("/run/greeter.sock")),
    (list[int], [1, 2]),
    (tuple[int, str], (1, "a")),
    (tuple[int, ...], (1, 2, 3)),
    (tuple[()], ()),
    (set[str], {"a"}),
    (frozenset[int], frozenset({1})),
    (dict[str, list[float]], {"a": [1.0]}),
    (abc.Mapping[str, int], {"a": 1}),
    (abc.Sequence[bytes], [b"x"]),
    (typing.Optional[int], None),  # noqa: UP045  # the old spelling is still an annotation users write
    (int | str, "x"),
    (Literal["en", "zh", 3], "zh"),
    (typing.Annotated[int, "meta"], 4),
    (typing.NewType("UserId", int), 5),
    (typing.TypeVar("N", bound=int), 6),
    (Colour, Colour.BLUE),
    (Point, Point(1, 2, "p")),
    (Tree, Tree("root", [Tree("leaf")])),
    (Pair, Pair("l", 1.5)),
    (Options, {"verbose": True, "tags": ["a"]}),
    (Options, {"verbose": True}),
    (Limits, Limits()),
    (list[Point | None], [Point(0, 0), None]),
]


@pytest.mark.parametrize(("annotation", "value"), CROSSABLE, ids=lambda v: repr(v)[:40])
def test_what_the_check_accepts_crosses_a_real_pipe_unchanged(annotation: Any, value: Any) -> None:
    assert why_not(annotation) == ""
    near, far = Pipe()
    with near, far:
        near.send(value)
        assert far.recv() == value


def _generator() -> Iterator[int]:
    yield 1


def _open_file() -> io.TextIOWrapper:
    return open(__file__, encoding="utf-8")


#: Annotation, a maker of a value of it bound to its process (None where the value is not the point), and
#: a phrase of the reason the check gives.
REFUSED: list[tuple[Any, Callable[[], Any] | None, str]] = [
    (Callable[[str], None], lambda: lambda s: None, "a callable would have to call back"),
    (Iterator[int], _generator, "consumed lazily"),
    (abc.Generator[int, None, None], _generator, "consumed lazily"),
    (io.TextIOBase, _open_file, "an open file belongs to the process"),
    (typing.TextIO, _open_file, "an open file belongs to the process"),
    # multiprocessing's pickler hands a socket over by duplicating its descriptor, which works for a process
    # on the same machine only (never for a worker reattached over TCP): refused, though this trip succeeds.
    (socket.socket, None, "a socket belongs to the process"),
    (type(threading.Lock()), threading.Lock, "synchronises threads of one process only"),
    (Handle, None, "Handle is a plain class"),
    (WithCallback, lambda: WithCallback("n", lambda s: None), "its field WithCallback.on_done"),
    (Any, None, "Any says nothing about what the value is"),
    (object, None, "object says nothing about what the value is"),
    (dict[str, Any], None, "Any says nothing"),
    (list, None, "a bare list does not say what it holds"),
    (typing.Dict, None, "a bare dict does not say what it holds"),  # noqa: UP006  # the bare alias is the point
    (typing.TypeVar("T"), None, "type variable ~T is unbound"),
    (type[Point], None, "a class is sent by reference"),
    (int | Callable[[], int], None, "a callable"),
]


@pytest.mark.parametrize(("annotation", "make", "reason"), REFUSED, ids=lambda v: repr(v)[:40])
def test_what_the_check_refuses_is_named_and_does_not_cross(
    annotation: Any, make: Callable[[], Any] | None, reason: str
) -> None:
    assert reason in why_not(annotation)
    if make is not None:
        value = make()
        near, far = Pipe()
        try:
            with near, far, pytest.raises((TypeError, AttributeError, pickle.PicklingError), match="pickle"):
                near.send(value)
        finally:
            if hasattr(value, "close"):
                value.close()


# -- whole interfaces ------------------------------------------------------------------------------------


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


class Chinese:
    punctuation: str = "!"

    def provision(self, ctx: Any) -> None:
        """Lifecycle: run by the worker with its own context, never a call the host sends."""

    def greet(self, name: str) -> str:
        return f"你好, {name}{self.punctuation}"


def test_the_greeters_interface_crosses() -> None:
    assert crossing_problems(Greeter, Chinese) == []
    assert crossing_problems(Greeter) == []


class Busy(Protocol):
    def provision(self, ctx: Handle) -> None: ...

    def each(self, names: list[str], callback: Callable[[str], None]) -> None: ...

    def lines(self) -> Iterator[str]: ...

    def tally(self, *counts: int, **weights: Handle) -> dict[str, int]: ...

    def loose(self, thing, other: str): ...  # unannotated on purpose

    def stream(self) -> abc.Generator[str, None, None]:
        yield "x"

    async def fetch(self, url: str) -> bytes: ...

    @property
    def size(self) -> int: ...


def test_every_method_that_cannot_cross_is_named_with_its_parameter_and_type() -> None:
    assert crossing_problems(Busy) == [
        "method 'each', parameter 'callback': Callable[[str], None] cannot cross the process boundary: a callable "
        "would have to call back into the process that sent it, which a call across the boundary cannot do; pass "
        "the data the callable would compute instead",
        "method 'lines', its result: Iterator[str] cannot cross the process boundary: a value of type Iterator is "
        "consumed lazily in the process that made it and cannot be sent; take or return a list[...] instead",
        "method 'tally', parameter '**weights': Handle cannot cross the process boundary: Handle is a plain class: "
        "sending one would copy whatever state it holds (or fail) and leave it disconnected from the process that "
        "made it; make it a dataclass, NamedTuple or TypedDict of crossable fields",
        "method 'loose', parameter 'thing': it has no annotation, so whether its values can cross the boundary "
        "cannot be checked; annotate it with the type it takes (e.g. str)",
        "method 'loose', its result: it has no annotation, so whether its values can cross the boundary cannot be "
        "checked; annotate it with the type it takes (e.g. str)",
        "method 'stream' is a generator: its values are made lazily in the process that runs it, and a generator "
        "cannot cross the boundary; return a list instead",
        "method 'fetch' is async: an isolated module is called synchronously across the boundary; make it a plain "
        "method (the worker may run an event loop inside it)",
        "'size' is a property: a call crosses the boundary, an attribute read does not; make it a method "
        "(`def size(self) -> ...`) so the host can ask the worker for it",
    ]


class Sparse(Protocol):
    def render(self, page): ...  # the interface leaves it to the module


class Annotated:
    def render(self, page: int) -> str:
        return str(page)


class AnnotatedBadly:
    def render(self, page: int) -> Iterator[str]:
        yield str(page)


def test_the_module_class_annotates_what_its_interface_leaves_out() -> None:
    assert len(crossing_problems(Sparse)) == 2
    assert crossing_problems(Sparse, Annotated) == []
    assert crossing_problems(Sparse, AnnotatedBadly) == [
        "method 'render' is a generator: its values are made lazily in the process that runs it, and a generator "
        "cannot cross the boundary; return a list instead"
    ]


TYPE_CHECKING_ONLY = """
from __future__ import annotations
from typing import TYPE_CHECKING, Protocol
if TYPE_CHECKING:
    from decimal import Decimal

class Pricer(Protocol):
    def price(self, item: str, at: Decimal) -> Decimal: ...
    def name(self) -> str: ...
"""


def test_a_name_imported_only_for_type_checkers_is_named_and_the_rest_still_checked() -> None:
    scope: dict[str, Any] = {"__name__": "fx_pricer"}
    exec(TYPE_CHECKING_ONLY, scope)
    problems = crossing_problems(scope["Pricer"])
    assert problems == [
        "method 'price', parameter 'at': its annotation 'Decimal' cannot be resolved (NameError: name 'Decimal' "
        "is not defined); import the names it uses at run time (not only under `if TYPE_CHECKING:`) so that what "
        "crosses can be checked",
        "method 'price', its result: its annotation 'Decimal' cannot be resolved (NameError: name 'Decimal' is "
        "not defined); import the names it uses at run time (not only under `if TYPE_CHECKING:`) so that what "
        "crosses can be checked",
    ]


# -- recorded by the guards, kept by the frozen registry ----------------------------------------------------


class Each(Protocol):
    def each(self, names: list[str], callback: Callable[[str], None]) -> None: ...


class EachOne:
    def each(self, names: list[str], callback: Callable[[str], None]) -> None:
        for name in names:
            callback(name)


def test_the_guards_record_every_checked_module_and_a_frozen_registry_keeps_it() -> None:
    registry = Registry.for_host()
    registry.add_namespace("greeters", Greeter)
    registry.add_namespace("fxcb", Each)
    registry.add_module("greeters.zh", Chinese)
    registry.add_module("fxcb.one", EachOne)
    assert check_modules(registry) == [], "crossing is recorded, never a problem of a module run in-process"
    assert registry.crossing == {"greeters.zh": [], "fxcb.one": crossing_problems(Each, EachOne)}
    assert registry.crossing["fxcb.one"][0].startswith("method 'each', parameter 'callback': Callable")
    assert from_data(to_data(registry)).crossing == registry.crossing


#: A plugin's own module, which only its worker imports: a type defined there cannot be rebuilt in the host.
PLUGIN_OWN = """
from dataclasses import dataclass

@dataclass
class Reading:
    value: int

class OwnMeter:
    def read(self) -> list[Reading]:
        return [Reading(1)]
"""


class Meter(Protocol):
    """An interface that leaves a result's type to the module class, and one that names its own."""

    def read(self): ...

    def outer(self) -> Outer.Inner: ...


class Outer:
    @dataclasses.dataclass
    class Inner:
        value: int


class SharedMeter:
    def read(self) -> Point:
        return Point(1, 2)


def test_a_type_only_the_module_class_names_must_be_one_the_host_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host rebuilds a dataclass from modules it imported: the interface's, not the isolated module's."""
    own = types.ModuleType("fx_meter_plugin")
    monkeypatch.setitem(sys.modules, "fx_meter_plugin", own)
    exec(PLUGIN_OWN, own.__dict__)
    assert crossing_problems(Meter, own.OwnMeter) == [
        "method 'read', its result: Reading is defined in module 'fx_meter_plugin', which the host does not import "
        f"(it imports the interface's module {__name__!r}; the module's own code runs in its worker), so the host "
        f"could not rebuild one; name Reading in the interface's annotations, or define it in module {__name__!r}"
    ]
    assert crossing_problems(Meter, SharedMeter) == [], "Point is in the interface's module, which the host imports"
    # What the check accepts, the host's unpickler takes, a nested class included; what it refuses, it refuses.
    sent = [Point(1, 2), Outer.Inner(3)]
    assert wire.loads_reply(wire.dumps((wire.OK, sent))) == (wire.OK, sent)
    reading = pickle.dumps(own.Reading(1), wire.PICKLE_PROTOCOL)
    monkeypatch.delitem(sys.modules, "fx_meter_plugin")
    with pytest.raises(pickle.UnpicklingError, match=r"may not carry fx_meter_plugin\.Reading"):
        wire.loads_reply(reading)
