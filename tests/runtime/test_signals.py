"""SIGINT/SIGTERM: a clean stop while running, a clean abort during set-up, 130 for Ctrl-C.

``corehost run`` is started in a real venv, the test waits until the probe
fixture's event log (or the greet app's output) shows it got where it should,
sends a signal, and checks the exit code, stderr and that every stop and
cleanup ran exactly once, in order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Venv, Wheelhouse, clean_env, uv

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
STOPPED = "every app stopped and every module cleaned up"
ABORTED = "everything provisioned was cleaned up"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("signals-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    dists = ("corehost", "corehost-greet", "corehost-greeter-en", "fixture-lifecycle-probe")
    venv.install(*(wheelhouse.wheel(d) for d in dists))
    return venv


@contextmanager
def started(venv: Venv, config: Path, command: str = "run") -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(venv.bin("corehost")), command, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


class Probe:
    """A probe config in ``tmp_path`` and its event log."""

    def __init__(self, tmp_path: Path, app: dict[str, Any]) -> None:
        self.log = tmp_path / "events.log"
        self.config = tmp_path / "config.json"
        self.config.write_text(json.dumps({"apps": {"probe": {**app, "log": str(self.log)}}}))

    def events(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_for(self, event: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while event not in self.events():
            if proc.poll() is not None:
                raise AssertionError(f"corehost exited {proc.returncode} before {event!r}: {proc.communicate()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event!r} after {timeout}s; events: {self.events()}")
            time.sleep(0.02)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = proc.communicate(timeout=30)
    return proc.returncode, stdout, stderr


def after(events: list[str], event: str) -> list[str]:
    return events[events.index(event) + 1 :]


@pytest.mark.parametrize("signum", SIGNALS)
def test_signal_stops_a_running_config_cleanly(venv: Venv, tmp_path: Path, signum: signal.Signals) -> None:
    probe = Probe(tmp_path, {"forever": True, "parts": [{"module": "b"}, {"module": "a"}]})
    with started(venv, probe.config) as proc:
        probe.wait_for("start probe", proc)
        time.sleep(0.3)  # still running: nothing stops it but the signal
        assert proc.poll() is None
        proc.send_signal(signum)
        code, stdout, stderr = finish(proc)
    # Ctrl-C is reported as an interrupted command (130) after the clean stop; SIGTERM, a
    # service manager's stop, is a normal end.
    assert (code, stdout) == (130 if signum == signal.SIGINT else 0, "")
    assert stderr == f"corehost: stopped (signal {signum.name}); {STOPPED}\n"
    assert after(probe.events(), "start probe") == [
        "stop probe",
        "cleanup probe",
        "cleanup probe.parts.a",
        "cleanup probe.parts.b",
    ]


def test_sigterm_stops_the_greet_app_after_it_printed(venv: Venv, tmp_path: Path) -> None:
    config = tmp_path / "greet.json"
    config.write_text(json.dumps({"apps": {"greet": {"names": ["Bob"], "greeters": [{"module": "en"}]}}}))
    with started(venv, config) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "Hello, Bob!\n"
        proc.send_signal(signal.SIGTERM)
        code, stdout, stderr = finish(proc)
    assert (code, stdout) == (0, "")
    assert stderr == f"greet: stopped\ncorehost: stopped (signal SIGTERM); {STOPPED}\n"


@pytest.mark.parametrize("signum", SIGNALS)
def test_signal_during_provisioning_cleans_up_what_was_provisioned(
    venv: Venv, tmp_path: Path, signum: signal.Signals
) -> None:
    probe = Probe(tmp_path, {"parts": [{"module": "b"}, {"module": "a", "sleep": {"provision": 60}}]})
    with started(venv, probe.config) as proc:
        probe.wait_for("provision probe.parts.a", proc)
        proc.send_signal(signum)
        code, stdout, stderr = finish(proc)
    assert code == 128 + signum
    assert stdout == ""
    assert stderr == f"corehost: stopped by {signum.name} during set-up; {ABORTED}\n"
    # The part interrupted in provision, the app loading it, the part before it: once each.
    assert after(probe.events(), "provision probe.parts.a") == [
        "cleanup probe.parts.a",
        "cleanup probe",
        "cleanup probe.parts.b",
    ]


def test_second_signal_does_not_cut_set_up_clean_up_short(venv: Venv, tmp_path: Path) -> None:
    parts = [{"module": "b", "sleep": {"cleanup": 1}}, {"module": "a", "sleep": {"provision": 60}}]
    probe = Probe(tmp_path, {"parts": parts})
    with started(venv, probe.config) as proc:
        probe.wait_for("provision probe.parts.a", proc)
        proc.send_signal(signal.SIGTERM)
        probe.wait_for("cleanup probe.parts.b", proc)
        proc.send_signal(signal.SIGINT)
        code, _, stderr = finish(proc)
    assert code == 128 + signal.SIGTERM
    assert stderr == f"corehost: stopped by SIGTERM during set-up; {ABORTED}\n"
    assert after(probe.events(), "provision probe.parts.a") == [
        "cleanup probe.parts.a",
        "cleanup probe",
        "cleanup probe.parts.b",
        "slept in cleanup probe.parts.b",
    ]


def test_second_signal_does_not_cut_shutdown_short(venv: Venv, tmp_path: Path) -> None:
    probe = Probe(tmp_path, {"forever": True, "sleep": {"stop": 1}, "parts": [{"module": "a"}]})
    with started(venv, probe.config) as proc:
        probe.wait_for("start probe", proc)
        proc.send_signal(signal.SIGTERM)
        probe.wait_for("stop probe", proc)
        proc.send_signal(signal.SIGINT)
        code, _, stderr = finish(proc)
    assert code == 0
    assert stderr == f"corehost: stopped (signal SIGTERM); {STOPPED}\n"
    assert after(probe.events(), "start probe") == [
        "stop probe",
        "slept in stop probe",
        "cleanup probe",
        "cleanup probe.parts.a",
    ]


@pytest.mark.parametrize("signum", SIGNALS)
def test_signal_during_validate_cleans_up_and_says_so(venv: Venv, tmp_path: Path, signum: signal.Signals) -> None:
    probe = Probe(tmp_path, {"parts": [{"module": "b"}, {"module": "a", "sleep": {"provision": 60}}]})
    with started(venv, probe.config, command="validate") as proc:
        probe.wait_for("provision probe.parts.a", proc)
        proc.send_signal(signum)
        code, stdout, stderr = finish(proc)
    assert (code, stdout) == (128 + signum, "")
    assert stderr == f"corehost: stopped by {signum.name} during set-up; {ABORTED}\n"
    assert after(probe.events(), "provision probe.parts.a") == [
        "cleanup probe.parts.a",
        "cleanup probe",
        "cleanup probe.parts.b",
    ]


def slow_plugin(site: Path) -> None:
    """A plugin on ``PYTHONPATH`` (a bare dist-info, found by discovery as pip's are) whose import hangs.

    Its module ``greeters.slow`` writes ``$SLOW_MARKER`` and sleeps when
    imported: a Ctrl-C there lands in plugin code, outside any handler of
    corehost's, as it does in a slow import of a real plugin.
    """
    (site / "slow_greeter.py").write_text(
        "import os, pathlib, time\n"
        "pathlib.Path(os.environ['SLOW_MARKER']).touch()\n"
        "time.sleep(60)\n"
        "class Slow:\n"
        "    def greet(self, name: str) -> str:\n"
        "        return name\n"
    )
    info = site / "slow_greeter-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-greeter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[corehost.modules]\ngreeters.slow = slow_greeter:Slow\n")


def test_ctrl_c_in_a_command_exits_130(venv: Venv, tmp_path: Path) -> None:
    slow_plugin(tmp_path)
    marker = tmp_path / "imported"
    proc = subprocess.Popen(
        [str(venv.bin("corehost")), "greet", "Bob", "--lang", "slow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env({"PYTHONPATH": str(tmp_path), "SLOW_MARKER": str(marker)}),
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the slow plugin was never imported"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        code, stdout, stderr = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (code, stdout) == (130, "")
    assert stderr.strip() == "corehost: interrupted"
