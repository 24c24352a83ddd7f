"""``http.handlers.reverse_proxy``: forwards a request to one of several upstreams and streams the answer back.

The upstreams are tried in the order the selection policy gives; one that
refuses the connection or does not connect in time is counted as failed and
the next one is tried. ``max_fails`` failures within ``fail_duration`` seconds
mark an upstream down for ``fail_duration`` seconds (passive health, as in
Caddy); with ``health_uri`` a thread also probes every upstream each
``health_interval`` seconds (active health). Bodies are streamed both ways,
never held whole in memory.

The HTTP client is httpx: one ``AsyncClient`` (one connection pool) per event
loop that serves this handler, made on the first request in that loop,
because an asyncio connection belongs to the loop that opened it and the
http app runs each server in a loop of its own. The client is closed in that
loop when the loop shuts down (the http app stops a server's loop before its
modules are cleaned up), or by ``cleanup`` when the loop is still running.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from corehost_http.interfaces import Headers, Next, Request, Response

from corehost import Context
from corehost_http_proxy.interfaces import SelectionPolicy

log = logging.getLogger(__name__)

#: Headers that describe one connection, not the message (RFC 9110 7.6.1): never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Set by the proxy from what it saw itself; a client's own values are not trusted (Caddy's default).
FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})
#: Sent by the serving uvicorn on every response: the upstream's would make each field appear twice.
OWN = frozenset({"date", "server"})
#: Methods sent on to the next upstream when one failed after it had the request: safe to repeat (RFC 9110 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
BAD_GATEWAY = b"502 Bad Gateway: no upstream is available\n"
GATEWAY_TIMEOUT = b"504 Gateway Timeout: the upstream did not answer in time\n"
BUSY = b"503 Service Unavailable: every connection to the upstreams is busy\n"
#: How long ``cleanup`` waits for a serving loop to close its client's connections.
CLOSE_WAIT = 5.0


def _end_to_end(items: list[tuple[str, str]], also: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``items`` without hop-by-hop fields: the fixed set, those the Connection field lists, and ``also``."""
    listed = {token.strip().lower() for k, v in items if k.lower() == "connection" for token in v.split(",")}
    dropped = HOP_BY_HOP | listed | also
    return [(k, v) for k, v in items if k.lower() not in dropped]


def _upstream_problem(value: str) -> str | None:
    """Why ``value`` is not ``host:port`` or ``http://host[:port]``, or ``None``."""
    parts = urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if parts.scheme != "http":
        return f"scheme {parts.scheme!r} is not supported (only plain http)"
    if not parts.hostname:
        return "it names no host"
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        return "an upstream is only a host and a port, without path, query or user"
    if port is None and "://" not in value:
        return "it names no port"
    return None


@dataclass
class Upstream:
    """One upstream and what the proxy knows of its health.

    Written from the serving loop (passive health) and from the health
    thread (active health); each write is one attribute assignment or deque
    append, atomic under the GIL, and a stale read only delays failover by
    one request.
    """

    address: str
    base: str
    failures: deque[float] = field(default_factory=deque)
    down_until: float = 0.0
    healthy: bool = True

    def available(self, now: float) -> bool:
        return self.healthy and now >= self.down_until


