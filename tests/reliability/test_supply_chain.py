"""Supply chain: tampered inputs are refused before anything is installed; built bundles take nothing in.

``corehost-build verify`` re-checks a built venv against its distributions'
RECORD hashes and its build record, and a ``.pyz`` against its manifest.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.builder.conftest import Builder
from tests.conftest import Venv, Wheelhouse, uv
from tests.reliability.conftest import wheels

GREETERS = ("corehost-greet", "corehost-greeter-en")


@pytest.fixture(scope="module")
def built(builder: Builder, wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A greeter venv bundle, built once; tests copy it before changing anything."""
    dest = tmp_path_factory.mktemp("supply") / "venv"
    builder.ok("build", *wheels(wheelhouse, *GREETERS), "--venv", dest, "--quiet")
    return dest


@pytest.fixture(scope="module")
def pyz(builder: Builder, wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("supply-pyz") / "corehost.pyz"
    builder.ok("build", *wheels(wheelhouse, *GREETERS), "--output", dest, "--quiet")
    return dest


def copy(venv: Path, to: Path) -> Path:
    return shutil.copytree(venv, to, symlinks=True)


def rewrite_entry(archive: Path, name: str, data: bytes, out: Path) -> None:
    """``archive`` with one entry's content replaced (everything else, shebang included, kept)."""
    raw = archive.read_bytes()
    prefix = raw[: raw.index(b"PK\x03\x04")]
    with zipfile.ZipFile(archive) as src, open(out, "wb") as f:
        f.write(prefix)
        with zipfile.ZipFile(f, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, data if info.filename == name else src.read(info.filename))


def site_zip(pyz: Path, keep: Callable[[str], bool], change: Mapping[str, bytes] | None = None) -> bytes:
    """The ``site.zip`` of ``pyz`` with only the entries ``keep`` accepts, and the contents in ``change``."""
    out = io.BytesIO()
    with zipfile.ZipFile(pyz) as zf, zipfile.ZipFile(zf.open("site.zip")) as site, zipfile.ZipFile(out, "w") as dst:
        for info in site.infolist():
            if keep(info.filename):
                dst.writestr(info, (change or {}).get(info.filename) or site.read(info))
    return out.getvalue()


# --- refused before anything is installed --------------------------------------------------------------------


def test_a_tampered_wheel_in_find_links_is_refused(builder: Builder, wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    wheel = shutil.copy(wheelhouse.wheel("fixture-no-deps"), links)
    lock = tmp_path / "pylock.toml"
    args = ["--find-links", links, "--quiet"]
    builder.ok("build", *wheels(wheelhouse, *GREETERS), "--with", "fixture-no-deps==0.1.0", *args,
               "--venv", tmp_path / "first", "--lock", lock)  # fmt: skip
    assert str(links) in lock.read_text()  # the lock names the find-links file and its hash
    # Someone swaps the wheel in the shared folder for one with other code under the same name.
    rewrite_entry(Path(wheel), "fixture_no_deps/__init__.py", b"import os  # injected\n", tmp_path / "evil.whl")
    (tmp_path / "evil.whl").replace(wheel)
    dest = tmp_path / "dist" / "venv"
    result = builder.build("--from-lock", lock, "--venv", dest)
    assert result.returncode == 1
    assert "does not match the hash recorded in the lock, so the install was refused" in result.stderr
    assert "fixture-no-deps" in result.stderr or "fixture_no_deps" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(dest.parent.iterdir()) == []


def test_a_lock_for_another_python_is_refused_before_installing(
    builder: Builder, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.in"
    requirements.write_text("".join(f"{d} @ {wheelhouse.wheel(d).as_uri()}\n" for d in ("corehost", *GREETERS)))
    lock = tmp_path / "pylock.toml"
    subprocess.run(
        [uv(), "pip", "compile", "-q", "--format", "pylock.toml", "--generate-hashes", "--python-version", "3.13",
         str(requirements), "-o", str(lock)], check=True,
    )  # fmt: skip
    dest = tmp_path / "dist" / "venv"
    result = builder.build("--from-lock", lock, "--venv", dest)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"corehost-build: error: --from-lock {lock} was locked for Python >=3.13, but this build's interpreter is "
        "Python 3.11."
    )
    assert "corehost-build: install" not in result.stderr  # refused before the install step began
    assert list(dest.parent.iterdir()) == []


# --- a built bundle takes nothing in --------------------------------------------------------------------------


def test_corehost_plugins_cannot_pull_in_a_plugin_that_was_not_built_in(
    built: Path, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    bundle = Venv(copy(built, tmp_path / "bundle"))
    subprocess.run([uv(), "pip", "install", "-q", "--no-deps", "--python", str(bundle.python),
                    str(wheelhouse.wheel("corehost-polyglot"))], check=True)  # fmt: skip
    # Allow-listing it by name (beside the greet app) must not make the bundle scan for it.
    env = {"COREHOST_PLUGINS": "corehost-polyglot,corehost-greet,corehost-greeter-en"}
    listed = bundle.corehost("list-modules", env=env, check=True).stdout
    assert "greeters.fr" not in listed
    config = tmp_path / "fr.json"
    config.write_text('{"apps": {"greet": {"greeters": [{"module": "fr"}]}}}')
    result = bundle.corehost("validate", "--config", config, env=env)
    assert result.returncode == 2
    warning, error = result.stderr.splitlines()
    assert warning.startswith("corehost: warning: COREHOST_PLUGINS names 'corehost-polyglot', which matches no plugin")
    assert error.startswith(f"corehost: error: {config}: apps.greet.greeters[0].module: "), result.stderr
    assert "Traceback" not in result.stderr


# --- corehost-build verify ------------------------------------------------------------------------------------


def test_verify_passes_an_untouched_venv_and_pyz(builder: Builder, built: Path, pyz: Path) -> None:
    out = builder.ok("verify", built).stdout
    assert out.startswith(f"{built}: OK, ") and out.endswith(" packages match the build record\n")
    assert builder.ok("verify", pyz).stdout.startswith(f"{pyz}: OK, ")


def test_verify_names_every_changed_missing_and_added_file(
    builder: Builder, built: Path, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    bundle = copy(built, tmp_path / "bundle")
    site = next(bundle.glob("lib/python3*/site-packages"))
    (site / "corehost_greet" / "__init__.py").write_text("print('patched')\n")
    (site / "click" / "types.py").unlink()
    (site / "zz_inject.pth").write_text("import os\n")
    subprocess.run([uv(), "pip", "install", "-q", "--no-deps", "--python", str(bundle / "bin" / "python"),
                    str(wheelhouse.wheel("corehost-polyglot"))], check=True)  # fmt: skip
    result = builder.run("verify", bundle)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"corehost-build: error: {bundle} differs from its build record in 4 place(s): it was changed after it was "
        "built. Rebuild it (corehost-build build ...), or restore it from the build's output:\n"
    )
    lines = result.stderr.splitlines()[1:]
    assert "  - file click/types.py of distribution click " in "\n".join(lines)
    assert (
        "  - file corehost_greet/__init__.py of distribution corehost-greet 0.1.0 was changed (its sha256 differs)"
        in lines
    )
    assert "  - distribution corehost-polyglot 0.1.0 is installed but was not part of the build" in lines
    assert "  - file zz_inject.pth belongs to no distribution of the build (added later)" in lines
    assert "Traceback" not in result.stderr


def test_verify_names_a_changed_entry_of_a_pyz(builder: Builder, pyz: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "corehost.pyz"
    patched = site_zip(pyz, lambda name: True, {"corehost_greet/__init__.py": b"print('patched')\n"})
    rewrite_entry(pyz, "site.zip", patched, tampered)
    result = builder.run("verify", tampered)
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        "  - entry site.zip/corehost_greet/__init__.py (package corehost_greet) was changed (its sha256 differs)"
    ]


def test_verify_refuses_a_pyz_of_another_layout_naming_the_rebuild(builder: Builder, pyz: Path, tmp_path: Path) -> None:
    from corehost_build.bundleformat import MANIFEST

    with zipfile.ZipFile(pyz) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    older = tmp_path / "older.pyz"
    rewrite_entry(pyz, MANIFEST, json.dumps({**manifest, "format": 1}).encode(), older)
    result = builder.run("verify", older)
    assert result.returncode == 1
    assert result.stderr == (
        f"corehost-build: error: {older} has the layout of another corehost-build release (format 1, this one reads "
        "2); rebuild it with this corehost-build (corehost-build build --output).\n"
    )


def test_verify_compares_the_build_record_with_what_the_pyz_holds(builder: Builder, pyz: Path, tmp_path: Path) -> None:
    """A package left out of the file at build time (its manifest agreeing) is still found: the record lists it."""
    from corehost_build.bundleformat import MANIFEST, SITE, manifest_of

    raw = pyz.read_bytes()
    slim_site = site_zip(pyz, lambda name: not name.startswith(("click/", "click-")))
    with zipfile.ZipFile(pyz) as src:
        kept = [(i, src.read(i)) for i in src.infolist() if i.filename not in (MANIFEST, SITE)]
    with zipfile.ZipFile(io.BytesIO(slim_site)) as site:
        listed = [(f"{SITE}/{n}", site.read(n)) for n in site.namelist()]
    slim = tmp_path / "slim.pyz"
    with open(slim, "wb") as f:
        f.write(raw[: raw.index(b"PK\x03\x04")])
        with zipfile.ZipFile(f, "w") as dst:
            for info, data in kept:
                dst.writestr(info, data)
            dst.writestr(SITE, slim_site)
            dst.writestr(MANIFEST, manifest_of([(i.filename, data) for i, data in kept] + listed))
    result = builder.run("verify", slim)
    assert result.returncode == 1
    (problem,) = result.stderr.splitlines()[1:]
    assert problem.startswith("  - distribution click ") and problem.endswith(" of the build is not in the bundle")


def test_verify_refuses_a_folder_that_is_no_bundle(builder: Builder, tmp_path: Path) -> None:
    result = builder.run("verify", tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"corehost-build: error: {tmp_path} is not a bundle built by corehost-build: it has no _corehost_frozen.py in "
        "site-packages, so there is no build record to check it against. Give the --venv folder of a build.\n"
    )
