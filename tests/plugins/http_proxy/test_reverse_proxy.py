"""``http.handlers.reverse_proxy`` in a real ``corehost run``, in front of real upstreams.

The upstreams are stdlib ``ThreadingHTTPServer`` instances in this process,
each answering with its own name and recording what it received; ports that
refuse connections are bound sockets that never listen, and an upstream that
never answers is a socket that listens but never accepts. One corehost
process serves every route of the module (one route per behaviour, each
with its own proxy and so its own health state); the tests talk to it with
http.client, as any client would.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

BIG = 8 * 1024 * 1024
#: How long a test waits for something that should take milliseconds.
WAIT = 15.0


@dataclass
class Seen:
    """One request as an upstream received it."""

    method: str
    path: str
    headers: Message
    body: bytes


class Upstream(ThreadingHTTPServer):
    """An upstream named ``name`` on 127.0.0.1, on a port of its own."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.name = name
        self.seen: list[Seen] = []
        #: Set when the first bytes of a request body arrive, before the rest is read.
        self.body_started = threading.Event()
        #: The /trickle answer sends its second half only once this is set.
        self.release = threading.Event()
        #: Whether /health answers 503 (else 200).
        self.sick = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what the upstream recorded instead."""

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def do_HEAD(self) -> None:
        self.answer()

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        length = int(self.headers.get("Content-Length", "0"))
        if not length:
            return b""
        first = self.rfile.read1(length)
        self.server.body_started.set()
        return first + self.rfile.read(length - len(first))

    def read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass  # trailer fields, up to the blank line that ends the body
                return b"".join(parts)
            self.server.body_started.set()
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def answer(self) -> None:
        body = self.read_body()
        self.server.seen.append(Seen(self.command, self.path, self.headers, body))
        if self.path == "/health":
            self.send_response(503 if self.server.sick else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self.send_big()
        elif self.path == "/trickle":
            self.send_trickle()
        else:
            payload = {"name": self.server.name, "received": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Keep-Alive", "timeout=5")
            self.send_header("Connection", "X-Upstream-Hop")
            self.send_header("X-Upstream-Hop", "secret")
            self.send_header("X-End-To-End", "kept")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    def send_big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(BIG))
        self.end_headers()
        block = bytes(range(256)) * 256
        for _ in range(BIG // len(block)):
            self.wfile.write(block)

    def send_trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"first")
        self.wfile.flush()
        self.server.release.wait(WAIT)
        self.wfile.write(b"-last")


@dataclass
class Site:
    """The running proxy and the upstreams behind it."""

    port: int
    upstreams: dict[str, Upstream]
    stderr: Path
    process: subprocess.Popen[str]

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def name_at(self, path: str) -> str:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body)
        return str(json.loads(body)["name"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("http-proxy-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", "corehost-http", "corehost-http-proxy")))
    return venv


def proxy_route(prefix: str, upstreams: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "match": [{"module": "path", "paths": [f"{prefix}/*"]}],
        "handle": [{"module": "reverse_proxy", "upstreams": upstreams, **fields}],
    }


@pytest.fixture(scope="module")
def site(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    upstreams = {name: Upstream(name) for name in ("a", "b", "c")}
    threads = [threading.Thread(target=u.serve_forever, daemon=True) for u in upstreams.values()]
    for thread in threads:
        thread.start()
    # Bound but not listening: a connection to these is refused.
    refusing = [socket.socket() for _ in range(2)]
    # Listening but never accepting: a connection is made, and no answer ever comes.
    silent = socket.socket()
    for sock in [*refusing, silent]:
        sock.bind(("127.0.0.1", 0))
    silent.listen(16)
    dead = [f"127.0.0.1:{s.getsockname()[1]}" for s in refusing]
    hole = f"127.0.0.1:{silent.getsockname()[1]}"
    a, b, c = (upstreams[n].address for n in "abc")
    upstreams["c"].sick = True
    port = free_port()
    routes = [
        proxy_route("/rr", [a, b]),
        proxy_route("/random", [a, b, c], selection_policy={"module": "random"}),
        proxy_route("/failover", [dead[0], f"http://{a}"]),
        proxy_route("/slow", [hole, b], response_timeout=1),
        proxy_route("/down", dead),
        proxy_route("/patient", [dead[1], a], max_fails=2),
        proxy_route("/few", [a], max_connections=2, response_timeout=2),
        proxy_route("/checked", [c, b], health_uri="/health", health_interval=0.2),
        {"match": [{"module": "path", "paths": ["/other"]}], "handle": [{"module": "static_response", "body": "here"}]},
        {"handle": [{"module": "reverse_proxy", "upstreams": [a]}]},
    ]
    folder = tmp_path_factory.mktemp("http-proxy-site")
    config = folder / "site.json"
    config.write_text(
        json.dumps({"apps": {"http": {"servers": {"main": {"listen": [f"127.0.0.1:{port}"], "routes": routes}}}}})
    )
    stderr = folder / "stderr.txt"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [str(venv.bin("corehost")), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env=clean_env(),
        )
    try:
        wait_for_port(port, process, stderr)
        yield Site(port, upstreams, stderr, process)
    finally:
        process.terminate()
        process.wait(WAIT)
        for upstream in upstreams.values():
            upstream.shutdown()
            upstream.server_close()
        for sock in [*refusing, silent]:
            sock.close()


def wait_for_port(port: int, process: subprocess.Popen[str], stderr: Path) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"corehost exited {process.returncode}: {stderr.read_text()}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port} after {WAIT}s: {stderr.read_text()}") from None
            time.sleep(0.05)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {WAIT}s"
        time.sleep(0.05)


def test_round_robin_alternates(site: Site) -> None:
    names = [site.name_at(f"/rr/{i}") for i in range(6)]
    assert names[0] != names[1]
    assert names == names[:2] * 3
    assert set(names) == {"a", "b"}


def test_random_spreads_over_every_upstream(site: Site) -> None:
    names = [site.name_at(f"/random/{i}") for i in range(60)]
    # Each of 3 upstreams is first with probability 1/3: fewer than 5 of 60 is a one-in-10^5 event.
    assert {n: names.count(n) >= 5 for n in "abc"} == {"a": True, "b": True, "c": True}


def test_a_refusing_upstream_fails_over_to_the_next_and_is_marked_down(site: Site) -> None:
    assert [site.name_at(f"/failover/{i}") for i in range(4)] == ["a"] * 4
    log = site.stderr.read_text()
    assert "reverse_proxy: upstream 127.0.0.1:" in log
    assert "is down for 10s after 1 failure(s): ConnectError" in log


def test_max_fails_failures_mark_an_upstream_down(site: Site) -> None:
    # Round robin tries the refusing upstream first on the 1st and 3rd requests: down after the 3rd.
    assert [site.name_at(f"/patient/{i}") for i in range(2)] == ["a"] * 2
    assert "after 2 failure(s)" not in site.stderr.read_text()
    assert [site.name_at(f"/patient/{i}") for i in range(2, 4)] == ["a"] * 2
    assert "is down for 10s after 2 failure(s): ConnectError" in site.stderr.read_text()


def test_an_upstream_that_does_not_answer_in_time_fails_over(site: Site) -> None:
    assert [site.name_at(f"/slow/{i}") for i in range(3)] == ["b"] * 3
    assert "after 1 failure(s): ReadTimeout" in site.stderr.read_text()


def test_all_upstreams_down_is_a_502_and_the_server_keeps_serving(site: Site) -> None:
    for i in range(3):
        status, headers, body = site.get(f"/down/{i}")
        assert (status, body) == (502, b"502 Bad Gateway: no upstream is available\n")
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert site.get("/other")[::2] == (200, b"here")
        assert site.name_at(f"/up/{i}") == "a"
    assert site.process.poll() is None


def test_active_health_checks_keep_an_unhealthy_upstream_out_until_it_recovers(site: Site) -> None:
    sick = site.upstreams["c"]

    def probes() -> int:
        return len(sick.requests_to("/health"))

    # The second probe begins after the first one's answer was read, so its verdict is in.
    wait_until(lambda: probes() >= 2, "second health probe")
    assert [site.name_at(f"/checked/{i}") for i in range(4)] == ["b"] * 4
    assert f"reverse_proxy: upstream {sick.address} is unhealthy (GET /health)\n" in site.stderr.read_text()
    sick.sick = False
    seen = probes()
    wait_until(lambda: probes() >= seen + 2, "health probe after the recovery")
    assert [site.name_at(f"/checked/{i}") for i in range(4)].count("c") == 2
    assert f"reverse_proxy: upstream {sick.address} is healthy again (GET /health)\n" in site.stderr.read_text()


def test_head_requests_give_their_connection_back_to_the_pool(site: Site) -> None:
    """A HEAD answer's body is never read; its upstream connection must still be released."""
    for i in range(5):
        conn = site.connection()
        try:
            conn.request("HEAD", f"/few/{i}")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"")
            assert response.getheader("X-End-To-End") == "kept"
        finally:
            conn.close()
    assert site.name_at("/few/after") == "a"


