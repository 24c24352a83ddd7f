"""The ASGI glue: an ASGI scope becomes a :class:`Request`, a :class:`Response` is sent.

Kept to the few attribute look-ups and one ``send`` per part that any ASGI
framework needs, so that the chain of handlers costs what the handlers cost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from corehost_http.interfaces import Headers, Next, Request, Response, host_of

Scope = dict[str, Any]
Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


def request_of(scope: Scope, receive: Receive) -> Request:
    """The request for an ``http`` scope (path percent-decoded by the server, query raw)."""
    headers = Headers.from_raw(scope["headers"])
    return Request(
        method=scope["method"],
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        headers=headers,
        host=host_of(headers.get("host")),
        scheme=scope.get("scheme", "http"),
        client=scope.get("client"),
        receive=receive,
    )


async def send_response(response: Response, send: Send, head: bool) -> None:
    """Send ``response``; a bytes body gets its Content-Length, a HEAD response no body."""
    body = response.body
    raw = response.headers.raw()
    if isinstance(body, bytes):
        if "content-length" not in response.headers:
            raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if head else body})
        return
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        if not head:
            async for chunk in body:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        # Also when the client went away mid-body: a proxied body gives its connection back at once.
        await _close(body)
    await send({"type": "http.response.body", "body": b""})


async def _close(body: AsyncIterator[bytes]) -> None:
    """Close a streamed body that was not read to the end (HEAD), so its resources are freed."""
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        await aclose()


class Generation:
    """One loaded config's routes on a server, and how many of its requests are in flight.

    The count is only changed on the server's event loop; the thread that stops
    a replaced config reads it to wait for those requests before cleanup.
    """

    def __init__(self, dispatch: Next) -> None:
        self.dispatch = dispatch
        self.in_flight = 0


class ASGIApp:
    """The ASGI callable of one http server: every request goes to the current generation's routes.

    A reload swaps ``current``; a request keeps the generation it started with
    until its response is sent.
    """

    def __init__(self, current: Generation) -> None:
        self.current = current

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        generation = self.current
        generation.in_flight += 1
        try:
            response = await generation.dispatch(request_of(scope, receive))
            await send_response(response, send, scope["method"] == "HEAD")
        finally:
            generation.in_flight -= 1
