"""Single-file bundles (issue 4): one file that runs, reproducibly, with compiled code too."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.builder.conftest import Builder, MakePlugin
from tests.conftest import ROOT, clean_env

PLUGINS = ("--plugins-dir", "plugins")

COMPILED_CODE = """
import sys

import click
import markupsafe

from corehost import hookimpl


@hookimpl
def corehost_add_commands(cli):
    @cli.command("escape")
    @click.argument("text")
    def escape(text):
        click.echo(str(markupsafe.escape(text)))
        click.echo("compiled" if "markupsafe._speedups" in sys.modules else "pure-python")
"""


def run_pyz(
    pyz: Path, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(pyz), *args], capture_output=True, text=True, env=clean_env(env), cwd=cwd, timeout=120
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_compiled_project(root: Path) -> Path:
    """``root/fixture-compiled``: a plugin whose command uses markupsafe's C extension (from the index)."""
    project = root / "fixture-compiled"
    (project / "src" / "fixture_compiled").mkdir(parents=True)
    (project / "src" / "fixture_compiled" / "__init__.py").write_text(COMPILED_CODE)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "fixture-compiled"\nversion = "1.0"\n'
        'dependencies = ["corehost>=0.1,<0.2", "click>=8.1", "markupsafe>=2.1"]\n'
        '[project.entry-points."corehost.plugins"]\ncompiled = "fixture_compiled"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/fixture_compiled"]\n'
    )
    return project


@pytest.fixture(scope="module")
def pure_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pure") / "dist" / "corehost.pyz"
    builder.ok("build", *PLUGINS, "--output", out)
    # Unpacked into the session's cache once: what the import tests measure is a later start's.
    assert run_pyz(out, "version").returncode == 0
    return out


@pytest.fixture(scope="module")
def compiled_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle whose plugin depends on a package with a C extension (markupsafe, from the index)."""
    root = tmp_path_factory.mktemp("compiled")
    project = write_compiled_project(root)
    out = root / "compiled.pyz"
    builder.ok("build", "--with", project, "--output", out)
    return out


def test_pyz_runs_every_command_like_a_venv(pure_pyz: Path) -> None:
    assert run_pyz(pure_pyz, "greet", "Bob", "--lang", "zh").stdout == "你好, Bob!\n"
    demo = run_pyz(pure_pyz, "run", "--config", "examples/greet.toml")
    assert demo.returncode == 0, demo.stderr
    assert "« 你好, Bob！ »" in demo.stdout
    assert run_pyz(pure_pyz, "languages").stdout.splitlines()[0] == "de: Hallo, World!"
    modules = run_pyz(pure_pyz, "list-modules", "--packages", "--versions").stdout.splitlines()
    assert "greeters.zh  corehost-greeter-zh  0.1.0" in modules
    info = run_pyz(pure_pyz, "build-info").stdout
    assert "registry: frozen" in info
    assert "corehost-build" in info and "--plugins-dir plugins" in info
    assert any(line.strip().startswith("pluggy ") and "sha256:" in line for line in info.splitlines())


def test_pyz_runs_through_its_shebang(pure_pyz: Path) -> None:
    assert os.access(pure_pyz, os.X_OK)
    result = subprocess.run([str(pure_pyz), "greet", "Bob"], capture_output=True, text=True, env=clean_env())
    assert result.stdout == "Hello, Bob!\n", result.stderr


def site_names(pyz: Path) -> set[str]:
    """The files of a bundle's site: the entries of the zip stored as its ``site.zip``."""
    with zipfile.ZipFile(pyz) as zf, zipfile.ZipFile(zf.open("site.zip")) as site:
        return {i.filename for i in site.infolist()}


