"""Benchmark 6: the http app serving real requests, beside the same routes written by hand and Caddy.

Three routes, the same on every side: ``/hello`` (a ``path`` matcher, a
``headers`` handler setting ``X-Served-By`` and a ``static_response``),
``/files/small.txt`` (``file_server``, a 1 KiB file) and ``/api/ping``
(``reverse_proxy`` to one local upstream, a bare ASGI app on uvicorn shared by
every side). The sides: the corehost http app in a venv built by
corehost-build with the fast path (uvloop, httptools), the routes hand-written
in Starlette on the same uvicorn settings, a bare ASGI callable on the same
server (the floor), and Caddy with the equivalent JSON config. Every Python
side is one process with one worker; Caddy uses every core.

The load generator is wrk when it is installed (bench/run installs it); in
smoke mode without it, a small httpx client stands in so that the corehost
side is still exercised, and the report names the client. Sides alternate
within each round (the order rotates), all servers stay up for the whole
run, and ratios are of medians taken in this run.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.envs import HTTP_COMPARE, PLUGINS_DIR, ROOT, Builder, make_venv, run
from bench.stats import Sample, bench_env

BODY = "hello, world\n"
ROUTES = {
    "path + headers + static_response": "/hello",
    "file_server (1 KiB file)": "/files/small.txt",
    "reverse_proxy (local upstream)": "/api/ping",
}
COREHOST, STARLETTE, BARE, CADDY = "corehost http", "Starlette (hand-written)", "bare ASGI (floor)", "Caddy"
#: wrk's connections and threads; the same for every side.
CONNECTIONS = 32
THREADS = 1
HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
     "transfer-encoding", "upgrade"]
)  # fmt: skip


@dataclass(frozen=True)
class HttpPlan:
    """Sample length and count; smoke mode takes one short round and a few reloads."""

    seconds: float = 5.0
    rounds: int = 3
    warmup_seconds: float = 1.0
    reloads: int = 20


HTTP_SMOKE = HttpPlan(seconds=1.0, rounds=1, warmup_seconds=0.5, reloads=4)


# The servers' code. The comparison sides run these through uvicorn in their own venv (`--factory`);
# they read the site folder and the upstream's port from the environment.


def _site_file(site: Path, path: str) -> Path | None:
    target = (site / path.lstrip("/")).resolve()
    return target if target.is_relative_to(site) and target.is_file() else None


def _proxy_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in raw if k.lower().decode("latin-1") not in HOP_BY_HOP]


def upstream_app() -> Callable[..., Any]:
    """The reverse proxy's upstream: a bare ASGI callable answering ``pong``, as fast as uvicorn goes."""
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"4")]

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"pong"})

    return app


def bare_app() -> Callable[..., Any]:
    """The floor: the three routes as one ASGI callable, no framework (httpx for the proxy, as Starlette's side)."""
    import httpx

    site = Path(os.environ["BENCH_HTTP_SITE"]).resolve()
    upstream = f"http://127.0.0.1:{os.environ['BENCH_HTTP_UPSTREAM']}"
    hello = [(b"x-served-by", b"bench"), (b"content-type", b"text/plain; charset=utf-8"),
             (b"content-length", str(len(BODY)).encode())]  # fmt: skip
    clients: dict[int, httpx.AsyncClient] = {}

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/hello":
            await send({"type": "http.response.start", "status": 200, "headers": hello})
            await send({"type": "http.response.body", "body": BODY.encode()})
        elif path.startswith("/files/") and (found := _site_file(site, path)) is not None:
            data = found.read_bytes()
            kind = (mimetypes.guess_type(found.name)[0] or "application/octet-stream").encode()
            headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": data})
        elif path.startswith("/api/"):
            client = clients.get(0) or clients.setdefault(0, httpx.AsyncClient(base_url=upstream))
            request = client.build_request(scope["method"], path, headers=_proxy_headers(scope["headers"]))
            reply = await client.send(request, stream=True)
            await send({"type": "http.response.start", "status": reply.status_code,
                        "headers": _proxy_headers(reply.headers.raw)})  # fmt: skip
            async for chunk in reply.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await reply.aclose()
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})

    return app


