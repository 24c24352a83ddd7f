"""Building real pluggy applications from the index (datasette, llm, pytest) with exactly the chosen plugins.

Each artifact is built once per session by the builder's own console
script and then used as a user uses it: a datasette ``.pyz`` and venv
serve a SQLite database on 127.0.0.1 and show each plugin's effect, llm's
venv runs a plugin command, pytest's ``.pyz`` runs a test folder with two
plugins' options. Plugin-installing commands are refused with the rebuild
command, ``COREHOST_BUILD_INFO=1`` prints the record, ``verify`` passes,
and a plugin with a misspelt hook fails the build with nothing written.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builder.conftest import Builder
from tests.conftest import ROOT, build_wheel, clean_env

FOREIGN_FIXTURES = ROOT / "tests" / "fixtures" / "foreign"
DATASETTE_PLUGINS = ("datasette-cluster-map", "datasette-json-html")


@dataclass
class Artifact:
    """A built foreign artifact: the command that starts its host, and the build's ``--json`` summary."""

    path: Path
    command: list[str]
    summary: dict[str, object]
    cache: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            capture_output=True,
            text=True,
            env=clean_env({"COREHOST_CACHE_DIR": str(self.cache), **(env or {})}),
            cwd=cwd,
            timeout=120,
            check=False,
        )


def _build(builder: Builder, where: Path, *args: str) -> dict[str, object]:
    result = builder.ok("build", *args, "--json", cwd=where)
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="session")
def datasette_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    where = tmp_path_factory.mktemp("ds-pyz")
    plugins = [a for p in DATASETTE_PLUGINS for a in ("--with", p)]
    summary = _build(builder, where, "--host", "datasette", *plugins, "--output", "ds.pyz")
    return Artifact(where / "ds.pyz", [str(where / "ds.pyz")], summary, where / "cache")


