"""docs/http.md's fast path: the commands it shows give servers that run on uvloop and httptools.

The commands are taken from the page's block and run as written, each build with one
more plugin: a handler that answers with the event loop and the HTTP parser serving it.
A build of the plugin alone is the yardstick: asyncio's loop and h11, with nothing to set.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builder.conftest import Builder
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv
from tests.plugins.http.conftest import serving

#: Whether uvicorn chose httptools shows in the protocol module it imported for the server.
PROBE = '''"""http.handlers.engine: answers with the event loop and the HTTP parser serving the request."""

import asyncio
import sys
from dataclasses import dataclass

from corehost_http.interfaces import Next, Request, Response


@dataclass
class Engine:
    async def handle(self, request: Request, next: Next) -> Response:
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        parser = "httptools" if "uvicorn.protocols.http.httptools_impl" in sys.modules else "h11"
        return Response(200, [("content-type", "text/plain")], f"{loop} {parser}".encode())
'''

ENGINE = [{"handle": [{"module": "engine"}]}]
#: Options of the page's commands whose value is a path the command writes or reads beside itself.
PLACES = {"--venv", "-o", "--find-links"}


def fast_path_commands() -> list[list[str]]:
    page = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    section = page.split("\n## The fast path\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "docs/http.md's fast path lost its commands"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def builder(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Builder:
    path = tmp_path_factory.mktemp("fast-builder") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(wheelhouse.wheel("corehost-build"), wheelhouse.wheel("corehost"))
    return Builder(venv, tmp_path_factory.mktemp("fast-build-cache"))


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("probe") / "engine"
    (project / "src" / "corehost_engine").mkdir(parents=True)
    (project / "src" / "corehost_engine" / "__init__.py").write_text(PROBE)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "corehost-engine"\nversion = "0.1.0"\ndependencies = ["corehost-http>=0.1,<0.2"]\n'
        '[project.entry-points."corehost.modules"]\n"http.handlers.engine" = "corehost_engine:Engine"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/corehost_engine"]\n'
    )
    return project


@pytest.fixture(scope="module")
def built(builder: Builder, probe: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Venv]:
    """Each venv the page's commands build (by its --venv), the probe built in; and the plugin alone."""
    root = tmp_path_factory.mktemp("fast")
    venvs: dict[str, Venv] = {}
    for argv in fast_path_commands():
        assert argv[:2] in (["corehost-build", "build"], ["corehost-build", "wheels"]), argv
        args = [str(root / a) if i and argv[i - 1] in PLACES else a for i, a in enumerate(argv)]
        if argv[1] == "build":
            args += ["--with", str(probe)]
            venvs[argv[argv.index("--venv") + 1]] = Venv(Path(args[args.index("--venv") + 1]))
        builder.ok(*args[1:])
    builder.ok("build", "--with", "./plugins/http", "--with", probe, "--venv", root / "plain")
    venvs["plain"] = Venv(root / "plain")
    return venvs


def test_the_pages_builds_serve_on_uvloop_and_httptools(built: dict[str, Venv], tmp_path: Path) -> None:
    fast = sorted(name for name in built if name != "plain")
    assert len(fast) == 2, fast
    for name in fast:
        with serving(built[name], tmp_path, ENGINE) as server:
            assert server.request("/").text == "uvloop httptools", name


def test_the_plugin_alone_serves_on_asyncio_and_h11(built: dict[str, Venv], tmp_path: Path) -> None:
    missing = built["plain"].run("python", "-c", "import importlib.util as u; print(u.find_spec('uvloop'))")
    assert missing.stdout == "None\n"
    with serving(built["plain"], tmp_path, ENGINE) as server:
        assert server.request("/").text == "asyncio h11"