def starlette_app() -> Callable[..., Any]:
    """The same routes as a Starlette user writes them: Route, StaticFiles, a streamed httpx proxy."""
    import httpx
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    site = Path(os.environ["BENCH_HTTP_SITE"]).resolve()
    upstream = f"http://127.0.0.1:{os.environ['BENCH_HTTP_UPSTREAM']}"
    clients: dict[int, httpx.AsyncClient] = {}

    async def hello(request: Request) -> Response:
        return Response(BODY, media_type="text/plain; charset=utf-8", headers={"X-Served-By": "bench"})

    async def proxy(request: Request) -> StreamingResponse:
        client = clients.get(0) or clients.setdefault(0, httpx.AsyncClient(base_url=upstream))
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        outgoing = client.build_request(
            request.method, request.url.path, params=request.url.query,
            headers=_proxy_headers(request.headers.raw), content=request.stream() if has_body else None,
        )  # fmt: skip
        reply = await client.send(outgoing, stream=True)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in _proxy_headers(reply.headers.raw)}
        return StreamingResponse(reply.aiter_raw(), reply.status_code, headers, background=BackgroundTask(reply.aclose))

    return Starlette(
        routes=[
            Route("/hello", hello),
            Mount("/files", StaticFiles(directory=site / "files")),
            Route("/api/{rest:path}", proxy, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        ]
    )


# Configs of the corehost and Caddy sides.


def corehost_config(port: int, site: Path, upstream: int, body: str = BODY, admin: str | None = None) -> dict[str, Any]:
    routes = [
        {"match": [{"module": "path", "paths": ["/hello"]}],
         "handle": [{"module": "headers", "response": {"set": {"X-Served-By": "bench"}}},
                    {"module": "static_response", "headers": {"Content-Type": "text/plain; charset=utf-8"},
                     "body": body}]},
        {"match": [{"module": "path", "paths": ["/files/*"]}],
         "handle": [{"module": "file_server", "root": str(site)}]},
        {"match": [{"module": "path", "paths": ["/api/*"]}],
         "handle": [{"module": "reverse_proxy", "upstreams": [f"127.0.0.1:{upstream}"]}]},
    ]  # fmt: skip
    server = {"listen": [f"127.0.0.1:{port}"], "routes": routes}
    config: dict[str, Any] = {"apps": {"http": {"servers": {"bench": server}}}}
    if admin is not None:
        config["admin"] = {"listen": admin}
    return config


def caddy_config(port: int, site: Path, upstream: int) -> dict[str, Any]:
    """The same routes in Caddy's JSON: no admin endpoint, no automatic HTTPS, logs discarded."""
    routes = [
        {"match": [{"path": ["/hello"]}],
         "handle": [{"handler": "headers", "response": {"set": {"X-Served-By": ["bench"]}}},
                    {"handler": "static_response", "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                     "body": BODY}]},
        {"match": [{"path": ["/files/*"]}], "handle": [{"handler": "file_server", "root": str(site)}]},
        {"match": [{"path": ["/api/*"]}],
         "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": f"127.0.0.1:{upstream}"}]}]},
    ]  # fmt: skip
    server = {"listen": [f"127.0.0.1:{port}"], "automatic_https": {"disable": True}, "routes": routes}
    return {
        "admin": {"disabled": True, "config": {"persist": False}},
        "logging": {"logs": {"default": {"writer": {"output": "discard"}}}},
        "apps": {"http": {"servers": {"bench": server}}},
    }


