"""Strict decoding: a module instance built from its config, or a precise error.

Like Caddy's strict JSON decode, a field the module does not have is an
error (with the nearest known field suggested), and a value that does not
match a field's annotation is an error naming the field, the expected type
and the value. Errors carry the config path (``apps.greet.greeters[1].x``).

A module's fields come from one of two places:

* a class with its own ``__init__`` (dataclasses included), or a factory
  function: the parameters of that callable, which is called with them;
* any other class: its annotated class attributes; it is built with no
  arguments and the fields are set on the instance, so a plain class with
  ``punctuation: str = "!"`` is a complete module.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from corehost.errors import ConfigError, closest, config_errors

_MISSING = inspect.Parameter.empty


# Plain classes, not dataclasses: a run reads this module, and making them with dataclasses costs
# about 1 ms of it.
class Field:
    """One config field of a module: its annotation, and whether the config must give it."""

    __slots__ = ("annotation", "name", "required")

    def __init__(self, name: str, annotation: Any, required: bool) -> None:
        self.name = name
        self.annotation = annotation
        self.required = required


class Fields:
    """What a factory accepts: its fields, and whether it takes any others."""

    __slots__ = ("by_call", "extra", "fields")

    def __init__(self, fields: dict[str, Field], extra: bool, by_call: bool) -> None:
        self.fields = fields
        self.extra = extra
        #: True: call the factory with the fields; False: call it bare, then setattr.
        self.by_call = by_call


def fields_of(factory: Callable[..., Any]) -> Fields:
    """The config fields that ``factory`` accepts."""
    if isinstance(factory, type) and cast(Any, factory).__init__ is object.__init__:
        return _class_fields(factory)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return Fields({}, True, True)
    hints = _hints(cast(Any, factory).__init__ if isinstance(factory, type) else factory)
    fields: dict[str, Field] = {}
    extra = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            extra = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            fields[p.name] = Field(p.name, hints.get(p.name, Any), p.default is _MISSING)
    return Fields(fields, extra, True)


def _class_fields(cls: type) -> Fields:
    hints = _hints(cls)
    fields = {
        name: Field(name, hint, not hasattr(cls, name))
        for name, hint in hints.items()
        if not name.startswith("_") and typing.get_origin(hint) is not typing.ClassVar and hint is not typing.ClassVar
    }
    return Fields(fields, False, False)


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:
        # Unresolvable annotations (a name only imported under TYPE_CHECKING):
        # such a field accepts any value rather than failing the whole module.
        return {}


def instantiate(factory: Callable[..., Any], config: Mapping[str, Any], path: str, module_id: str) -> Any:
    """Instantiate a module from ``config``, checking every field.

    Every wrong field is reported at once (a :class:`ConfigErrors` when
    there are several), so that one run shows all there is to fix.
    """
    spec = fields_of(factory)
    values: dict[str, Any] = {}
    errors: list[ConfigError] = []
    #: Fields offered for a misspelt key: one mistake, so they are not also reported missing.
    suggested: set[str] = set()
    for key, value in config.items():
        field = spec.fields.get(key)
        if field is None:
            if spec.extra:
                values[key] = value
                continue
            near = closest(key, spec.fields)
            hint = f" (did you mean {near!r}?)" if near is not None else ""
            suggested.add(near or "")
            errors.append(
                ConfigError(
                    join_path(path, key),
                    f"module {module_id} has no field {key!r}{hint}. "
                    f"Its fields are: {', '.join(spec.fields) or '(none)'}.",
                )
            )
            continue
        try:
            values[key] = check_value(value, field.annotation, join_path(path, key))
        except ConfigError as exc:
            errors.append(exc)
    # A field given with a wrong value, or misspelt, is not also reported as missing.
    missing = [f.name for f in spec.fields.values() if f.required and f.name not in config and f.name not in suggested]
    if missing:
        errors.append(
            ConfigError(
                path, f"module {module_id} needs field(s) {', '.join(map(repr, missing))}; add them to its config."
            )
        )
    error = config_errors(errors)
    if error is not None:
        raise error
    if spec.by_call:
        return factory(**values)
    instance = factory()
    for key, value in values.items():
        setattr(instance, key, value)
    return instance


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(annotation: Any) -> str:
    """A readable name for an annotation: ``list[str]``, ``int | None``."""
    if annotation is Any:
        return "any value"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = repr(annotation)
    return text.replace("typing.", "")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_value(value: Any, annotation: Any, path: str) -> Any:
    """Return ``value`` (converted where lossless) if it matches ``annotation``."""
    ok, converted = _match(value, annotation, path)
    if not ok:
        raise ConfigError(path, f"expected {type_name(annotation)}, got {_describe(value)}")
    return converted


def _match(value: Any, ann: Any, path: str) -> tuple[bool, Any]:
    if ann is Any or ann is object:
        return True, value
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Annotated:
        return _match(value, args[0], path)
    if origin is typing.Union or origin is types.UnionType:
        # An arm can fail deep inside (``list[int]`` on ``["a"]``): try the
        # others first, and report that deeper error only if none fits.
        deep: ConfigError | None = None
        for arg in args:
            try:
                ok, converted = _match(value, arg, path)
            except ConfigError as exc:
                deep = deep or exc
                continue
            if ok:
                return True, converted
        if deep is not None:
            raise deep
        return False, value
    if origin is typing.Literal:
        # Same type as well as equal: ``True`` is not ``Literal[1]``, ``1.0`` not ``Literal[1]``.
        return any(type(value) is type(a) and value == a for a in args), value
    if ann is None or ann is type(None):
        return value is None, value
    if ann is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if origin in (list, Sequence, tuple, set, frozenset) or ann in (list, tuple, set, frozenset):
        return _match_sequence(value, ann, origin or ann, args, path)
    if origin in (dict, Mapping) or ann in (dict, Mapping):
        if not isinstance(value, Mapping):
            return False, value
        key_t, val_t = args if len(args) == 2 else (Any, Any)
        out = {}
        for k, v in value.items():
            k = check_value(k, key_t, join_path(path, str(k)))
            out[k] = check_value(v, val_t, join_path(path, str(k)))
        return True, out
    # ``dataclasses.is_dataclass`` of a class, without importing dataclasses for a config that has none.
    if isinstance(ann, type) and hasattr(ann, "__dataclass_fields__") and isinstance(value, Mapping):
        return True, instantiate(ann, value, path, ann.__name__)
    if isinstance(ann, type):
        return isinstance(value, ann), value
    return True, value


def _match_sequence(value: Any, ann: Any, origin: Any, args: tuple[Any, ...], path: str) -> tuple[bool, Any]:
    if not isinstance(value, (list, tuple)):
        return False, value
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            return False, value
        return True, tuple(
            check_value(v, t, join_path(path, i)) for i, (v, t) in enumerate(zip(value, args, strict=True))
        )
    item_t = args[0] if args else Any
    items = [check_value(v, item_t, join_path(path, i)) for i, v in enumerate(value)]
    if origin in (set, frozenset):
        return True, origin(items)
    return True, tuple(items) if origin is tuple else items