def started(pyz: Path, cache: Path, *args: str) -> str:
    """The ``python -v`` trace (stderr) of ``pyz ARGS`` unpacking into ``cache``: every import, and from where."""
    result = subprocess.run(
        [sys.executable, "-v", str(pyz), *args], capture_output=True, text=True,
        env=clean_env({"COREHOST_CACHE_DIR": str(cache)}), cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_the_archive_holds_its_start_and_one_stored_site_zip(pure_pyz: Path) -> None:
    with zipfile.ZipFile(pure_pyz) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert sorted(infos) == ["__main__.py", "__main__.pyc", "corehost-manifest.json", "site.zip"]
    # Stored: a start reads the site in place, and reading __main__ inflates nothing (zlib is not imported).
    assert {n for n, i in infos.items() if i.compress_type == zipfile.ZIP_STORED} == {
        "site.zip", "__main__.py", "__main__.pyc"
    }  # fmt: skip
    names = site_names(pure_pyz)
    tag = sys.implementation.cache_tag
    assert {
        "corehost/cli.py",
        f"corehost/__pycache__/cli.{tag}.pyc",
        f"__pycache__/_corehost_frozen.{tag}.pyc",
    } <= names
    assert not any(n.startswith(("pip/", "corehost_build/", "bin/")) for n in names)
    assert not any(n.endswith(("/RECORD", "/direct_url.json")) for n in names)
    assert not any(n.endswith(".pyc") and "__pycache__" not in n for n in names)


def test_the_id_is_a_hash_of_every_file_unpacked(pure_pyz: Path) -> None:
    """The folder a start unpacks into is named by the content: a changed bundle never reuses a stale one."""
    with zipfile.ZipFile(pure_pyz) as zf:
        main = zf.read("__main__.py").decode()
        with zipfile.ZipFile(zf.open("site.zip")) as site:
            digest = hashlib.sha256()
            for name in sorted(site.namelist()):
                digest.update(name.encode() + b"\0" + hashlib.sha256(site.read(name)).digest())
    assert f"'id': '{digest.hexdigest()[:32]}'" in main


def test_a_first_start_unpacks_and_a_later_one_imports_nothing_from_the_archive(pure_pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = started(pure_pyz, cache, "version")
    (folder,) = cache.iterdir()
    assert (folder / "corehost" / "cli.py").is_file()
    assert f"code object from '{folder}/corehost/__pycache__/cli." in first
    later = started(pure_pyz, cache, "list-modules")
    # zipimport reads the archive once, for __main__, and finds only its four entries.
    assert [line for line in later.splitlines() if "zipimport: found" in line] == [
        f"# zipimport: found 4 names in '{pure_pyz}'"
    ]
    loaded = [line for line in later.splitlines() if line.startswith("# code object from ")]
    corehost = [line for line in loaded if "/corehost/" in line]
    assert corehost and all(line.startswith(f"# code object from '{folder}/") for line in corehost), corehost
    # Bytecode from the build, under __pycache__: nothing is compiled from a source.
    assert not [line for line in loaded if line.endswith(".py'")]
    assert [p.name for p in cache.iterdir()] == [folder.name]


#: Holds a bundle's folder as a start does (its own ``enter``), says so, then runs until stdin closes.
HOLD = """
import runpy, sys
archive = sys.argv[1]
runpy.run_path(archive, run_name="corehost_bundle")["enter"](archive)
print(sys.path[0], flush=True)
sys.stdin.read()
"""


def test_a_rebuilt_bundle_unpacks_anew_and_removes_its_older_folders_no_process_uses(
    builder: Builder, tmp_path: Path
) -> None:
    """Rebuilt in place with one plugin edited: the next start unpacks the new files, never reusing the old folder.

    Its first start removes the folders of older builds of the same file, except one that a running
    process started from (it goes at the next new build's first start).
    """
    from tests.builder.conftest import copy_project

    english = copy_project(ROOT / "plugins" / "greeter-en", tmp_path / "greeter-en")
    module = english / "src" / "corehost_greeter_en" / "__init__.py"
    out, cache = tmp_path / "g.pyz", tmp_path / "cache"
    env = clean_env({"COREHOST_CACHE_DIR": str(cache)})

    def rebuild(punctuation: str) -> str:
        text = re.sub(r'punctuation: str = "!*"', f'punctuation: str = "{punctuation}"', module.read_text())
        module.write_text(text)
        builder.ok("build", "--with", "./plugins/greet", "--with", english, "--output", out)
        greeting = run_pyz(out, "greet", "Bob", env={"COREHOST_CACHE_DIR": str(cache)})
        assert greeting.stdout == f"Hello, Bob{punctuation}\n", greeting.stderr
        return sorted(p.name for p in cache.iterdir())

    (first,) = rebuild("!")
    with subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=env) as holder:  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline().strip() == str(cache / first)
        second = rebuild("!!")
        assert first in second and len(second) == 2, "the running process's folder is kept"
        assert holder.stdin is not None
        holder.stdin.close()
    (third,) = rebuild("!!!")
    assert third not in second


def test_double_build_is_byte_identical(builder: Builder, tmp_path: Path, pure_pyz: Path) -> None:
    """Another folder AND an empty builder cache: nothing of either may reach the bytes."""
    again = tmp_path / "elsewhere" / "corehost.pyz"
    users = tmp_path / "users-cache"
    result = builder.venv.run(
        "corehost-build", "build", *PLUGINS, "--output", str(again),
        env={"COREHOST_BUILD_CACHE": str(tmp_path / "fresh-cache"), "COREHOST_CACHE_DIR": str(users)}, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sha256(again) == sha256(pure_pyz)
    # The check inside the finished bundle ran (a fresh builder cache), and unpacked into a folder of its own.
    assert "guards passed inside it" in result.stderr
    assert not users.exists()


def test_source_date_epoch_sets_every_timestamp(builder: Builder, tmp_path: Path) -> None:
    out = tmp_path / "dated.pyz"
    result = builder.venv.run(
        "corehost-build", "build", *PLUGINS, "--output", str(out),
        env={"COREHOST_BUILD_CACHE": str(builder.cache), "SOURCE_DATE_EPOCH": "1700000000"}, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as zf, zipfile.ZipFile(zf.open("site.zip")) as site:
        assert {i.date_time for i in [*zf.infolist(), *site.infolist()]} == {(2023, 11, 14, 22, 13, 20)}


def test_compiled_extension_is_loaded_from_the_unpacked_bundle(compiled_pyz: Path, tmp_path: Path) -> None:
    env = {"COREHOST_CACHE_DIR": str(tmp_path / "cache")}
    result = run_pyz(compiled_pyz, "escape", "<b>", env=env)
    assert result.stdout.splitlines() == ["&lt;b&gt;", "compiled"], result.stderr
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_concurrent_first_runs_share_one_unpacked_directory(compiled_pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: run_pyz(compiled_pyz, "escape", "&", env={"COREHOST_CACHE_DIR": str(cache)}),
                                range(6)))  # fmt: skip
    for r in results:
        assert r.stdout.splitlines() == ["&amp;", "compiled"], r.stderr
    (only,) = cache.iterdir()
    assert not only.name.startswith(".tmp-")


def test_cache_clean_removes_stale_directories_not_the_current_one(compiled_pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"COREHOST_CACHE_DIR": str(cache)}
    assert run_pyz(compiled_pyz, "escape", "x", env=env).returncode == 0
    (current,) = cache.iterdir()
    stale = cache / ("0" * 32)
    stale.mkdir()
    (stale / "old.py").write_text("x = 1\n")
    listing = run_pyz(compiled_pyz, "cache", "list", env=env).stdout
    assert f"{current.name}" in listing and "(current)" in listing
    cleaned = run_pyz(compiled_pyz, "cache", "clean", env=env)
    assert cleaned.returncode == 0, cleaned.stderr
    assert [p.name for p in cache.iterdir()] == [current.name]
    assert "1 directory removed" in cleaned.stdout


def test_cache_clean_keeps_a_folder_another_running_process_uses(pure_pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"COREHOST_CACHE_DIR": str(cache)}
    with subprocess.Popen([sys.executable, "-c", HOLD, str(pure_pyz)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=clean_env(env)) as holder:  # fmt: skip
        assert holder.stdout is not None
        held = Path(holder.stdout.readline().strip())
        older = cache / ("1" * 32)
        older.mkdir()
        (older / "old.py").write_text("x = 1\n")
        cleaned = run_pyz(pure_pyz, "cache", "clean", "--all", env=env)
        assert cleaned.returncode == 0, cleaned.stderr
        assert f"kept {held} (a running process uses it)" in cleaned.stdout
        assert f"removed {older}" in cleaned.stdout and "1 directory removed" in cleaned.stdout
        assert sorted(cache.iterdir()) == [held]
        assert holder.stdin is not None
        holder.stdin.close()
    cleaned = run_pyz(pure_pyz, "cache", "clean", "--all", env=env)
    assert f"removed {held}" in cleaned.stdout, "with no other process, --all removes the running bundle's own folder"
    assert list(cache.iterdir()) == []


def test_unwritable_cache_falls_back_with_a_warning(compiled_pyz: Path, tmp_path: Path) -> None:
    unset = {"COREHOST_CACHE_DIR": "", "XDG_CACHE_HOME": "/proc/no-such-dir", "HOME": "/proc/nope",
             "TMPDIR": str(tmp_path)}  # fmt: skip
    result = run_pyz(compiled_pyz, "escape", "x", env=unset)
    assert result.returncode == 0, result.stderr
    assert "is not writable" in result.stderr and "instead" in result.stderr
    again = run_pyz(compiled_pyz, "escape", "x", env=unset)
    assert again.returncode == 0 and again.stdout == result.stdout, again.stderr
    assert again.stderr == "", "a later start finds the fallback folder and says nothing more"
    forced = run_pyz(compiled_pyz, "escape", "x", env={"COREHOST_CACHE_DIR": "/proc/no-such-dir"})
    assert forced.returncode == 1
    assert forced.stderr.startswith("corehost: error: cannot unpack the bundle into /proc/no-such-dir")
    assert "COREHOST_CACHE_DIR" in forced.stderr


def test_bundle_for_another_platform_refuses_to_start_here(
    builder: Builder, compiled_pyz: Path, tmp_path: Path
) -> None:
    machine = os.uname().machine
    other = "aarch64-manylinux_2_28" if machine == "x86_64" else "x86_64-manylinux_2_28"
    project = compiled_pyz.parent / "fixture-compiled"
    out = tmp_path / "foreign.pyz"
    built = builder.run("build", "--with", project, "--output", out, "--platform", other)
    assert built.returncode == 0, built.stderr
    assert any(n.endswith(".so") and other.split("-")[0] in n for n in site_names(out))
    result = run_pyz(out, "escape", "x", env={"COREHOST_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert "holds compiled code for linux-" in result.stderr and f"running on linux-{machine}" in result.stderr


def test_python_version_must_match_the_build_interpreter(builder: Builder, tmp_path: Path) -> None:
    result = builder.build(*PLUGINS, "--output", tmp_path / "x.pyz", "--python-version", "3.99")
    assert result.returncode == 2
    assert "--python-version 3.99" in result.stderr and "Pass --python" in result.stderr
    assert not (tmp_path / "x.pyz").exists()


def test_failed_bundle_build_leaves_the_old_file(builder: Builder, make_plugin: MakePlugin, tmp_path: Path) -> None:
    out = tmp_path / "keep.pyz"
    out.write_bytes(b"old bundle")
    bad = make_plugin("fx-pyz-bad", modules={"greeters.bad": "fx_pyz_bad:Missing"})
    result = builder.build("--with", "./plugins/greet", "--with", bad, "--output", out)
    assert result.returncode != 0
    assert "fx-pyz-bad" in result.stderr
    assert out.read_bytes() == b"old bundle"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []


def test_the_bundle_does_not_carry_the_builder_or_pip(pure_pyz: Path) -> None:
    tops = {n.split("/")[0] for n in site_names(pure_pyz)}
    # A top-level name up to its first '-' is a package or its dist-info: uvicorn is not uv.
    assert not {t.partition("-")[0] for t in tops} & {"pip", "corehost_build", "uv", "setuptools"}, tops


def test_test_folders_of_dependencies_ship_and_import(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    """A ``tests``/``testing`` package is importable like any other (``numpy.testing`` is public API)."""
    from tests.conftest import build_wheel

    dep = make_plugin("fx-dep-tested", code="VALUE = 1\n", dependencies=())
    for folder in ("tests", "testing"):
        (dep / "src" / "fx_dep_tested" / folder).mkdir()
        (dep / "src" / "fx_dep_tested" / folder / "__init__.py").write_text(f"WHERE = {folder!r}\n")
    code = "import fx_dep_tested.testing\nimport fx_dep_tested.tests\n"
    plugin = make_plugin("fx-uses-dep", code=code, dependencies=("fx-dep-tested",), plugins={"usesdep": "fx_uses_dep"})
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(dep, wheels)
    out = tmp_path / "t.pyz"
    result = builder.run("build", "--with", plugin, "--find-links", wheels, "--output", out, "--json")
    assert result.returncode == 0, result.stderr
    assert {"fx_dep_tested/tests/__init__.py", "fx_dep_tested/testing/__init__.py"} <= site_names(out)
    left_out = json.loads(result.stdout)["bundle"]["left_out"]
    assert not any("fx_dep_tested" in entry["path"] for entry in left_out), left_out


NUMPY_CODE = """
import click
import numpy.testing

from corehost import hookimpl


@hookimpl
def corehost_add_commands(cli):
    @cli.command("close")
    def close():
        numpy.testing.assert_allclose([1.0], [1.0 + 1e-12])
        click.echo("numpy.testing works")
"""


@pytest.fixture(scope="module")
def numpy_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A bundle of a plugin that imports ``numpy.testing`` (numpy from the index, cached by uv): path, stderr."""
    root = tmp_path_factory.mktemp("numpy")
    project = root / "fx-numpy"
    (project / "src" / "fx_numpy").mkdir(parents=True)
    (project / "src" / "fx_numpy" / "__init__.py").write_text(NUMPY_CODE)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "fx-numpy"\nversion = "1.0"\n'
        'dependencies = ["corehost>=0.1,<0.2", "click>=8.1", "numpy>=1.26"]\n'
        '[project.entry-points."corehost.plugins"]\nnumpy = "fx_numpy"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/fx_numpy"]\n'
    )
    out = root / "numpy.pyz"
    return out, builder.ok("build", "--with", project, "--output", out).stderr


def test_a_plugin_importing_numpy_testing_runs_from_the_bundle(
    builder: Builder, numpy_pyz: tuple[Path, str], tmp_path: Path
) -> None:
    pyz, stderr = numpy_pyz
    assert "guards passed inside it" in stderr
    assert "numpy/testing/__init__.py" in site_names(pyz)
    result = run_pyz(pyz, "close", env={"COREHOST_CACHE_DIR": str(tmp_path / "cache")})
    assert result.stdout == "numpy.testing works\n", result.stderr
    assert builder.ok("verify", pyz).stdout.startswith(f"{pyz}: OK, ")


def test_the_build_fails_naming_the_plugin_when_the_bundle_cannot_give_what_it_imports(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    """The guards run inside the finished file: what works in the staged venv but not from the bundle fails."""
    from tests.conftest import build_wheel

    # A dependency whose module is importable only through its .pth file, which a bundle leaves out.
    dep = make_plugin("fx-pth-dep", code="", dependencies=())
    (dep / "hidden").mkdir()
    (dep / "hidden" / "only_via_pth.py").write_text("ANSWER = 42\n")
    (dep / "fx_pth_dep.pth").write_text("fx_pth_hidden\n")
    (dep / "pyproject.toml").write_text(
        (dep / "pyproject.toml").read_text()
        + '\n[tool.hatch.build.targets.wheel.force-include]\n"fx_pth_dep.pth" = "fx_pth_dep.pth"\n'
        '"hidden" = "fx_pth_hidden"\n'
    )
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(dep, wheels)
    needs_pth = make_plugin("fx-pth-user", code="import only_via_pth\n", dependencies=("fx-pth-dep",),
                            plugins={"pthuser": "fx_pth_user"})  # fmt: skip
    # A plugin that reads a file beside its code at import: the bundle unpacks, so the file is there.
    reads = make_plugin("fx-reads-beside", code="import os\nWORDS = open(os.path.join(os.path.dirname(__file__), "
                        "'words.txt')).read()\n", plugins={"reads": "fx_reads_beside"})  # fmt: skip
    (reads / "src" / "fx_reads_beside" / "words.txt").write_text("hello\n")
    out = tmp_path / "keep.pyz"
    out.write_bytes(b"old bundle")
    result = builder.build("--with", needs_pth, "--with", reads, "--find-links", wheels, "--output", out)
    assert result.returncode == 1, result.stderr
    message = result.stderr.split("corehost-build: error: ", 1)[1]
    assert message.startswith(
        "the finished bundle fails the interface guards in plugin(s) fx-pth-user, which passed in the installed set"
    ), message
    assert "fx_pth_dep.pth (a .pth file: a bundle does not process them" in message
    assert "(distribution fx-pth-user): " in message and "No module named 'only_via_pth'" in message
    assert "fx-reads-beside" not in message
    assert "(distribution fx-pth-dep)" not in message
    assert out.read_bytes() == b"old bundle"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []


#: Runs a bundle as ``python BUNDLE ARGS`` would, then writes the names in ``sys.modules`` to a file.
#: (``-X importtime`` cannot tell: it does not report modules imported with importlib.import_module.)
RUN_AND_LIST_MODULES = """
import json, runpy, sys
out = sys.argv.pop(2)
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
"""


def imported(pyz: Path, tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """stdout, and every module in ``sys.modules`` after running ``pyz ARGS``."""
    listing = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, str(pyz), str(listing), *args], capture_output=True, text=True,
        env=clean_env(), cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout, set(json.loads(listing.read_text()))


def test_generated_modules_are_listed_without_running_their_hook(pure_pyz: Path, tmp_path: Path) -> None:
    listing, names = imported(pure_pyz, tmp_path, "list-modules")
    assert "greeters.es" in listing.split()
    assert "pluggy" not in names and "corehost_polyglot.hooks" not in names
    _, names = imported(pure_pyz, tmp_path, "run", "--config", "examples/greet.json")
    assert "corehost_polyglot.hooks" not in names, "a config that uses no generated module must not run the hook"
    greeting, names = imported(pure_pyz, tmp_path, "greet", "Bob", "--lang", "es")
    assert greeting == "Hola, Bob!\n" and "corehost_polyglot.hooks" in names


#: What listing a bundle imports beyond ``import click``: the registry's layer and the frozen registry.
LISTING = {
    "_corehost_frozen",
    "corehost",
    "corehost.cli",
    "corehost.discovery",
    "corehost.errors",
    "corehost.frozen",
    "corehost.hostspec",
    "corehost.ids",
    "corehost.interfaces",
    "corehost.registry",
}
#: The standard library's share of that: click's gettext reads the locale when it parses a command line.
LISTING_STDLIB = {"locale", "_locale"}


def click_imports(tmp_path: Path) -> set[str]:
    """What a script that only imports click has in ``sys.modules``, run by the same harness."""
    script = tmp_path / "only_click.py"
    script.write_text("import click\n")
    return imported(script, tmp_path)[1]


def test_list_modules_imports_no_host_guards_pluggy_or_plugin_code(pure_pyz: Path, tmp_path: Path) -> None:
    """Listing reads the frozen registry only: no lifecycle, no conformance engine, no pluggy, no plugin.

    Beyond what ``import click`` imports, it imports the registry's layer and nothing else: no
    dataclasses, pathlib, importlib.metadata or signal. ``inspect`` is not corehost's to leave out:
    click.core imports it at module level (click 8.5.1: 8 to 13 ms of the 30 to 45 ms of ``import click`` in
    ``python -X importtime``), so it is part of the baseline.
    """
    _, names = imported(pure_pyz, tmp_path, "list-modules")
    heavy = {"corehost.host", "corehost.context", "corehost.guards", "corehost.conformance", "corehost.plugins"}
    assert names & (heavy | {"pluggy"}) == set()
    plugin_code = ("corehost_greet", "corehost_polyglot", "corehost_greeter_en", "corehost_greeter_zh")
    assert [n for n in names if n.startswith(plugin_code)] == []
    extra = names - click_imports(tmp_path)
    assert extra <= LISTING | LISTING_STDLIB, sorted(extra - LISTING - LISTING_STDLIB)
    assert names & {"dataclasses", "pathlib", "importlib.metadata", "signal"} == set()


def test_run_of_one_json_config_imports_the_modules_it_uses_and_no_more(pure_pyz: Path, tmp_path: Path) -> None:
    """``run`` imports the lifecycle, the config's plugins and nothing a config that needs none of it would.

    No entry points are read (importlib.metadata), no path objects made (pathlib), no TOML parser,
    no guards, no pluggy (no plugin in the bundle implements a hook a run calls), and of the plugins
    only the modules the config names (and the namespace's interface).
    """
    _, names = imported(pure_pyz, tmp_path, "run", "--config", "examples/greet.json")
    extra = names - click_imports(tmp_path)
    never = {"pathlib", "importlib.metadata", "tomllib", "pluggy", "corehost.guards", "corehost.versions"}
    assert extra & never == set()
    plugin_code = sorted(n for n in extra if n.startswith(("corehost_greet", "corehost_polyglot")))
    assert plugin_code == ["corehost_greet", "corehost_greet.app", "corehost_greet.interfaces", "corehost_greeter_en",
                           "corehost_greeter_zh"]  # fmt: skip


def test_the_shipped_checks_laid_out_folder_is_what_a_start_unpacks(pure_pyz: Path, tmp_path: Path) -> None:
    """The build's check runs the bundle from a folder laid out from the staged files (linked where the
    bytes are theirs), not inflated again: that folder must be the very one a start unpacks, and start."""
    from corehost_build.zipapp import _lay_out

    with zipfile.ZipFile(pure_pyz) as zf, zipfile.ZipFile(zf.open("site.zip")) as site_zip:
        site = [(i.filename, site_zip.read(i)) for i in site_zip.infolist() if not i.is_dir()]
    staged = tmp_path / "staged"
    files = {}
    # Every other file is a staged one; the frozen registry never is (the build writes it).
    for name, data in [e for e in site if e[0] != "_corehost_frozen.py"][::2]:
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
        files[name] = staged / name
    unpacked = tmp_path / "cache"
    assert run_pyz(pure_pyz, "version", env={"COREHOST_CACHE_DIR": str(unpacked)}).returncode == 0
    (start_folder,) = unpacked.iterdir()
    laid = tmp_path / "laid" / start_folder.name
    _lay_out(laid, site, files)

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
                and not p.name.startswith(".corehost-")}  # fmt: skip

    assert tree(laid) == tree(start_folder)
    assert all((laid / name).stat().st_ino == path.stat().st_ino for name, path in files.items())
    listing = run_pyz(pure_pyz, "list-modules", env={"COREHOST_CACHE_DIR": str(laid.parent)})
    assert listing.returncode == 0 and "greeters.en" in listing.stdout, listing.stderr
    assert [p.name for p in laid.parent.iterdir()] == [start_folder.name], "the start used the laid-out folder"
