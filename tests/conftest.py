"""Shared test machinery: one wheelhouse per session, real virtualenvs per test.

Every package a test installs is a real wheel built once per session from a
real project (the runtime, ``plugins/*``, ``tests/fixtures/plugins/*``).
Environments are made with uv (fast, and what the builder uses) and driven
through subprocesses, exactly as a user would drive them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PLUGINS = ROOT / "tests" / "fixtures" / "plugins"


def uv() -> str:
    """The uv binary shipped by the ``uv`` package in the test environment.

    Looked up beside this interpreter rather than with ``uv.find_uv_bin``,
    which fails on interpreters whose sysconfig has no ``EXE``.
    """
    here = Path(sysconfig.get_path("scripts")) / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is not installed; pip install -e '.[test]' -e ./builder")
    return found


#: Where the bundles that tests start unpack, instead of the user's cache; removed when the session ends. A test
#: of the default location passes ``COREHOST_CACHE_DIR=""`` (unset, for a bundle).
BUNDLE_CACHE = tempfile.mkdtemp(prefix="corehost-tests-bundles-")
atexit.register(shutil.rmtree, BUNDLE_CACHE, True)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess: no COREHOST_* leaking in from outside, bundles unpacking into the session's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COREHOST_", "VIRTUAL_ENV"))}
    env["PYTHONIOENCODING"] = "utf-8"
    env["COREHOST_CACHE_DIR"] = BUNDLE_CACHE
    env.update(extra or {})
    return env


def project_name(project: Path) -> str:
    return str(tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"])


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@dataclass
class Wheelhouse:
    """Wheels built this session, by normalised distribution name."""

    path: Path
    wheels: dict[str, Path]

    def wheel(self, name: str) -> Path:
        try:
            return self.wheels[normalize(name)]
        except KeyError:
            raise KeyError(f"no wheel for {name!r} in the wheelhouse; have {sorted(self.wheels)}") from None

    def add(self, project: Path) -> Path:
        """Build one more project (e.g. one a test generated) into the wheelhouse."""
        wheel = build_wheel(project, self.path)
        self.wheels[normalize(project_name(project))] = wheel
        return wheel


def copy_checkout(dest: Path) -> Path:
    """The files a fresh clone would have (tracked, plus new files not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    for name in listed:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def build_wheel(project: Path, out: Path) -> Path:
    """Build ``project`` into a wheel in ``out`` and return the wheel's path."""
    dest = out / f".build-{project.name}-{os.getpid()}-{id(project)}"
    dest.mkdir(parents=True)
    subprocess.run([uv(), "build", "-q", "--wheel", "--out-dir", str(dest), str(project)], check=True, env=clean_env())
    (wheel,) = dest.glob("*.whl")
    final = out / wheel.name
    wheel.replace(final)
    shutil.rmtree(dest)
    return final


def session_projects() -> list[Path]:
    projects = [ROOT, *sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())]
    if FIXTURE_PLUGINS.exists():
        projects += sorted(p for p in FIXTURE_PLUGINS.iterdir() if (p / "pyproject.toml").exists())
    if (ROOT / "builder" / "pyproject.toml").exists():
        projects.append(ROOT / "builder")
    return projects


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    out = tmp_path_factory.mktemp("wheelhouse")
    projects = session_projects()
    with ThreadPoolExecutor(max_workers=4) as pool:
        wheels = list(pool.map(lambda p: build_wheel(p, out), projects))
    return Wheelhouse(out, {normalize(project_name(p)): w for p, w in zip(projects, wheels, strict=True)})


@dataclass
class Venv:
    """A real virtual environment and the means to run things in it."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def run(
        self,
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        check: bool = False,
        timeout: float = 120,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command; a bare first word is looked up in the venv's bin/."""
        argv = [str(a) for a in args]
        if (self.path / "bin" / argv[0]).exists():
            argv[0] = str(self.path / "bin" / argv[0])
        result = subprocess.run(argv, capture_output=True, text=True, env=clean_env(env), timeout=timeout, cwd=cwd)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{argv} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def corehost(self, *args: str | os.PathLike[str], **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run("corehost", *args, **kw)  # type: ignore[arg-type]

    def install(self, *requirements: str | os.PathLike[str], no_deps: bool = False) -> None:
        cmd = [uv(), "pip", "install", "-q", "--python", str(self.python)]
        if no_deps:
            cmd.append("--no-deps")
        subprocess.run([*cmd, *map(str, requirements)], check=True, env=clean_env())


MakeVenv = Callable[..., Venv]


@pytest.fixture
def make_venv(tmp_path: Path, wheelhouse: Wheelhouse) -> MakeVenv:
    """``make_venv("corehost", "corehost-greet", ...)``: a venv with those wheels installed."""
    count = 0

    def make(*dists: str, extra: Iterable[str | os.PathLike[str]] = (), no_deps: bool = False) -> Venv:
        nonlocal count
        count += 1
        path = tmp_path / f"venv{count}"
        subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
        venv = Venv(path)
        wheels = [wheelhouse.wheel(d) for d in dists]
        if wheels or extra:
            venv.install(*wheels, *extra, no_deps=no_deps)
        return venv

    return make
