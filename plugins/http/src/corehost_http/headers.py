"""``http.handlers.headers``: set, add and delete header fields of the request and the response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from corehost_http.interfaces import Headers, Next, Request, Response


@dataclass
class HeaderOps:
    """Done in Caddy's order: delete, then add, then set (a set field has only the set values)."""

    set: dict[str, str | list[str]] = field(default_factory=dict)
    add: dict[str, str | list[str]] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def apply(self, headers: Headers) -> None:
        for name in self.delete:
            headers.delete(name)
        for name, values in self.add.items():
            for value in _values(values):
                headers.add(name, value)
        for name, values in self.set.items():
            headers.delete(name)
            for value in _values(values):
                headers.add(name, value)

    def check(self, where: str) -> None:
        for op, names in (("set", self.set), ("add", self.add), ("delete", self.delete)):
            for name in names:
                if not name or not name.isascii() or any(c in name for c in " :\t\r\n"):
                    raise ValueError(f"{where}.{op}: {name!r} is not a header field name")


@dataclass
class HeadersHandler:
    """Changes the request's headers before the rest of the chain, and the response's after it."""

    request: HeaderOps | None = None
    response: HeaderOps | None = None

    #: Around the handlers that answer: it sees the rewritten request, and changes their response.
    corehost_after: ClassVar[tuple[str, ...]] = ("rewrite",)
    corehost_before: ClassVar[tuple[str, ...]] = ("static_response", "file_server")

    def validate(self) -> None:
        if self.request is None and self.response is None:
            raise ValueError(
                'request, response: give at least one of them, e.g. response = {set = {X-Frame-Options = "DENY"}}'
            )
        if self.request is not None:
            self.request.check("request")
        if self.response is not None:
            self.response.check("response")

    async def handle(self, request: Request, next: Next) -> Response:
        if self.request is not None:
            self.request.apply(request.headers)
        response = await next(request)
        if self.response is not None:
            self.response.apply(response.headers)
        return response


def _values(values: str | list[str]) -> list[str]:
    return [values] if isinstance(values, str) else values
