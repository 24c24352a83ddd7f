"""Modules in worker processes: every way a worker fails is a named error, the host goes on, nothing is orphaned.

Real processes throughout: a venv with the fixture plugin ``fixture-isolation`` (namespace ``probes``,
whose modules crash, hang and chatter on request) runs ``tests/fixtures/isolation/driver.py``, a host
that loads modules and calls them step by step. Each test checks the error's text, that another isolated
module still answers after the failure, and that no worker process outlives what it should (``/proc``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pickle
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Client
from pathlib import Path
from typing import IO, Any

import pytest

from corehost import remote, wire
from corehost.errors import ProtocolMismatch, WorkerStartFailed
from corehost.frozen import from_data, to_data
from corehost.guards import check_namespaces
from corehost.registry import ModuleInfo, Registry
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv
from tests.runtime.test_crossing import CROSSABLE
from tests.runtime.test_startup import new_modules

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
    # The fixture prints a line when it is imported in-process; the driver's own lines are JSON.
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")], result.stderr


def json_lines(stream: IO[str], count: int) -> list[dict[str, Any]]:
    """The next ``count`` lines of the driver's JSON output (the fixture prints a line when imported)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        line = stream.readline()
        assert line, f"the driver ended after {found}"
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def loads(fragile: Any = "process", config: dict[str, Any] | None = None) -> list[list[Any]]:
    """Steps that load probes.fragile (isolated as ``fragile`` says, its ``config``) and probes.steady, and ask
    their pids."""
    return [
        ["load", "fragile", "probes.fragile", {**(config or {}), "isolation": fragile}],
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
    assert "Last lines of its stderr:\n  | fixture_isolation: imported\n" in crash["message"]
    assert f"\n  | fragile: about to fail by {how}" in crash["message"]
    if how == "oom":
        assert crash["message"].endswith(
            "\n  | probes.fragile: out of memory (MemoryError) in fail(); the worker exits"
        )
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
    lines = json_lines(host.stdout, 4)
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


def test_a_call_interrupted_in_the_host_stops_its_worker(iso_venv: Venv) -> None:
    """Ctrl-C in the middle of a call leaves its reply unread: the worker goes at once, not at the timeout."""
    steps = [*loads(), ["fragile", "fail", "hang"], ["fragile", "ping", "x"], ["steady", "ping", "still here"]]
    host = subprocess.Popen(
        [str(iso_venv.python), str(DRIVER), json.dumps(steps)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    assert host.stdout is not None and host.stderr is not None
    pids = [line["ok"] for line in json_lines(host.stdout, 4)][2:]
    while "[probes.fragile] fragile: about to fail by hang" not in host.stderr.readline():
        pass
    host.send_signal(signal.SIGINT)
    out = json_lines(host.stdout, 3)
    host.communicate(timeout=60)
    assert out[0]["error"] == "KeyboardInterrupt"
    assert out[1]["error"] == "WorkerCrashed"
    assert out[1]["message"].startswith(
        f"{WHERE}: its worker was stopped because fail() was interrupted in the host (KeyboardInterrupt) before "
        "it answered."
    )
    assert out[2]["ok"] == "still here"
    assert not alive(pids[0])
    assert_gone(*pids)


#: A host whose threads call one isolated module at once: ``nap`` on four threads, then a hang on one
#: thread while another naps. Prints each outcome as a JSON line.
CONCURRENT_HOST = """
import json, threading, time
from corehost import Host

def together(calls):
    out = [None] * len(calls)
    def run(i, call):
        try:
            out[i] = {"ok": call()}
        except Exception as exc:
            out[i] = {"error": type(exc).__name__, "message": str(exc)}
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, time.monotonic() - started

with Host().context() as ctx:
    fragile = ctx.load("probes.fragile", {"isolation": {"timeout": 2}}, "p")
    steady = ctx.load("probes.steady", {"isolation": "process"}, "s")
    print(json.dumps({"pid": fragile.pid()}))
    print(json.dumps(together([lambda: fragile.nap(1.0)] * 4)))
    print(json.dumps(together([lambda: fragile.fail("hang"), lambda: fragile.nap(5.0)])))
    print(json.dumps({"steady": steady.ping("still here"), "stop": ctx.stop_reason}))
"""


def test_calls_from_several_threads_on_one_isolated_module_proceed_together(iso_venv: Venv) -> None:
    """Four threads' one-second calls take about a second, not four; a hang still kills the worker, and
    the call in flight beside it fails with the same error."""
    result = iso_venv.run(iso_venv.python, "-c", CONCURRENT_HOST, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith(("{", "["))]
    pid = lines[0]["pid"]
    naps, took = lines[1]
    assert naps == [{"ok": 1.0}] * 4
    assert took < 2.5, f"4 concurrent 1 s calls took {took:.2f} s: they ran one after another"
    (hang, nap), _ = lines[2]
    assert hang["error"] == nap["error"] == "WorkerTimeout", (hang, nap)
    assert hang["message"] == nap["message"], "the call beside the hung one fails with the same error"
    assert hang["message"].startswith("module probes.fragile (distribution fixture-isolation) at p: ")
    assert (
        f"did not answer within 2 s (isolation.timeout); its worker process (pid {pid}) was killed." in hang["message"]
    )
    assert lines[3]["steady"] == "still here"
    assert lines[3]["stop"].startswith("module probes.fragile"), 'restart = "never" asks the host to stop'
    assert_gone(pid)


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
    assert "[probes.fragile] fixture_isolation: imported\n" in stderr, "what the plugin prints at import is forwarded"
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


def test_a_worker_stuck_in_cleanup_is_killed(iso_venv: Venv) -> None:
    out, _ = drive(iso_venv, [*loads({"timeout": 1}, {"fail_in": "cleanup"}), ["steady", "ping", "still here"]])
    fragile_pid, steady_pid = out[2]["ok"], out[3]["ok"]
    assert out[4]["ok"] == "still here"
    assert out[5]["cleanup"] == "CleanupErrors"
    assert out[5]["message"].startswith(
        f"{WHERE}: cleanup() did not answer within 1 s (isolation.timeout); its worker process (pid {fragile_pid}) "
        "was killed."
    )
    assert "  | fragile: cleanup hangs on request" in out[5]["message"]
    assert_gone(fragile_pid, steady_pid)


def test_a_worker_that_does_not_exit_after_cleanup_is_killed_after_its_grace(iso_venv: Venv) -> None:
    started = time.monotonic()
    out, _ = drive(iso_venv, [*loads({"grace": 0.5}, {"fail_in": "exit"}), ["fragile", "ping", "x"]])
    assert out[4]["ok"] == "x" and len(out) == 5, "cleanup itself succeeded"
    assert not alive(out[2]["ok"]), "the host waited its grace, then killed the worker (SIGKILL)"
    assert time.monotonic() - started < 30
    assert_gone(out[3]["ok"])


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(stat_file.parent.name))
    return found


def test_a_running_host_stops_and_fails_when_an_idle_worker_dies(iso_venv: Venv, tmp_path: Path) -> None:
    """restart = "never" (the default): a worker killed between calls stops the host with the error, in one
    paragraph, and the host exits non-zero (every app stopped, every module cleaned up first)."""
    config = tmp_path / "greet.toml"
    config.write_text(
        '[apps.greet]\nnames = ["Bob"]\n\n[[apps.greet.greeters]]\nmodule = "zh"\nisolation = "process"\n'
    )
    host = subprocess.Popen(
        [str(iso_venv.bin("corehost")), "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    assert host.stdout is not None
    assert host.stdout.readline() == "你好, Bob!\n"
    (worker,) = children(host.pid)
    os.kill(worker, signal.SIGKILL)
    _, stderr = host.communicate(timeout=60)
    died = (
        f"module greeters.zh (distribution corehost-greeter-zh) at apps.greet.greeters[0]: its worker process "
        f"(pid {worker}) was killed by SIGKILL (kill -9, or the kernel's out-of-memory killer) while idle; the host "
        'goes on without it. It is not restarted (isolation.restart = "never"; "on-failure" restarts it), and the '
        "host is asked to stop."
    )
    assert f"{died}\n" in stderr
    assert f"\ncorehost: stopped ({died}); every app stopped and every module cleaned up\n" in stderr
    assert host.returncode == 1
    assert_gone(worker)


def test_host_killed_with_sigkill_leaves_no_worker(iso_venv: Venv) -> None:
    host = subprocess.Popen(
        [str(iso_venv.python), str(DRIVER), json.dumps([*loads(), ["wait"]])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env(),
    )  # fmt: skip
    assert host.stdout is not None
    pids = [line["ok"] for line in json_lines(host.stdout, 4)][2:]
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
        ["load", "e", "probes.fragile", {"isolation": "process"}],
        ["e", "fail", "raise"],
        ["load", "f", "probes.fragile", {}],
        ["f", "fail", "raise"],
        ["e", "ping", "goes on"],
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
    assert out[7] == {"step": ["e", "fail", "raise"], "error": "KeyError", "message": "'no such thing'"}
    assert out[9] == {"step": ["f", "fail", "raise"], "error": "KeyError", "message": "'no such thing'"}
    assert out[10]["ok"] == "goes on", "a module that raised answers the next call"


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
    with Client(address, family="AF_UNIX", authkey=b"s3cret"):
        deadline = time.monotonic() + GONE_WITHIN
        while os.path.exists(os.path.dirname(address)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not os.path.exists(os.path.dirname(address)), "connected, the worker removes its socket and directory"
        worker.stdin.close()
        assert worker.wait(timeout=GONE_WITHIN) == 70, "the host's pipe closed: the worker exits on its own"


#: A host that starts a worker of probes.steady whose watched pipe is someone else's, prints the worker's pid
#: and socket once it has hand-shaken, and waits to be killed (without connecting).
MIDDLE_HOST = """
import os, subprocess, sys, time
env = dict(os.environ, COREHOST_PLUGIN_PARENT=str(os.getpid()))
worker = subprocess.Popen([sys.executable, "-P", "-m", "corehost.worker", "probes.steady"],
                          stdin=int(sys.argv[1]), stdout=subprocess.PIPE, env=env, pass_fds=(int(sys.argv[1]),))
print(worker.pid, worker.stdout.readline().split(b"|")[3].decode(), flush=True)
time.sleep(600)
"""


def test_a_worker_dies_with_its_host_even_if_its_pipe_stays_open(iso_venv: Venv) -> None:
    """Linux's parent-death signal alone: the pipe the worker watches is held open by this test."""
    read, write = os.pipe()
    try:
        env = clean_env({**COOKIE, "COREHOST_PLUGIN_SECRET": "s3cret"})
        host = subprocess.Popen(
            [str(iso_venv.python), "-c", MIDDLE_HOST, str(read)],
            stdout=subprocess.PIPE, text=True, env=env, pass_fds=(read,),
        )  # fmt: skip
        assert host.stdout is not None
        pid, address = host.stdout.readline().split()
        worker = int(pid)
        assert alive(worker)
        host.kill()
        host.wait()
        assert_gone(worker)
        # Killed by the signal before any host connected, the worker could not remove its socket's directory
        # (one that found its host gone as it armed the signal, after its handshake, removed it itself).
        shutil.rmtree(os.path.dirname(address), ignore_errors=True)
    finally:
        os.close(read)
        os.close(write)


@contextmanager
def serving(venv: Venv, listen: str, secret: Path) -> Iterator[str]:
    """``corehost serve-module probes.fragile --listen LISTEN`` from ``venv``, stopped at the end: its address."""
    server = subprocess.Popen(
        [str(venv.bin("corehost")), "serve-module", "probes.fragile", "--listen", listen, "--secret-file", str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    assert server.stdout is not None and server.stderr is not None
    try:
        handshake = server.stdout.readline().strip().split("|")
        address = f"unix:{handshake[3]}" if handshake[2] == "unix" else f"tcp://{handshake[3]}"
        assert server.stderr.readline() == "fixture_isolation: imported\n", "the plugin's output goes to stderr"
        hint = server.stderr.readline() + server.stderr.readline()
        assert hint == (
            f"corehost serve-module: serving probes.fragile on {address}; a host reattaches with\n"
            f'  isolation = {{ address = "{address}", secret_file = "{secret}" }}\n'
        )
        yield address
    finally:
        server.terminate()
        server.wait(timeout=GONE_WITHIN)


def test_a_worker_of_another_interface_version_is_refused(iso_venv: Venv, old_venv: Venv, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    with serving(old_venv, f"unix:{tmp_path / 'old.sock'}", secret) as address:
        steps = [
            ["load", "old", "probes.fragile", {"isolation": {"address": address, "secret_file": str(secret)}}],
            ["load", "steady", "probes.steady", {"isolation": "process"}],
            ["steady", "ping", "still here"],
            ["steady", "pid"],
        ]
        out, _ = drive(iso_venv, steps)
    assert out[0]["error"] == "ProtocolMismatch", out[0]
    assert out[0]["message"] == (
        f"module probes.fragile (distribution fixture-isolation): the worker at {address} implements version 1 "
        "of namespace 'probes''s interface, this host speaks version(s) 2; rebuild the worker's environment with "
        "the plugin that owns 'probes' at a version this host speaks (or the host with the one the worker has), "
        "so both sides have the same interface"
    )
    assert out[2]["ok"] == "still here"
    assert_gone(out[3]["ok"])


#: Run in a venv: the source of the ``_corehost_frozen`` module a build of it would write (its registry once
#: the guards ran), with the interface version recorded for ``probes`` replaced by argv[1].
FREEZE = """
import sys
from corehost.discovery import discover
from corehost.frozen import render, to_data
from corehost.guards import check_all
registry = discover()
_, hooks = check_all(registry)
data = to_data(registry, hooks)
assert data["interface_versions"]["probes"] == 2, data.get("interface_versions")
data["interface_versions"]["probes"] = int(sys.argv[1])
print(render(data, {}))
"""


def test_a_built_worker_announces_the_interface_version_its_build_recorded(iso_venv: Venv, tmp_path: Path) -> None:
    """A worker of a built environment takes its handshake's version from the frozen registry, not the interface."""
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    source = iso_venv.run(iso_venv.python, "-c", FREEZE, "3", check=True).stdout
    (frozen / "_corehost_frozen.py").write_text(source, encoding="utf-8")
    steps = [["load", "steady", "probes.steady", {"isolation": "process"}], ["stopped"]]
    result = iso_venv.run(iso_venv.python, DRIVER, json.dumps(steps), env={"PYTHONPATH": str(frozen)}, timeout=60)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert out[0]["error"] == "ProtocolMismatch", out[0]
    assert "implements version 3 of namespace 'probes''s interface, this host speaks version(s) 2;" in out[0]["message"]


def test_reattach_over_tcp_needs_the_secret_and_the_worker_serves_host_after_host(
    iso_venv: Venv, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    with serving(iso_venv, "tcp://127.0.0.1:0", secret) as address:
        assert address.startswith("tcp://127.0.0.1:")
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        attach = {"address": address, "secret_file": str(secret)}
        steps = [
            ["load", "wrong", "probes.fragile", {"isolation": {"address": address, "secret": "not it"}}],
            ["load", "remote", "probes.fragile", {"prefix": "> ", "isolation": attach}],
            ["remote", "ping", "first host"],
            ["remote", "pid"],
        ]
        first, _ = drive(iso_venv, steps)
        second, _ = drive(iso_venv, steps[1:])
    assert first[0]["error"] == "WorkerStartFailed"
    assert first[0]["message"] == (
        f"module probes.fragile (distribution fixture-isolation) at wrong: the worker at {address} refused the "
        "secret; give the one it was started with (isolation.secret_file names the file `corehost serve-module` "
        "printed)"
    )
    assert first[2]["ok"] == "> first host"
    assert second[1]["ok"] == "> first host"
    assert first[3]["ok"] == second[2]["ok"], "both hosts reached the one worker someone else started"


def test_a_module_whose_calls_cannot_cross_is_refused_before_a_worker_starts(iso_venv: Venv) -> None:
    out, _ = drive(iso_venv, [["load", "cb", "callbacks.one", {"isolation": "process"}]])
    assert out[0]["error"] == "ConfigError"
    assert out[0]["message"].startswith(
        "cb.isolation: module callbacks.one (distribution fixture-isolation) cannot run in a worker process: "
        "method 'subscribe', parameter 'listener': "
    )
    assert out[0]["message"].endswith(
        "Run it in-process (isolation = \"none\"), or change namespace 'callbacks''s interface."
    )


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


def test_an_isolated_app_runs_and_stops_the_host_when_it_is_done(iso_venv: Venv, tmp_path: Path) -> None:
    """An app in a worker: its guests load in the worker's context, its output is forwarded, once = true stops."""
    config = tmp_path / "greet.toml"
    config.write_text(
        '[apps.greet]\nnames = ["Bob"]\nonce = true\nisolation = "process"\n\n'
        '[[apps.greet.greeters]]\nmodule = "zh"\n\n[[apps.greet.greeters]]\nmodule = "en"\n'
    )
    result = iso_venv.corehost("run", "--config", config, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "[greet] 你好, Bob!\n[greet] Hello, Bob!\n" in result.stderr
    assert "corehost: stopped (greet: once = true); every app stopped and every module cleaned up" in result.stderr


def test_versions_are_checked_against_what_the_host_speaks() -> None:
    class Old:
        __corehost_version__ = 2
        __corehost_speaks__ = (1, 2)

    assert (wire.interface_version(Old), wire.interface_speaks(Old)) == (2, (1, 2))
    assert (wire.interface_version(object), wire.interface_speaks(object)) == (1, (1,))
    wire.check_versions("ns.m", "dist", "ns", wire.CORE_PROTOCOL, 1, (1, 2), "pid 1")
    with pytest.raises(ProtocolMismatch) as core:
        wire.check_versions("ns.m", "dist", "ns", wire.CORE_PROTOCOL + 1, 1, (1, 2), "pid 1")
    assert str(core.value) == (
        "module ns.m (distribution dist): the worker at pid 1 speaks core protocol 2, this host speaks 1; "
        "rebuild corehost so both run the same corehost protocol"
    )
    assert wire.parse_handshake("1|2|unix|/tmp/x/worker.sock|pickle") is not None
    assert wire.parse_handshake("hello from a module") is None


def test_the_guards_record_each_interface_version_and_a_frozen_registry_keeps_it() -> None:
    class Versioned:
        __corehost_version__ = 3

    class Plain:
        pass

    registry = Registry.for_host()
    registry.add_namespace("fxv", Versioned)
    registry.add_namespace("fxplain", Plain)
    assert check_namespaces(registry) == []
    data = to_data(registry)
    assert data["interface_versions"] == {"fxplain": 1, "fxv": 3}, "the host's own namespaces come from its spec"
    assert from_data(data).interface_versions == {"fxplain": 1, "fxv": 3}


@dataclasses.dataclass
class Point:
    x: int


def test_a_reply_unpickles_data_only() -> None:
    """What a worker sends the host is data: a compromised worker cannot make the host run anything."""
    data = {"p": Point(1), "when": datetime.date(2026, 1, 1), "sig": signal.SIGTERM, "s": {1, 2}}
    assert wire.loads_reply(wire.dumps((wire.OK, data))) == (wire.OK, data)
    with pytest.raises(pickle.UnpicklingError, match=r"a worker's reply may not carry subprocess\.Popen"):
        wire.loads_reply(pickle.dumps(subprocess.Popen, wire.PICKLE_PROTOCOL))


@pytest.mark.parametrize(("annotation", "value"), CROSSABLE, ids=lambda v: repr(v)[:40])
def test_every_value_the_crossing_check_accepts_unpickles_in_the_host(annotation: Any, value: Any) -> None:
    assert wire.loads_reply(wire.dumps((wire.OK, value))) == (wire.OK, value)


def test_a_start_without_isolation_imports_none_of_it() -> None:
    """Workers, sockets and multiprocessing cost only the configs that isolate a module."""
    new = new_modules("corehost.cli", "corehost.host", "corehost.context", "corehost.config")
    isolation = {"corehost.remote", "corehost.worker", "corehost.wire", "corehost.crossing", "multiprocessing"}
    assert new & (isolation | {"socket", "subprocess", "select", "ctypes"}) == set(), sorted(new)


def test_a_worker_that_fails_before_its_handshake_is_named_with_its_stderr() -> None:
    """A worker whose environment lacks the module exits at once; the host says so, quoting the worker."""
    info = ModuleInfo("probes.nothere", "fixture_isolation:Fragile", "fixture-isolation", "0.1.0")
    stops: list[str] = []
    with pytest.raises(WorkerStartFailed) as failed:
        remote.open_module(
            info, None, {}, "apps.x", remote.settings("process", "apps.x.isolation"), stops.append, "corehost"
        )
    message = str(failed.value)
    pid = int(message.split("its worker (pid ", 1)[1].split(")", 1)[0])
    assert message == (
        f"module probes.nothere (distribution fixture-isolation) at apps.x: its worker (pid {pid}) exited with "
        "code 1 before its handshake. Last lines of its stderr:\n"
        "  | corehost: error: unknown module 'probes.nothere'. Known modules in namespace 'probes': none installed. "
        "Install the plugin that provides it, or fix the name."
    )
    assert stops == [], "a module that never started does not stop the host: its error does"
    assert_gone(pid)
