"""PEP 751 locks: every file hashed, --from-lock reproduces, tampering is refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tomllib
from pathlib import Path

from corehost_build.lock import installable

from tests.builder.conftest import Builder, Bundle
from tests.conftest import ROOT


def _packages(venv: Path, builder: Builder) -> list[str]:
    out = builder.venv.run(venv / "bin" / "python", "-m", "pip", "list", "--format", "freeze", check=True).stdout
    return sorted(out.split())


def test_lock_hashes_every_file(greeter_bundle: Bundle) -> None:
    doc = tomllib.loads(greeter_bundle.lock.read_text())
    assert doc["lock-version"] == "1.0"
    for pkg in doc["packages"]:
        files = [*pkg.get("wheels", []), *(pkg[k] for k in ("archive", "sdist") if k in pkg)]
        assert files and all(f["hashes"]["sha256"] for f in files), pkg["name"]
    assert "corehost-build" not in {p["name"] for p in doc["packages"]}
    local = {p["name"]: p["archive"]["path"] for p in doc["packages"] if "archive" in p}
    # Local wheels are named by file name and hash, not by this machine's cache path; nothing else is written.
    assert local["corehost-greet"] == "pylock-wheels/corehost_greet-0.1.0-py3-none-any.whl"
    assert sorted(p.name for p in greeter_bundle.lock.parent.iterdir()) == ["pylock.toml", "venv"]


def test_the_lock_is_written_to_be_shared(greeter_bundle: Bundle) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(greeter_bundle.lock.stat().st_mode) == 0o666 & ~mask


def test_atomic_files_get_the_mode_a_plain_write_gives(tmp_path: Path) -> None:
    from corehost_build.atomic import atomic_file, write_atomic

    old = os.umask(0o027)
    try:
        write_atomic(b"x", tmp_path / "pylock.toml")
        with atomic_file(tmp_path / "app.pyz", executable=True) as out:
            out.write(b"#!/usr/bin/env python3\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "pylock.toml").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "app.pyz").stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.pyz", "pylock.toml"]


def test_from_lock_reproduces_the_package_set(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    # The lock alone, moved as it would be when committed: its local wheels come from this machine's builder cache.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(greeter_bundle.lock, checkout / "pylock.toml")
    dest = tmp_path / "venv"
    summary = json.loads(builder.ok("build", "--from-lock", checkout / "pylock.toml", "--venv", dest, "--json").stdout)
    assert "resolve" not in summary["steps"]
    assert _packages(dest, builder) == _packages(greeter_bundle.venv.path, builder)
    rebuilt = builder.venv.run(dest / "bin" / "corehost", "greet", "Bob", "--lang", "zh", check=True)
    assert rebuilt.stdout == "你好, Bob!\n"


def test_a_tampered_hash_makes_the_install_refuse(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    text = greeter_bundle.lock.read_text()
    doc = tomllib.loads(text)
    click = next(p for p in doc["packages"] if p["name"] == "click")
    good = click["wheels"][0]["hashes"]["sha256"]
    bad = ("0" if good[0] != "0" else "1") + good[1:]
    tampered = tmp_path / "pylock.toml"
    tampered.write_text(text.replace(good, bad))
    dest = tmp_path / "venv"
    result = builder.build("--from-lock", tampered, "--venv", dest)
    assert result.returncode == 1
    assert "does not match the hash recorded in the lock" in result.stderr
    assert "click" in result.stderr
    assert not dest.exists()


def test_a_lock_on_a_machine_without_its_local_wheels_says_how_to_bring_them(
    builder: Builder, greeter_bundle: Bundle, tmp_path: Path
) -> None:
    lock = shutil.copy(greeter_bundle.lock, tmp_path / "pylock.toml")
    elsewhere = {"COREHOST_BUILD_CACHE": str(tmp_path / "empty-cache")}  # another machine: nothing cached
    args = ["corehost-build", "build", "--from-lock", lock, "--venv", tmp_path / "venv"]
    result = builder.venv.run(*args, env=elsewhere, cwd=ROOT)
    assert result.returncode == 1
    message = result.stderr.split("corehost-build: error: ", 1)[1]
    assert message.startswith(
        f"--from-lock {lock}: 4 locked wheel(s) of local projects are neither beside the lock "
        f"({tmp_path / 'pylock-wheels'}), nor in this machine's builder cache (looked up by file name and locked "
        "hash): corehost 0.1.0 (corehost-0.1.0-py3-none-any.whl), corehost-greet 0.1.0 "
        "(corehost_greet-0.1.0-py3-none-any.whl), "
    ), message
    assert message.endswith(
        ". Nothing was installed. Build them where the lock is used (corehost-build wheels PROJECT... -o DIR, then "
        "--find-links DIR), copy them into pylock-wheels/ beside the lock, or make a new lock from the plugins "
        "(--with ... --lock).\n"
    ), message
    assert not (tmp_path / "venv").exists()
    # The same wheels in a --find-links folder (here: taken from the machine that wrote the lock) make it install.
    links = tmp_path / "links"
    links.mkdir()
    locked = Path(lock).read_text(encoding="utf-8")
    for wheel in builder.cache.glob("wheels/*/*.whl"):
        # The session's cache also holds other builds of these projects (edited copies), under the same names.
        if hashlib.sha256(wheel.read_bytes()).hexdigest() in locked:
            shutil.copy(wheel, links)
    result = builder.venv.run(*args, "--find-links", links, env=elsewhere, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert _packages(tmp_path / "venv", builder) == _packages(greeter_bundle.venv.path, builder)


def test_any_lock_name_is_used_with_a_warning_when_it_is_not_pep_751s(builder: Builder, tmp_path: Path) -> None:
    heavy = tmp_path / "dist" / "heavy.pylock.toml"
    result = builder.build("--with", "./plugins/greet", "--output", tmp_path / "x.pyz", "--lock", heavy)
    assert result.returncode == 0, result.stderr
    assert (
        f"corehost-build: warning: --lock {heavy}: PEP 751 names lock files pylock.toml or pylock.NAME.toml "
        "(NAME without dots), and other tools may not recognise this file as a lock; the builder uses it anyway. "
        f"To follow the standard, call it e.g. {heavy.with_name('pylock.heavy.toml')}.\n"
    ) in result.stderr
    assert tomllib.loads(heavy.read_text())["lock-version"] == "1.0"
    again = builder.build("--from-lock", heavy, "--output", tmp_path / "y.pyz")
    assert again.returncode == 0, again.stderr
    assert "warning: --from-lock" in again.stderr
    standard = builder.build("--with", "./plugins/greet", "--output", tmp_path / "z.pyz",
                             "--lock", tmp_path / "pylock.dev.toml")  # fmt: skip
    assert standard.returncode == 0, standard.stderr
    assert "warning: --lock" not in standard.stderr
    result = builder.build("--from-lock", tmp_path / "pylock.toml", "--venv", tmp_path / "v")
    assert "no such lock file" in result.stderr


def test_from_lock_refuses_extra_inputs(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    result = builder.build("--from-lock", greeter_bundle.lock, "--with", "./plugins/greet", "--venv", tmp_path / "v")
    assert result.returncode == 2
    assert "rebuilds exactly the locked set" in result.stderr


def test_a_lock_not_named_as_pep_751_names_locks_is_installed_from_a_copy_uv_accepts(tmp_path: Path) -> None:
    # uv refuses to install 'j.lock.toml' ("not a valid PEP 751 filename"), which --lock accepts with a warning.
    (tmp_path / "pylock-wheels").mkdir()
    (tmp_path / "pylock-wheels" / "fx-1.0-py3-none-any.whl").write_bytes(b"wheel")
    lock = tmp_path / "j.lock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "fx"\nversion = "1.0"\n'
        '[packages.archive]\npath = "pylock-wheels/fx-1.0-py3-none-any.whl"\n'
        'hashes = { sha256 = "0" }\n',
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir()
    staged = installable(lock, [], work)
    assert staged == work / "pylock.toml"
    copied = tomllib.loads(staged.read_text(encoding="utf-8"))
    # The wheel beside the lock is named by its absolute path, since the copy is not beside it.
    assert copied["packages"][0]["archive"]["path"] == str(tmp_path / "pylock-wheels" / "fx-1.0-py3-none-any.whl")
    standard = tmp_path / "pylock.toml"
    standard.write_text(lock.read_text(encoding="utf-8"), encoding="utf-8")
    assert installable(standard, [], work) == standard
