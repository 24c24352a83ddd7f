"""A module raising in each lifecycle step, inside a bundle built by corehost-build.

tests/runtime/test_lifecycle.py checks the order in a plain venv; here the
same probe plugin is frozen into a built bundle (the registry comes from
``_corehost_frozen``, not from entry points), and every failure must still
name the module and its config path, clean up what was provisioned in
reverse order, and stop what was started.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builder.conftest import Builder
from tests.conftest import Venv, Wheelhouse
from tests.reliability.conftest import wheels

A = "fixture_lifecycle_probe.part_a"
B = "fixture_lifecycle_probe.part_b"
SET_UP = [
    "init probe",
    "provision probe",
    f"import {B}",
    "init probe.parts.b",
    "provision probe.parts.b",
    "validate probe.parts.b",
    f"import {A}",
    "init probe.parts.a",
]
CLEANUP_PROBE = ["cleanup probe", "cleanup probe.parts.a", "cleanup probe.parts.b"]

#: How errors name the fixture's distribution.
DIST = "(distribution fixture-lifecycle-probe)"


@pytest.fixture(scope="module")
def bundle(builder: Builder, wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    dest = tmp_path_factory.mktemp("probe-bundle") / "venv"
    builder.ok("build", *wheels(wheelhouse, "fixture-lifecycle-probe"), "--no-pip", "--venv", dest, "--quiet")
    return Venv(dest)


def run(bundle: Venv, tmp_path: Path, apps: dict[str, Any]) -> tuple[int, str, list[str]]:
    log = tmp_path / "events.log"
    next(iter(apps.values()))["log"] = str(log)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"apps": apps}))
    result = bundle.corehost("run", "--config", config, timeout=60)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr, log.read_text().splitlines() if log.exists() else []


def test_the_bundle_runs_the_probe_from_its_frozen_registry(bundle: Venv) -> None:
    assert "registry: frozen" in bundle.corehost("build-info", check=True).stdout


@pytest.mark.parametrize(
    ("phase", "where", "then"),
    [
        ("init", "construction", []),
        ("provision", "provision", ["provision probe.parts.a", "cleanup probe.parts.a"]),
        ("validate", "validate", ["provision probe.parts.a", "validate probe.parts.a", "cleanup probe.parts.a"]),
    ],
)
def test_a_part_failing_in_set_up_cleans_up_in_reverse(
    bundle: Venv, tmp_path: Path, phase: str, where: str, then: list[str]
) -> None:
    parts = [{"module": "b"}, {"module": "a", "fail": phase}]
    code, err, events = run(bundle, tmp_path, {"probe": {"parts": parts}, "probe2": {}})
    assert code == 1
    assert err == (
        f"corehost: error: module probe.parts.a {DIST} at apps.probe.parts[1] failed in {where}: "
        f"RuntimeError: probe.parts.a was told to fail in {phase}\n"
    )
    assert events == [*SET_UP, *then, "cleanup probe", "cleanup probe.parts.b"]


@pytest.mark.parametrize("phase", ["start", "stop"])
def test_an_app_failing_in_start_or_stop_stops_the_others_and_cleans_up(
    bundle: Venv, tmp_path: Path, phase: str
) -> None:
    parts = [{"module": "b"}, {"module": "a"}]
    code, err, events = run(bundle, tmp_path, {"probe": {"parts": parts}, "probe2": {"fail": phase}})
    assert code == 1
    assert err == (
        f"corehost: error: module probe2 {DIST} at apps.probe2 failed in {phase}: "
        f"RuntimeError: probe2 was told to fail in {phase}\n"
    )
    # probe2 never started when its start failed, so only probe is stopped; a failing stop skips nothing.
    stops = ["stop probe"] if phase == "start" else ["stop probe2", "stop probe"]
    assert events[-len(stops) - 4 :] == [*stops, "cleanup probe2", *CLEANUP_PROBE]
    assert "start probe" in events


def test_a_failing_cleanup_does_not_skip_the_others(bundle: Venv, tmp_path: Path) -> None:
    parts = [{"module": "b", "fail": "cleanup"}, {"module": "a"}]
    code, err, events = run(bundle, tmp_path, {"probe": {"parts": parts}})
    assert code == 1
    assert err == (
        f"corehost: error: module probe.parts.b {DIST} at apps.probe.parts[0] failed in cleanup: "
        "RuntimeError: probe.parts.b was told to fail in cleanup\n"
    )
    assert events[-4:] == ["stop probe", *CLEANUP_PROBE]
