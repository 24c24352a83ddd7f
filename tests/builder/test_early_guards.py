"""The guards' process started while the staged venv installs: its report is a fresh process's report.

It imports the runtime before the install is done, so a file the install
replaced under it, or a start-up hook it added, must make it step aside for
a fresh process. Each test waits until the early process has done its
imports and blocks on its stdin, then changes the venv, then gives the go.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from corehost_build.guards import EarlyGuards, inspect_target

from tests.conftest import MakeVenv, clean_env

#: Prints the modules of corehost, pluggy, packaging and importlib.metadata loaded after importing the probe.
LOADED = (
    "import sys, corehost.probe\n"
    "{}\n"
    "print(sorted(m for m in sys.modules if m.startswith(('corehost.', 'pluggy', 'packaging', 'importlib.metadata'))))"
)


def loaded(then: str = "") -> set[str]:
    result = subprocess.run(
        [sys.executable, "-I", "-c", LOADED.format(then)], capture_output=True, text=True, env=clean_env(), check=True
    )
    return set(ast.literal_eval(result.stdout))


def test_the_probe_s_constants_load_no_runtime_and_preload_loads_what_inspect_runs_on() -> None:
    # The builder reads PROBE and ANNOUNCE; the runtime is the target's business.
    assert loaded() == {"corehost.errors", "corehost.probe"}
    preloaded = loaded("corehost.probe.preload()")
    wanted = {"corehost.guards", "corehost.discovery", "corehost.frozen", "pluggy", "importlib.metadata"}
    assert wanted | {"packaging.requirements"} <= preloaded


def blocked(pid: int) -> None:
    """Wait until process ``pid`` waits on its stdin (the kernel's wait channel names a pipe read)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        channel = Path(f"/proc/{pid}/wchan").read_text(encoding="utf-8")
        if "pipe" in channel:
            return
        if channel == "0":
            # A kernel that hides wait channels: the imports take well under this.
            time.sleep(3)
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never waited on its stdin")


def site(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


def test_an_early_run_of_an_unchanged_venv_reports_as_a_fresh_one(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost", "corehost-greet")
    with EarlyGuards(venv.python, "corehost") as early:
        blocked(early.process.pid)
        report = inspect_target(venv.python, 60, "corehost", early=early)
    assert early.stale is False
    assert report == inspect_target(venv.python, 60, "corehost")
    assert report["registry"]["modules"], "the greet plugin's modules were found"


def replace_guards(guards: Path, text: str) -> None:
    """What an install does (a new file, a new inode, in place of the old one), with guards that say they ran."""
    guards.unlink(missing_ok=True)
    guards.write_text(
        text.replace("def check_all(", "REPLACED = True\n\n\ndef _check_all(", 1)
        + "\n\ndef check_all(*args, **kwargs):\n    problems, hooks = _check_all(*args, **kwargs)\n"
        "    from corehost.problems import Problem\n"
        "    return [*problems, Problem('replaced', 'module', 'x', 'the replaced guards ran')], hooks\n",
        encoding="utf-8",
    )


def ran_replaced(report: dict[str, Any]) -> bool:
    return any(p["message"] == "the replaced guards ran" for p in report["problems"])


def test_a_runtime_file_replaced_under_an_early_run_is_imported_again(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost", "corehost-greet")
    guards = site(venv.path) / "corehost" / "guards.py"
    text = guards.read_text(encoding="utf-8")
    with EarlyGuards(venv.python, "corehost") as early:
        blocked(early.process.pid)
        replace_guards(guards, text)
        report = inspect_target(venv.python, 60, "corehost", early=early)
    assert early.stale is True
    assert ran_replaced(report), report["problems"]


def test_a_module_from_outside_the_venv_that_the_install_shadows_is_imported_again(
    make_venv: MakeVenv, tmp_path: Path
) -> None:
    venv = make_venv("corehost", "corehost-greet")
    packages, outside = site(venv.path), tmp_path / "outside"
    # The runtime reached through a .pth: imported early from a folder the venv's own packages come before.
    shutil.move(packages / "corehost", outside / "corehost")
    (packages / "outside.pth").write_text(f"{outside}\n", encoding="utf-8")
    with EarlyGuards(venv.python, "corehost") as early:
        blocked(early.process.pid)
        shutil.copytree(outside / "corehost", packages / "corehost")
        replace_guards(packages / "corehost" / "guards.py", (outside / "corehost" / "guards.py").read_text())
        report = inspect_target(venv.python, 60, "corehost", early=early)
    assert early.stale is True
    assert ran_replaced(report), "a fresh process imports the venv's runtime, which shadows the one outside"


def test_a_start_up_hook_added_under_an_early_run_is_run(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost", "corehost-greet")
    with EarlyGuards(venv.python, "corehost") as early:
        blocked(early.process.pid)
        (site(venv.path) / "added.pth").write_text("import os\n", encoding="utf-8")
        report = inspect_target(venv.python, 60, "corehost", early=early)
    assert early.stale is True and report["registry"]["modules"]


def test_an_early_run_never_given_the_go_ends_with_the_build(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost")
    with EarlyGuards(venv.python, "corehost") as early:
        blocked(early.process.pid)
    assert early.process.returncode == 0, "told by the end of its stdin, it exited by itself"
