"""The http plugin in a real venv, and corehost serving a config from it on a free port."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

#: How long a server may take to listen, and one request to be answered.
READY_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def whoami_plugin(dest: Path) -> Path:
    """docs/http.md's "handler plugin in 20 lines", written by running the page's own block."""
    doc = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    section = doc.split("## A handler plugin in 20 lines", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "docs/http.md lost its handler plugin example"
    subprocess.run(["bash", "-c", "set -euo pipefail\n" + block.group(1)], cwd=dest, check=True)
    return dest / "whoami"


@pytest.fixture(scope="module")
def http_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    """corehost, corehost-http (with uvicorn from the index, on its pure-Python path) and docs/http.md's whoami."""
    base = tmp_path_factory.mktemp("http-venv")
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(base / "venv")], check=True, env=clean_env())
    venv = Venv(base / "venv")
    whoami = wheelhouse.add(whoami_plugin(base))
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", "corehost-http")), whoami)
    return venv


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


class Running:
    """A ``corehost run`` process serving one http server on ``port``."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port

    def request(
        self, path: str, method: str = "GET", headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> Reply:
        """One request on a fresh connection; ``path`` is sent exactly as given (no normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.putrequest(method, path, skip_host="host" in {k.lower() for k in headers or {}})
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("content-length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                raise AssertionError(f"corehost exited {self.proc.returncode} before listening:\n{err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nothing listened on port {self.port} within {READY_TIMEOUT} s")


def http_config(port: int, routes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apps": {"http": {"servers": {"main": {"listen": [f"127.0.0.1:{port}"], "routes": routes}}}}}


@contextmanager
def serving(venv: Venv, config_dir: Path, routes: list[dict[str, Any]]) -> Iterator[Running]:
    """``corehost run`` on a config of ``routes``, ready to answer; killed on the way out if still running."""
    port = free_port()
    config = config_dir / f"http-{port}.json"
    config.write_text(json.dumps(http_config(port, routes)))
    proc = subprocess.Popen([str(venv.bin("corehost")), "run", "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env())  # fmt: skip
    running = Running(proc, port)
    try:
        running.wait_ready()
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
