"""What a bundle is built for: an interpreter version and a platform.

A bundle records both, and refuses to start anywhere else. The guards must
run in the interpreter the bundle is for, so ``--python-version`` has to
match the interpreter the build uses (``--python``). ``--platform`` may name
another machine: the set is then resolved and installed for that platform
into the bundle, while the guards run against the same locked versions
installed for this machine (same code, this machine's compiled parts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corehost_build.errors import InstallError, SpecError
from corehost_build.tools import run_uv, tool_env

if TYPE_CHECKING:
    from corehost_build.build import BuildRequest

_OS = (("manylinux", "linux"), ("musllinux", "linux"), ("linux", "linux"), ("apple", "darwin"),
       ("macos", "darwin"), ("darwin", "darwin"), ("windows", "win32"))  # fmt: skip
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64", "i686": "i686"}


def platform_tag(uv_platform: str | None) -> str:
    """``linux-x86_64`` style tag (what :func:`corehost.bundle.platform_tag` reports) for a uv platform name."""
    if uv_platform is None:
        return f"{sys.platform}-{os.uname().machine}"
    text = uv_platform.lower()
    system = next((name for key, name in _OS if key in text), "unknown")
    arch = next((a for key, a in _ARCH.items() if text.startswith(key) or f"-{key}" in text or f"_{key}" in text), "")
    if system == "darwin" and arch == "aarch64":
        arch = "arm64"
    return f"{system}-{arch or 'any'}"


def _interpreter_version(python: str) -> str:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return f"{sys.version_info[0]}.{sys.version_info[1]}"
    result = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SpecError(f"--python {python} does not run ({result.stderr.strip()}); give the path of a Python 3.11+.")
    return result.stdout.strip()


def _full_version(python: str) -> str:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return ".".join(map(str, sys.version_info[:3]))
    result = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return result.stdout.strip()


@dataclass(frozen=True)
class Target:
    python_version: str | None
    platform: str | None
    python_tag: str
    platform_tag: str
    #: The bundle's files come from an install for another platform.
    cross: bool
    #: The build interpreter's full version (``3.11.7``), which a lock's requires-python must admit.
    interpreter_version: str = ""

    @classmethod
    def of(cls, request: BuildRequest, python: str) -> Target:
        have = _interpreter_version(python)
        wanted = request.python_version
        if wanted is not None and wanted != have:
            raise SpecError(
                f"--python-version {wanted}: the interface guards must run in a Python {wanted}, but the build's "
                f"interpreter ({python}) is Python {have}. Pass --python with the path of a Python {wanted}."
            )
        tag = platform_tag(request.platform)
        return cls(
            python_version=wanted,
            platform=request.platform,
            python_tag=f"{sys.implementation.name}-{have}",
            platform_tag=tag,
            cross=request.platform is not None and tag != platform_tag(None),
            interpreter_version=_full_version(python),
        )


def install_target(lock: Path, folder: Path, target: Target, *, offline: bool = False) -> None:
    """Install the locked set for ``target``'s platform into ``folder`` (a bundle's site)."""
    args = ["pip", "sync", "--quiet", "--preview-features", "pylock", "--target", str(folder)]
    if target.platform:
        args += ["--python-platform", target.platform]
    if target.python_version:
        args += ["--python-version", target.python_version]
    if offline:
        args.append("--offline")
    result = run_uv([*args, str(lock)])
    if result.returncode != 0:
        raise InstallError(
            f"installing the locked set for platform {target.platform} failed: some package has no wheel for it. "
            f"Choose a platform every dependency publishes wheels for, or drop --platform.\n  "
            + result.stderr.strip().replace("\n", "\n  ")
        )