class _Body:
    """A request body streamed once to an upstream, remembering whether sending it began.

    Once an upstream has taken part of the body it cannot be given to
    another one, so a failure after that is answered instead of retried.
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._chunks:
            yield chunk


class _Relay:
    """The upstream's body as it arrives, undecoded (Content-Encoding passes through).

    An iterator object rather than an async generator, because the server
    may close it without reading it (a HEAD request, a client gone): an
    unstarted generator's ``finally`` never runs, and the upstream connection
    would never go back to the pool.
    """

    def __init__(self, response: httpx.Response, failed: Callable[[Exception], None]) -> None:
        self._response = response
        self._chunks = response.aiter_raw()
        self._failed = failed

    def __aiter__(self) -> _Relay:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx.TransportError as exc:
            # The status line is already sent: the server can only abort the connection.
            self._failed(exc)
            await self.aclose()
            raise

    async def aclose(self) -> None:
        await self._response.aclose()


@dataclass
class ReverseProxy:
    """Handler ``http.handlers.reverse_proxy``.

    ``upstreams``: ``"host:port"`` or ``"http://host:port"``; ``selection_policy``:
    a module of ``http.handlers.reverse_proxy.selection_policies`` (default
    ``round_robin``); timeouts and durations are in seconds.
    """

    upstreams: list[str]
    selection_policy: dict[str, Any] = field(default_factory=lambda: {"module": "round_robin"})
    dial_timeout: float = 5.0
    response_timeout: float = 30.0
    fail_duration: float = 10.0
    max_fails: int = 1
    max_connections: int = 100
    health_uri: str = ""
    health_interval: float = 10.0

    #: Terminal: after the handlers that change the request or answer it outright, before the files.
    corehost_after: ClassVar[tuple[str, ...]] = ("headers", "static_response")
    corehost_before: ClassVar[tuple[str, ...]] = ("file_server",)

    def provision(self, ctx: Context) -> None:
        self._upstreams: dict[str, Upstream] = {}
        self._clients: dict[asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]] = {}
        self._stop = threading.Event()
        self._health: threading.Thread | None = None
        self._policy: SelectionPolicy = ctx.load_module(
            self.selection_policy, namespace="http.handlers.reverse_proxy.selection_policies"
        )

    def validate(self) -> None:
        if not self.upstreams:
            raise ValueError("'upstreams' is empty; name at least one upstream, e.g. [\"127.0.0.1:9000\"]")
        seen: dict[str, int] = {}
        for index, address in enumerate(self.upstreams):
            problem = _upstream_problem(address)
            if problem is not None:
                raise ValueError(
                    f"upstreams[{index}] is {address!r}: {problem}. Write 'host:port' or 'http://host:port' "
                    "(e.g. '127.0.0.1:9000')"
                )
            base = f"http://{urlsplit(address if '://' in address else f'http://{address}').netloc}"
            if base in seen:
                raise ValueError(f"upstreams[{index}] ({address!r}) repeats upstreams[{seen[base]}]; list each once")
            seen[base] = index
            self._upstreams[address] = Upstream(address, base)
        for name in ("dial_timeout", "response_timeout", "health_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name!r} must be a positive number of seconds, got {getattr(self, name)!r}")
        if self.fail_duration < 0:
            raise ValueError(
                f"'fail_duration' must be 0 (never mark an upstream down) or more, got {self.fail_duration!r}"
            )
        for name in ("max_fails", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name!r} must be at least 1, got {getattr(self, name)!r}")
        if self.health_uri and not self.health_uri.startswith("/"):
            raise ValueError(f"'health_uri' must be a path starting with '/', got {self.health_uri!r}")
        if self.health_uri:
            # Started only once the config is known to be good, so a refused config leaves no thread behind.
            self._health = threading.Thread(target=self._check_health, name="reverse_proxy health", daemon=True)
            self._health.start()

    async def handle(self, request: Request, next: Next) -> Response:
        headers = self._outgoing_headers(request)
        body = _Body(request.stream()) if _has_body(request.headers) else None
        client = await self._client()
        target = _target(request)
        answer = (502, BAD_GATEWAY)
        for upstream in self._order(request):
            if not upstream.available(time.monotonic()):
                continue
            outgoing = httpx.Request(request.method, upstream.base + target, headers=headers, content=body)
            try:
                response = await client.send(outgoing, stream=True)
            except httpx.PoolTimeout:
                return _text(503, BUSY)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached this upstream: the next one can have the request as it is.
                self._failed(upstream, exc)
                continue
            except httpx.TransportError as exc:
                self._failed(upstream, exc)
                answer = (504, GATEWAY_TIMEOUT) if isinstance(exc, httpx.TimeoutException) else (502, BAD_GATEWAY)
                if (body is not None and body.started) or request.method not in SAFE_METHODS:
                    break
                continue
            relay = _Relay(response, partial(self._failed, upstream))
            return Response(response.status_code, _incoming_headers(response), relay)
        return _text(*answer)

    def _order(self, request: Request) -> list[Upstream]:
        chosen = self._policy.select(list(self._upstreams), request)
        unknown = [a for a in chosen if a not in self._upstreams]
        if unknown:
            raise ValueError(
                f"selection policy {type(self._policy).__name__} returned {unknown!r}, which are not upstreams "
                f"of this reverse_proxy ({list(self._upstreams)!r}); a policy must return only upstreams it was given"
            )
        return [self._upstreams[a] for a in chosen]

    def _outgoing_headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        kept = _end_to_end(request.headers.items(), also=FORWARDED)
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept]
        if request.client is not None:
            out.append((b"X-Forwarded-For", request.client[0].encode("latin-1")))
        out.append((b"X-Forwarded-Proto", request.scheme.encode("latin-1")))
        host = request.headers.get("host")
        if host:
            out.append((b"X-Forwarded-Host", host.encode("latin-1")))
        return out

    async def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        known = self._clients.get(loop)
        if known is not None:
            return known[0]
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=self.dial_timeout,
                read=self.response_timeout,
                write=self.response_timeout,
                pool=self.response_timeout,
            ),
            limits=httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections),
            # A proxy forwards cookies, it does not keep them; and it ignores HTTP_PROXY and the like.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            trust_env=False,
            # Upstreams are plain http (validate refuses https), so no certificate is ever checked; not
            # loading the CA bundle keeps the first request from blocking the serving loop for ~0.2 s.
            verify=False,
        )
        lifetime = _lifetime(client)
        self._clients[loop] = (client, lifetime)
        # Started here, so the loop's shutdown_asyncgens (run by asyncio.run and asyncio.Runner) closes it.
        await anext(lifetime)
        return client

    def _failed(self, upstream: Upstream, exc: Exception) -> None:
        """Passive health: count a failure; ``max_fails`` within ``fail_duration`` mark the upstream down."""
        if self.fail_duration == 0:
            return
        now = time.monotonic()
        upstream.failures.append(now)
        while upstream.failures and upstream.failures[0] <= now - self.fail_duration:
            upstream.failures.popleft()
        if len(upstream.failures) >= self.max_fails and upstream.down_until <= now:
            upstream.down_until = now + self.fail_duration
            log.warning(
                "reverse_proxy: upstream %s is down for %gs after %d failure(s): %s",
                upstream.address,
                self.fail_duration,
                len(upstream.failures),
                _describe(exc),
            )

    def _check_health(self) -> None:
        """Active health: probe every upstream now and then each ``health_interval`` seconds until cleanup."""
        while not self._stop.is_set():
            for upstream in self._upstreams.values():
                healthy = self._probe(upstream)
                if healthy != upstream.healthy:
                    state = "healthy again" if healthy else "unhealthy"
                    log.warning("reverse_proxy: upstream %s is %s (GET %s)", upstream.address, state, self.health_uri)
                upstream.healthy = healthy
            self._stop.wait(self.health_interval)

    def _probe(self, upstream: Upstream) -> bool:
        """Whether ``GET health_uri`` on ``upstream`` answers with a status below 400 in time."""
        parts = urlsplit(upstream.base)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=self.dial_timeout)
        try:
            conn.request("GET", self.health_uri, headers={"Host": parts.netloc})
            return conn.getresponse().status < 400
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def cleanup(self) -> None:
        self._stop.set()
        if self._health is not None:
            self._health.join(self.dial_timeout + 1)
        clients, self._clients = self._clients, {}
        for loop, (_, lifetime) in clients.items():
            _close(loop, lifetime)


async def _lifetime(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Holds ``client`` open from its first use until this generator is closed, in the client's loop."""
    try:
        yield
    finally:
        await client.aclose()


