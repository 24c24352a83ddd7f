"""Signature conformance: does a class implement an interface (Protocol or ABC)?

The one place that answers it, with public names: :mod:`corehost.guards`
runs it over every installed module, :class:`~corehost.context.Context`
over each class a config builds (so a run checks one interface without
importing the guards), and :mod:`corehost.interface_info` describes an
interface from the same members. It imports plugin code only as the
classes it is handed.
"""

from __future__ import annotations

import dis
import inspect
import typing
from collections.abc import Iterator
from typing import Any


def class_of(obj: Any) -> tuple[type | None, str]:
    """The class whose instances a module's factory makes, if it can be known."""
    if isinstance(obj, type):
        return obj, ""
    hint = inspect.signature(obj).return_annotation if _has_signature(obj) else inspect.Signature.empty
    if isinstance(hint, str):
        try:
            hint = typing.get_type_hints(obj).get("return", hint)
        except Exception:
            pass
    if isinstance(hint, type):
        return hint, ""
    return None, (
        f"factory {getattr(obj, '__qualname__', obj)!r} has no return annotation naming a class, "
        "so its instances cannot be checked before they are built; annotate its return type."
    )


def _has_signature(obj: Any) -> bool:
    try:
        inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return True


_IGNORED_BASES = frozenset({"object", "Protocol", "Generic", "ABC"})


def interface_members(interface: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties the interface defines, base classes included."""
    seen: set[str] = set()
    for base in interface.__mro__:
        if base.__name__ in _IGNORED_BASES and base.__module__ in ("builtins", "typing", "abc"):
            continue
        for name, value in vars(base).items():
            if name in seen or (name.startswith("_") and name != "__call__"):
                continue
            if callable(value) or isinstance(value, (staticmethod, classmethod, property)):
                seen.add(name)
                yield name, value


def interface_problems(cls: type, interface: type) -> list[str]:
    """What ``cls`` lacks or gets wrong to implement ``interface`` (empty: it fits)."""
    out = []
    for name, spec in interface_members(interface):
        impl = inspect.getattr_static(cls, name, None)
        if impl is None or impl is spec:
            # Absent, or inherited unchanged from the interface itself.
            if is_required(spec):
                out.append(f"missing required method `{render_signature(name, spec)}`; add it to {cls.__qualname__}")
            continue
        if isinstance(spec, property):
            continue
        if not callable(unwrap(impl)):
            out.append(f"{name!r} is a {type(impl).__name__}, not a method; define `{render_signature(name, spec)}`")
            continue
        problem = _signature_problem(name, spec, impl)
        if problem:
            out.append(problem)
    return out


def unwrap(value: Any) -> Any:
    return value.__func__ if isinstance(value, (staticmethod, classmethod)) else value


def is_required(spec: Any) -> bool:
    """Abstract, or a body that does nothing (``...``, ``pass``, ``raise NotImplementedError``)."""
    if getattr(spec, "__isabstractmethod__", False):
        return True
    if isinstance(spec, property):
        return spec.fget is None or _is_stub(spec.fget)
    return _is_stub(unwrap(spec))


_SKIP_OPS = frozenset(
    {"RESUME", "NOP", "CACHE", "PRECALL", "PUSH_NULL", "POP_TOP", "RETURN_GENERATOR", "COPY_FREE_VARS", "MAKE_CELL"}
)


def _is_stub(fn: Any) -> bool:
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    ops = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in _SKIP_OPS]
    if ops in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)]):
        return True
    names = [op for op, _ in ops]
    return (
        bool(ops)
        and ops[0] == ("LOAD_GLOBAL", "NotImplementedError")
        and names[-1] == "RAISE_VARARGS"
        and set(names[1:-1]) <= {"CALL"}
    )


def _params(name: str, value: Any) -> tuple[list[inspect.Parameter], inspect.Signature] | None:
    """Parameters a caller passes, i.e. without ``self``/``cls``."""
    fn = unwrap(value)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if (
        not isinstance(value, staticmethod)
        and params
        and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ):
        params = params[1:]
    return params, sig


class _Written(str):
    """An annotation kept as source text: shown as written, not quoted."""

    def __repr__(self) -> str:
        return str(self)


def render_signature(name: str, value: Any) -> str:
    """``def name(self, x: int) -> str``, annotations as the source spells them.

    Under ``from __future__ import annotations`` every annotation is a
    string, which ``inspect`` would quote (``x: 'int'``); they are shown
    unquoted so the signature reads like the code it came from.
    """
    fn = unwrap(value.fget if isinstance(value, property) else value)
    prefix = "async def " if inspect.iscoroutinefunction(fn) else "def "
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return f"{prefix}{name}(...)"

    def written(annotation: Any) -> Any:
        return _Written(annotation) if isinstance(annotation, str) else annotation

    sig = sig.replace(
        parameters=[p.replace(annotation=written(p.annotation)) for p in sig.parameters.values()],
        return_annotation=written(sig.return_annotation),
    )
    return f"{prefix}{name}{sig}"


def _signature_problem(name: str, spec: Any, impl: Any) -> str | None:
    spec_fn, impl_fn = unwrap(spec), unwrap(impl)
    both = f"the interface has `{render_signature(name, spec)}`, the module has `{render_signature(name, impl)}`"
    if inspect.iscoroutinefunction(spec_fn) != inspect.iscoroutinefunction(impl_fn):
        want = "async" if inspect.iscoroutinefunction(spec_fn) else "not async"
        return f"method {name!r} must be {want}: {both}"
    spec_params, impl_params = _params(name, spec), _params(name, impl)
    if spec_params is None or impl_params is None:
        return None
    why = _incompatible(spec_params[0], impl_params[0])
    return f"method {name!r} has an incompatible signature ({why}): {both}" if why else None


def _incompatible(spec: list[inspect.Parameter], impl: list[inspect.Parameter]) -> str | None:
    P = inspect.Parameter
    by_name = {p.name: p for p in impl}
    positional = [p for p in impl if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind is P.VAR_POSITIONAL for p in impl)
    var_kw = any(p.kind is P.VAR_KEYWORD for p in impl)
    used: set[str] = set()
    for index, p in enumerate(spec):
        if p.kind is P.VAR_POSITIONAL:
            if not var_pos:
                return f"it must accept *{p.name}"
            continue
        if p.kind is P.VAR_KEYWORD:
            if not var_kw:
                return f"it must accept **{p.name}"
            continue
        if p.kind is P.POSITIONAL_ONLY:
            match = positional[index] if index < len(positional) else None
            if match is None and not var_pos:
                return f"it must accept positional parameter {index + 1} ({p.name})"
        else:
            match = by_name.get(p.name)
            if match is None:
                if var_kw and (p.kind is P.KEYWORD_ONLY or var_pos):
                    continue
                return f"parameter {p.name!r} is missing"
            if match.kind in (P.POSITIONAL_ONLY, P.VAR_POSITIONAL, P.VAR_KEYWORD):
                return f"parameter {p.name!r} must be passable by name"
            if p.kind is P.POSITIONAL_OR_KEYWORD and (match.kind is P.KEYWORD_ONLY or positional.index(match) != index):
                return f"parameter {p.name!r} must be positional parameter {index + 1}"
        if match is not None:
            used.add(match.name)
            if p.default is not P.empty and match.default is P.empty:
                return f"parameter {match.name!r} needs a default, as in the interface"
    extra = [
        p.name
        for p in impl
        if p.name not in used and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD) and p.default is P.empty
    ]
    if extra:
        return f"extra parameter(s) {', '.join(map(repr, extra))} without a default"
    return None
