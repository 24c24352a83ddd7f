"""The http plugin's contract: the request and response types and the interfaces
of its namespaces ``http.handlers`` and ``http.matchers``.

Handlers and matchers from any distribution import only this file, so it stays
free of the ASGI server and of the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from corehost.ordering import ordered

Receive = Callable[[], Awaitable[dict[str, Any]]]


class Headers:
    """Case-insensitive, multi-valued, ordered header fields with latin-1 ``str`` values.

    Names are kept lower-cased (HTTP field names are case-insensitive and ASGI
    hands them over lower-cased), so a lookup is one comparison per field.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in items]

    @classmethod
    def from_raw(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Headers from ASGI's ``(name, value)`` byte pairs (names already lower-case)."""
        headers = cls.__new__(cls)
        headers._items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
        return headers

    def raw(self) -> list[tuple[bytes, bytes]]:
        """The fields as ASGI byte pairs."""
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self._items]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower()
        for k, v in self._items:
            if k == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self._items if k == key]

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with ``value``."""
        key = name.lower()
        self._items = [(k, v) for k, v in self._items if k != key]
        self._items.append((key, value))

    def add(self, name: str, value: str) -> None:
        self._items.append((name.lower(), value))

    def delete(self, name: str) -> None:
        key = name.lower()
        self._items = [(k, v) for k, v in self._items if k != key]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        headers = Headers.__new__(Headers)
        headers._items = list(self._items)
        return headers

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return any(k == key for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Request:
    """One HTTP request, built from the ASGI scope; handlers may modify path, query and headers."""

    __slots__ = ("_body", "_receive", "_streamed", "client", "headers", "host", "method", "path", "query", "scheme")

    def __init__(
        self,
        method: str = "GET",
        path: str = "/",
        query: str = "",
        headers: Headers | list[tuple[str, str]] | None = None,
        host: str | None = None,
        scheme: str = "http",
        client: tuple[str, int] | None = None,
        receive: Receive | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or ())
        self.host = host_of(self.headers.get("host")) if host is None else host
        self.scheme = scheme
        self.client = client
        self._receive = receive if receive is not None else _no_body
        self._body: bytes | None = None
        self._streamed = False

    async def body(self) -> bytes:
        """The whole body, read once and cached."""
        if self._body is None:
            self._body = b"".join([chunk async for chunk in self.stream()])
        return self._body

    async def stream(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive (the cached body if it was already read)."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        if self._streamed:
            raise RuntimeError("the request body was already streamed; read it with body() to keep it")
        self._streamed = True
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    def __repr__(self) -> str:
        query = f"?{self.query}" if self.query else ""
        return f"<Request {self.method} {self.host}{self.path}{query}>"


def host_of(value: str | None) -> str:
    """A Host header's name without the port, lower-cased ("" when absent)."""
    if not value:
        return ""
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1].lower() if end != -1 else value.lower()
    return value.rsplit(":", 1)[0].lower() if ":" in value else value.lower()


class Response:
    """One HTTP response; an async iterator body is streamed to the client."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        headers: Headers | list[tuple[str, str]] | None = None,
        body: bytes | AsyncIterator[bytes] = b"",
    ) -> None:
        self.status = status
        self.headers = headers if isinstance(headers, Headers) else Headers(headers or ())
        self.body = body

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


Next = Callable[[Request], Awaitable[Response]]


@ordered
@runtime_checkable
class Handler(Protocol):
    """Namespace ``http.handlers``: answers a request, or calls ``next`` and may change its response.

    An ordered namespace: a handler may declare ``corehost_before``/``corehost_after``
    (names of other handlers), and a route's ``handle`` table runs in that chain order.
    """

    async def handle(self, request: Request, next: Next) -> Response: ...


@runtime_checkable
class Matcher(Protocol):
    """Namespace ``http.matchers``: whether a route applies to a request."""

    def match(self, request: Request) -> bool: ...
