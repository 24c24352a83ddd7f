"""Which calls can cross a process boundary: the arguments and results an isolated module may take.

A module that runs in its own process (``isolation = "process"``) is
called through a proxy that sends every argument to the worker and every
result back, pickled. Only values that mean the same thing on the other
side may make that trip: data (numbers, strings, bytes, containers of
them, enums, dataclasses, named tuples and typed dicts of data). A
callable, an iterator, an open file, a socket, a lock or the host's
``Context`` would arrive as a copy that is no longer connected to
anything, or not at all, so a method that takes or returns one cannot be
isolated.

The answer is read from annotations, the interface's first (they say what
the host passes and expects) and the module class's where the interface
leaves one out: an unannotated parameter or result cannot be checked, so
it does not pass. The guards record the answer for every module at build
time, and fail the build for a module built to be isolated; the host asks
again before it starts a worker. Lifecycle methods (``provision``,
``validate``, ``start``, ``stop``, ``cleanup``) are not calls of the
interface: the worker runs them on its own instance with its own context,
so they are not checked here.
"""

from __future__ import annotations

import collections
import collections.abc as abc
import dataclasses
import datetime
import decimal
import enum
import fractions
import inspect
import io
import ipaddress
import pathlib
import socket
import sys
import threading
import types
import typing
import uuid
from typing import Any

from corehost.conformance import interface_members, unwrap

#: Methods the worker runs itself, on its own instance: never arguments a host sends.
LIFECYCLE = frozenset({"provision", "validate", "start", "stop", "cleanup"})

#: Classes whose instances pickle as their value, the same on both sides.
VALUES: tuple[type, ...] = (
    bool, int, float, complex, str, bytes, bytearray, decimal.Decimal, fractions.Fraction,
    datetime.date, datetime.time, datetime.timedelta, datetime.timezone, uuid.UUID, pathlib.PurePath,
    ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
)  # fmt: skip

#: Containers whose one type argument is the type of every element.
_SEQUENCES = frozenset({list, set, frozenset, collections.deque, abc.Sequence, abc.MutableSequence, abc.Set,
                        abc.MutableSet, abc.Collection})  # fmt: skip
_MAPPINGS = frozenset({dict, collections.OrderedDict, collections.defaultdict, abc.Mapping, abc.MutableMapping})
_LAZY = frozenset({abc.Iterator, abc.Iterable, abc.Generator, abc.AsyncIterator, abc.AsyncIterable,
                   abc.AsyncGenerator, abc.Awaitable, abc.Coroutine, abc.Reversible})  # fmt: skip

#: Qualifiers around the type of a value (metadata, a TypedDict key's presence, a dataclass field's finality).
_WRAPPERS: frozenset[Any] = frozenset({typing.Annotated, typing.Required, typing.NotRequired, typing.Final})
#: ``collections.abc.Callable``, typed as what it is at run time: a class (mypy sees a special form).
_CALLABLE: Any = abc.Callable
_ANY_WHY = (
    "says nothing about what the value is, so whether it can cross cannot be checked; name the types it "
    "takes (e.g. str | int, or a dataclass)"
)
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def crossing_problems(interface: type, cls: type | None = None) -> list[str]:
    """Why calls of ``interface``'s methods (as ``cls`` implements them) cannot cross; empty: they all can.

    Each entry names the method and the parameter or result at fault, its
    type, why it cannot cross and what to write instead.
    """
    out: list[str] = []
    home = sys.modules.get(interface.__module__)
    for name, spec in interface_members(interface):
        if name in LIFECYCLE:
            continue
        impl = inspect.getattr_static(cls, name, None) if cls is not None else None
        out += _member_problems(name, spec, impl, home)
    return out


