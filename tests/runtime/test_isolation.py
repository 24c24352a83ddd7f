"""Modules in worker processes: every way a worker fails is a named error, the host goes on, nothing is orphaned.

Real processes throughout: a venv with the fixture plugin ``fixture-isolation`` (namespace ``probes``,
whose modules crash, hang and chatter on request) runs ``tests/fixtures/isolation/driver.py``, a host
that loads modules and calls them step by step. Each test checks the error's text, that another isolated
module still answers after the failure, and that no worker process outlives what it should (``/proc``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

FIXTURES = ROOT / "tests" / "fixtures" / "isolation"
DRIVER = FIXTURES / "driver.py"
COOKIE = {"COREHOST_PLUGIN_MAGIC_COOKIE": "9f3c2b7e41d04f1a8c55e0b6d2a7f318"}
#: The longest a worker may take to go away once it should (a bounded wait, polled).
GONE_WITHIN = 10.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc")


def _venv(path: Path, wheels: list[Path]) -> Venv:
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*wheels)
    return venv


@pytest.fixture(scope="session")
def iso_venv(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """corehost, the greet demo's plugins and the isolation fixture, installed once."""
    fixture = wheelhouse.add(FIXTURES / "fixture-isolation")
    dists = ("corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh")
    return _venv(tmp_path_factory.mktemp("iso") / "venv", [*(wheelhouse.wheel(d) for d in dists), fixture])


