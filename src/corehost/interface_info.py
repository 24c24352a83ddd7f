"""A namespace's interface as data: what a class needs to fit it.

``corehost-build new-plugin`` asks for it through the target environment's
interpreter (``python -m corehost.probe interface NAMESPACE``: the builder
is not installed there) and writes a module class from the answer, so a
new plugin satisfies the interface guards before its author has written a
line. Annotations are given as short names
plus the imports that make them resolve, so the generated file passes ruff
and mypy as written.
"""

from __future__ import annotations

import builtins
import inspect
import re
import sys
from typing import Any

import corehost
from corehost.conformance import interface_members, is_required, unwrap

_DOTTED = re.compile(r"\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\b")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


class _Annotations:
    """Turns annotations into source text, collecting the imports they need."""

    def __init__(self, interface: type) -> None:
        self.scope = vars(sys.modules[interface.__module__])
        self.imports: dict[str, str] = {}

    def text(self, annotation: Any) -> str:
        if annotation is inspect.Parameter.empty:
            return ""
        if isinstance(annotation, str):
            for name in _NAME.findall(annotation):
                self._import_from_scope(name)
            return annotation
        if isinstance(annotation, type) and annotation.__module__ != "builtins":
            self.imports[annotation.__name__] = annotation.__module__
            return annotation.__name__
        text = inspect.formatannotation(annotation).replace("typing.", "")
        for dotted in _DOTTED.findall(text):
            module, _, name = dotted.rpartition(".")
            self.imports[name] = module
            text = text.replace(dotted, name)
        for name in _NAME.findall(text):
            if name not in self.imports and not hasattr(builtins, name):
                self.imports[name] = "typing"
        return text

    def _import_from_scope(self, name: str) -> None:
        if hasattr(builtins, name) or name in self.imports:
            return
        obj = self.scope.get(name)
        if obj is None:
            # Imported only under TYPE_CHECKING: corehost's own public names are the usual case.
            if name in corehost.__all__:
                self.imports[name] = "corehost"
            return
        module = getattr(obj, "__module__", None)
        if isinstance(obj, type) and module:
            self.imports[name] = module
        elif module == "typing" or getattr(obj, "__module__", "") == "typing":
            self.imports[name] = "typing"


def _signature(name: str, value: Any, notes: _Annotations) -> str:
    fn = unwrap(value.fget if isinstance(value, property) else value)
    sig = inspect.signature(fn)
    params = []
    for p in sig.parameters.values():
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text = "*" + text
        elif p.kind is p.VAR_KEYWORD:
            text = "**" + text
        annotation = notes.text(p.annotation)
        if annotation:
            text += f": {annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if annotation else f"={p.default!r}"
        params.append(text)
    returns = notes.text(sig.return_annotation)
    prefix = "async def" if inspect.iscoroutinefunction(fn) else "def"
    return f"{prefix} {name}({', '.join(params)})" + (f" -> {returns}" if returns else "")


def describe_interface(interface: type) -> dict[str, Any]:
    """Methods of ``interface`` (required or with a default) and the imports their signatures need."""
    notes = _Annotations(interface)
    methods = [
        {
            "name": name,
            "signature": _signature(name, value, notes),
            "required": is_required(value),
            "doc": inspect.getdoc(unwrap(value)) or "",
        }
        for name, value in interface_members(interface)
        if not isinstance(value, property)
    ]
    return {
        "interface": f"{interface.__module__}:{interface.__qualname__}",
        "doc": inspect.getdoc(interface) or "",
        "methods": methods,
        "imports": dict(sorted(notes.imports.items())),
    }
