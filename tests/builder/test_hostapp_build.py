"""``corehost-build --host their-app``: a host application's own bundle (issue 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.builder.conftest import Builder
from tests.conftest import Venv, clean_env

HOSTAPP = ("--host", "./examples/hostapp", "--with", "./examples/hostapp-plugin")


def pipeline(tmp_path: Path) -> Path:
    config = tmp_path / "pipeline.json"
    tasks = [{"module": "upper"}, {"module": "reverse"}]
    config.write_text(json.dumps({"apps": {"pipeline": {"text": "hello", "tasks": tasks}}}))
    return config


def test_host_app_venv_uses_its_own_cli_and_groups(builder: Builder, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    built = builder.build(*HOSTAPP, "--venv", venv, "-q")
    assert built.returncode == 0, built.stderr
    app = Venv(venv)
    modules = app.run("hostapp", "list-modules", check=True).stdout.split()
    assert modules == ["pipeline", "tasks.reverse", "tasks.upper"]
    assert "registry: frozen" in app.run("hostapp", "build-info", check=True).stdout
    assert app.run("hostapp", "run", "-c", pipeline(tmp_path), check=True).stdout == "OLLEH\n"


def test_host_app_bundle_starts_the_host_app(builder: Builder, tmp_path: Path) -> None:
    pyz = tmp_path / "hostapp.pyz"
    built = builder.build(*HOSTAPP, "--output", pyz, "-q")
    assert built.returncode == 0, built.stderr
    run = subprocess.run([sys.executable, str(pyz), "run", "-c", str(pipeline(tmp_path))], capture_output=True,
                         text=True, env=clean_env())  # fmt: skip
    assert run.stdout == "OLLEH\n", run.stderr
    helped = subprocess.run([sys.executable, str(pyz), "--help"], capture_output=True, text=True, env=clean_env())
    assert "hostapp" in helped.stdout and "greet" not in helped.stdout


def test_a_distribution_that_is_no_host_is_refused(builder: Builder, tmp_path: Path) -> None:
    result = builder.build("--host", "./plugins/greet", "--with", "./plugins/greeter-en", "--venv", tmp_path / "v")
    assert result.returncode == 2
    assert "--host ./plugins/greet" in result.stderr or "--host corehost-greet" in result.stderr
    assert "declares no host" in result.stderr
    assert not (tmp_path / "v").exists()