def _close(loop: asyncio.AbstractEventLoop, lifetime: AsyncGenerator[None, None]) -> None:
    """End ``lifetime`` (closing its client's connections) in the loop that opened them.

    A closed loop already ended it in its own shutdown.
    """
    if loop.is_closed():
        return
    if loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            # Called from inside the serving loop: it cannot be waited for without blocking it.
            _closing.add(task := loop.create_task(lifetime.aclose()))
            task.add_done_callback(_closing.discard)
            return
        asyncio.run_coroutine_threadsafe(lifetime.aclose(), loop).result(CLOSE_WAIT)
        return
    loop.run_until_complete(lifetime.aclose())


#: Closing tasks started from inside their loop, kept so they are not collected before they finish.
_closing: set[asyncio.Task[None]] = set()


def _has_body(headers: Headers) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


def _target(request: Request) -> str:
    """The request target for the upstream: the decoded path quoted again, and the raw query."""
    path = quote(request.path, safe="/:@!$&'()*+,;=~")
    return f"{path}?{request.query}" if request.query else path


def _incoming_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return _end_to_end([(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw], also=OWN)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(status: int, message: bytes) -> Response:
    """The proxy's own short plain-text answer (a fresh header list: later handlers may edit it)."""
    return Response(status, [("content-type", "text/plain; charset=utf-8")], message)