@pytest.fixture(scope="session")
def old_venv(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The fixture rebuilt with version 1 of its interface: a worker from an older build of the plugin."""
    root = tmp_path_factory.mktemp("old")
    project = shutil.copytree(FIXTURES / "fixture-isolation", root / "fixture-isolation")
    interfaces = project / "src" / "fixture_isolation" / "interfaces.py"
    interfaces.write_text(interfaces.read_text().replace("__corehost_version__ = 2", "__corehost_version__ = 1"))
    wheels = root / "wheels"
    wheels.mkdir()
    subprocess.run(
        [uv(), "build", "-q", "--wheel", "--out-dir", str(wheels), str(project)], check=True, env=clean_env()
    )
    return _venv(root / "venv", [wheelhouse.wheel("corehost"), *wheels.glob("*.whl")])


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def assert_gone(*pids: int) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [p for p in pids if alive(p)], f"worker process(es) outlived their host: {pids}"


def drive(venv: Venv, steps: list[list[Any]], timeout: float = 60) -> tuple[list[dict[str, Any]], str]:
    """Run the driver host over ``steps``: each step's outcome, and the host's stderr."""
    result = venv.run(venv.python, DRIVER, json.dumps(steps), timeout=timeout)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def loads(fragile: Any = "process") -> list[list[Any]]:
    """Steps that load probes.fragile (isolated as ``fragile`` says) and probes.steady, and ask their pids."""
    return [
        ["load", "fragile", "probes.fragile", {"isolation": fragile}],
        ["load", "steady", "probes.steady", {"isolation": "process"}],
        ["fragile", "pid"],
        ["steady", "pid"],
    ]


WHERE = "module probes.fragile (distribution fixture-isolation) at fragile"


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("segfault", "was killed by SIGSEGV (a segmentation fault) during fail()"),
        ("exit", "exited with code 3 during fail()"),
        ("oom", "ran out of memory (MemoryError) and exited with code 12 during fail()"),
    ],
)
def test_a_crash_is_a_named_error_and_the_host_goes_on(iso_venv: Venv, how: str, said: str) -> None:
    out, _ = drive(iso_venv, [*loads(), ["fragile", "fail", how], ["steady", "ping", "still here"], ["stopped"]])
    fragile_pid, steady_pid = out[2]["ok"], out[3]["ok"]
    crash = out[4]
    assert crash["error"] == "WorkerCrashed", crash
    assert crash["message"].startswith(f"{WHERE}: its worker process (pid {fragile_pid}) {said}; the host goes on")
    assert 'It is not restarted (isolation.restart = "never"' in crash["message"]
    assert f"Last lines of its stderr:\n  | fragile: about to fail by {how}" in crash["message"]
    assert out[5]["ok"] == "still here", "the other isolated module answers after the crash"
    assert out[6]["ok"].startswith(f"{WHERE}: its worker process"), "restart = never asks the host to stop"
    assert_gone(fragile_pid, steady_pid)


def test_a_worker_killed_with_sigkill_while_idle(iso_venv: Venv) -> None:
    steps = [*loads(), ["wait"], ["fragile", "ping", "x"], ["steady", "ping", "still here"], ["stopped"]]
    host = subprocess.Popen(
        [str(iso_venv.python), str(DRIVER), json.dumps(steps)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    assert host.stdout is not None and host.stdin is not None
    lines = [json.loads(host.stdout.readline()) for _ in range(4)]
    fragile_pid, steady_pid = lines[2]["ok"], lines[3]["ok"]
    os.kill(fragile_pid, signal.SIGKILL)
    host.stdin.write("go\n")
    host.stdin.flush()
    rest, stderr = host.communicate(timeout=60)
    out = [json.loads(line) for line in rest.splitlines()]
    call = out[1]
    assert call["error"] == "WorkerCrashed", call
    killed = (
        f"its worker process (pid {fragile_pid}) was killed by SIGKILL (kill -9, or the kernel's out-of-memory killer)"
    )
    assert killed in call["message"] or killed in stderr, (call, stderr)
    assert out[2]["ok"] == "still here"
    assert "probes.fragile" in out[3]["ok"]
    assert_gone(fragile_pid, steady_pid)


def test_a_call_that_hangs_times_out_and_its_worker_is_killed(iso_venv: Venv) -> None:
    started = time.monotonic()
    out, _ = drive(iso_venv, [*loads({"timeout": 1}), ["fragile", "fail", "hang"], ["steady", "ping", "still here"]])
    assert time.monotonic() - started < 30
    fragile_pid, steady_pid = out[2]["ok"], out[3]["ok"]
    hang = out[4]
    assert hang["error"] == "WorkerTimeout", hang
    assert hang["message"].startswith(
        f"{WHERE}: fail() did not answer within 1 s (isolation.timeout); its worker process (pid {fragile_pid}) "
        "was killed."
    )
    assert "  | fragile: about to fail by hang" in hang["message"]
    assert out[5]["ok"] == "still here"
    assert not alive(fragile_pid), "the hung worker is killed at once, not when the host ends"
    assert_gone(steady_pid)


def test_a_chatty_module_is_forwarded_line_by_line_without_blocking(iso_venv: Venv) -> None:
    lines = 20000
    out, stderr = drive(iso_venv, [*loads(), ["fragile", "chatter", lines], ["steady", "ping", "still here"]])
    assert out[4]["ok"] == lines
    assert out[5]["ok"] == "still here"
    assert f"[probes.fragile] chatter line {lines - 1} " in stderr, "stdout is forwarded, prefixed"
    assert f"[probes.fragile] chatter err {lines - 1}\n" in stderr, "stderr is forwarded, prefixed"
    assert stderr.count("[probes.fragile] chatter ") == 2 * lines
    assert_gone(out[2]["ok"], out[3]["ok"])


def test_on_failure_restarts_a_bounded_number_of_times(iso_venv: Venv) -> None:
    policy = {"restart": "on-failure", "tries": 2, "backoff": 0.05}
    crash_and_ask = [["fragile", "fail", "exit"], ["fragile", "pid"]]
    out, stderr = drive(iso_venv, [*loads(policy), *crash_and_ask * 3, ["steady", "ping", "still here"], ["stopped"]])
    pids = [out[2]["ok"], out[5]["ok"], out[7]["ok"]]
    assert len(set(pids)) == 3, f"each restart is a new worker: {pids}"
    assert "It is restarted on the next call (restart 1 of 2, after 0.05 s)." in out[4]["message"]
    assert "It is restarted on the next call (restart 2 of 2, after 0.1 s)." in out[6]["message"]
    assert "It was restarted 2 time(s) already (isolation.tries = 2): it stays down." in out[8]["message"]
    assert out[9]["error"] == "WorkerCrashed", "a worker that stays down fails every call"
    assert out[10]["ok"] == "still here"
    assert out[11]["ok"] == "", "on-failure does not ask the host to stop"
    assert "[probes.fragile] restarting its worker (restart 2 of 2)" in stderr
    assert_gone(*pids, out[3]["ok"])


def test_host_killed_with_sigkill_leaves_no_worker(iso_venv: Venv) -> None:
    host = subprocess.Popen(
        [str(iso_venv.python), str(DRIVER), json.dumps([*loads(), ["wait"]])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env(),
    )  # fmt: skip
    assert host.stdout is not None
    pids = [json.loads(host.stdout.readline())["ok"] for _ in range(4)][2:]
    assert all(alive(p) for p in pids)
    host.kill()
    host.wait()
    assert_gone(*pids)


def test_errors_from_the_worker_read_as_in_process(iso_venv: Venv) -> None:
    """Strict decoding and lifecycle errors happen in the worker and come back word for word."""
    bad_field = {"prefx": ">"}
    failing = {"fail_in": "provision"}
    steps = [
        ["load", "a", "probes.fragile", {**bad_field, "isolation": "process"}],
        ["load", "a", "probes.fragile", bad_field],
        ["load", "b", "probes.fragile", {**failing, "isolation": {"restart": "on-failure"}}],
        ["load", "b", "probes.fragile", failing],
        ["load", "c", "probes.fragile", {"isolation": {"restrat": "never"}}],
        ["load", "d", "probes.fragile", {"isolation": "threads"}],
    ]
    out, _ = drive(iso_venv, steps)
    assert out[0]["error"] == out[1]["error"] == "ConfigError"
    assert (
        out[0]["message"]
        == out[1]["message"]
        == (
            "a.prefx: module probes.fragile has no field 'prefx' (did you mean 'prefix'?). "
            "Its fields are: prefix, fail_in."
        )
    )
    assert out[2]["error"] == out[3]["error"] == "LifecycleError"
    assert (
        out[2]["message"]
        == out[3]["message"]
        == (
            "module probes.fragile (distribution fixture-isolation) at b failed in provision: "
            "ValueError: provision failed on request"
        )
    )
    assert out[4]["message"].startswith(
        "c.isolation.restrat: isolation has no setting 'restrat' (did you mean 'restart'?)"
    )
    assert out[5]["message"].startswith('d.isolation: expected "none", "process" or a table')


def test_run_by_hand_a_worker_explains_itself(iso_venv: Venv) -> None:
    result = iso_venv.corehost("serve-module", "probes.fragile", timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "This is a corehost plugin worker: it serves one module (probes.fragile) to a corehost host that "
        "isolates it,\nand is not meant to be run directly."
    )


def test_a_started_worker_listens_privately_and_exits_when_its_pipe_closes(iso_venv: Venv) -> None:
    worker = subprocess.Popen(
        [str(iso_venv.bin("corehost")), "serve-module", "probes.steady"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env({**COOKIE, "COREHOST_PLUGIN_SECRET": "s3cret", "COREHOST_PLUGIN_PARENT": str(os.getpid())}),
    )  # fmt: skip
    assert worker.stdout is not None and worker.stdin is not None
    core, app, network, address, encoding = worker.stdout.readline().strip().split("|")
    assert (core, app, network, encoding) == ("1", "2", "unix", "pickle")
    assert stat.S_IMODE(os.stat(address).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(address)).st_mode) == 0o700
    worker.stdin.close()
    assert worker.wait(timeout=GONE_WITHIN) == 70, "the host's pipe closed: the worker exits on its own"


@pytest.fixture
def served(old_venv: Venv, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A worker of the old build serving probes.fragile on a unix socket: its address and secret file."""
    sock, secret = tmp_path / "old.sock", tmp_path / "secret"
    server = subprocess.Popen(
        [str(old_venv.bin("corehost")), "serve-module", "probes.fragile", "--listen", f"unix:{sock}",
         "--secret-file", str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    assert server.stdout is not None and server.stderr is not None
    assert server.stdout.readline().strip() == f"1|1|unix|{sock}|pickle"
    hint = server.stderr.readline() + server.stderr.readline()
    assert hint == (
        f"corehost serve-module: serving probes.fragile on unix:{sock}; a host reattaches with\n"
        f'  isolation = {{ address = "unix:{sock}", secret_file = "{secret}" }}\n'
    )
    try:
        yield f"unix:{sock}", secret
    finally:
        server.terminate()
        server.wait(timeout=GONE_WITHIN)


def test_a_worker_of_another_interface_version_is_refused(
    iso_venv: Venv, old_venv: Venv, served: tuple[str, Path]
) -> None:
    address, secret = served
    steps = [
        ["load", "old", "probes.fragile", {"isolation": {"address": address, "secret_file": str(secret)}}],
        ["load", "wrong", "probes.fragile", {"isolation": {"address": address, "secret": "not it"}}],
        ["load", "steady", "probes.steady", {"isolation": "process"}],
        ["steady", "ping", "still here"],
    ]
    out, _ = drive(iso_venv, steps)
    assert out[0]["error"] == "ProtocolMismatch", out[0]
    assert out[0]["message"] == (
        f"module probes.fragile (distribution fixture-isolation): the worker at {address} implements version 1 "
        "of namespace 'probes''s interface, this host speaks version(s) 2; rebuild the worker's environment with "
        "the plugin that owns 'probes' at a version this host speaks (or the host with the one the worker has), "
        "so both sides have the same interface"
    )
    assert out[1]["error"] == "WorkerStartFailed"
    assert f"the worker at {address} refused the secret" in out[1]["message"]
    assert out[3]["ok"] == "still here"


def test_the_greet_demo_with_a_greeter_in_a_worker(iso_venv: Venv, tmp_path: Path) -> None:
    config = tmp_path / "greet.toml"
    config.write_text(
        '[apps.greet]\nnames = ["Bob"]\nonce = true\n\n'
        '[[apps.greet.greeters]]\nmodule = "zh"\npunctuation = "！"\nisolation = { network = "tcp" }\n\n'
        '[[apps.greet.greeters]]\nmodule = "en"\n'
    )
    result = iso_venv.corehost("run", "--config", config, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["你好, Bob！", "Hello, Bob!"]
