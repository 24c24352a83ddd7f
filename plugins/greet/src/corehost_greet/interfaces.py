"""The interfaces of the namespaces this plugin owns."""

from __future__ import annotations

from typing import Protocol


class Greeter(Protocol):
    """Namespace ``greeters``: turns a name into a greeting."""

    def greet(self, name: str) -> str: ...


class Filter(Protocol):
    """Namespace ``greet.filters``: rewrites a greeting before it is printed."""

    def apply(self, text: str) -> str: ...
