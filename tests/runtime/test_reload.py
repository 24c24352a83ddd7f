"""Live reload through the admin endpoint and SIGHUP: a real ``corehost run``, real sockets on 127.0.0.1.

The lifecycle probe logs every step with its config's tag, so each test reads
back what ran: the new config started before the old one stopped, a refused
config rolled back, nothing at all for an identical one.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Venv, Wheelhouse, clean_env, uv

TIMEOUT = 30.0


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("reload-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", "fixture-lifecycle-probe")))
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Host:
    """A ``corehost run`` of probe configs in ``tmp_path``, with its admin endpoint on ``address``."""

    def __init__(self, venv: Venv, tmp_path: Path, address: str | None) -> None:
        self.venv = venv
        self.tmp_path = tmp_path
        self.address = address
        self.log = tmp_path / "events.log"
        self.stderr = tmp_path / "stderr.txt"
        self.config = tmp_path / "config.json"
        self.proc: subprocess.Popen[str] | None = None

    def write(self, name: str, tag: str, **apps: dict[str, Any]) -> Path:
        """A config file: app ``probe`` tagged ``tag`` (forever), plus ``apps``; the admin endpoint if any."""
        config: dict[str, Any] = {"apps": {"probe": {"log": str(self.log), "tag": tag, "forever": True}, **apps}}
        if self.address is not None:
            config["admin"] = {"listen": self.address}
        path = self.tmp_path / name
        path.write_text(json.dumps(config))
        return path

    def events(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while event not in self.events():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"corehost exited {self.proc.returncode}: {self.stderr.read_text()}")
            assert time.monotonic() < deadline, f"no {event!r}; events: {self.events()}"
            time.sleep(0.02)

    def corehost(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return self.venv.corehost(*args, timeout=60)

    def finish(self) -> int:
        assert self.proc is not None
        self.proc.wait(timeout=TIMEOUT)
        return self.proc.returncode


@contextmanager
def running(venv: Venv, tmp_path: Path, *, admin: bool = True) -> Iterator[Host]:
    """The host running ``config.json`` (probe tagged ``a``), its admin endpoint listening when ``admin``."""
    host = Host(venv, tmp_path, f"127.0.0.1:{free_port()}" if admin else None)
    config = host.write("config.json", "a")
    with open(host.stderr, "w") as err:
        host.proc = subprocess.Popen([str(venv.bin("corehost")), "run", "--config", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=err, text=True, env=clean_env())  # fmt: skip
    try:
        host.wait_for("start probe#a")
        yield host
    finally:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()


def request(address: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    """One request to the admin endpoint, with exactly ``headers`` (Host too, when given)."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}))
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_reload_starts_the_new_config_before_stopping_the_old_and_skips_an_identical_one(
    venv: Venv, tmp_path: Path
) -> None:
    with running(venv, tmp_path) as host:
        assert host.address is not None
        b = host.write("b.json", "b")
        result = host.corehost("reload", "--config", b)
        assert result.returncode == 0 and result.stdout == f"{b}: loaded\n", result.stderr
        events = host.events()
        assert events.index("start probe#b") < events.index("stop probe#a") < events.index("cleanup probe#a")
        assert request(host.address, "GET", "/config/apps/probe/tag") == (200, "b")
        assert request(host.address, "GET", "/config/apps/probe/nope")[0] == 404

        before = host.events()
        same = host.corehost("reload", "--config", b)
        assert same.returncode == 0
        assert same.stdout == f"{b}: the host runs this config already; nothing reloaded (--force reloads it)\n"
        assert host.events() == before
        forced = host.corehost("reload", "--config", b, "--force")
        assert forced.returncode == 0 and forced.stdout == f"{b}: loaded\n"
        assert host.events()[len(before) :].count("start probe#b") == 1

        stopped = host.corehost("stop", "--config", b)
        assert stopped.returncode == 0 and stopped.stdout == f"{host.address}: stopping\n"
        assert host.finish() == 0
        err = host.stderr.read_text()
        assert "corehost: config reloaded (POST /load)" in err
        assert "corehost: config unchanged (POST /load); nothing reloaded" in err
        assert "stopped (POST /stop on the admin endpoint); every app stopped and every module cleaned up" in err
        assert host.events()[-2:] == ["stop probe#b", "cleanup probe#b"]


