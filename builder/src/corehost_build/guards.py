"""Running the runtime's interface guards inside the target environment.

The guards must run where the bundle will run: with the target
interpreter, against exactly the installed set. ``python -m corehost.frozen``
does the guards and collects the registry data in one process; it runs
isolated (``-I``: no current folder on ``sys.path``, no ``PYTHON*``
variables) and under a timeout, so a plugin whose import hangs fails the
build instead of hanging it.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from corehost_build.errors import GuardFailure, GuardRunError
from corehost_build.tools import tool_env

DEFAULT_TIMEOUT = 120.0


def inspect_target(python: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Guard problems and registry data of the environment ``python`` belongs to."""
    with tempfile.TemporaryDirectory(prefix="corehost-build-guards-") as cwd:
        try:
            result = subprocess.run(
                [str(python), "-I", "-m", "corehost.frozen"],
                capture_output=True,
                text=True,
                env=tool_env(),
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GuardRunError(
                f"the interface guards did not finish within {timeout:g} s in the new environment: a plugin "
                "probably blocks while being imported (a network call, a prompt, a loop at module level). Move "
                "that work out of import time into the module's provision(), or leave the plugin out."
            ) from None
    if result.returncode != 0:
        tail = "\n".join("  " + line for line in result.stderr.strip().splitlines()[-20:])
        raise GuardRunError(
            f"the interface guards crashed in the new environment (exit {result.returncode}) before they could "
            f"name a plugin; the output below shows which import failed. Fix or leave out that plugin:\n{tail}"
        )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise GuardRunError(
            "the interface guards printed something that is not their JSON report; a plugin may write to the "
            "process's stdout file descriptor directly while imported. Output starts: " + result.stdout[:200]
        ) from None
    return report


def errors_of(report: dict[str, Any]) -> list[dict[str, str]]:
    return [p for p in report.get("problems", []) if p.get("severity") == "error"]


def warnings_of(report: dict[str, Any]) -> list[dict[str, str]]:
    return [p for p in report.get("problems", []) if p.get("severity") != "error"]


def require_clean(report: dict[str, Any]) -> None:
    """Fail the build, naming every culprit, when any guard reported an error."""
    problems = errors_of(report)
    if problems:
        raise GuardFailure(problems)