def test_a_large_response_arrives_whole(site: Site) -> None:
    status, headers, body = site.get("/big")
    assert (status, headers["content-length"], len(body)) == (200, str(BIG), BIG)
    assert body == bytes(range(256)) * (BIG // 256)


def test_the_response_is_streamed_not_buffered(site: Site) -> None:
    """The first half reaches the client while the upstream still holds back the second."""
    conn = site.connection()
    try:
        conn.request("GET", "/trickle")
        response = conn.getresponse()
        assert response.read(5) == b"first"
        site.upstreams["a"].release.set()
        assert response.read() == b"-last"
    finally:
        conn.close()


def test_a_post_body_reaches_the_upstream(site: Site) -> None:
    data = os.urandom(3 * 1024 * 1024)
    conn = site.connection()
    try:
        conn.request("POST", "/post", body=data, headers={"Content-Type": "application/octet-stream"})
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    assert (response.status, answer["received"], answer["sha256"]) == (200, len(data), hashlib.sha256(data).hexdigest())
    (seen,) = site.upstreams["a"].requests_to("/post")
    assert (seen.method, seen.headers["Content-Length"]) == ("POST", str(len(data)))


def test_a_chunked_request_body_is_streamed_to_the_upstream(site: Site) -> None:
    """The upstream gets the first chunk before the client has sent the second."""
    upstream = site.upstreams["a"]
    conn = site.connection()
    try:
        upstream.body_started.clear()
        conn.putrequest("POST", "/chunked")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"5\r\nhello\r\n")
        assert upstream.body_started.wait(WAIT), "the upstream got nothing of the body before its end was sent"
        conn.send(b"6\r\n world\r\n0\r\n\r\n")
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    assert (response.status, answer["received"]) == (200, 11)
    (seen,) = upstream.requests_to("/chunked")
    assert (seen.body, seen.headers["Transfer-Encoding"]) == (b"hello world", "chunked")


