"""The http app's life: start, stop on SIGTERM/SIGINT with its ports freed, refusals, config errors."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MakeVenv, Venv
from tests.plugins.http.conftest import Running, free_port, http_config, port_is_free, serving

HELLO = [{"handle": [{"module": "static_response", "body": "hello"}]}]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_frees_the_port(http_venv: Venv, tmp_path: Path, sig: int, code: int) -> None:
    with serving(http_venv, tmp_path, HELLO) as server:
        assert server.request("/").text == "hello"
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        idle.request("GET", "/")  # a keep-alive connection left open must not hold the stop up
        assert idle.getresponse().read() == b"hello"
        server.proc.send_signal(sig)
        _, err = server.proc.communicate(timeout=20)
        idle.close()
        assert server.proc.returncode == code, err
        assert "every app stopped and every module cleaned up" in err
        assert port_is_free(server.port)


def test_address_in_use_is_a_clear_error(http_venv: Venv, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "busy.json"
        config.write_text(json.dumps(http_config(port, HELLO)))
        result = http_venv.corehost("run", "--config", config, timeout=60)
    assert result.returncode != 0
    assert f"http server 'main' cannot listen on '127.0.0.1:{port}'" in result.stderr
    assert "Address already in use" in result.stderr


def test_every_listen_address_is_served(http_venv: Venv, tmp_path: Path) -> None:
    second = free_port()
    port = free_port()
    config = http_config(port, HELLO)
    config["apps"]["http"]["servers"]["main"]["listen"].append(f"127.0.0.1:{second}")
    path = tmp_path / "two.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([str(http_venv.bin("corehost")), "run", "--config", str(path)], stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        for p in (port, second):
            running = Running(proc, p)
            running.wait_ready()
            assert running.request("/").text == "hello"
        proc.terminate()
        proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert port_is_free(port) and port_is_free(second)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [{"module": "static_response", "stauts": 200}]}]},
         "apps.http.servers.main.routes[0].handle[0].stauts: module http.handlers.static_response has no field "
         "'stauts' (did you mean 'status'?)"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [{"module": "static_response", "status": 42}]}]},
         "status: 42 is not an HTTP status code (100-999)"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"match": [{"module": "nope"}], "handle": []}]},
         "apps.http.servers.main.routes[0].match[0]"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [], "matches": []}]}, "'matches'"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [{"module": "file_server", "root": "/no/such/dir"}]}]},
         "root: '/no/such/dir' is not a folder"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"match": [{"module": "path"}], "handle": []}]},
         "paths is empty"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"match": [{"module": "host", "hosts": ["w*.x"]}], "handle": []}]},
         "hosts: 'w*.x': '*' must be a whole label"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [{"module": "headers"}]}]},
         "request, response: give at least one of them"),
        ({"listen": ["127.0.0.1:1"], "routes": [{"handle": [{"module": "rewrite", "uri": "x"}]}]},
         "uri: 'x' must start with '/', '?' or a placeholder"),
        ({"listen": [], "routes": []}, "servers.main.listen is empty"),
        ({"listen": ["localhost"], "routes": []}, "servers.main.listen[0]: 'localhost' is not host:port"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(http_venv: Venv, tmp_path: Path, server: dict[str, object], message: str) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"apps": {"http": {"servers": {"main": server}}}}))
    result = http_venv.corehost("validate", "--config", config)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_serves_without_uvicorns_c_parts(make_venv: MakeVenv, tmp_path: Path) -> None:
    """Without uvloop and httptools uvicorn falls back to asyncio's loop and h11: the app still serves."""
    venv = make_venv("corehost", "corehost-http", no_deps=True)
    venv.install("uvicorn>=0.30", "h11", "click", "pluggy", "packaging", no_deps=True)
    missing = venv.run(
        "python", "-c", "import importlib.util as u; print(u.find_spec('uvloop'), u.find_spec('httptools'))"
    )
    assert missing.stdout.split() == ["None", "None"]
    with serving(venv, tmp_path, HELLO) as server:
        assert server.request("/").text == "hello"
        server.proc.terminate()
        server.proc.communicate(timeout=20)
        assert server.proc.returncode == 0


POOL_SCRIPT = """
import socket, sys
from corehost_http.listeners import Pool

def free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True

port = int(sys.argv[1])
address = f"127.0.0.1:{port}"
pool = Pool()
a = pool.acquire(address)
b = pool.acquire(address)
a.close()  # what uvicorn does to the socket it was handed when it shuts down
pool.release(address)
with socket.create_connection(("127.0.0.1", port), timeout=5):
    pass  # still listening: the other holder keeps the bound socket
print(free(port))
b.close()
pool.release(address)
print(free(port))
"""


def test_listener_pool_keeps_a_shared_port_bound_until_the_last_release(http_venv: Venv) -> None:
    """The socket uvicorn gets is a duplicate: closing it, or one release of two, leaves the port listening."""
    result = http_venv.run("python", "-c", POOL_SCRIPT, str(free_port()), check=True)
    assert result.stdout.split() == ["False", "True"]
