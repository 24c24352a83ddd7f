"""Which interpreters a bundle runs on (issue 10, item 7), tried with real other Pythons.

A pure-Python bundle built on one version runs on every CPython its locked
packages' Requires-Python admit: unpacked, its sources are compiled into the
cache where the interpreter is another version than its bytecode's; below that range it stops with a
message that names the range and suggests no rebuild (none could work). A
bundle with compiled code names the one version its extension modules load
in, and a rebuild command that, run as printed, gives a bundle that works
on the interpreter that was refused.

The other interpreters are pyenv's (never downloaded): a test is skipped
only when the version it needs is not installed on the machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from corehost_build.target import compiled_for, requires_python, spans_text
from packaging.specifiers import SpecifierSet

from tests.builder.conftest import Builder
from tests.builder.test_zipapp import write_compiled_project
from tests.conftest import ROOT, clean_env, project_name

PLUGINS = ("--plugins-dir", "plugins")
PROJECTS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def python(version: str) -> Path:
    """The pyenv interpreter for ``3.12`` (or one on PATH), or a skip naming what is missing."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(root.glob(f"versions/{version}.*/bin/python{version}")) or [
        Path(p) for p in filter(None, [shutil.which(f"python{version}")])
    ]
    if not found:
        pytest.skip(f"no Python {version} on this machine (looked in {root}/versions and on PATH)")
    return found[-1]


def requires(project: Path) -> str:
    """A project's Requires-Python, as its pyproject.toml declares it."""
    return str(tomllib.loads((project / "pyproject.toml").read_text())["project"].get("requires-python", ""))


def run_with(
    interpreter: Path, pyz: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(interpreter), str(pyz), *args], capture_output=True, text=True, env=clean_env(env), cwd=ROOT, timeout=120
    )


def _with_manifest(pyz: Path, dest: Path, old: str, new: str) -> Path:
    """A copy of ``pyz`` whose recorded manifest says ``new`` where it said ``old``."""
    with zipfile.ZipFile(pyz) as src, open(dest, "wb") as out:
        out.write(pyz.read_bytes().split(b"\n", 1)[0] + b"\n")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for info in src.infolist():
                if info.filename == "__main__.pyc":
                    continue
                data = src.read(info)
                if info.filename == "__main__.py":
                    assert old.encode() in data
                    data = data.replace(old.encode(), new.encode())
                zf.writestr(info, data)
    return dest


@pytest.fixture(scope="module")
def pure_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reach-pure") / "corehost.pyz"
    builder.ok("build", *PLUGINS, "--output", out)
    return out