def test_forwarded_headers_are_set_by_the_proxy(site: Site) -> None:
    # (No X-Forwarded-For from the client here: uvicorn, by its own default, trusts that header
    # from 127.0.0.1 and reports its value as the client address.)
    site.get("/forwarded", {"X-Forwarded-Host": "evil.example"})
    (seen,) = site.upstreams["a"].requests_to("/forwarded")
    assert seen.headers.get_all("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.headers.get_all("X-Forwarded-Proto") == ["http"]
    assert seen.headers.get_all("X-Forwarded-Host") == [f"127.0.0.1:{site.port}"]
    # The client's own Host reaches the upstream, as Caddy passes it.
    assert seen.headers["Host"] == f"127.0.0.1:{site.port}"


def test_hop_by_hop_headers_are_dropped_both_ways(site: Site) -> None:
    status, headers, _ = site.get(
        "/hops",
        {
            "Connection": "keep-alive, X-Client-Hop",
            "X-Client-Hop": "secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "TE": "trailers",
            "X-End-To-End": "kept",
        },
    )
    (seen,) = site.upstreams["a"].requests_to("/hops")
    sent = {k.lower() for k in seen.headers}
    assert {"x-client-hop", "proxy-authorization", "te"} & sent == set()
    assert seen.headers["X-End-To-End"] == "kept"
    assert status == 200
    assert {"x-upstream-hop", "keep-alive"} & set(headers) == set()
    assert headers["x-end-to-end"] == "kept"


def test_a_proxied_response_has_one_date_and_one_server_field(site: Site) -> None:
    """The upstream's http.server sends both; the serving uvicorn sends its own, so the upstream's are dropped."""
    conn = site.connection()
    try:
        conn.request("GET", "/hops")
        response = conn.getresponse()
        response.read()
        names = [k.lower() for k, _ in response.getheaders()]
    finally:
        conn.close()
    assert response.status == 200
    assert (names.count("date"), names.count("server")) == (1, 1), names


def test_modules_are_listed_and_pass_the_guards(venv: Venv) -> None:
    listed = venv.corehost("list-modules", "--namespace", "http.handlers.reverse_proxy.selection_policies", check=True)
    assert listed.stdout.split() == [
        "http.handlers.reverse_proxy.selection_policies.random",
        "http.handlers.reverse_proxy.selection_policies.round_robin",
    ]
    assert "http.handlers.reverse_proxy\n" in venv.corehost("list-modules", check=True).stdout
    checked = venv.corehost("check", check=True)
    assert checked.stdout.endswith("0 error(s), 0 warning(s)\n")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"upstreams": ["ftp://127.0.0.1:21"]},
            "upstreams[0] is 'ftp://127.0.0.1:21': scheme 'ftp' is not supported (only plain http). "
            "Write 'host:port' or 'http://host:port' (e.g. '127.0.0.1:9000')",
        ),
        ({"upstreams": ["127.0.0.1"]}, "upstreams[0] is '127.0.0.1': it names no port."),
        (
            {"upstreams": ["127.0.0.1:80", "http://127.0.0.1:80"]},
            "upstreams[1] ('http://127.0.0.1:80') repeats upstreams[0]; list each once",
        ),
        ({"upstreams": []}, "'upstreams' is empty; name at least one upstream, e.g. [\"127.0.0.1:9000\"]"),
        (
            {"upstreams": ["127.0.0.1:80"], "dial_timeout": 0},
            "'dial_timeout' must be a positive number of seconds, got 0",
        ),
        (
            {"upstreams": ["127.0.0.1:80"], "health_uri": "health"},
            "'health_uri' must be a path starting with '/', got 'health'",
        ),
        (
            {"upstreams": ["127.0.0.1:80"], "selection_policy": {"module": "least_conn"}},
            "selection_policy.module: unknown module 'http.handlers.reverse_proxy.selection_policies.least_conn'. "
            "Known modules in namespace 'http.handlers.reverse_proxy.selection_policies': random, round_robin.",
        ),
    ],
)
def test_bad_configs_are_refused_naming_the_field(
    venv: Venv, tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    config = tmp_path / "bad.json"
    route = {"handle": [{"module": "reverse_proxy", **fields}]}
    config.write_text(
        json.dumps({"apps": {"http": {"servers": {"main": {"listen": ["127.0.0.1:1"], "routes": [route]}}}}})
    )
    result = venv.corehost("validate", "--config", config)
    assert result.returncode != 0
    assert "http.handlers.reverse_proxy" in result.stderr
    assert message in result.stderr


def test_docs_describe_every_field(venv: Venv) -> None:
    fields = venv.run(
        "python",
        "-c",
        "import dataclasses, corehost_http_proxy.proxy as p; "
        "print(*(f.name for f in dataclasses.fields(p.ReverseProxy)))",
        check=True,
    ).stdout.split()
    page = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    section = page.split("## Reverse proxy\n", 1)[1].split("\n## ", 1)[0]
    assert "selection_policy" in fields
    assert [f for f in fields if f"| `{f}` |" not in section] == []


#: Runs in the venv: one proxy per way its serving loop can end, each answering one request from an
#: upstream that counts the connections closed on it; prints, per way, whether the proxy's pooled
#: keep-alive connection was closed.
POOL_SCRIPT = r"""
import asyncio, json, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from corehost.host import Host
from corehost_http.interfaces import Request, Response


class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Counting(ThreadingHTTPServer):
    daemon_threads = True
    closed = 0

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.closed += 1


upstream = Counting(("127.0.0.1", 0), Answer)
threading.Thread(target=upstream.serve_forever, daemon=True).start()
config = {"upstreams": [f"127.0.0.1:{upstream.server_address[1]}"]}


async def not_found(request):
    return Response(404)


async def fetch(proxy):
    response = await proxy.handle(Request(headers=[("host", "test")]), not_found)
    assert b"".join([chunk async for chunk in response.body]) == b"ok"


def closed_since(before):
    deadline = time.monotonic() + 10
    while upstream.closed == before and time.monotonic() < deadline:
        time.sleep(0.02)
    return upstream.closed > before


async def closed_in_loop(before):
    deadline = time.monotonic() + 10
    while upstream.closed == before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return upstream.closed > before


results = {}
with Host().context() as ctx:
    def proxy():
        return ctx.load("http.handlers.reverse_proxy", config, "proxy")

    p, before = proxy(), upstream.closed
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(fetch(p), loop).result(10)
    time.sleep(0.2)
    results["kept alive between requests"] = upstream.closed == before
    p.cleanup()
    results["cleanup, loop running in another thread"] = closed_since(before)
    loop.call_soon_threadsafe(loop.stop)

    p, before = proxy(), upstream.closed
    loop = asyncio.new_event_loop()
    loop.run_until_complete(fetch(p))
    p.cleanup()
    results["cleanup, loop stopped"] = closed_since(before)
    loop.close()

    p, before = proxy(), upstream.closed

    async def inside():
        await fetch(p)
        p.cleanup()
        return await closed_in_loop(before)

    results["cleanup from inside the loop"] = asyncio.run(inside())

    p, before = proxy(), upstream.closed
    asyncio.run(fetch(p))
    results["asyncio.run's end"] = closed_since(before)

    p, before = proxy(), upstream.closed
    with asyncio.Runner() as runner:
        runner.run(fetch(p))
    results["asyncio.Runner's end, as the http app runs a server"] = closed_since(before)
print(json.dumps(results))
"""


def test_the_connection_pool_is_closed_however_its_loop_ends(venv: Venv, tmp_path: Path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    results = json.loads(venv.run("python", script, check=True, timeout=60).stdout)
    assert results == {
        "kept alive between requests": True,
        "cleanup, loop running in another thread": True,
        "cleanup, loop stopped": True,
        "cleanup from inside the loop": True,
        "asyncio.run's end": True,
        "asyncio.Runner's end, as the http app runs a server": True,
    }
