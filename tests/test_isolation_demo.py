"""The greet demo with ``greeters.zh`` isolated: from a built venv, from a built ``.pyz``, and reattached.

The venv and the bundle are built once, by ``corehost-build build --isolate
greeters.zh`` (corehost-build from the session wheelhouse), and run the demo
as a user would. That the module really runs elsewhere is read from the
import log (``PYTHONVERBOSE``, inherited by the worker, which names every
module imported, ``importlib.import_module`` included): the worker's lines
reach the host's stderr prefixed with the module ID, so
``corehost_greeter_zh`` must be imported on a prefixed line and never on one
of the host's own. The reattached worker is ``corehost serve-module
greeters.zh --listen unix:...`` started separately, from the bundle, and
serves one host after another until it is stopped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from corehost import wire
from tests.builder.conftest import GREETER_PLUGINS
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

ZH = "greeters.zh"
GREETINGS = "Hello, Bob!\n你好, Bob！\n"
DEMO = """\
[apps.greet]
names = ["Bob"]
once = true

[[apps.greet.greeters]]
module = "en"

[[apps.greet.greeters]]
module = "zh"
punctuation = "！"
isolation = {isolation}
"""


@dataclass
class Built:
    """The demo's plugins built once as a venv and once as a bundle, both with ``--isolate greeters.zh``."""

    venv: Venv
    pyz: Path

    def host(self, kind: str) -> list[str]:
        return [str(self.venv.bin("corehost"))] if kind == "venv" else [sys.executable, str(self.pyz)]


@pytest.fixture(scope="session")
def built(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("isolation-demo")
    tools = out / "builder"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(tools)], check=True, env=clean_env())
    Venv(tools).install(wheelhouse.wheel("corehost-build"), wheelhouse.wheel("corehost"))
    plugins = [a for p in GREETER_PLUGINS for a in ("--with", f"./{p}")]
    env = {"COREHOST_BUILD_CACHE": str(out / "cache")}
    for dest in ("--venv", out / "venv"), ("--output", out / "demo.pyz"):
        Venv(tools).run("corehost-build", "build", "-q", *plugins, "--isolate", ZH, *dest, env=env, cwd=ROOT,
                        check=True, timeout=300)  # fmt: skip
    return Built(Venv(out / "venv"), out / "demo.pyz")


def worker_pids(marker: str, runs: str = "corehost.worker") -> list[int]:
    """Processes still alive whose command line runs a worker (``runs``) and mentions ``marker`` (a temp path)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if entry.name.isdigit() and runs in cmdline and marker in cmdline:
            found.append(int(entry.name))
    return found


def imported_by(stderr: str, package: str) -> tuple[bool, bool]:
    """Whether ``package`` was imported by the host itself, and whether by the worker (its lines are prefixed)."""
    lines = [line for line in stderr.splitlines() if f"import '{package}' # " in line]
    return any(not line.startswith(f"[{ZH}] ") for line in lines), any(line.startswith(f"[{ZH}] ") for line in lines)


def run_demo(host: list[str], config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env({"PYTHONVERBOSE": "1", "COREHOST_CACHE_DIR": str(tmp_path / "unpacked")})
    return subprocess.run([*host, "run", "--config", str(config)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)  # fmt: skip


@pytest.mark.parametrize("kind", ["venv", "pyz"])
def test_the_greet_demo_runs_with_greeters_zh_in_its_own_process(built: Built, kind: str, tmp_path: Path) -> None:
    config = tmp_path / "greet.toml"
    config.write_text(DEMO.format(isolation='"process"'), encoding="utf-8")
    result = run_demo(built.host(kind), config, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == GREETINGS
    in_host, in_worker = imported_by(result.stderr, "corehost_greeter_zh")
    assert in_worker and not in_host, "greeters.zh must be imported by its worker only"
    assert imported_by(result.stderr, "corehost_greeter_en") == (True, False), "greeters.en stays in the host"
    where = str(built.venv.path) if kind == "venv" else str(built.pyz)
    assert worker_pids(where) == [], "the worker ended with the host"


#: Run by an artifact's interpreter: the command its host starts greeters.zh's worker with (JSON), after what
#: a bundle's launcher does (its packages on the path) when given the bundle.
WORKER_COMMAND = """
import json, runpy, sys
if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
    runpy.run_path(sys.argv[1], run_name="corehost_launcher")["enter"](sys.argv[1])
