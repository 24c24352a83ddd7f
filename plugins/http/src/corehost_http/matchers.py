"""The standard matchers ``http.matchers.path``, ``method``, ``host`` and ``header`` (Caddy's semantics)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corehost import Context
from corehost_http.interfaces import Request


def _glob(patterns: list[str], flags: int = 0) -> re.Pattern[str]:
    """One regular expression for ``patterns`` in which only ``*`` is special (any run of characters)."""
    alternatives = ("(?:" + ".*".join(re.escape(part) for part in p.split("*")) + ")" for p in patterns)
    return re.compile("|".join(alternatives), flags)


@dataclass
class Path:
    """Matches when the path is one of ``paths``, case-insensitively; ``*`` matches any characters,
    so ``/api/*`` matches ``/api/`` and ``/api/users/1`` but not ``/api``."""

    paths: list[str] = field(default_factory=list)

    def provision(self, ctx: Context) -> None:
        self._match = _glob(self.paths, re.IGNORECASE | re.DOTALL).fullmatch

    def validate(self) -> None:
        if not self.paths:
            raise ValueError('paths is empty; give at least one, e.g. paths = ["/api/*"]')

    def match(self, request: Request) -> bool:
        return self._match(request.path) is not None


@dataclass
class Method:
    """Matches when the request's method is one of ``methods`` (``GET``, ``POST``, ...)."""

    methods: list[str] = field(default_factory=list)

    def provision(self, ctx: Context) -> None:
        self._methods = frozenset(m.upper() for m in self.methods)

    def validate(self) -> None:
        if not self.methods:
            raise ValueError('methods is empty; give at least one, e.g. methods = ["GET", "HEAD"]')

    def match(self, request: Request) -> bool:
        return request.method in self._methods


@dataclass
class Host:
    """Matches when the Host (without port) is one of ``hosts``; ``*`` stands for exactly one
    label, so ``*.example.com`` matches ``www.example.com`` but neither ``example.com`` nor
    ``a.b.example.com``."""

    hosts: list[str] = field(default_factory=list)

    def provision(self, ctx: Context) -> None:
        self._exact = frozenset(h.lower() for h in self.hosts if "*" not in h)
        self._wild = [h.lower().split(".") for h in self.hosts if "*" in h]

    def validate(self) -> None:
        if not self.hosts:
            raise ValueError('hosts is empty; give at least one, e.g. hosts = ["example.com", "*.example.com"]')
        for host in self.hosts:
            if any("*" in label and label != "*" for label in host.split(".")):
                raise ValueError(f"hosts: {host!r}: '*' must be a whole label, as in '*.example.com'")

    def match(self, request: Request) -> bool:
        host = request.host
        if host in self._exact:
            return True
        labels = host.split(".")
        return any(
            len(labels) == len(pattern) and all(p in ("*", label) for p, label in zip(pattern, labels, strict=True))
            for pattern in self._wild
        )


@dataclass
class Header:
    """Matches when every named header field has one of its listed values; ``*`` in a value
    matches any characters (``["*"]``: the field is present with any value)."""

    headers: dict[str, list[str]] = field(default_factory=dict)

    def provision(self, ctx: Context) -> None:
        self._fields = [(name, _glob(values, re.DOTALL).fullmatch) for name, values in self.headers.items()]

    def validate(self) -> None:
        if not self.headers:
            raise ValueError('headers is empty; give at least one, e.g. headers = {Accept = ["text/html*"]}')
        for name, values in self.headers.items():
            if not values:
                raise ValueError(f'headers.{name}: the list of values is empty; ["*"] matches any value')

    def match(self, request: Request) -> bool:
        return all(
            any(match(value) is not None for value in request.headers.get_all(name)) for name, match in self._fields
        )
