"""Writing the frozen registry and build record into the built environment.

The runtime imports ``_corehost_frozen`` instead of scanning entry points
when it exists, so a bundle loads exactly the modules, namespaces and
hookimpls the guards passed, whatever is installed into it later. The
module is compiled right away so the first start of the bundle does not
pay for it (and works on a read-only filesystem).
"""

from __future__ import annotations

import importlib.util
import py_compile
import subprocess
import sys
from pathlib import Path
from typing import Any

from corehost.frozen import FROZEN_MODULE, render
from corehost_build.atomic import write_atomic
from corehost_build.tools import tool_env
from corehost_build.venv import python_version, site_packages, venv_python


def write_frozen(venv: Path, registry_data: dict[str, Any], record: dict[str, Any]) -> Path:
    """Write ``_corehost_frozen.py`` (and its bytecode) into ``venv``; return its path."""
    target = site_packages(venv) / f"{FROZEN_MODULE}.py"
    # Readable like every other file of the venv (not the temp file's 0600): the venv may run as another user.
    write_atomic(render(registry_data, record).encode("utf-8"), target)
    _compile(venv, target)
    return target


def _compile(venv: Path, source: Path) -> None:
    """Bytecode for ``source`` as the target interpreter would write it."""
    ours = ".".join(map(str, sys.version_info[:3]))
    if python_version(venv).startswith(ours):
        py_compile.compile(str(source), cfile=importlib.util.cache_from_source(str(source)), doraise=True)
        return
    subprocess.run(
        [str(venv_python(venv)), "-I", "-m", "py_compile", str(source)], check=True, env=tool_env(), timeout=60
    )
