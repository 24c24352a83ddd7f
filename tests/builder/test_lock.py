"""PEP 751 locks: every file hashed, --from-lock reproduces, tampering is refused."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from tests.builder.conftest import Builder, Bundle


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
    assert local["corehost-greet"] == "pylock-wheels/corehost_greet-0.1.0-py3-none-any.whl"
    assert all((greeter_bundle.lock.parent / path).exists() for path in local.values())


def test_from_lock_reproduces_the_package_set(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    # The lock and its wheels folder are moved, as they would be when committed and cloned elsewhere.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(greeter_bundle.lock, checkout / "pylock.toml")
    shutil.copytree(greeter_bundle.lock.parent / "pylock-wheels", checkout / "pylock-wheels")
    dest = tmp_path / "venv"
    summary = json.loads(builder.ok("build", "--from-lock", checkout / "pylock.toml", "--venv", dest, "--json").stdout)
    assert "resolve" not in summary["steps"]
    assert _packages(dest, builder) == _packages(greeter_bundle.venv.path, builder)
    rebuilt = builder.venv.run(dest / "bin" / "corehost", "greet", "Bob", "--lang", "zh", check=True)
    assert rebuilt.stdout == "你好, Bob!\n"


def test_a_tampered_hash_makes_the_install_refuse(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    text = greeter_bundle.lock.read_text()
    doc = tomllib.loads(text)
    greet = next(p for p in doc["packages"] if p["name"] == "corehost-greet")
    good = greet["archive"]["hashes"]["sha256"]
    bad = ("0" if good[0] != "0" else "1") + good[1:]
    tampered = tmp_path / "pylock.toml"
    tampered.write_text(text.replace(good, bad))
    shutil.copytree(greeter_bundle.lock.parent / "pylock-wheels", tmp_path / "pylock-wheels")
    dest = tmp_path / "venv"
    result = builder.build("--from-lock", tampered, "--venv", dest)
    assert result.returncode == 1
    assert "does not match the hash recorded in the lock" in result.stderr
    assert "corehost-greet" in result.stderr
    assert not dest.exists()


def test_a_lock_without_its_wheels_says_what_is_missing(
    builder: Builder, greeter_bundle: Bundle, tmp_path: Path
) -> None:
    shutil.copy(greeter_bundle.lock, tmp_path / "pylock.toml")
    result = builder.build("--from-lock", tmp_path / "pylock.toml", "--venv", tmp_path / "venv")
    assert result.returncode == 1
    assert "keep the pylock-wheels folder beside the lock" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_lock_names_follow_pep_751(builder: Builder, tmp_path: Path) -> None:
    result = builder.build("--with", "./plugins/greet", "--venv", tmp_path / "v", "--lock", tmp_path / "my.lock")
    assert result.returncode == 1
    assert "must be named pylock.toml or pylock.NAME.toml" in result.stderr
    result = builder.build("--from-lock", tmp_path / "pylock.toml", "--venv", tmp_path / "v")
    assert "no such lock file" in result.stderr


def test_from_lock_refuses_extra_inputs(builder: Builder, greeter_bundle: Bundle, tmp_path: Path) -> None:
    result = builder.build("--from-lock", greeter_bundle.lock, "--with", "./plugins/greet", "--venv", tmp_path / "v")
    assert result.returncode == 2
    assert "rebuilds exactly the locked set" in result.stderr
