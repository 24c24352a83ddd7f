"""A host of its own: examples/hostapp and a plugin for it, beside corehost and its plugins.

One module-scoped venv holds corehost, ``example-hostapp`` (CLI ``hostapp``,
groups ``hostapp.*``, namespace ``tasks``, hook ``hostapp_task_done``, app
``pipeline``), ``example-hostapp-plugin`` (``tasks.reverse`` and an audit
hookimpl) and corehost's greet plugins. Each host must see only its own
plugins and answer only to its own environment variables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, MakeVenv, Venv, Wheelhouse, clean_env, uv

HOSTAPP_MODULES = ["pipeline", "tasks.reverse", "tasks.upper"]
COREHOST_MODULES = ["greet", "greet.filters.upper", "greeters.en"]


@pytest.fixture(scope="module")
def hostapp_wheels(wheelhouse: Wheelhouse) -> list[Path]:
    return [wheelhouse.add(ROOT / "examples" / "hostapp"), wheelhouse.add(ROOT / "examples" / "hostapp-plugin")]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse, hostapp_wheels: list[Path]) -> Venv:
    path = tmp_path_factory.mktemp("hostapp") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    repo = [wheelhouse.wheel(d) for d in ("corehost", "corehost-greet", "corehost-greeter-en")]
    venv.install(*repo, *hostapp_wheels)
    return venv


def module_ids(venv: Venv, command: str, **env: str) -> list[str]:
    result = venv.run(command, "list-modules", "--json", env=env, check=True)
    return [row["id"] for row in json.loads(result.stdout)]


def write_config(tmp_path: Path, tasks: list[str]) -> Path:
    config = tmp_path / "pipeline.json"
    pipeline = {"text": "hello", "tasks": [{"module": t} for t in tasks]}
    config.write_text(json.dumps({"apps": {"pipeline": pipeline}}))
    return config


def test_each_host_lists_only_its_own_modules(venv: Venv) -> None:
    assert module_ids(venv, "hostapp") == HOSTAPP_MODULES
    assert module_ids(venv, "corehost") == COREHOST_MODULES
    packages = venv.run("hostapp", "list-modules", "--packages", check=True).stdout.splitlines()
    assert packages == [
        "pipeline  example-hostapp",
        "tasks.reverse  example-hostapp-plugin",
        "tasks.upper  example-hostapp",
    ]


def test_hostapp_check_passes_and_covers_its_own_hook(venv: Venv) -> None:
    result = venv.run("hostapp", "check", check=True)
    assert result.stdout == "0 error(s), 0 warning(s)\n"
    # The audit plugin implements hostapp's hook under another function name
    # (@implements sets specname); corehost's guards would not know that hook.
    assert venv.corehost("check", check=True).stdout == "0 error(s), 0 warning(s)\n"


def test_hostapp_runs_a_config_through_its_plugins(venv: Venv, tmp_path: Path) -> None:
    result = venv.run("hostapp", "run", "-c", write_config(tmp_path, ["upper", "reverse"]), check=True)
    assert result.stdout == "OLLEH\n"
    assert result.stderr == (
        "audit: upper -> HELLO\n"
        "audit: reverse -> OLLEH\n"
        "hostapp: stopped (pipeline: done); every app stopped and every module cleaned up\n"
    )


def test_corehost_modules_are_unknown_to_hostapp(venv: Venv, tmp_path: Path) -> None:
    result = venv.run("hostapp", "validate", "-c", write_config(tmp_path, ["en"]))
    assert result.returncode == 2
    assert result.stderr == (
        f"hostapp: error: {tmp_path / 'pipeline.json'}: apps.pipeline.tasks[0].module: unknown module 'tasks.en'. "
        "Known modules in namespace 'tasks': reverse, upper. Install the plugin that provides it, or fix the name.\n"
    )
    greet = venv.corehost("greet", "Bob", check=True)
    assert greet.stdout == "Hello, Bob!\n"
    assert venv.run("hostapp", "greet", "Bob").returncode == 2  # corehost-greet's command is not hostapp's


def test_each_host_reads_only_its_own_selection_variables(venv: Venv) -> None:
    plugin = "example-hostapp-plugin"
    assert module_ids(venv, "hostapp", HOSTAPP_DISABLE_PLUGINS=plugin) == ["pipeline", "tasks.upper"]
    assert module_ids(venv, "hostapp", COREHOST_DISABLE_PLUGINS=plugin) == HOSTAPP_MODULES
    assert module_ids(venv, "hostapp", HOSTAPP_PLUGINS="nothing-else") == ["pipeline", "tasks.upper"]
    assert module_ids(venv, "corehost", HOSTAPP_DISABLE_PLUGINS="corehost-greeter-en") == COREHOST_MODULES
    info = venv.run("hostapp", "build-info", env={"HOSTAPP_DISABLE_PLUGINS": plugin}, check=True).stdout
    assert info.splitlines()[0] == "hostapp 0.1.0 (example-hostapp)"
    assert f"skipped by HOSTAPP_PLUGINS/HOSTAPP_DISABLE_PLUGINS: {plugin}" in info


def test_hostapp_cli_has_its_name_and_the_builtin_commands(venv: Venv) -> None:
    help_text = venv.run("hostapp", "--help", check=True).stdout
    assert help_text.startswith("Usage: hostapp [OPTIONS] COMMAND [ARGS]...\n")
    assert "hostapp: runs a text through a pipeline of task modules" in help_text
    for command in ("build-info", "cache", "check", "list-modules", "run", "validate", "version"):
        assert f"\n  {command} " in help_text
    assert venv.run("hostapp", "version", check=True).stdout == "0.1.0\n"


def test_frozen_inspects_the_named_host(venv: Venv) -> None:
    report = json.loads(venv.run("python", "-m", "corehost.frozen", "--host", "hostapp", check=True).stdout)
    assert report["problems"] == []
    registry = report["registry"]
    assert registry["host"] == "hostapp"
    assert [m[0] for m in registry["modules"]] == HOSTAPP_MODULES
    assert registry["plugins"] == [
        ["audit", "example_hostapp_plugin.audit", "example-hostapp-plugin", "0.1.0", ["hostapp_task_done"]]
    ]
    assert registry["namespaces"] == []  # 'tasks' comes from the spec when the registry is rebuilt

    default = json.loads(venv.run("python", "-m", "corehost.frozen", check=True).stdout)
    assert "host" not in default["registry"]
    assert [m[0] for m in default["registry"]["modules"]] == COREHOST_MODULES


def test_frozen_names_the_known_hosts_for_an_unknown_one(venv: Venv) -> None:
    result = venv.run("python", "-m", "corehost.frozen", "--host", "nope")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "corehost.frozen: error: no host named 'nope' is installed (known hosts: corehost, hostapp)."
    )


def test_a_frozen_registry_belongs_to_its_host(
    make_venv: MakeVenv, wheelhouse: Wheelhouse, hostapp_wheels: list[Path]
) -> None:
    """Freeze hostapp's registry (as ``corehost-build --host hostapp`` would) into the venv."""
    venv = make_venv("corehost", "corehost-greet", "corehost-greeter-en", extra=hostapp_wheels)
    freeze = (
        "import json, subprocess, sys, sysconfig, pathlib\n"
        "from corehost.frozen import FROZEN_MODULE, render\n"
        "from corehost.probe import inspect\n"
        "data = inspect('hostapp')['registry']\n"
        "target = pathlib.Path(sysconfig.get_path('purelib')) / f'{FROZEN_MODULE}.py'\n"
        "target.write_text(render(data, {'builder': 'test', 'inputs': ['example-hostapp']}))\n"
    )
    venv.run("python", "-c", freeze, check=True)
    venv.install(wheelhouse.wheel("corehost-greeter-zh"), no_deps=True)  # installed after the "build"
    info = json.loads(venv.run("hostapp", "build-info", "--json", check=True).stdout)
    assert info["mode"] == "frozen"
    assert module_ids(venv, "hostapp") == HOSTAPP_MODULES
    # corehost in the same environment is not the frozen host: it scans its own groups live.
    assert module_ids(venv, "corehost") == [*COREHOST_MODULES, "greeters.zh"]
