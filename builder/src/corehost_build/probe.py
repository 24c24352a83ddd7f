"""Asking a target environment what it holds: ``python -m corehost.probe``, and nothing else.

The builder is not installed where a build runs, so every question about
the target (its guard problems and registry, a namespace's interface, the
hosts it declares) is asked of the runtime's one entry point for tools,
:mod:`corehost.probe`, with the target's interpreter, isolated (``-I``: no
current folder on ``sys.path``, no ``PYTHON*`` variables). Its answer is
versioned JSON: an answer in a format this builder does not read is refused
naming the corehost that wrote it, rather than misread.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from corehost import __version__ as corehost_version
from corehost.probe import PROBE
from corehost_build import __version__
from corehost_build.errors import ProbeError
from corehost_build.tools import tool_env

MODULE = "corehost.probe"


def command(python: Path, *args: str) -> list[str]:
    """The command line that asks the environment of ``python`` the probe's ``args``."""
    return [str(python), "-I", "-m", MODULE, *args]


def missing(stderr: str, where: str) -> ProbeError | None:
    """The error to report when the probe could not even be imported in ``where``, else ``None``."""
    last = stderr.strip().rpartition("\n")[2]
    if not (last.endswith(f"No module named {MODULE}") or "No module named 'corehost'" in last):
        return None
    return ProbeError(
        f"the {where} has no {MODULE}, through which this corehost-build {__version__} reads every environment: "
        f"its corehost is missing or older than that. Build with corehost {corehost_version} (the one this "
        "corehost-build was installed with), or pin a corehost that has corehost.probe."
    )


def accept(answer: Any, where: str) -> dict[str, Any]:
    """``answer`` (the probe's parsed JSON), refused unless it is in the format this builder reads."""
    if not isinstance(answer, dict):
        raise ProbeError(f"the probe in the {where} answered {type(answer).__name__}, not a JSON object.")
    found = answer.get("probe")
    if found != PROBE:
        corehost = answer.get("corehost", "of unknown version")
        raise ProbeError(
            f"the {where} holds corehost {corehost}, whose corehost.probe answers in format {found!r}; this "
            f"corehost-build {__version__} reads format {PROBE} only. Build with a corehost-build released with "
            f"corehost {corehost}, or pin the corehost this corehost-build was installed with ({corehost_version})."
        )
    return answer


def ask(python: Path, *args: str, where: str, timeout: float = 120) -> dict[str, Any]:
    """The probe's answer to ``args`` in the environment of ``python``; a failure is a :class:`ProbeError`.

    The error of the probe itself (``corehost.probe: error: ...``) is
    raised as :class:`ProbeError` with the probe's message, for the caller
    to put in its own words.
    """
    result = subprocess.run(
        command(python, *args), capture_output=True, text=True, env=tool_env(), timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise missing(result.stderr, where) or ProbeError(
            result.stderr.strip().rpartition(f"{MODULE}: error: ")[2] or f"exit {result.returncode}"
        )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise ProbeError(
            f"the probe in the {where} printed something that is not JSON; output starts: {result.stdout[:200]}"
        ) from None
    return accept(answer, where)