def test_a_config_that_fails_is_rolled_back_and_the_old_one_keeps_running(venv: Venv, tmp_path: Path) -> None:
    with running(venv, tmp_path) as host:
        assert host.address is not None
        bad = host.write("bad.json", "new", probe2={"tag": "bad", "fail": "start"})
        result = host.corehost("reload", "--config", bad)
        assert result.returncode == 1
        assert result.stderr == (
            f"corehost: error: {bad} was not loaded; the running config keeps serving: module probe2 "
            "(distribution fixture-lifecycle-probe) at apps.probe2 failed in start: RuntimeError: probe2#bad was "
            "told to fail in start\n"
        )
        events = host.events()
        new = events[events.index("start probe#new") :]
        assert new[-3:] == ["stop probe#new", "cleanup probe2#bad", "cleanup probe#new"], new
        assert "stop probe#a" not in events
        assert request(host.address, "GET", "/config/apps/probe/tag") == (200, "a")

        typo = json.dumps({"admin": {"listen": host.address}, "apps": {"probe": {"tagg": "x"}}}).encode()
        status, answer = request(host.address, "POST", "/load", typo)
        assert status == 400
        assert answer == {"error": "apps.probe.tagg: module probe has no field 'tagg' (did you mean 'tag'?). "
                          "Its fields are: log, parts, fail, sleep, tag, forever."}  # fmt: skip
        status, answer = request(host.address, "POST", "/load", b"[apps", {"Content-Type": "application/toml"})
        assert status == 400 and answer["error"].startswith("POST /load: invalid TOML")
        assert "reload refused (POST /load); the running config keeps serving: apps.probe.tagg" in (
            host.stderr.read_text()
        )
        assert host.corehost("stop", "--address", host.address).returncode == 0
        assert host.finish() == 0


def test_sighup_rereads_the_config_file_and_a_broken_one_is_logged(venv: Venv, tmp_path: Path) -> None:
    with running(venv, tmp_path, admin=False) as host:
        assert host.proc is not None
        host.write("config.json", "c")
        host.proc.send_signal(signal.SIGHUP)
        host.wait_for("cleanup probe#a")
        assert host.events().index("start probe#c") < host.events().index("stop probe#a")
        host.config.write_text('{"apps": {"probe": {"forevr": true}}}')
        host.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while "reload refused (SIGHUP)" not in host.stderr.read_text():
            assert time.monotonic() < deadline and host.proc.poll() is None
            time.sleep(0.02)
        assert (
            "corehost: reload refused (SIGHUP); the running config keeps serving: apps.probe.forevr: module probe "
            "has no field 'forevr' (did you mean 'forever'?)" in host.stderr.read_text()
        )
        host.proc.terminate()
        assert host.finish() == 0
        assert host.events()[-2:] == ["stop probe#c", "cleanup probe#c"]


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (from /proc: its socket inodes in the LISTEN state)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_the_admin_endpoint_is_off_unless_the_config_names_one(venv: Venv, tmp_path: Path) -> None:
    with running(venv, tmp_path, admin=False) as host:
        assert host.proc is not None
        assert listening_ports(host.proc.pid) == set()
        assert host.corehost("reload", "--config", host.config).stderr == (
            f"corehost: error: {host.config} names no admin endpoint, so the host's address is not known: give "
            '--address, or add admin = {listen = "127.0.0.1:2019"} to the config (a host runs one only when its '
            "config names it)\n"
        )
    on = tmp_path / "on"
    on.mkdir()
    with running(venv, on) as host:
        assert host.proc is not None and host.address is not None
        assert listening_ports(host.proc.pid) == {int(host.address.rsplit(":", 1)[1])}


def test_requests_with_a_foreign_host_or_origin_are_refused(venv: Venv, tmp_path: Path) -> None:
    with running(venv, tmp_path) as host:
        address = host.address
        assert address is not None
        port = address.rsplit(":", 1)[1]
        status, answer = request(address, "GET", "/config", headers={"Host": f"evil.example:{port}"})
        assert status == 403
        assert answer["error"].startswith(f"Host 'evil.example:{port}' is not allowed: the admin endpoint answers "
                                          f"only to 127.0.0.1:{port}, [::1]:{port}, localhost:{port}")  # fmt: skip
        assert request(address, "GET", "/config", headers={"Host": f"localhost:{port}"})[0] == 200
        status, answer = request(address, "POST", "/stop", headers={"Origin": "http://evil.example"})
        assert status == 403 and answer["error"].startswith("Origin 'http://evil.example' is not allowed")
        assert request(address, "GET", "/config", headers={"Origin": f"http://localhost:{port}"})[0] == 200
        assert host.proc is not None and host.proc.poll() is None, "a refused POST /stop stopped the host"


