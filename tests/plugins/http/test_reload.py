"""The http app across live reloads: the listener stays bound, no request fails, a bad config changes nothing.

A bounded client (four threads, each alternating a keep-alive connection and
a new connection per request) hits the server while ``corehost reload``
switches between two configs; every request must get a 200 from one config
or the other. A reloaded config serving the same addresses takes over the
running server, so no connection is closed under a client: a keep-alive
connection found closed would need the request sent again (as some clients do,
RFC 9112, 9.3.1, and wrk does not), and such a retry is counted and must not
happen; a refused or failed new connection, an error or a wrong answer counts
as a failure.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import Venv, clean_env
from tests.plugins.http.conftest import REQUEST_TIMEOUT, Running, free_port, port_is_free

THREADS = 4
RELOADS = 10


def config(port: int, admin: str, body: str, listen: list[str] | None = None) -> dict[str, Any]:
    route = {"handle": [{"module": "static_response", "body": body}]}
    server = {"listen": listen or [f"127.0.0.1:{port}"], "routes": [route]}
    return {"admin": {"listen": admin}, "apps": {"http": {"servers": {"main": server}}}}


def start(venv: Venv, config: Path) -> subprocess.Popen[str]:
    """``corehost run --config CONFIG``, its stderr kept for the end."""
    argv = [str(venv.bin("corehost")), "run", "--config", str(config)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env())


class Client(threading.Thread):
    """Requests ``/`` until told to stop: keep-alive and new connections in turn; counts what came back."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = stop
        self.bodies: dict[str, int] = {}
        self.failures: list[str] = []
        self.retries = 0
        self.requests = 0

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)

    def get(self, conn: http.client.HTTPConnection) -> str:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise AssertionError(f"status {response.status}: {body}")
        return body

    def run(self) -> None:
        kept = self.connect()
        while not self.stop.is_set() and len(self.failures) < 5:
            self.requests += 1
            reuse = self.requests % 2 == 0
            try:
                if reuse:
                    try:
                        body = self.get(kept)
                    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                        # The old server closed this idle connection: the request had no answer; send it again.
                        self.retries += 1
                        kept.close()
                        kept = self.connect()
                        body = self.get(kept)
                else:
                    fresh = self.connect()
                    try:
                        body = self.get(fresh)
                    finally:
                        fresh.close()
            except Exception as exc:
                self.failures.append(f"{'keep-alive' if reuse else 'new'} connection: {type(exc).__name__}: {exc}")
                kept.close()
                kept = self.connect()
                continue
            self.bodies[body] = self.bodies.get(body, 0) + 1
        kept.close()


def test_ten_reloads_under_load_fail_no_request_and_a_bad_config_changes_nothing(
    http_venv: Venv, tmp_path: Path
) -> None:
    port, admin = free_port(), f"127.0.0.1:{free_port()}"
    paths = []
    for body in ("one", "two"):
        paths.append(tmp_path / f"{body}.json")
        paths[-1].write_text(json.dumps(config(port, admin, body)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(config(port, admin, "bad", [f"127.0.0.1:{port}", f"127.0.0.1:{busy}"])))
        proc = start(http_venv, paths[0])
        try:
            Running(proc, port).wait_ready()
            stop = threading.Event()
            clients = [Client(port, stop) for _ in range(THREADS)]
            for client in clients:
                client.start()
            started = time.monotonic()
            for i in range(RELOADS):
                result = http_venv.corehost("reload", "--config", paths[(i + 1) % 2], timeout=60)
                assert result.returncode == 0, result.stderr
                if i == RELOADS // 2:
                    refused = http_venv.corehost("reload", "--config", bad, timeout=60)
                    assert refused.returncode == 1
                    assert f"http server 'main' cannot listen on '127.0.0.1:{busy}'" in refused.stderr
                    assert "apps.http" in refused.stderr and "distribution corehost-http" in refused.stderr
            elapsed = time.monotonic() - started
            stop.set()
            for client in clients:
                client.join(REQUEST_TIMEOUT + 5)
            failures = [f for c in clients for f in c.failures]
            bodies = {b for c in clients for b in c.bodies}
            answered = sum(sum(c.bodies.values()) for c in clients)
            retries = sum(c.retries for c in clients)
            assert failures == [], failures
            assert bodies == {"one", "two"}, bodies
            assert answered > RELOADS * THREADS, f"only {answered} requests in {elapsed:.1f} s"
            assert retries == 0, f"{retries} keep-alive connections of {answered} requests were closed by a reload"
            assert Running(proc, port).request("/").text == "one"
            assert http_venv.corehost("stop", "--address", admin).returncode == 0
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            assert err.count("config reloaded (POST /load)") == RELOADS
            assert port_is_free(port)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_a_listener_the_new_config_drops_is_freed_and_a_new_one_bound(http_venv: Venv, tmp_path: Path) -> None:
    port, other, admin = free_port(), free_port(), f"127.0.0.1:{free_port()}"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps(config(port, admin, "first")))
    second.write_text(json.dumps(config(port, admin, "second", [f"127.0.0.1:{other}"])))
    proc = start(http_venv, first)
    try:
        Running(proc, port).wait_ready()
        assert http_venv.corehost("reload", "--config", second, timeout=60).returncode == 0
        assert Running(proc, other).request("/").text == "second"
        assert port_is_free(port)
        proc.terminate()
        proc.communicate(timeout=30)
        assert proc.returncode == 0 and port_is_free(other)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


NONBLOCKING_SCRIPT = """
import fcntl, os, sys
from corehost_http.listeners import Pool

address = f"127.0.0.1:{sys.argv[1]}"
pool = Pool()
served = pool.acquire(address)
served.setblocking(False)  # what the event loop serving it does
pool.acquire(address)  # the next config's server takes its duplicate
print(bool(fcntl.fcntl(served.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK))
"""


def test_acquiring_a_served_listener_leaves_it_non_blocking(http_venv: Venv) -> None:
    """The blocking mode is the socket's, shared by its duplicates: a blocking one hangs the serving loop in accept."""
    result = http_venv.run("python", "-c", NONBLOCKING_SCRIPT, str(free_port()), check=True)
    assert result.stdout.split() == ["True"]


def test_a_response_in_flight_on_the_old_config_finishes(http_venv: Venv, tmp_path: Path) -> None:
    """A large file half sent when the reload stops its server is sent whole before the server goes."""
    site = tmp_path / "site"
    site.mkdir()
    payload = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the socket buffers hold
    (site / "big.bin").write_bytes(payload)
    port, admin = free_port(), f"127.0.0.1:{free_port()}"
    path = tmp_path / "files.json"
    route = {"handle": [{"module": "file_server", "root": str(site)}]}
    path.write_text(json.dumps({"admin": {"listen": admin}, "apps": {"http": {"servers": {"main": {
        "listen": [f"127.0.0.1:{port}"], "routes": [route]}}}}}))  # fmt: skip
    proc = start(http_venv, path)
    try:
        Running(proc, port).wait_ready()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        conn.request("GET", "/big.bin")
        response = conn.getresponse()
        first = response.read(64 * 1024)
        argv = [str(http_venv.bin("corehost")), "reload", "--force", "--config", str(path)]
        reload = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        time.sleep(1.0)  # the new config is serving and the old one's server is stopping, its response half sent
        assert reload.poll() is None, "the old config was cleaned up with a response still in flight"
        rest = response.read()
        conn.close()
        _, err = reload.communicate(timeout=60)
        assert reload.returncode == 0, err
        assert response.status == 200 and first + rest == payload
        assert Running(proc, port).request("/big.bin").body == payload
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