def _member_problems(name: str, spec: Any, impl: Any, home: types.ModuleType | None) -> list[str]:
    if isinstance(spec, property):
        return [
            f"{name!r} is a property: a call crosses the boundary, an attribute read does not; make it a method "
            f"(`def {name}(self) -> ...`) so the host can ask the worker for it"
        ]
    fn = unwrap(spec)
    code = unwrap(impl) if impl is not None and callable(unwrap(impl)) else None
    for candidate in (fn, code):
        if candidate is not None and (inspect.isgeneratorfunction(candidate) or inspect.isasyncgenfunction(candidate)):
            return [
                f"method {name!r} is a generator: its values are made lazily in the process that runs it, and "
                "a generator cannot cross the boundary; return a list instead"
            ]
        if candidate is not None and inspect.iscoroutinefunction(candidate):
            return [
                f"method {name!r} is async: an isolated module is called synchronously across the boundary; "
                "make it a plain method (the worker may run an event loop inside it)"
            ]
    spec_params, spec_hints = _signature(spec)
    impl_params, impl_hints = _signature(impl) if code is not None else ([], {})
    impl_by_name = {p.name: p for p in impl_params}
    out = []
    for param in spec_params:
        written = _written(param.annotation, impl_by_name.get(param.name))
        hint = spec_hints.get(param.name, _MISSING)
        from_module = hint is _MISSING and param.name in impl_by_name
        if from_module:
            hint = impl_hints.get(param.name, _MISSING)
        stars = _STARS.get(param.kind, "")
        what = f"parameter '{stars}{param.name}'"
        why = _hint_problem(hint, written) or (_not_in_host(hint, home) if from_module else "")
        if why:
            out.append(f"method {name!r}, {what}: {why}")
    ret = spec_hints.get("return", _MISSING)
    written_ret = _written_return(spec, impl)
    from_module = ret is _MISSING and code is not None
    if from_module:
        ret = impl_hints.get("return", _MISSING)
    why = _hint_problem(ret, written_ret) or (_not_in_host(ret, home) if from_module else "")
    if why:
        out.append(f"method {name!r}, its result: {why}")
    return out


_STARS: dict[inspect._ParameterKind, str] = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


class _Missing:
    """No annotation at all (``None`` is an annotation: it means the value ``None``)."""


_MISSING: Any = _Missing()


class _Unresolved:
    """An annotation written as text that cannot be evaluated where its function lives."""

    def __init__(self, text: str, error: Exception) -> None:
        self.text = text
        self.error = error


def _signature(value: Any) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    """The parameters a caller passes (without ``self``/``cls``) and each one's resolved annotation."""
    if value is None:
        return [], {}
    fn = unwrap(value)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return [], {}
    params = list(sig.parameters.values())
    if (
        not isinstance(value, staticmethod)
        and params
        and params[0].kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
    ):
        params = params[1:]
    return params, _hints(fn, sig)


def _hints(fn: Any, sig: inspect.Signature) -> dict[str, Any]:
    """Every annotation of ``fn`` resolved; one that cannot be is kept as :class:`_Unresolved`, not fatal."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        # Typically a name imported only under TYPE_CHECKING: resolve the others, and name that one.
        pass
    scope = getattr(fn, "__globals__", {})
    raw = {p.name: p.annotation for p in sig.parameters.values() if p.annotation is not inspect.Parameter.empty}
    if sig.return_annotation is not inspect.Signature.empty:
        raw["return"] = sig.return_annotation
    hints: dict[str, Any] = {}
    for key, annotation in raw.items():
        if not isinstance(annotation, str):
            hints[key] = annotation
            continue
        try:
            # What typing.get_type_hints does for each annotation, one at a time so one bad name spoils one.
            hints[key] = eval(annotation, dict(scope))
        except Exception as exc:
            hints[key] = _Unresolved(annotation, exc)
    return hints


def _not_in_host(hint: Any, home: types.ModuleType | None) -> str:
    """Why a type only the module class names cannot be rebuilt in the host ('' when it can).

    A value crosses as its class's module and name, and the host rebuilds an enum, dataclass or named
    tuple only from a module it has imported: the interface's module (with what it imports), never the
    isolated module's own code, which runs in the worker alone. A type the interface's annotations name
    is one the interface's module imports; one named only by the module class must be found there too.
    """
    for cls in _named_classes(hint):
        is_data = (
            dataclasses.is_dataclass(cls)
            or issubclass(cls, enum.Enum)
            or (issubclass(cls, tuple) and hasattr(cls, "_fields"))
        )
        if is_data and (home is None or getattr(home, cls.__name__, None) is not cls):
            where = f"module {home.__name__!r}" if home is not None else "the interface's module"
            return (
                f"{cls.__qualname__} is defined in module {cls.__module__!r}, which the host does not import (it "
                f"imports the interface's {where}; the module's own code runs in its worker), so the host could "
                f"not rebuild one; name {cls.__qualname__} in the interface's annotations, or define it in "
                f"{where}"
            )
    return ""


def _named_classes(hint: Any) -> typing.Iterator[type]:
    """The classes an annotation names, its type arguments' included."""
    if isinstance(hint, type) and not typing.get_args(hint):
        yield hint
        return
    origin = typing.get_origin(hint)
    if isinstance(origin, type):
        yield origin
    for arg in typing.get_args(hint):
        if arg is not Ellipsis and not isinstance(arg, (list, str, int, bytes, bool, enum.Enum)) and arg is not None:
            yield from _named_classes(arg)


