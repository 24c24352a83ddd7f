"""Local projects become wheels before anything is resolved.

PEP 751 locks a local source folder with no hash, so a lock built from
folders could not be verified. Building every local project into a wheel
first gives each locked file a hash. The wheels are cached by a hash of the
project's files: an unchanged plugin is never rebuilt, which is most of
what makes a warm rebuild fast.

An edited plugin is rebuilt, and that sits on the plugin author's inner
loop. ``uv build`` makes a fresh isolated build environment every time
(0.5 s warm for a hatchling project, most of it setting up that
environment); the builder instead keeps one build environment per set of
``build-system.requires`` in its cache and calls the project's PEP 517
backend in it directly (about 0.15 s), which gives the same wheel, byte for
byte, as long as the backend's version is the same. A project whose backend
lives in its own tree (``backend-path``), or asks for more than its declared
requirements (``get_requires_for_build_wheel``), or fails there, is built
by ``uv build`` as usual, whose errors are the ones reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from corehost_build.atomic import atomic_dir
from corehost_build.cache import cache_dir
from corehost_build.errors import ProjectBuildError
from corehost_build.tools import run_uv, tool_env

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


def _slot(project: Path) -> Path:
    return cache_dir() / "wheels" / project_digest(project)


def needs_build(project: Path) -> bool:
    """Whether :func:`build_project` would run ``project``'s backend (its files are not those of a cached wheel)."""
    slot = _slot(project)
    return len(list(slot.glob("*.whl"))) != 1 if slot.is_dir() else True


def build_project(
    project: Path, *, offline: bool = False, while_building: Callable[[Path], object] | None = None
) -> tuple[Path, bool]:
    """The wheel of ``project`` and whether it came from the cache.

    ``while_building(project)`` is called once the backend's process is
    started (not for a cached wheel), for the caller to do its own work
    while it runs.
    """
    slot = _slot(project)
    cached = sorted(slot.glob("*.whl")) if slot.is_dir() else []
    if len(cached) == 1:
        return cached[0], True
    if slot.is_dir():
        shutil.rmtree(slot, ignore_errors=True)  # a damaged entry: never trust it, rebuild
    try:
        with atomic_dir(slot) as staging:
            if _build_in_kept_env(project, staging, offline=offline, while_building=while_building):
                return slot / sorted(staging.glob("*.whl"))[0].name, False
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


#: Runs in a kept build environment, in the project's folder (``-I``: the folder is not on ``sys.path``, as
#: PEP 517 asks): builds the wheel with the backend's own hook, or exits 3 when the backend needs more.
HOOK = """
import importlib, sys
module, _, attr = sys.argv[1].partition(":")
backend = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    backend = getattr(backend, part)
if getattr(backend, "get_requires_for_build_wheel", lambda: [])():
    sys.exit(3)
print(backend.build_wheel(sys.argv[2]))
"""


def project_name(project: Path) -> str | None:
    """The normalised distribution name ``project``'s ``pyproject.toml`` gives (PEP 621: never dynamic)."""
    try:
        name = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return canonicalize_name(name) if isinstance(name, str) else None


def _build_system(project: Path) -> tuple[list[str], str] | None:
    """The project's build requirements and backend, when its backend is an installable package."""
    try:
        table = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8")).get("build-system", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    requires, backend = table.get("requires"), table.get("build-backend")
    if "backend-path" in table or not isinstance(backend, str) or not isinstance(requires, list):
        return None
    if not all(isinstance(r, str) for r in requires):
        return None
    return sorted(requires), backend


def _kept_env(requires: list[str], *, offline: bool) -> Path | None:
    """The build environment for ``requires`` (made once, then kept); ``None`` if it cannot be made."""
    key = hashlib.sha256(json.dumps([sys.version, requires]).encode()).hexdigest()[:24]
    env = cache_dir() / "build-envs" / key
    if (env / "bin" / "python").exists():
        return env
    try:
        with atomic_dir(env) as staging:
            venv = ["venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)]
            install = ["pip", "install", "--quiet", "--python", str(staging / "bin" / "python"), *requires]
            for args in (venv, install + (["--offline"] if offline else [])):
                if run_uv(args).returncode != 0:
                    return None
    except FileExistsError:
        pass  # another build made it first, from the same requirements
    return env if (env / "bin" / "python").exists() else None


def _build_in_kept_env(
    project: Path, out: Path, *, offline: bool, while_building: Callable[[Path], object] | None = None
) -> bool:
    """Build ``project``'s wheel into ``out`` with its backend in a kept environment; say whether it worked."""
    system = _build_system(project)
    env = _kept_env(system[0], offline=offline) if system is not None else None
    if system is None or env is None:
        return False
    with subprocess.Popen(
        [str(env / "bin" / "python"), "-I", "-c", HOOK, system[1], str(out)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=tool_env(),
    ) as backend:
        try:
            if while_building is not None:
                while_building(project)
            backend.communicate(timeout=900)
        except BaseException:
            backend.kill()
            raise
    if backend.returncode == 0 and len(list(out.glob("*.whl"))) == 1:
        return True
    for leftover in out.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink()
    return False
