"""The lifecycle, as in Caddy, read back from the probe fixture's event log.

``fixture-lifecycle-probe`` provides apps ``probe``/``probe2`` and namespace
``probe.parts``; every module appends one line per step to the log file named
in the config, and ``fail`` makes it raise in the step named. Every test runs
``corehost run``/``validate`` in a subprocess and asserts the exact order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from corehost import ConfigError, Host, LifecycleError, Registry
from tests.conftest import Venv, Wheelhouse, clean_env, uv

A = "fixture_lifecycle_probe.part_a"
B = "fixture_lifecycle_probe.part_b"

#: How errors name the fixture's distribution.
DIST = "(distribution fixture-lifecycle-probe)"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("lifecycle-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(wheelhouse.wheel("corehost"), wheelhouse.wheel("fixture-lifecycle-probe"))
    return venv


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    events: list[str]
    config: Path


def probe(venv: Venv, tmp_path: Path, apps: dict[str, Any], *args: str, command: str = "run") -> Outcome:
    """Run ``apps`` (the first one gets the log file) and read back the events."""
    log = tmp_path / "events.log"
    apps = json.loads(json.dumps(apps))
    next(iter(apps.values()))["log"] = str(log)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"apps": apps}))
    result = venv.corehost(*args, command, "--config", config, timeout=60)
    events = log.read_text().splitlines() if log.exists() else []
    return Outcome(result.returncode, result.stdout, result.stderr, events, config)


def assert_failed(outcome: Outcome, message: str, code: int = 1) -> None:
    """Exit non-zero with exactly one paragraph on stderr, and no traceback.

    A config error (exit 2) names the config file before the path in it.
    """
    if code == 2:
        message = f"{outcome.config}: {message}"
    assert outcome.code == code, outcome.stderr
    assert outcome.stderr == f"corehost: error: {message}\n"
    assert "Traceback" not in outcome.stderr


def told_to_fail(module: str, phase: str) -> str:
    return f"RuntimeError: {module} was told to fail in {phase}"


# probe with parts [b, a]: everything up to probe's own validate.
PROVISION_PROBE = [
    "init probe",
    "provision probe",
    f"import {B}",
    "init probe.parts.b",
    "provision probe.parts.b",
    "validate probe.parts.b",
    f"import {A}",
    "init probe.parts.a",
    "provision probe.parts.a",
    "validate probe.parts.a",
    "loaded probe list[probe.parts.b, probe.parts.a]",
    "validate probe",
]
CLEANUP_PROBE = ["cleanup probe", "cleanup probe.parts.a", "cleanup probe.parts.b"]
PARTS = [{"module": "b"}, {"module": "a"}]


def test_run_builds_provisions_validates_all_then_starts_stops_and_cleans_up(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS}, "probe2": {"parts": {"module": "a", "tag": "two"}}})
    assert out.code == 0, out.stderr
    assert out.events == [
        *PROVISION_PROBE,
        "init probe2",
        "provision probe2",
        "init probe.parts.a#two",
        "provision probe.parts.a#two",
        "validate probe.parts.a#two",
        "loaded probe2 one[probe.parts.a#two]",
        "validate probe2",
        # Apps start in config order once everything is provisioned ...
        "start probe",
        "start probe2",
        # ... stop in reverse order, then every module is cleaned up, newest first.
        "stop probe2",
        "stop probe",
        "cleanup probe2",
        "cleanup probe.parts.a#two",
        *CLEANUP_PROBE,
    ]
    assert out.stderr == "corehost: stopped (probe is done); every app stopped and every module cleaned up\n"


def test_map_form_loads_each_module_by_name_and_returns_a_dict(venv: Venv, tmp_path: Path) -> None:
    parts = {"made": {"sizes": [1, 2]}, "a": {"tag": "x"}, "plain": {"weight": 1}}
    out = probe(venv, tmp_path, {"probe": {"parts": parts}}, command="validate")
    assert out.code == 0, out.stderr
    loaded = [e for e in out.events if e.startswith("loaded")]
    assert loaded == ["loaded probe dict[made=probe.parts.made[1, 2], a=probe.parts.a#x, plain=probe.parts.plain]"]


def test_validate_provisions_and_validates_then_cleans_up_and_starts_nothing(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS}}, command="validate")
    assert (out.code, out.stderr, out.stdout) == (0, "", f"{out.config}: valid\n")
    assert out.events == [*PROVISION_PROBE, *CLEANUP_PROBE]


def test_only_the_modules_the_config_uses_are_imported(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": [{"module": "b"}]}})
    assert out.code == 0, out.stderr
    assert [e for e in out.events if e.startswith("import")] == [f"import {B}"]


@pytest.mark.parametrize(
    ("phase", "where", "then"),
    [
        # Never built: nothing of it to clean up.
        ("init", "construction", []),
        # A module that fails its own set-up is cleaned up at once (it may hold half of it).
        ("provision", "provision", ["provision probe.parts.a", "cleanup probe.parts.a"]),
        ("validate", "validate", ["provision probe.parts.a", "validate probe.parts.a", "cleanup probe.parts.a"]),
    ],
)
def test_part_failing_in_set_up_cleans_up_everything_provisioned_in_reverse(
    venv: Venv, tmp_path: Path, phase: str, where: str, then: list[str]
) -> None:
    parts = [{"module": "b"}, {"module": "a", "fail": phase}, {"module": "plain", "weight": 1}]
    out = probe(venv, tmp_path, {"probe": {"parts": parts}, "probe2": {}})
    assert_failed(
        out,
        f"module probe.parts.a {DIST} at apps.probe.parts[1] failed in {where}: {told_to_fail('probe.parts.a', phase)}",
    )
    assert out.events == [
        *PROVISION_PROBE[:7],
        "init probe.parts.a",
        *then,
        # The host module that was loading it, then what was provisioned before it.
        "cleanup probe",
        "cleanup probe.parts.b",
    ]
    # Nothing after the failure ran: not the next part (not even imported), not probe2.


def test_app_failing_in_provision_after_loading_its_parts(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS, "fail": "provision"}})
    assert_failed(
        out,
        f"module probe {DIST} at apps.probe failed in provision: {told_to_fail('probe', 'provision')}",
    )
    assert out.events == [*PROVISION_PROBE[:-1], *CLEANUP_PROBE]


def test_second_app_failing_cleans_up_the_first_app_and_its_parts(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS}, "probe2": {"fail": "validate"}}, command="validate")
    assert_failed(
        out,
        f"module probe2 {DIST} at apps.probe2 failed in validate: {told_to_fail('probe2', 'validate')}",
    )
    assert out.events == [
        *PROVISION_PROBE,
        "init probe2",
        "provision probe2",
        "validate probe2",
        "cleanup probe2",
        *CLEANUP_PROBE,
    ]


def test_a_crash_in_one_apps_start_stops_the_apps_already_started(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS}, "probe2": {"fail": "start"}})
    assert_failed(
        out,
        f"module probe2 {DIST} at apps.probe2 failed in start: {told_to_fail('probe2', 'start')}",
    )
    assert out.events == [
        *PROVISION_PROBE,
        "init probe2",
        "provision probe2",
        "validate probe2",
        "start probe",
        "start probe2",
        "stop probe",  # probe2 never started, so it is not stopped
        "cleanup probe2",
        *CLEANUP_PROBE,
    ]


def test_a_failing_stop_does_not_skip_the_other_stops_or_any_cleanup(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": PARTS}, "probe2": {"fail": "stop"}})
    assert_failed(
        out,
        f"module probe2 {DIST} at apps.probe2 failed in stop: {told_to_fail('probe2', 'stop')}",
    )
    assert out.events[-6:] == ["stop probe2", "stop probe", "cleanup probe2", *CLEANUP_PROBE]


def test_a_failing_cleanup_does_not_skip_the_others(venv: Venv, tmp_path: Path) -> None:
    parts = [{"module": "b", "fail": "cleanup"}, {"module": "a", "fail": "cleanup"}]
    out = probe(venv, tmp_path, {"probe": {"parts": parts}})
    assert_failed(
        out,
        f"module probe.parts.a {DIST} at apps.probe.parts[1] failed in cleanup: "
        f"{told_to_fail('probe.parts.a', 'cleanup')}; "
        f"module probe.parts.b {DIST} at apps.probe.parts[0] failed in cleanup: "
        f"{told_to_fail('probe.parts.b', 'cleanup')}",
    )
    assert out.events[-4:] == ["stop probe", *CLEANUP_PROBE]


def test_plain_class_and_factory_modules_decode_strictly(venv: Venv, tmp_path: Path) -> None:
    out = probe(venv, tmp_path, {"probe": {"parts": [{"module": "b"}, {"module": "plain"}]}}, command="validate")
    assert_failed(
        out, "apps.probe.parts[1]: module probe.parts.plain needs field(s) 'weight'; add them to its config.", code=2
    )
    assert out.events[-2:] == ["cleanup probe", "cleanup probe.parts.b"]
    out = probe(venv, tmp_path, {"probe": {"parts": {"made": {"sizes": [1, "2"]}}}}, command="validate")
    assert_failed(out, "apps.probe.parts.made.sizes[1]: expected int, got '2' (str)", code=2)
    out = probe(venv, tmp_path, {"probe": {"parts": {"module": "a", "fail": "stopp"}}}, command="validate")
    assert_failed(
        out,
        "apps.probe.parts.fail: expected Optional[Literal['init', 'provision', 'validate', 'start', 'stop', "
        "'cleanup']], got 'stopp' (str)",
        code=2,
    )


def test_debug_shows_the_traceback(venv: Venv, tmp_path: Path) -> None:
    apps = {"probe": {"parts": [{"module": "a", "fail": "provision"}]}}
    plain = probe(venv, tmp_path, apps)
    debug = probe(venv, tmp_path, apps, "--debug")
    message = (
        f"module probe.parts.a {DIST} at apps.probe.parts[0] failed in provision: "
        f"{told_to_fail('probe.parts.a', 'provision')}"
    )
    assert_failed(plain, message)
    assert debug.code == 1
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert 'fixture_lifecycle_probe/recorder.py", line' in debug.stderr
    assert debug.stderr.endswith(f"corehost: error: {message}\n")


# --- in-process: Host over modules registered from code ----------------------------


class Log(list[str]):
    pass


def app_class(name: str, log: Log, fail: str = "") -> type:
    def step(phase: str) -> Any:
        def method(self: Any, *args: Any) -> None:
            log.append(f"{phase} {name}")
            if phase == fail:
                raise OSError(f"{name} broke in {phase}")

        return method

    return type(name, (), {p: step(p) for p in ("provision", "validate", "start", "stop", "cleanup")})


def test_start_failure_is_reported_even_when_stopping_another_app_fails() -> None:
    log = Log()
    registry = Registry()
    registry.add_module("one", app_class("one", log, fail="stop"))
    registry.add_module("two", app_class("two", log, fail="start"))
    host = Host(registry)
    running = host.provision({"apps": {"one": {}, "two": {}}})
    with pytest.raises(LifecycleError) as info:
        host.start(running)
    assert str(info.value) == "module two at apps.two failed in start: OSError: two broke in start"
    assert log == [
        "provision one",
        "validate one",
        "provision two",
        "validate two",
        "start one",
        "start two",
        "stop one",
        "cleanup two",
        "cleanup one",
    ]


def test_host_validate_in_process_cleans_up_after_a_config_error() -> None:
    log = Log()
    registry = Registry()
    registry.add_module("one", app_class("one", log))
    with pytest.raises(ConfigError) as info:
        Host(registry).validate({"apps": {"one": {}, "nope": {}}}, handle_signals=False)
    assert str(info.value).startswith("apps.nope: unknown app 'nope'")
    assert log == ["provision one", "validate one", "cleanup one"]