@pytest.fixture(scope="session")
def datasette_venv(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    where = tmp_path_factory.mktemp("ds-venv")
    plugins = [a for p in DATASETTE_PLUGINS for a in ("--with", p)]
    summary = _build(builder, where, "--host", "datasette", *plugins, "--venv", "dist/ds")
    return Artifact(where / "dist" / "ds", [str(where / "dist" / "ds" / "bin" / "datasette")], summary, where / "cache")


@pytest.fixture(scope="session")
def llm_venv(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    where = tmp_path_factory.mktemp("llm-venv")
    summary = _build(builder, where, "--host", "llm", "--with", "llm-jq", "--venv", "dist/llm", "--lock", "pylock.toml")
    return Artifact(where / "dist" / "llm", [str(where / "dist" / "llm" / "bin" / "llm")], summary, where / "cache")


#: pytest's plugins: two with options of their own, and pytest-xdist, whose workers are child interpreters.
PYTEST_PLUGINS = ("--with", "pytest-timeout", "--with", "pytest-randomly", "--with", "pytest-xdist")


@pytest.fixture(scope="session")
def pytest_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    where = tmp_path_factory.mktemp("pytest-pyz")
    summary = _build(builder, where, "--host", "pytest", *PYTEST_PLUGINS, "--output", "pytest.pyz")
    return Artifact(where / "pytest.pyz", [str(where / "pytest.pyz")], summary, where / "cache")


@pytest.fixture(scope="session")
def pytest_venv(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    where = tmp_path_factory.mktemp("pytest-venv")
    summary = _build(builder, where, "--host", "pytest", *PYTEST_PLUGINS, "--venv", "dist/pt")
    return Artifact(where / "dist" / "pt", [str(where / "dist" / "pt" / "bin" / "pytest")], summary, where / "cache")


@pytest.fixture(params=["pyz", "venv"])
def datasette(request: pytest.FixtureRequest) -> Artifact:
    artifact: Artifact = request.getfixturevalue(f"datasette_{request.param}")
    return artifact


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _places_db(folder: Path) -> Path:
    """A database whose table has map coordinates (cluster-map) and a JSON link cell (json-html)."""
    db = folder / "data.db"
    if not db.exists():
        con = sqlite3.connect(db)
        con.execute("create table places (id integer primary key, name text, latitude real, longitude real, link text)")
        link = json.dumps({"href": "https://example.com/", "label": "Example"})
        con.execute("insert into places (name, latitude, longitude, link) values ('Paris', 48.85, 2.35, ?)", (link,))
        con.commit()
        con.close()
    return db


def _serve(artifact: Artifact, db: Path, *paths: str, serve: tuple[str, ...] = ("serve",)) -> list[str]:
    """Start ``serve`` on a free port, fetch ``paths`` once it answers, and stop it (with any child it started)."""
    port = _free_port()
    server = subprocess.Popen(
        [*artifact.command, *serve, str(db), "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env({"COREHOST_CACHE_DIR": str(artifact.cache)}),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=5):
                    break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    # Stopped first: its stderr ends only once every process that holds it is gone.
                    os.killpg(server.pid, signal.SIGKILL)
                    why = server.stderr.read() if server.stderr else ""
                    raise AssertionError(f"datasette did not start: {why}") from exc
                time.sleep(0.1)
        pages = []
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                pages.append(response.read().decode("utf-8"))
        return pages
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_datasette_serves_each_plugins_effect(datasette: Artifact) -> None:
    page, script = _serve(
        datasette,
        _places_db(datasette.path.parent),
        "/data/places",
        "/-/static-plugins/datasette-cluster-map/datasette-cluster-map.js",
    )
    # cluster-map adds its script to a table with latitude/longitude, served from its own package files.
    assert "datasette-cluster-map.js" in page
    assert "latitude" in script.lower()
    # json-html renders the JSON cell {"href": ..., "label": ...} as a link.
    assert '<a href="https://example.com/">Example</a>' in page


def test_datasette_reload_serves_from_a_child_interpreter(datasette_pyz: Artifact) -> None:
    """``--reload`` serves from a worker hupper starts as ``sys.executable -c``: it imports datasette from the .pyz."""
    (page,) = _serve(datasette_pyz, _places_db(datasette_pyz.path.parent), "/data/places", serve=("--reload",))
    assert '<a href="https://example.com/">Example</a>' in page


def test_datasette_plugins_lists_exactly_the_built_ones(datasette: Artifact) -> None:
    result = datasette.run("plugins")
    assert result.returncode == 0, result.stderr
    # datasette-leaflet comes with datasette-cluster-map, which depends on it.
    assert sorted(p["name"] for p in json.loads(result.stdout)) == [
        "datasette-cluster-map",
        "datasette-json-html",
        "datasette-leaflet",
    ]


def test_datasette_install_is_refused_with_the_rebuild_command(datasette: Artifact) -> None:
    result = datasette.run("install", "datasette-vega")
    assert result.returncode == 1
    flag = "--output" if datasette.path.suffix == ".pyz" else "--venv"
    named = datasette.command[0] if flag == "--output" else str(datasette.path)
    built = ", ".join(f"{name} {_version(datasette, name)}" for name in DATASETTE_PLUGINS)
    assert result.stderr == (
        f"datasette: error: 'datasette install' is refused: {named} is a built bundle of datasette 0.65.5 with "
        f"exactly the plugins it was built with ({built}); nothing is installed into it or removed from it. To add "
        "datasette-vega, rebuild it (from the folder it was built in): corehost-build build --with "
        "datasette-cluster-map --with datasette-json-html --host datasette --with datasette-vega "
        f"{flag} {datasette.path}\n"
    )
    uninstall = datasette.run("uninstall", "datasette-json-html")
    assert uninstall.returncode == 1
    assert (
        "rebuild it (from the folder it was built in): corehost-build build --with datasette-cluster-map --host "
        in uninstall.stderr
    )


def _version(artifact: Artifact, name: str) -> str:
    packages = artifact.summary["packages"]
    assert isinstance(packages, list)
    return next(str(p["version"]) for p in packages if p["name"] == name)


def test_datasette_artifacts_carry_no_runtime_no_builder_and_no_pip(datasette: Artifact) -> None:
    names = {p["name"] for p in datasette.summary["packages"]}  # type: ignore[union-attr]
    assert {"datasette", *DATASETTE_PLUGINS} <= names
    assert not names & {"corehost", "corehost-build", "pip", "setuptools"}
    foreign = datasette.summary["foreign"]
    assert isinstance(foreign, dict)
    assert [e["package"].split()[0] for e in foreign["left_out"]] == ["pip", "setuptools"]
    assert foreign["entry"] == "datasette.cli:cli"


def test_build_info_and_verify(builder: Builder, datasette: Artifact) -> None:
    info = datasette.run("--version", env={"COREHOST_BUILD_INFO": "1"})
    assert info.returncode == 0, info.stderr
    record = json.loads(info.stdout)
    assert record["host"] == "datasette 0.65.5"
    assert record["kind"] == "foreign"
    assert [p.split()[0] for p in record["plugins"]] == list(DATASETTE_PLUGINS)
    verified = builder.ok("verify", str(datasette.path))
    assert "match the build record" in verified.stdout


def test_a_distribution_added_to_a_built_venv_stops_it(datasette_venv: Artifact, tmp_path: Path) -> None:
    site = next(datasette_venv.path.glob("lib/python3*/site-packages"))
    added = site / "datasette_sneaky-1.0.dist-info"
    added.mkdir()
    try:
        result = datasette_venv.run("plugins")
        assert result.returncode == 1
        assert "holds distribution(s) its build did not put there: datasette_sneaky-1.0" in result.stderr
        # The rebuild it suggests names this venv as its destination, so it runs as printed.
        assert result.stderr.rstrip().endswith(f"--venv {datasette_venv.path.resolve()}"), result.stderr
    finally:
        added.rmdir()


def test_llm_venv_runs_its_plugin_and_refuses_install(builder: Builder, llm_venv: Artifact) -> None:
    plugins = llm_venv.run("plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert [p["name"] for p in json.loads(plugins.stdout)] == ["llm-jq"]
    jq = llm_venv.run("jq", "--help")
    assert jq.returncode == 0, jq.stderr
    assert "Usage: llm jq" in jq.stdout
    refused = llm_venv.run("install", "llm-gpt4all")
    assert refused.returncode == 1
    assert "'llm install' is refused" in refused.stderr
    # sqlite-utils requires pip, so pip stays; nothing but llm requires setuptools.
    foreign = llm_venv.summary["foreign"]
    assert isinstance(foreign, dict)
    assert [e["package"].split()[0] for e in foreign["left_out"]] == ["setuptools"]
    assert not list(llm_venv.path.glob("lib/python3*/site-packages/setuptools"))
    assert f"--with llm-jq --host llm --with llm-gpt4all --venv {llm_venv.path}" in refused.stderr
    assert "match the build record" in builder.ok("verify", str(llm_venv.path)).stdout


def test_pytest_pyz_runs_a_test_folder_with_its_plugins(builder: Builder, pytest_pyz: Artifact, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n\n\ndef test_two():\n    pass\n")
    result = pytest_pyz.run(str(tests), "--timeout", "5", "-p", "no:cacheprovider", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Using --randomly-seed=" in result.stdout
    assert "timeout: 5.0s" in result.stdout
    assert "2 passed" in result.stdout
    assert "match the build record" in builder.ok("verify", str(pytest_pyz.path)).stdout


def test_a_rebuild_is_byte_identical(builder: Builder, datasette_pyz: Artifact, tmp_path: Path) -> None:
    plugins = [a for p in DATASETTE_PLUGINS for a in ("--with", p)]
    builder.ok("build", "--host", "datasette", *plugins, "--output", "again.pyz", cwd=tmp_path)
    assert (tmp_path / "again.pyz").read_bytes() == datasette_pyz.path.read_bytes()


def test_a_misspelt_hook_fails_the_build_and_writes_nothing(builder: Builder, tmp_path: Path) -> None:
    plugin = FOREIGN_FIXTURES / "datasette-fixture-misspelt"
    result = builder.run("build", "--host", "datasette", "--with", str(plugin), "--output", "bad.pyz", cwd=tmp_path)
    assert result.returncode != 0
    assert "datasette-fixture-misspelt" in result.stderr
    assert "extra_css_url" in result.stderr
    assert not (tmp_path / "bad.pyz").exists()
    assert os.listdir(tmp_path) == []


def _tinyhost_plugin(where: Path, name: str = "tinyhost-good", code: str = "", deps: tuple[str, ...] = ()) -> Path:
    """A tinyhost plugin project; by default the typo fixture with its hook spelt right."""
    if not code:
        typo = FOREIGN_FIXTURES / "tinyhost-fixture-typo" / "src" / "tinyhost_fixture_typo" / "__init__.py"
        code = typo.read_text(encoding="utf-8").replace("tinyhost_greting", "tinyhost_greeting")
    package = name.replace("-", "_")
    project = where / name
    (project / "src" / package).mkdir(parents=True)
    (project / "src" / package / "__init__.py").write_text(code, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1"\ndependencies = {json.dumps(["tinyhost", *deps])}\n\n'
        f'[project.entry-points."tinyhost.plugins"]\n{package} = "{package}"\n\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["src/{package}"]\n',
        encoding="utf-8",
    )
    return project


def test_an_undescribed_pluggy_host_is_described_then_built(builder: Builder, tmp_path: Path) -> None:
    host, good = str(FOREIGN_FIXTURES / "tinyhost"), str(_tinyhost_plugin(tmp_path))
    built = builder.ok("build", "--host", host, "--with", good, "--venv", "dist/t", cwd=tmp_path)
    assert "tinyhost: described from its own metadata: project 'tinyhost'; hookspecs tinyhost.hookspecs" in built.stderr
    run = subprocess.run([tmp_path / "dist/t/bin/tinyhost", "Bob"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "hi Bob" in run.stdout
    assert "match the build record" in builder.ok("verify", "dist/t", cwd=tmp_path).stdout
    # The launcher that replaced the host's console script is in the record too: an edit to it is found.
    with open(tmp_path / "dist/t/bin/tinyhost", "a", encoding="utf-8") as launcher:
        launcher.write("\n")
    changed = builder.run("verify", "dist/t", cwd=tmp_path)
    assert changed.returncode != 0
    assert "file ../../../bin/tinyhost of distribution tinyhost 1.2.0 was changed" in changed.stderr
    typo = str(FOREIGN_FIXTURES / "tinyhost-fixture-typo")
    failed = builder.run("build", "--host", host, "--with", typo, "--output", "t.pyz", cwd=tmp_path)
    assert failed.returncode != 0
    assert "no hookspec of tinyhost is named 'tinyhost_greting' (did you mean 'tinyhost_greeting'?)" in failed.stderr
    assert not (tmp_path / "t.pyz").exists()


def test_a_build_file_host_table_describes_the_host(builder: Builder, tmp_path: Path) -> None:
    good = _tinyhost_plugin(tmp_path)
    (tmp_path / "build.toml").write_text(
        f'with = ["{good}"]\noutput = "t.pyz"\n\n[host]\ndistribution = "tinyhost"\nproject = "tinyhost"\n'
        'hookspecs = ["tinyhost.hookspecs"]\ngroups = ["tinyhost.plugins"]\nscript = "tinyhost"\n'
        'refuse = ["install"]\n',
        encoding="utf-8",
    )
    host = FOREIGN_FIXTURES / "tinyhost"
    (tmp_path / "wheels").mkdir()
    build_wheel(host, tmp_path / "wheels")
    builder.ok("build", "-c", "build.toml", "--find-links", "wheels", cwd=tmp_path)
    artifact = Artifact(tmp_path / "t.pyz", [str(tmp_path / "t.pyz")], {}, tmp_path / "cache")
    assert "hi Ann" in artifact.run("Ann").stdout
    refused = artifact.run("install", "tinyhost-other")
    assert refused.returncode == 1
    assert "corehost-build build -c build.toml --find-links wheels --with tinyhost-other --output" in refused.stderr
    assert refused.stderr.rstrip().endswith(f"--output {tmp_path / 't.pyz'}")


def test_run_starts_the_foreign_hosts_own_command(builder: Builder, tmp_path: Path) -> None:
    host, good = str(FOREIGN_FIXTURES / "tinyhost"), str(_tinyhost_plugin(tmp_path))
    result = builder.run("run", "-q", "--host", host, "--with", good, "--", "Eve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hi Eve" in result.stdout
    listed = builder.ok("list-modules", "-q", "--host", host, "--with", good, cwd=tmp_path)
    assert listed.stdout == ("tinyhost.plugins: tinyhost_good = tinyhost_good (tinyhost-good 0.1): tinyhost_greeting\n")


def test_the_finished_bundle_is_checked_as_it_ships(builder: Builder, tmp_path: Path) -> None:
    """A plugin that imports what only a .pth file (which a bundle leaves out) makes importable fails the build."""
    dep = tmp_path / "fx-pth-dep"
    (dep / "hidden").mkdir(parents=True)
    (dep / "hidden" / "only_via_pth.py").write_text("ANSWER = 42\n", encoding="utf-8")
    (dep / "fx_pth_dep.pth").write_text("fx_pth_hidden\n", encoding="utf-8")
    (dep / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "fx-pth-dep"\nversion = "1.0"\n\n'
        '[tool.hatch.build.targets.wheel.force-include]\n"fx_pth_dep.pth" = "fx_pth_dep.pth"\n'
        '"hidden" = "fx_pth_hidden"\n',
        encoding="utf-8",
    )
    (tmp_path / "wheels").mkdir()
    build_wheel(dep, tmp_path / "wheels")
    user = _tinyhost_plugin(tmp_path, "tinyhost-pth-user", "import only_via_pth\n", ("fx-pth-dep",))
    out = tmp_path / "keep.pyz"
    out.write_bytes(b"old bundle")
    host = str(FOREIGN_FIXTURES / "tinyhost")
    args = ("--host", host, "--with", str(user), "--find-links", "wheels", "--output", "keep.pyz")
    result = builder.run("build", *args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "the finished bundle fails the interface guards in plugin(s) tinyhost-pth-user" in result.stderr
    assert "fx_pth_dep.pth (a .pth file: a bundle does not process them, as it runs without the site module" in (
        result.stderr
    )
    assert "No module named 'only_via_pth'" in result.stderr
    assert out.read_bytes() == b"old bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fx-pth-dep", "keep.pyz", "tinyhost-pth-user", "wheels"]


def test_nothing_outside_the_build_is_loaded_as_a_plugin(datasette: Artifact, tmp_path: Path) -> None:
    """PYTHONPATH (and a user's site-packages) holding a datasette plugin adds nothing to a built artifact."""
    extra = tmp_path / "extra"
    (extra / "datasette_intruder-1.0.dist-info").mkdir(parents=True)
    (extra / "datasette_intruder-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: datasette-intruder\nVersion: 1.0\n", encoding="utf-8"
    )
    (extra / "datasette_intruder-1.0.dist-info" / "entry_points.txt").write_text(
        "[datasette]\nintruder = datasette_intruder\n", encoding="utf-8"
    )
    (extra / "datasette_intruder.py").write_text("", encoding="utf-8")
    env = {"PYTHONPATH": str(extra), "PYTHONUSERBASE": str(extra)}
    commands = [datasette.command]
    if datasette.path.suffix == ".pyz":
        commands.append([sys.executable, str(datasette.path)])  # started by hand: it starts itself again isolated
    for command in commands:
        listed = Artifact(datasette.path, command, datasette.summary, datasette.cache).run("plugins", env=env)
        assert listed.returncode == 0, listed.stderr
        assert "datasette-intruder" not in listed.stdout
        assert "datasette-cluster-map" in listed.stdout


def test_a_build_from_a_lock_refuses_install_with_a_command_that_works(builder: Builder, llm_venv: Artifact) -> None:
    """--from-lock takes no --with: the refusal names the locked host and plugins instead, and the lock to update."""
    where = llm_venv.path.parent.parent
    builder.ok("build", "--from-lock", "pylock.toml", "--venv", "dist/again", cwd=where)
    again = Artifact(where / "dist" / "again", [str(where / "dist" / "again" / "bin" / "llm")], {}, llm_venv.cache)
    refused = again.run("install", "llm-gpt4all")
    assert refused.returncode == 1
    jq = _version(llm_venv, "llm-jq")
    llm = _version(llm_venv, "llm")
    assert refused.stderr.rstrip().endswith(
        f"corehost-build build --host llm=={llm} --with llm-jq=={jq} --lock pylock.toml --with llm-gpt4all "
        f"--venv {where / 'dist' / 'again'}"
    )


def test_a_with_that_is_no_plugin_of_the_host_is_refused(builder: Builder, tmp_path: Path) -> None:
    host, good = str(FOREIGN_FIXTURES / "tinyhost"), str(_tinyhost_plugin(tmp_path))
    args = ("build", "--host", host, "--with", good, "--with", "pluggy", "--venv", "dist/t")
    refused = builder.run(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert (
        "--with pluggy: distribution pluggy has no entry point in tinyhost's plugin group(s) 'tinyhost.plugins', so "
        "tinyhost would never load it; nothing was written to the destination." in refused.stderr
    )
    assert not (tmp_path / "dist" / "t").exists()
    assert list((tmp_path / "dist").iterdir()) == []
    builder.ok(*args, "--allow-plain", "pluggy", cwd=tmp_path)
    assert (tmp_path / "dist" / "t" / "bin" / "tinyhost").exists()


#: Tests run by a built pytest in its xdist workers: each starts children of its own, the ways hosts and plugins
#: do (a multiprocessing spawn, ``sys.executable -c``), and writes what the child could import to $CHILD_REPORT.
CHILD_TESTS = """
import json, multiprocessing, os, subprocess, sys


def _pluggy_file(queue):
    import pluggy

    queue.put(pluggy.__file__)


def test_a_spawned_child_imports_the_bundled_pluggy():
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_pluggy_file, args=(queue,))
    child.start()
    where = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    with open(os.environ["CHILD_REPORT"] + ".spawn", "w") as f:
        f.write(where)


def test_a_child_sees_exactly_the_built_distributions():
    code = "import importlib.metadata as m; print(sorted({d.metadata['Name'].lower() for d in m.distributions()}))"
    child = subprocess.run([sys.executable, "-u", "-c", code], capture_output=True, text=True, check=True)
    with open(os.environ["CHILD_REPORT"] + ".dists", "w") as f:
        f.write(child.stdout)


def test_in_a_worker():
    assert os.environ["PYTEST_XDIST_WORKER"].startswith("gw")
"""


@pytest.fixture(params=["pyz", "venv"])
def built_pytest(request: pytest.FixtureRequest) -> Artifact:
    artifact: Artifact = request.getfixturevalue(f"pytest_{request.param}")
    return artifact


def test_child_interpreters_see_exactly_the_built_distributions(built_pytest: Artifact, tmp_path: Path) -> None:
    """xdist's workers, a multiprocessing spawn and ``sys.executable -c`` in them import the artifact's packages only.

    PYTHONPATH and the user's site-packages name a distribution the children must not see.
    """
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_children.py").write_text(CHILD_TESTS, encoding="utf-8")
    extra = tmp_path / "extra"
    (extra / "intruder-1.0.dist-info").mkdir(parents=True)
    (extra / "intruder-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: intruder\nVersion: 1.0\n", encoding="utf-8"
    )
    report = tmp_path / "report"
    env = {"PYTHONPATH": str(extra), "PYTHONUSERBASE": str(extra), "CHILD_REPORT": str(report)}
    args = ("-n", "2", "-p", "no:cacheprovider", "-p", "no:randomly")
    result = built_pytest.run(str(tests), *args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created: 2/2 workers" in result.stdout
    assert "3 passed" in result.stdout
    built = sorted(str(p["name"]) for p in built_pytest.summary["packages"])  # type: ignore[union-attr]
    assert json.loads(Path(f"{report}.dists").read_text().replace("'", '"')) == built
    pluggy = Path(f"{report}.spawn").read_text()
    assert pluggy.startswith(str(built_pytest.cache if built_pytest.path.suffix == ".pyz" else built_pytest.path))


def test_isolate_is_refused_for_a_foreign_host(builder: Builder, tmp_path: Path) -> None:
    host, good = str(FOREIGN_FIXTURES / "tinyhost"), str(_tinyhost_plugin(tmp_path))
    refused = builder.run(
        "build", "--host", host, "--with", good, "--isolate", "tinyhost_good", "--venv", "dist/t", cwd=tmp_path
    )
    assert refused.returncode == 2, refused.stderr
    assert (
        "--isolate tinyhost_good: tinyhost is a foreign host (a pluggy application, built as it is), so it has no "
        "corehost modules to run in a process of their own" in refused.stderr
    )
    assert list((tmp_path / "dist").iterdir()) == []


def test_the_cache_a_pyz_unpacks_into_is_listed_and_cleaned(pytest_pyz: Artifact, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    where = {"COREHOST_CACHE_DIR": str(cache)}
    assert pytest_pyz.run("--version", env=where).returncode == 0
    other = cache / ("0" * 32)
    other.mkdir()  # another bundle's folder
    listed = pytest_pyz.run(env={**where, "COREHOST_BUNDLE_CACHE": "list"})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[:2] == [f"cache: {cache}", f"  {other.name}  0.0 MB"]
    assert len(lines) == 3
    assert re.fullmatch(r"  [0-9a-f]{32}  [1-9]\d*\.\d MB \(current\)", lines[2]), lines
    cleaned = pytest_pyz.run(env={**where, "COREHOST_BUNDLE_CACHE": "clean"})
    assert cleaned.stdout == f"removed {other}\n1 directory removed\n"
    assert [p.name for p in cache.iterdir()] == [lines[2].split()[0]]
    everything = pytest_pyz.run(env={**where, "COREHOST_BUNDLE_CACHE": "clean-all"})
    assert everything.stdout == f"removed {cache / lines[2].split()[0]}\n1 directory removed\n"
    assert list(cache.iterdir()) == []
    wrong = pytest_pyz.run(env={**where, "COREHOST_BUNDLE_CACHE": "show"})
    assert wrong.returncode == 1
    assert wrong.stderr == (
        f"pytest: error: COREHOST_BUNDLE_CACHE='show' names no cache command; set it to list (the unpacked bundles "
        f"in {cache}, their size, and which one is this), clean (remove all but this one) or clean-all (this one "
        "too), or unset it to run the host.\n"
    )


def test_a_run_venv_is_still_up_to_date(builder: Builder, llm_venv: Artifact) -> None:
    """Running a venv writes nothing into it (the build made its child interpreter): a rebuild has nothing to do."""
    assert llm_venv.run("--version").returncode == 0
    assert (llm_venv.path / "bin" / ".python" / "python._pth").is_file()
    again = builder.ok(
        "build", "--host", "llm", "--with", "llm-jq", "--venv", "dist/llm", cwd=llm_venv.path.parent.parent
    )
    assert "is up to date" in again.stderr, again.stderr
