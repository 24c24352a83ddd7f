"""The issue's "done" scenario: the greeter bundle, built from the repo's plugins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.builder.conftest import Builder, Bundle
from tests.conftest import Venv, Wheelhouse


def test_bundle_greets_in_chinese(greeter_bundle: Bundle) -> None:
    result = greeter_bundle.venv.corehost("greet", "Bob", "--lang", "zh", check=True)
    assert result.stdout == "你好, Bob!\n"


def test_bundle_holds_the_plugins_but_not_the_builder(greeter_bundle: Bundle) -> None:
    names = {p["name"] for p in greeter_bundle.summary["packages"]}  # type: ignore[attr-defined]
    assert {"corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh"} <= names
    assert "corehost-build" not in names
    site = next(greeter_bundle.venv.path.glob("lib/python3*/site-packages"))
    assert not list(site.glob("corehost_build*"))
    assert (site / "_corehost_frozen.py").exists()


def test_progress_names_every_step_with_its_time(greeter_bundle: Bundle) -> None:
    for step in ("wheels", "resolve", "install", "guards", "freeze", "commit"):
        assert f"corehost-build: {step}" in greeter_bundle.stderr
    assert set(greeter_bundle.summary["steps"]) >= {"resolve", "install", "guards"}  # type: ignore[arg-type]


def test_build_info_records_packages_hashes_and_inputs(greeter_bundle: Bundle) -> None:
    out = greeter_bundle.venv.corehost("build-info", check=True).stdout
    assert "registry: frozen" in out
    assert "built by corehost-build 0.1.0 from inputs: --with ./plugins/greeter-en" in out
    assert "--with ./plugins/greet" in out
    lines = out.splitlines()
    for name in ("corehost", "corehost-greet", "corehost-greeter-zh", "click", "pluggy"):
        row = next(line for line in lines if line.startswith(f"  {name} ") and "sha256:" in line)
        assert len(row.rsplit("sha256:", 1)[1]) == 64
    record = json.loads(greeter_bundle.venv.corehost("build-info", "--json", check=True).stdout)["build"]
    assert record["python"].startswith("3.11")
    assert record["plugins"] == ["corehost-greeter-en 0.1.0", "corehost-greeter-zh 0.1.0", "corehost-greet 0.1.0"]
    assert record["lock"].startswith("sha256:")


def test_list_modules_shows_the_giving_distribution(greeter_bundle: Bundle) -> None:
    out = greeter_bundle.venv.corehost("list-modules", "--versions", "--packages", check=True).stdout.splitlines()
    assert "greeters.zh  corehost-greeter-zh  0.1.0" in out
    assert "greet  corehost-greet  0.1.0" in out


def test_no_staging_folder_is_left_and_the_bundle_moves(greeter_bundle: Bundle, tmp_path: Path) -> None:
    parent = greeter_bundle.venv.path.parent
    assert sorted(p.name for p in parent.iterdir()) == ["pylock.toml", "venv"]
    moved = Venv(shutil.copytree(greeter_bundle.venv.path, tmp_path / "elsewhere", symlinks=True))
    assert moved.corehost("greet", "Ann", check=True).stdout == "Hello, Ann!\n"


def test_installing_more_later_does_not_change_the_bundle(
    greeter_bundle: Bundle, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    copy = Venv(shutil.copytree(greeter_bundle.venv.path, tmp_path / "bundle", symlinks=True))
    before = copy.corehost("list-modules", check=True).stdout
    copy.run("pip", "install", "-q", "--no-deps", "--no-index", wheelhouse.wheel("corehost-polyglot"), check=True)
    assert copy.run("python", "-c", "import corehost_polyglot", check=True).returncode == 0
    assert copy.corehost("list-modules", check=True).stdout == before
    assert "greeters.fr" not in before


def test_warm_rebuild_is_fast_and_replaces_the_destination(builder: Builder, tmp_path: Path) -> None:
    args = ["--with", "./plugins/greeter-zh", "--with", "./plugins/greet", "--venv", tmp_path / "venv", "--json"]
    builder.ok("build", *args)
    (tmp_path / "venv" / "marker").write_text("old")
    summary = json.loads(builder.ok("build", *args, "--quiet").stdout)
    assert summary["wheels_cached"] == 2  # both plugin projects come from the cache (the host is a wheel already)
    assert summary["seconds"] < 10, summary["steps"]
    print(f"warm rebuild: {summary['seconds']:.2f} s {summary['steps']}")
    assert not (tmp_path / "venv" / "marker").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["venv"]