def _written(annotation: Any, impl: inspect.Parameter | None) -> str:
    if annotation is inspect.Parameter.empty and impl is not None:
        annotation = impl.annotation
    return annotation if isinstance(annotation, str) else _show(annotation)


def _written_return(spec: Any, impl: Any) -> str:
    for value in (spec, impl):
        if value is None:
            continue
        try:
            annotation = inspect.signature(unwrap(value)).return_annotation
        except (TypeError, ValueError):
            continue
        if annotation is not inspect.Signature.empty:
            return annotation if isinstance(annotation, str) else _show(annotation)
    return ""


def _hint_problem(hint: Any, written: str) -> str:
    """Why a value annotated ``hint`` cannot cross, as the end of a sentence (empty: it can)."""
    if hint is _MISSING:
        return (
            "it has no annotation, so whether its values can cross the boundary cannot be checked; annotate it "
            "with the type it takes (e.g. str)"
        )
    if isinstance(hint, _Unresolved):
        return (
            f"its annotation {hint.text!r} cannot be resolved ({type(hint.error).__name__}: {hint.error}); "
            "import the names it uses at run time (not only under `if TYPE_CHECKING:`) so that what crosses "
            "can be checked"
        )
    why = why_not(hint)
    return f"{written or _show(hint)} cannot cross the process boundary: {why}" if why else ""


def why_not(hint: Any, _seen: frozenset[int] = frozenset()) -> str:
    """Why a value of type ``hint`` cannot be sent to another process and mean the same there (empty: it can)."""
    if hint is None or hint is type(None) or hint in (typing.NoReturn, typing.Never):
        return ""
    if hint in (Any, object):
        return f"{_show(hint)} {_ANY_WHY}"
    if isinstance(hint, typing.TypeVar):
        if hint.__bound__ is not None:
            return why_not(hint.__bound__, _seen)
        if hint.__constraints__:
            return _first(hint.__constraints__, _seen)
        return f"type variable {hint} is unbound: it {_ANY_WHY}"
    if isinstance(hint, typing.NewType):
        return why_not(hint.__supertype__, _seen)
    if isinstance(hint, (str, typing.ForwardRef)):
        return f"the annotation {hint!r} is text that was never resolved to a type; import what it names"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in _WRAPPERS:
        return why_not(args[0], _seen)
    if origin is typing.Union or origin is types.UnionType:
        return _first(args, _seen)
    if origin is typing.Literal:
        bad = [a for a in args if not (a is None or isinstance(a, (bool, int, str, bytes, enum.Enum)))]
        return f"its literal value {bad[0]!r} is not plain data" if bad else ""
    if origin is not None:
        return _generic_problem(hint, origin, args, _seen)
    if isinstance(hint, type):
        return _class_problem(hint, _seen)
    return f"{_show(hint)} is not a type this check knows; use a type built from data (str, int, list[...], ...)"


def _first(hints: typing.Iterable[Any], seen: frozenset[int]) -> str:
    return next((why for why in (why_not(h, seen) for h in hints) if why), "")