# Processes, ports, memory.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Served:
    """One running server: its process, port and log."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    idle_kib: int = 0
    peak_kib: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, paths: list[str], timeout: float = 60.0) -> None:
        """Until every path answers 200; a server that exits or never answers fails the benchmark with its log."""
        deadline = time.monotonic() + timeout
        pending = list(paths)
        while pending:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} is not serving {pending}:\n{log}")
            try:
                status, _ = get(self.url(pending[0]))
            except OSError:
                time.sleep(0.1)
                continue
            if status != 200:
                raise RuntimeError(f"{self.name}: {pending[0]} answered {status}")
            pending.pop(0)


@contextmanager
def serve(name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Iterator[Served]:  # fmt: skip
    """A server process for the ``with`` block, stopped with SIGTERM (then SIGKILL) at its end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=bench_env(env), cwd=cwd)
    try:
        yield Served(name, proc, port, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def uvicorn_argv(python: Path, factory: str, port: int) -> list[str]:
    """uvicorn with the settings the http app gives it: one worker, uvloop, httptools, no lifespan, no logs."""
    return [str(python), "-m", "uvicorn", "--factory", factory, "--app-dir", str(ROOT), "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--lifespan", "off",
            "--ws", "none", "--no-access-log", "--log-level", "warning",
            "--timeout-graceful-shutdown", "5"]  # fmt: skip


# Load.


@dataclass
class Load:
    """One load sample: throughput, latency percentiles (s), and the requests that failed."""

    rps: float
    p50: float
    p99: float
    requests: int
    errors: int
    non_2xx: int
    max: float = 0.0
    #: wrk's own breakdown of the socket errors ("connect 0, read 3, write 0, timeout 0"), when it gave one.
    error_kinds: str = ""


UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def parse_wrk(out: str) -> Load:
    """wrk's ``--latency`` report: Requests/sec, the 50% and 99% lines, Socket errors and Non-2xx lines."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    socket_errors = re.search(r"Socket errors: (connect (\d+), read (\d+), write (\d+), timeout (\d+))", out)
    errors = sum(int(n) for n in socket_errors.groups()[1:]) if socket_errors else 0
    kinds = socket_errors.group(1) if socket_errors else ""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
    slowest = _seconds(latency.group(1)) if latency else 0.0
    failed = int(non_2xx.group(1)) if non_2xx else 0
    return Load(rps, _seconds(pct["50"]), _seconds(pct["99"]), requests, errors, failed, slowest, kinds)


class Wrk:
    """wrk from the OS packages."""

    def __init__(self, exe: str) -> None:
        self.exe = exe
        version = subprocess.run([exe, "--version"], capture_output=True, text=True)
        label = (version.stdout + version.stderr).split(" [")[0].strip()
        self.name = f"{label} ({THREADS} thread, {CONNECTIONS} connections)"

    def argv(self, url: str, seconds: float) -> list[str]:
        return [self.exe, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency", url]

    def load(self, url: str, seconds: float) -> Load:
        result = subprocess.run(self.argv(url, seconds), capture_output=True, text=True, timeout=seconds + 60)
        if result.returncode != 0 or "Requests/sec" not in result.stdout:
            raise RuntimeError(f"wrk failed on {url}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        return parse_wrk(result.stdout)

    @contextmanager
    def background(self, url: str) -> Iterator[Callable[[], Load]]:
        """wrk running until the block ends; the callable (after the block) gives its report (SIGINT ends wrk)."""
        proc = subprocess.Popen(self.argv(url, 3600), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outcome: list[Load] = []
        try:
            yield lambda: outcome[0]
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            if "Requests/sec" not in out:
                raise RuntimeError(f"wrk failed on {url}: {out[-2000:]}{err[-2000:]}")
            outcome.append(parse_wrk(out))


class PyClient:
    """A stand-in load generator for smoke runs without wrk: CONNECTIONS httpx keep-alive loops."""

    name = f"httpx stand-in ({CONNECTIONS} connections; wrk is not installed, so not figures to compare)"

    def load(self, url: str, seconds: float, stop: threading.Event | None = None) -> Load:
        return asyncio.run(self._load(url, seconds, stop or threading.Event()))

    async def _load(self, url: str, seconds: float, stop: threading.Event) -> Load:
        import httpx

        latencies: list[float] = []
        failed = [0, 0]
        deadline = time.perf_counter() + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline and not stop.is_set():
                start = time.perf_counter()
                try:
                    reply = await client.get(url)
                except httpx.HTTPError:
                    failed[0] += 1
                    continue
                latencies.append(time.perf_counter() - start)
                failed[1] += not 200 <= reply.status_code < 400

        started = time.perf_counter()
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        return Load(len(latencies) / elapsed, q[49], q[98], len(latencies), failed[0], failed[1], max(latencies))

    @contextmanager
    def background(self, url: str) -> Iterator[Callable[[], Load]]:
        stop = threading.Event()
        outcome: list[Load] = []
        thread = threading.Thread(target=lambda: outcome.append(self.load(url, 3600, stop)))
        thread.start()
        try:
            yield lambda: outcome[0]
        finally:
            stop.set()
            thread.join()


# The benchmark.


def corehost_argv(venv: Path, config: Path) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "corehost", "run", "--config", str(config)]


def _versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json, sys\nfrom importlib import metadata as m\nout = {}\nfor n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))"
    )
    return dict(json.loads(run([python, "-c", code, *names])))


def _sample(samples: dict[str, dict[str, dict[str, Sample]]], route: str, side: str, load: Load) -> None:
    slot = samples.setdefault(route, {}).setdefault(side, {})
    for key, value in (("rps", load.rps), ("p50", load.p50), ("p99", load.p99)):
        slot.setdefault(key, Sample(f"{side} {key}")).times.append(value)
    slot.setdefault("failed", Sample(f"{side} failed")).times.append(float(load.errors + load.non_2xx))


@contextmanager
def _watch_rss(server: Served) -> Iterator[None]:
    """Keep ``server.peak_kib`` up to date while the block runs (a poll every 0.1 s)."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.1):
            server.peak_kib = max(server.peak_kib, rss_kib(server.proc.pid))

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_http(work: Path, builder: Builder, plan: HttpPlan) -> dict[str, Any]:
    """Every side on every route, interleaved; memory; reload under load. Results as data for report.py."""
    started = time.perf_counter()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    wrk = shutil.which("wrk")
    client: Wrk | PyClient = Wrk(wrk) if wrk else PyClient()
    caddy = shutil.which("caddy")
    absent = [] if wrk else ["wrk"]
    if not caddy:
        absent.append("caddy")
    fast = ["--with", "uvloop", "--with", "httptools", "--allow-plain", "uvloop", "--allow-plain", "httptools"]
    built = work / "http-venv"
    builder.build("--with", PLUGINS_DIR / "http", "--with", PLUGINS_DIR / "http-proxy", *fast, "--venv", built)
    built_python = built / "bin" / "python"
    pins = _versions(built_python, ["uvicorn", "uvloop", "httptools", "httpx", "h11"])
    compare = make_venv(work / "http-compare", *HTTP_COMPARE, *(f"{n}=={v}" for n, v in pins.items()))
    versions = pins | _versions(compare.python, ["starlette"])
    if caddy:
        versions["caddy"] = subprocess.run([caddy, "version"], capture_output=True, text=True).stdout.split()[0]

    site = work / "http-site"
    (site / "files").mkdir(parents=True)
    (site / "files" / "small.txt").write_text(("corehost bench " * 64)[:1024], encoding="utf-8")
    ports = {name: free_port() for name in ("upstream", COREHOST, STARLETTE, BARE, CADDY)}
    up = ports["upstream"]
    app_env = {"BENCH_HTTP_SITE": str(site), "BENCH_HTTP_UPSTREAM": str(up)}
    (work / "corehost-http.json").write_text(json.dumps(corehost_config(ports[COREHOST], site, up)), encoding="utf-8")
    (work / "caddy.json").write_text(json.dumps(caddy_config(ports[CADDY], site, up)), encoding="utf-8")
    caddy_env = {"XDG_DATA_HOME": str(work / "caddy-data"), "XDG_CONFIG_HOME": str(work / "caddy-config")}
    paths = list(ROUTES.values())

    results: dict[str, Any] = {"load_before": load_before, "client": client.name, "absent": absent,
                               "versions": versions, "plan": plan.__dict__, "connections": CONNECTIONS,
                               "cores": os.cpu_count()}  # fmt: skip
    samples: dict[str, dict[str, dict[str, Sample]]] = {}
    with ExitStack() as stack:
        upstream = stack.enter_context(serve("upstream", uvicorn_argv(compare.python, "bench.http:upstream_app", up),
                                             up, work / "upstream.log"))  # fmt: skip
        upstream.wait_ready(["/"])
        servers = {
            COREHOST: serve(COREHOST, corehost_argv(built, work / "corehost-http.json"), ports[COREHOST],
                            work / "corehost.log"),
            STARLETTE: serve(STARLETTE, uvicorn_argv(compare.python, "bench.http:starlette_app", ports[STARLETTE]),
                             ports[STARLETTE], work / "starlette.log", app_env),
            BARE: serve(BARE, uvicorn_argv(compare.python, "bench.http:bare_app", ports[BARE]), ports[BARE],
                        work / "bare.log", app_env),
        }  # fmt: skip
        if caddy:
            servers[CADDY] = serve(CADDY, [caddy, "run", "--config", str(work / "caddy.json")], ports[CADDY],
                                   work / "caddy.log", caddy_env)  # fmt: skip
        running = {name: stack.enter_context(cm) for name, cm in servers.items()}
        for server in running.values():
            server.wait_ready(paths)
            server.idle_kib = rss_kib(server.proc.pid)
        names = list(running)
        for path in ROUTES.values():
            for name in names:
                client.load(running[name].url(path), plan.warmup_seconds)
        for round_ in range(plan.rounds):
            for route, path in ROUTES.items():
                k = round_ % len(names)
                for name in names[k:] + names[:k]:
                    with _watch_rss(running[name]):
                        _sample(samples, route, name, client.load(running[name].url(path), plan.seconds))
        results["memory"] = {name: {"idle_kib": s.idle_kib, "load_kib": s.peak_kib} for name, s in running.items()}
        results["routes"] = samples
        results["reload"] = run_reload(work, built, client, site, up, plan)
    results["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["seconds"] = time.perf_counter() - started
    return results


def reload_available(venv: Path) -> bool:
    """Whether the built venv has ``corehost reload`` (the admin endpoint's client)."""
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "corehost", "reload", "--help"],
                            capture_output=True, text=True, env=bench_env())  # fmt: skip
    return result.returncode == 0 and "--config" in result.stdout


