"""Local projects become wheels before anything is resolved.

PEP 751 locks a local source folder with no hash, so a lock built from
folders could not be verified. Building every local project into a wheel
first gives each locked file a hash. The wheels are cached by a hash of the
project's files: an unchanged plugin is never rebuilt, which is most of
what makes a warm rebuild fast (``uv build`` costs about a second each).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from corehost_build.atomic import atomic_dir
from corehost_build.cache import cache_dir
from corehost_build.errors import ProjectBuildError
from corehost_build.tools import run_uv

#: Folders that never change what a project builds into, and may be large.
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "dist", "build"})


def project_digest(project: Path) -> str:
    """A hash of every file that could go into the project's wheel (names and contents)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(project):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(root, name)
            digest.update(str(path.relative_to(project)).encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                continue
            digest.update(b"\0")
    return digest.hexdigest()[:32]


def wheel_identity(wheel: Path) -> tuple[str, str]:
    """The normalised distribution name and version a wheel file carries."""
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise ProjectBuildError(f"{wheel} is not a valid wheel file name ({exc}); rebuild or rename it.") from None
    return str(name), str(version)


def build_project(project: Path, *, offline: bool = False) -> tuple[Path, bool]:
    """The wheel of ``project`` and whether it came from the cache."""
    key = project_digest(project)
    slot = cache_dir() / "wheels" / key
    cached = sorted(slot.glob("*.whl")) if slot.is_dir() else []
    if len(cached) == 1:
        return cached[0], True
    if slot.is_dir():
        shutil.rmtree(slot, ignore_errors=True)  # a damaged entry: never trust it, rebuild
    try:
        with atomic_dir(slot) as staging:
            args = ["build", "--wheel", "--quiet", "--out-dir", str(staging), str(project)]
            if offline:
                args.insert(1, "--offline")
            result = run_uv(args)
            wheels = sorted(staging.glob("*.whl"))
            if result.returncode != 0 or len(wheels) != 1:
                tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
                raise ProjectBuildError(
                    f"building a wheel of local project {project} failed (uv build exited {result.returncode}). "
                    f"Fix the project's pyproject.toml or code so that 'uv build --wheel {project}' succeeds:\n{tail}"
                )
    except FileExistsError:
        # Another build filled the slot first; its wheel is built from the same files.
        raced = sorted(slot.glob("*.whl"))
        if len(raced) == 1:
            return raced[0], True
        raise ProjectBuildError(
            f"cache entry {slot} for project {project} is damaged; delete it and build again."
        ) from None
    return slot / wheels[0].name, False