from corehost.remote import worker_command
print(json.dumps(worker_command("greeters.zh", None)))
"""
#: What a worker's handshake does not need: typing (with the re and enum it imports), functools and
#: collections, the namespace's interface (its package), the module itself and the registry.
NOT_BEFORE_HANDSHAKE = {
    *("typing", "re", "enum", "functools", "collections"),
    *("corehost_greet", "corehost_greet.interfaces", "corehost_greeter_zh", "corehost.registry", "corehost.discovery"),
}
#: The corehost modules a worker of a built environment imports before its handshake.
CORE_BEFORE_HANDSHAKE = {"corehost", "corehost.worker", "corehost.wire", "corehost.errors", "corehost.hostspec"}


@pytest.mark.parametrize("kind", ["venv", "pyz"])
def test_a_built_worker_imports_neither_typing_nor_the_interface_before_its_handshake(
    built: Built, kind: str, tmp_path: Path
) -> None:
    """The interface version comes from the frozen registry; ``-X importtime`` lists what came before the line.

    The worker's stderr and stdout are one pipe, so its import lines and its handshake arrive in order.
    """
    env = clean_env({"COREHOST_CACHE_DIR": str(tmp_path / "unpacked")})
    probe = [sys.executable, "-c", WORKER_COMMAND, str(built.pyz)] if kind == "pyz" else [
        str(built.venv.python), "-c", WORKER_COMMAND]  # fmt: skip
    command = json.loads(subprocess.run(probe, capture_output=True, text=True, env=env, check=True).stdout)
    env.update({wire.COOKIE_KEY: wire.COOKIE_VALUE, wire.SECRET_ENV: "ab" * 32, wire.PARENT_ENV: str(os.getpid())})
    worker = subprocess.Popen([command[0], "-X", "importtime", *command[1:]], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    assert worker.stdout is not None and worker.stdin is not None
    imported, lines = set(), []
    for line in worker.stdout:
        lines.append(line)
        if wire.parse_handshake(line) is not None:
            break
        if line.startswith("import time:") and "|" in line:
            imported.add(line.rsplit("|", 1)[1].strip())
    worker.stdin.close()
    rest = worker.stdout.read()
    worker.wait(10)
    assert wire.parse_handshake(lines[-1]) is not None, "".join(lines) + rest
    assert "_corehost_frozen" in imported, "the worker read the build's frozen registry"
    assert imported & NOT_BEFORE_HANDSHAKE == set(), sorted(imported)
    assert {m for m in imported if m.split(".")[0] == "corehost"} == CORE_BEFORE_HANDSHAKE, sorted(imported)


@pytest.fixture
def served(built: Built, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """``python demo.pyz serve-module greeters.zh --listen unix:...``, started as a user starts it."""
    sock, secret = tmp_path / "run" / "greeter.sock", tmp_path / "run" / "secret"
    sock.parent.mkdir(mode=0o700)
    address = f"unix:{sock}"
    worker = subprocess.Popen(
        [sys.executable, str(built.pyz), "serve-module", ZH, "--listen", address, "--secret-file", str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        handshake = worker.stdout.readline()
        assert handshake == f"1|1|unix|{sock}|pickle\n", handshake + (worker.stderr.read() if worker.stderr else "")
        yield address, secret, worker
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)


def test_the_greet_demo_reattaches_to_a_worker_started_separately(
    built: Built, served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    address, secret, worker = served
    assert secret.stat().st_mode & 0o777 == 0o600, "the secret the worker wrote is its user's only"
    sock = Path(address.removeprefix("unix:"))
    assert sock.stat().st_mode & 0o777 == 0o600
    config = tmp_path / "greet.toml"
    config.write_text(DEMO.format(isolation=f'{{ address = "{address}", secret_file = "{secret}" }}'),
                      encoding="utf-8")  # fmt: skip
    for kind in ("venv", "pyz"):
        result = run_demo(built.host(kind), config, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout == GREETINGS
        assert imported_by(result.stderr, "corehost_greeter_zh") == (False, False), "no host imports greeters.zh"
        assert worker.poll() is None, "a reattached worker outlives the host: it serves the next one"
    assert os.path.exists(sock)


def test_a_host_without_the_worker_secret_is_refused(
    built: Built, served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    address, _, worker = served
    wrong = tmp_path / "wrong"
    wrong.write_text("not the secret", encoding="utf-8")
    config = tmp_path / "greet.toml"
    config.write_text(DEMO.format(isolation=f'{{ address = "{address}", secret_file = "{wrong}" }}'),
                      encoding="utf-8")  # fmt: skip
    result = run_demo(built.host("venv"), config, tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert f"the worker at {address} refused the secret" in result.stderr
    assert worker.poll() is None, "a refused peer does not stop the worker"


def test_the_docs_reattach_script_stops_its_worker_when_a_step_fails(built: Built, tmp_path: Path) -> None:
    """docs/isolation.md starts a worker in the background: a step that fails after it leaves none behind."""
    page = (ROOT / "docs" / "isolation.md").read_text(encoding="utf-8")
    script = next(b for b in re.findall(r"^```sh\n(.*?)^```", page, re.S | re.M) if "serve-module" in b)
    (tmp_path / "isolated").symlink_to(built.venv.path)
    # greet-isolated.toml, which an earlier block writes, is missing: the script's sed fails.
    result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path, capture_output=True,
                            text=True, env=clean_env(), timeout=120)  # fmt: skip
    assert result.returncode != 0 and "greet-isolated.toml" in result.stderr, result.stderr
    assert (tmp_path / "handshake.txt").read_text().startswith("1|1|unix|"), "the worker had started"
    deadline = time.monotonic() + 10
    while worker_pids(str(tmp_path), "serve-module") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker_pids(str(tmp_path), "serve-module") == [], "the script's trap stopped the worker"
    assert not (tmp_path / "greeter.sock").exists(), "stopped by SIGTERM, the worker removed its socket"