def run_reload(work: Path, built: Path, client: Wrk | PyClient, site: Path, up: int, plan: HttpPlan) -> dict[str, Any]:
    """``plan.reloads`` reloads alternating two configs, one bad config among them, under load on ``/hello``.

    Counts failed and refused requests (wrk's socket errors and non-2xx answers), checks that the bad config is
    refused with the old one still serving, and reports the load's latency over the reloads.
    """
    if not reload_available(built):
        return {"available": False, "reason": "corehost reload is not available in this build"}
    port = free_port()
    admin = f"127.0.0.1:{free_port()}"
    bodies = {"a": "config a\n", "b": "config b\n"}
    configs = {}
    for key, body in bodies.items():
        configs[key] = work / f"reload-{key}.json"
        configs[key].write_text(json.dumps(corehost_config(port, site, up, body, admin)), encoding="utf-8")
    bad = corehost_config(port, site, up, "bad\n", admin)
    bad["apps"]["http"]["servers"]["bench"]["routes"][0]["handle"][1]["status"] = 42
    configs["bad"] = work / "reload-bad.json"
    configs["bad"].write_text(json.dumps(bad), encoding="utf-8")
    reload_argv = [str(built / "bin" / "python"), "-m", "corehost", "reload", "--config"]
    times: list[float] = []
    refused: dict[str, Any] = {}
    with serve(COREHOST, corehost_argv(built, configs["a"]), port, work / "reload.log") as server:
        server.wait_ready(["/hello"])
        url = server.url("/hello")
        with client.background(url) as report:
            time.sleep(1.0)
            current = "a"
            for i in range(plan.reloads):
                if i == plan.reloads // 2:
                    result = subprocess.run([*reload_argv, str(configs["bad"])], capture_output=True, text=True,
                                            env=bench_env())  # fmt: skip
                    status, body = get(url)
                    refused = {"exit": result.returncode, "message": (result.stderr or result.stdout).strip()[-600:],
                               "still_serving": status == 200 and body.decode() == bodies[current]}  # fmt: skip
                current = "b" if current == "a" else "a"
                start = time.perf_counter()
                result = subprocess.run([*reload_argv, str(configs[current])], capture_output=True, text=True,
                                        env=bench_env())  # fmt: skip
                times.append(time.perf_counter() - start)
                if result.returncode != 0:
                    raise RuntimeError(f"corehost reload of config {current} failed: {result.stderr[-2000:]}")
                status, body = get(url)
                if status != 200 or body.decode() != bodies[current]:
                    raise RuntimeError(f"after reload {i + 1} /hello answered {status} {body!r}, not config {current}")
            time.sleep(1.0)
        load = report()
    return {
        "available": True,
        "reloads": plan.reloads,
        "reload_seconds": Sample("corehost reload", times),
        "requests": load.requests,
        "errors": load.errors,
        "error_kinds": load.error_kinds,
        "non_2xx": load.non_2xx,
        "p50": load.p50,
        "p99": load.p99,
        "max": load.max,
        "rps": load.rps,
        "bad": refused,
    }