def _generic_problem(hint: Any, origin: Any, args: tuple[Any, ...], seen: frozenset[int]) -> str:
    if origin is _CALLABLE:
        return (
            "a callable would have to call back into the process that sent it, which a call across the boundary "
            "cannot do; pass the data the callable would compute instead"
        )
    if origin in _LAZY:
        return (
            f"a value of type {_show(origin)} is consumed lazily in the process that made it and cannot be sent; "
            "take or return a list[...] instead"
        )
    if origin is tuple and (args or hint == tuple[()]):
        return _first([a for a in args if a is not Ellipsis], seen)
    if origin in _SEQUENCES or origin in _MAPPINGS or origin is tuple:
        return _first(args, seen) if args else _bare(origin)
    if origin is type:
        return (
            "a class is sent by reference and must be importable under the same name in the worker; pass "
            "its name as a str instead"
        )
    return why_not(origin, seen)


def _class_problem(cls: type, seen: frozenset[int]) -> str:
    if issubclass(cls, enum.Enum) or issubclass(cls, VALUES):
        return ""
    if cls is tuple or cls in _SEQUENCES or cls in _MAPPINGS:
        return _bare(cls)
    if cls in _LAZY or cls is _CALLABLE:
        return _generic_problem(cls, cls, (), seen)
    special = _special_class(cls)
    if special:
        return special
    if id(cls) in seen:
        return ""
    fields = _data_fields(cls)
    if fields is None:
        return (
            f"{cls.__qualname__} is a plain class: sending one would copy whatever state it holds (or fail) and "
            "leave it disconnected from the process that made it; make it a dataclass, NamedTuple or TypedDict "
            "of crossable fields"
        )
    if isinstance(fields, _Unresolved):
        return (
            f"the fields of {cls.__qualname__} cannot be resolved ({type(fields.error).__name__}: {fields.error}); "
            "import the names their annotations use at run time"
        )
    inner = seen | {id(cls)}
    for field, field_hint in fields.items():
        why = why_not(field_hint, inner)
        if why:
            return f"its field {cls.__qualname__}.{field} ({_show(field_hint)}) cannot cross: {why}"
    return ""


def _bare(container: type) -> str:
    example = "[str, int]" if container in _MAPPINGS else "[str, ...]" if container is tuple else "[str]"
    return (
        f"a bare {container.__name__} does not say what it holds, so whether its elements can cross cannot be "
        f"checked; name their types (e.g. {container.__name__}{example})"
    )


def _special_class(cls: type) -> str:
    """The reason for the classes a user most often tries to pass, with what to do instead."""
    if issubclass(cls, (io.IOBase, typing.IO)):
        return "an open file belongs to the process that opened it; pass its path or its contents (bytes) instead"
    if issubclass(cls, socket.socket):
        return "a socket belongs to the process that opened it; pass an address (str) instead"
    if issubclass(cls, _LOCK_TYPES) or cls.__module__ == "threading":
        return "a lock or other threading object synchronises threads of one process only; it cannot be shared"
    if cls.__module__ == "corehost.context" and cls.__name__ == "Context":
        return (
            "the host's Context stays in the host; the worker provisions the module with a context of its own, "
            "so take the data the method needs instead"
        )
    return ""


def _data_fields(cls: type) -> dict[str, Any] | _Unresolved | None:
    """The typed fields of a dataclass, NamedTuple or TypedDict; ``None`` for any other class."""
    is_named_tuple = issubclass(cls, tuple) and hasattr(cls, "_fields")
    if not (dataclasses.is_dataclass(cls) or is_named_tuple or typing.is_typeddict(cls)):
        return None
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        return _Unresolved(cls.__qualname__, exc)
    if dataclasses.is_dataclass(cls):
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}
    return {name: hint for name, hint in hints.items() if typing.get_origin(hint) is not typing.ClassVar}


def _show(hint: Any) -> str:
    """An annotation as it reads in source: ``list[str]``, ``Callable[[str], None]``, ``Greeting``."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__ if hint.__module__ == "builtins" else hint.__name__
    return inspect.formatannotation(hint).replace("typing.", "").replace("collections.abc.", "")
