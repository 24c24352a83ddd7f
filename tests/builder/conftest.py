"""Builder fixtures: a venv with corehost-build installed, generated plugin projects, one shared bundle.

corehost-build is installed from the session wheelhouse into its own venv
and driven as a user drives it, through its console script. Its cache
lives in a session folder, so warm rebuilds within the session are real
and nothing leaks into the developer's own cache. Plugins the tests need
(bad ones, conflicting ones, forks) are generated into temporary folders
from a few lines of text each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

GREETER_PLUGINS = ("plugins/greeter-en", "plugins/greeter-zh", "plugins/greet")


@dataclass
class Builder:
    """corehost-build in its own venv, with a session-wide cache."""

    venv: Venv
    cache: Path

    def run(self, *args: str | Path, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.venv.run(
            "corehost-build", *map(str, args), env={"COREHOST_BUILD_CACHE": str(self.cache)}, cwd=cwd,
            timeout=timeout,
        )  # fmt: skip

    def build(self, *args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        return self.run("build", *args, cwd=cwd)

    def ok(self, *args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, cwd=cwd)
        assert result.returncode == 0, f"corehost-build {args} failed:\n{result.stderr}"
        return result


@pytest.fixture(scope="session")
def builder(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Builder:
    path = tmp_path_factory.mktemp("builder") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(wheelhouse.wheel("corehost-build"), wheelhouse.wheel("corehost"))
    return Builder(venv, tmp_path_factory.mktemp("build-cache"))


@dataclass
class Bundle:
    """The greeter bundle, built once per session; tests only read it."""

    venv: Venv
    lock: Path
    summary: dict[str, object]
    stderr: str


@pytest.fixture(scope="session")
def greeter_bundle(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    out = tmp_path_factory.mktemp("greeter-bundle")
    args = [a for p in GREETER_PLUGINS for a in ("--with", f"./{p}")]
    result = builder.ok("build", *args, "--venv", out / "venv", "--lock", out / "pylock.toml", "--json")
    return Bundle(Venv(out / "venv"), out / "pylock.toml", json.loads(result.stdout), result.stderr)


MakePlugin = Callable[..., Path]


@pytest.fixture
def make_plugin(tmp_path: Path) -> MakePlugin:
    """``make_plugin("fx-bad", code="...", modules={"greeters.xx": "fx_bad:X"})``: a plugin project on disk."""

    def make(
        name: str,
        *,
        version: str = "1.0",
        code: str = "",
        dependencies: tuple[str, ...] = ("corehost>=0.1,<0.2",),
        modules: dict[str, str] | None = None,
        namespaces: dict[str, str] | None = None,
        plugins: dict[str, str] | None = None,
        where: Path | None = None,
    ) -> Path:
        package = name.replace("-", "_")
        project = (where or tmp_path) / name
        (project / "src" / package).mkdir(parents=True)
        (project / "src" / package / "__init__.py").write_text(textwrap.dedent(code), encoding="utf-8")
        groups = ""
        for group, entries in (("modules", modules), ("namespaces", namespaces), ("plugins", plugins)):
            if entries:
                rows = "".join(f'"{k}" = "{v}"\n' for k, v in entries.items())
                groups += f'\n[project.entry-points."corehost.{group}"]\n{rows}'
        (project / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""\
                [build-system]
                requires = ["hatchling>=1.18"]
                build-backend = "hatchling.build"

                [project]
                name = "{name}"
                version = "{version}"
                requires-python = ">=3.11"
                dependencies = {json.dumps(list(dependencies))}

                [tool.hatch.build.targets.wheel]
                packages = ["src/{package}"]
                """
            )
            + groups,
            encoding="utf-8",
        )
        return project

    return make


def copy_project(source: Path, dest: Path, version: str | None = None) -> Path:
    """A copy of a repo project (e.g. a fork), optionally with another version."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "dist", "build"))
    if version is not None:
        pyproject = dest / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text.replace('version = "0.1.0"', f'version = "{version}"', 1), encoding="utf-8")
    return dest
