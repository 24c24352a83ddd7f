"""Finding and running uv, the resolver and installer the builder drives.

uv is looked up beside the running interpreter (where the ``uv`` package
put it) before ``PATH``: ``uv.find_uv_bin()`` fails on interpreters whose
sysconfig lacks ``EXE``, and a uv on ``PATH`` may be an older release than
the one the builder was installed with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

from corehost_build.errors import ToolMissing

#: Variables that would make uv (or the target interpreter) act on something else.
_LEAKY_PREFIXES = ("COREHOST_", "VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT", "PYTHONPATH", "PYTHONHOME")


def uv_binary() -> str:
    """Path of the uv executable the builder uses."""
    here = Path(sysconfig.get_path("scripts")) / "uv"
    if here.exists():
        return str(here)
    found = shutil.which("uv")
    if found is None:
        raise ToolMissing(
            "corehost-build needs uv to resolve and install, but it is neither beside this Python "
            f"({here.parent}) nor on PATH. Reinstall corehost-build (it depends on the 'uv' package)."
        )
    return found


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for uv and the target interpreter: nothing from an active venv leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


def run_uv(args: Sequence[str], *, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``uv ARGS`` and capture its output; callers turn failures into their own errors."""
    return subprocess.run(
        [uv_binary(), *args],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
