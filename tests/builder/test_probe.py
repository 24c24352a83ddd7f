"""The builder's side of ``corehost.probe``: answers it cannot read are refused by name, problems read back whole."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from corehost_build.errors import BundleCheckFailure, GuardFailure, ProbeError
from corehost_build.guards import errors_of, warnings_of
from corehost_build.probe import accept, ask, missing

from corehost import __version__ as corehost_version
from corehost.errors import GuardError
from corehost.probe import PROBE
from corehost.problems import WARNING, Problem


def fake_python(tmp_path: Path, stdout: str, stderr: str = "", code: int = 0) -> Path:
    """An "interpreter" that answers every command with ``stdout``/``stderr`` and exits ``code``."""
    script = tmp_path / "python"
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'out'}'\ncat '{tmp_path / 'err'}' >&2\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_an_answer_in_another_format_is_refused_naming_the_targets_corehost(tmp_path: Path) -> None:
    python = fake_python(tmp_path, json.dumps({"probe": PROBE + 1, "corehost": "9.0.0", "hosts": []}))
    with pytest.raises(ProbeError) as caught:
        ask(python, "hosts", where="new environment")
    assert caught.value.message == (
        f"the new environment holds corehost 9.0.0, whose corehost.probe answers in format {PROBE + 1}; this "
        f"corehost-build 0.1.0 reads format {PROBE} only. Build with a corehost-build released with corehost 9.0.0, "
        f"or pin the corehost this corehost-build was installed with ({corehost_version})."
    )


def test_an_answer_without_a_format_is_refused() -> None:
    with pytest.raises(ProbeError, match=r"corehost of unknown version, whose corehost\.probe answers in format None"):
        accept({"hosts": []}, "new environment")
    with pytest.raises(ProbeError, match="answered list, not a JSON object"):
        accept([], "new environment")
    assert accept({"probe": PROBE, "corehost": "0.1.0"}, "x") == {"probe": PROBE, "corehost": "0.1.0"}


def test_a_target_without_the_probe_is_named(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "", "/venv/bin/python: No module named corehost.probe\n", code=1)
    with pytest.raises(ProbeError, match=r"the new environment has no corehost\.probe, through which this corehost-b"):
        ask(python, "hosts", where="new environment")
    assert missing("Traceback ...\nRuntimeError: boom\n", "x") is None


def test_the_probes_own_error_is_passed_on_in_its_words(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "", "corehost.probe: error: namespace 'x' is not declared.\n", code=1)
    with pytest.raises(ProbeError) as caught:
        ask(python, "interface", "x", where="new environment")
    assert caught.value.message == "namespace 'x' is not declared."


BROKEN = Problem("fx-broken", "plugin", "b", "importing fx_broken failed: ImportError: no.", target="fx_broken")
LOOSE = Problem("fx-loose", "distribution", "fx-loose", "declares no dependency on corehost.", WARNING, version="1")


def test_the_builder_reads_the_runtimes_problems_whole() -> None:
    report = {"probe": PROBE, "problems": [BROKEN.to_json(), LOOSE.to_json()]}
    assert errors_of(report) == [BROKEN]
    assert warnings_of(report) == [LOOSE.to_json()]
    assert warnings_of(report)[0]["subject"] == "distribution fx-loose 1"


def test_guard_failures_wrap_the_runtimes_guard_error() -> None:
    failure = GuardFailure([BROKEN])
    assert isinstance(failure.error, GuardError) and failure.error.problems == [BROKEN] == failure.problems
    assert failure.message == (
        "the interface guards found 1 error(s) in plugin(s) fx-broken; nothing was written to the destination. "
        "Fix each plugin below (or leave it out of the build):\n"
        "  - plugin 'b' (distribution fx-broken): importing fx_broken failed: ImportError: no."
    )
    shipped = BundleCheckFailure([BROKEN], {})
    assert shipped.error.problems == [BROKEN]
    assert shipped.message.endswith(
        "\n  - plugin 'b' (distribution fx-broken): importing fx_broken failed: ImportError: no."
    )