@pytest.mark.parametrize("listen", ["0.0.0.0:2019", ":2019", "example.com:2019"])
def test_a_public_admin_address_is_refused_unless_allowed(venv: Venv, tmp_path: Path, listen: str) -> None:
    config = tmp_path / "public.json"
    config.write_text(json.dumps({"admin": {"listen": listen}, "apps": {}}))
    result = venv.corehost("validate", "--config", config)
    assert result.returncode == 2
    assert result.stderr == (
        f"corehost: error: {config}: admin.listen: {listen!r} is not a loopback address: whoever reaches the admin "
        "endpoint can replace the running config and stop the host, so it listens on 127.0.0.1, ::1, localhost or "
        "a unix socket unless the config also sets admin.allow_public = true\n"
    )
    config.write_text(json.dumps({"admin": {"listen": listen, "allow_public": True}, "apps": {}}))
    assert venv.corehost("validate", "--config", config).returncode == 0


def test_the_admin_endpoint_on_a_unix_socket(venv: Venv, tmp_path: Path) -> None:
    sock = tmp_path / "admin.sock"
    host = Host(venv, tmp_path, f"unix:{sock}")
    config = host.write("config.json", "a")
    with open(host.stderr, "w") as err:
        host.proc = subprocess.Popen([str(venv.bin("corehost")), "run", "--config", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=err, text=True, env=clean_env())  # fmt: skip
    try:
        host.wait_for("start probe#a")
        assert oct(sock.stat().st_mode & 0o777) == "0o600"
        b = host.write("b.json", "b")
        assert host.corehost("reload", "--config", b).stdout == f"{b}: loaded\n"
        host.wait_for("cleanup probe#a")
        assert host.corehost("stop", "--address", f"unix:{sock}").returncode == 0
        assert host.finish() == 0
        assert not sock.exists()
    finally:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()


def test_an_admin_address_in_use_fails_the_start_and_cleans_up(venv: Venv, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        host = Host(venv, tmp_path, address)
        result = venv.corehost("run", "--config", host.write("config.json", "a"), timeout=60)
    assert result.returncode == 1
    assert result.stderr.endswith(
        f"corehost: error: admin: the admin endpoint cannot listen on '{address}': Address already in use "
        "(change admin.listen, or stop what holds it)\n"
    )
    assert host.events()[-2:] == ["stop probe#a", "cleanup probe#a"]


def test_a_body_the_admin_endpoint_cannot_take_is_refused(venv: Venv, tmp_path: Path) -> None:
    with running(venv, tmp_path) as host:
        assert host.address is not None
        host_name, port = host.address.rsplit(":", 1)
        answers = []
        for length in ("x", str(16 * 1024 * 1024 + 1)):
            with socket.create_connection((host_name, int(port)), timeout=TIMEOUT) as conn:
                head = f"POST /load HTTP/1.1\r\nHost: {host.address}\r\nContent-Length: {length}\r\n\r\n"
                conn.sendall(head.encode())
                answers.append(conn.makefile("rb").read().decode())
        assert answers[0].startswith("HTTP/1.1 400 ") and "Content-Length 'x' is not a number of bytes" in answers[0]
        assert answers[1].startswith("HTTP/1.1 413 ")
        assert "the body is 16777217 bytes; the admin endpoint reads at most 16777216" in answers[1]
        assert request(host.address, "GET", "/config/apps/probe/tag") == (200, "a")


#: Runs the corehost CLI on argv[1:], then prints the names in ``sys.modules`` as JSON on stdout's last line.
IMPORTED = """
import json, sys
from corehost.cli import main
main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)))
"""


def test_only_a_config_with_an_admin_endpoint_imports_its_code(venv: Venv, tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"apps": {"probe": {}}}))
    for args in (["list-modules"], ["run", "--config", str(plain)]):
        names = json.loads(venv.run("python", "-c", IMPORTED, *args, check=True).stdout.splitlines()[-1])
        assert {"corehost.admin", "http.server", "socketserver"} & set(names) == set(), args
    with_admin = tmp_path / "admin.json"
    with_admin.write_text(json.dumps({"admin": {"listen": f"127.0.0.1:{free_port()}"}, "apps": {"probe": {}}}))
    names = json.loads(
        venv.run("python", "-c", IMPORTED, "run", "--config", with_admin, check=True).stdout.splitlines()[-1]
    )
    assert "corehost.admin" in names
