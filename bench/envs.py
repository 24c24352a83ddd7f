"""The environments the benchmarks run in, and the tools that make them.

Everything is made with uv (beside the bench interpreter, where the
``corehost-build`` dependency put it) in a scratch folder, with the repo's
projects and generated wheels only, so a run never touches the developer's
own environments or caches. Comparison tools (shiv, pex, stevedore) are
looked up in the bench environment; when one is absent its row says so.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import bench_env

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_DIR = ROOT / "plugins"
#: The http benchmark's comparison side, installed into a scratch venv beside the same uvicorn, uvloop,
#: httptools and httpx versions as the corehost build (never a dependency of corehost or its plugins).
HTTP_COMPARE = ("starlette",)


def scripts_dir() -> Path:
    """Where the bench interpreter's console scripts live (uv, corehost-build, shiv, pex)."""
    return Path(sysconfig.get_path("scripts"))


def tool(name: str) -> str | None:
    """A console script of the bench environment, else one on PATH, else ``None``."""
    here = scripts_dir() / name
    return str(here) if here.exists() else shutil.which(name)


def uv() -> str:
    found = tool("uv")
    if found is None:
        raise RuntimeError("uv is missing from the bench environment; run bench/run")
    return found


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def run(argv: Sequence[str | Path], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a set-up step (not timed); its failure stops the benchmark with the step's output."""
    args = [str(a) for a in argv]
    result = subprocess.run(args, capture_output=True, text=True, env=bench_env(env), cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"{args} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def base_python() -> str:
    """The real interpreter behind the bench venv (never a pyenv shim, which is a shell script)."""
    return str(Path(sys._base_executable).resolve())  # type: ignore[attr-defined]


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def install(self, *requirements: str | Path, no_deps: bool = False) -> None:
        args: list[str | Path] = [uv(), "pip", "install", "-q", "--python", self.python]
        if no_deps:
            args.append("--no-deps")
        run([*args, *requirements])


def make_venv(path: Path, *requirements: str | Path) -> Venv:
    run([uv(), "venv", "-q", "--python", base_python(), path])
    venv = Venv(path)
    if requirements:
        venv.install(*requirements)
    return venv


def repo_projects() -> list[Path]:
    """The host and the repo's plugins, as a user would ``pip install`` them."""
    return [ROOT, *sorted(p for p in PLUGINS_DIR.iterdir() if (p / "pyproject.toml").exists())]


@dataclass
class BuildOutcome:
    """One ``corehost-build build --json``: its wall time and the builder's own step times."""

    seconds: float
    steps: dict[str, float]
    summary: dict[str, Any] = field(repr=False)


@dataclass
class Builder:
    """``corehost-build`` from the bench environment, with caches of the benchmark's choosing."""

    cache: Path
    uv_cache: Path | None = None

    def env(self) -> dict[str, str]:
        env = {"COREHOST_BUILD_CACHE": str(self.cache)}
        if self.uv_cache is not None:
            env["UV_CACHE_DIR"] = str(self.uv_cache)
        return env

    def build(self, *args: str | Path, cwd: Path = ROOT) -> BuildOutcome:
        exe = tool("corehost-build")
        if exe is None:
            raise RuntimeError("corehost-build is missing from the bench environment; run bench/run")
        argv = [exe, "build", "--json", "-q", *map(str, args)]
        start = time.perf_counter()
        out = run(argv, env=self.env(), cwd=cwd)
        elapsed = time.perf_counter() - start
        summary = json.loads(out)
        return BuildOutcome(elapsed, summary["steps"], summary)

    def wheels(self, *args: str | Path) -> None:
        """``corehost-build wheels``: local projects' wheels in a folder, e.g. beside a lock for ``uv pip sync``."""
        exe = tool("corehost-build")
        if exe is None:
            raise RuntimeError("corehost-build is missing from the bench environment; run bench/run")
        run([exe, "wheels", "-q", *map(str, args)], env=self.env(), cwd=ROOT)


def tree_size(path: Path) -> int:
    """Bytes in the files under ``path`` (or of the file ``path``)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