@pytest.fixture(scope="module")
def compiled_pyz(builder: Builder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle holding markupsafe's C extension, built by this interpreter."""
    root = tmp_path_factory.mktemp("reach-compiled")
    project = write_compiled_project(root)
    out = root / "compiled.pyz"
    builder.ok("build", "--with", project, "--output", out)
    return out


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_pure_bundle_runs_on_every_python_its_packages_support(pure_pyz: Path, version: str, tmp_path: Path) -> None:
    interpreter = python(version)
    cache = tmp_path / "cache"
    # Bytecode may be written (the variable empty is unset): this version's goes into the unpacked folder.
    env = {"COREHOST_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": ""}
    result = run_with(interpreter, pure_pyz, "greet", "Bob", "--lang", "zh", env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "你好, Bob!\n", "")
    demo = run_with(interpreter, pure_pyz, "run", "--config", "examples/greet.toml", env=env)
    assert demo.returncode == 0 and "« 你好, Bob！ »" in demo.stdout, demo.stderr
    (folder,) = cache.iterdir()
    tag = f"cpython-{version.replace('.', '')}"
    assert (folder / "corehost" / "__pycache__" / f"cli.{tag}.pyc").is_file()
    assert (folder / "corehost" / "__pycache__" / f"cli.{sys.implementation.cache_tag}.pyc").is_file()


@pytest.mark.parametrize("version", ["3.10", "3.8"])
def test_python_below_the_locked_range_is_refused_with_no_rebuild_advice(
    pure_pyz: Path, compiled_pyz: Path, version: str
) -> None:
    interpreter = python(version)
    full = subprocess.run([str(interpreter), "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # The repo's own projects are what set >=3.11 in the pure bundle; the message names three, counts the rest.
    setters = sorted(project_name(p) for p in (ROOT, *PROJECTS) if requires(p) == ">=3.11")
    for pyz, why in (
        (pure_pyz, f"{', '.join(setters[:3])} and {len(setters) - 3} more"),
        (compiled_pyz, "corehost"),
    ):
        result = run_with(interpreter, pyz, "greet", "Bob")
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr == (
            f"corehost: error: this bundle runs on CPython >=3.11 (the Requires-Python of {why}), but this is "
            f"CPython {full} ({interpreter}); run it with a CPython >=3.11 interpreter.\n"
        )


def test_the_start_up_check_imports_nothing_to_compare_versions(pure_pyz: Path) -> None:
    """The refusal runs the bootstrap alone: what it imported is all a start-up pays for the check."""
    result = subprocess.run([str(python("3.10")), "-X", "importtime", str(pure_pyz), "version"],
                            capture_output=True, text=True, env=clean_env())  # fmt: skip
    assert result.returncode == 1
    imported = {
        line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "zipimport" in imported
    heavy = {"packaging", "importlib.metadata", "email", "shlex", "zipfile", "tempfile", "corehost"}
    assert not {name.split(".")[0] for name in imported} & heavy and "importlib.metadata" not in imported


def test_compiled_bundle_names_its_python_and_a_rebuild_that_works(
    builder: Builder, compiled_pyz: Path, tmp_path: Path
) -> None:
    interpreter = python("3.12")
    bundle = tmp_path / "compiled.pyz"
    shutil.copy2(compiled_pyz, bundle)
    env = {"COREHOST_CACHE_DIR": str(tmp_path / "cache")}
    refused = run_with(interpreter, bundle, "escape", "<b>", env=env)
    assert refused.returncode == 1 and refused.stdout == ""
    prefix = (
        f"corehost: error: this bundle holds compiled code for CPython {HERE} only "
        f"(markupsafe/_speedups.cpython-{HERE.replace('.', '')}-"
    )
    assert refused.stderr.startswith(prefix), refused.stderr
    assert "--python-version" not in refused.stderr
    advice = re.fullmatch(
        rf".*, but this is CPython 3\.12\.\d+ \({re.escape(str(interpreter))}\); run it with a CPython {HERE} "
        r"interpreter, or rebuild it for this one \(from the folder it was built in\): (corehost-build build .*)\n",
        refused.stderr,
        re.DOTALL,
    )
    assert advice, refused.stderr
    command = shlex.split(advice.group(1))
    assert command[-4:] == ["--output", str(bundle), "--python", str(interpreter)]
    rebuilt = builder.run(*command[1:], cwd=ROOT)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert run_with(interpreter, bundle, "escape", "<b>", env=env).stdout.splitlines() == ["&lt;b&gt;", "compiled"]
    back = run_with(Path(sys.executable), bundle, "escape", "<b>", env=env)
    assert back.returncode == 1 and "holds compiled code for CPython 3.12 only" in back.stderr


def test_another_implementation_is_refused_naming_it(pure_pyz: Path, tmp_path: Path) -> None:
    copy = _with_manifest(pure_pyz, tmp_path / "pypy.pyz", f"'python': 'cpython-{HERE}'", f"'python': 'pypy-{HERE}'")
    result = run_with(Path(sys.executable), copy, "list-modules")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("corehost: error: this bundle runs on PyPy only, but this is CPython ")
    assert result.stderr.endswith("; run it with PyPy.\n")


SPECIFIERS = [">=3.11", ">=3.8,!=3.9.*,<4", "~=3.11", "~=3.11.2", "==3.11.*", ">3.11", "<=3.12", ">=3.11.0.1",
              "==3.12", "!=3.12.1", ">=3.7, <3.13", "", ">=3.11.0rc1", "===3.12.0"]  # fmt: skip


@pytest.mark.parametrize("specifier", SPECIFIERS)
def test_requires_python_becomes_ranges_that_admit_what_pip_admits(specifier: str) -> None:
    (spans, _) = requires_python([f"Metadata-Version: 2.1\nName: p\nRequires-Python: {specifier}\n\nbody"])
    for release in [(3, minor, micro) for minor in range(16) for micro in range(4)] + [(4, 0, 0)]:
        within = any(low <= release and (high is None or release < high) for low, high in spans)
        assert within == SpecifierSet(specifier).contains(".".join(map(str, release)), prereleases=True), release


def test_ranges_intersect_across_packages_and_name_who_sets_them() -> None:
    metadata = [
        "Name: corehost\nRequires-Python: >=3.11\n",
        "Name: click\nRequires-Python: >=3.7\n",
        "Name: capped\nRequires-Python: <3.14\n",
        "Name: untyped\n",
    ]
    spans, binding = requires_python(metadata)
    assert (spans_text(spans), binding) == (">=3.11, <3.14", [])
    assert requires_python(metadata[:2]) == ((((3, 11, 0), None),), ["corehost"])


def test_compiled_files_narrow_to_the_versions_they_load_in() -> None:
    files = ["markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so", "numpy.libs/libopenblas-r0.so",
             "pkg/libhelper.so.1", "fast/_stable.abi3.so"]  # fmt: skip
    assert compiled_for(files, (3, 11, 0)) == ((((3, 11, 0), (3, 12, 0)),), [files[0]])
    assert compiled_for(files[1:], (3, 12, 0)) == ((((3, 12, 0), None),), ["fast/_stable.abi3.so"])
    assert compiled_for(["odd/_untagged.so"], (3, 13, 0)) == ((((3, 13, 0), (3, 14, 0)),), ["odd/_untagged.so"])
    assert spans_text(compiled_for(files, (3, 11, 0))[0]) == "3.11"
