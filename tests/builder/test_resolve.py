"""Resolution: conflicts in the user's words, --replace, --plugins-dir, bad specs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builder.conftest import Builder, MakePlugin, copy_project
from tests.conftest import ROOT, build_wheel, project_name


def test_two_plugins_requiring_each_other_incompatibly(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    a = make_plugin("fxr-alpha", dependencies=("corehost>=0.1,<0.2", "fxr-beta>=2"))
    b = make_plugin("fxr-beta", version="1.0")
    dest = tmp_path / "venv"
    result = builder.build("--with", a, "--with", b, "--venv", dest)
    assert result.returncode == 1
    message = result.stderr
    assert "collide" in message
    assert f"plugin fxr-alpha 1.0 (--with {a})" in message
    assert f"plugin fxr-beta 1.0 (--with {b})" in message
    assert "fxr-beta>=2" in message
    assert not dest.exists()


def test_two_plugins_wanting_different_ranges_of_a_dependency(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        dep = make_plugin("fxr-dep", version=version, dependencies=(), where=tmp_path / f"dep-{version}")
        build_wheel(dep, wheels)
    old = make_plugin("fxr-old", dependencies=("corehost>=0.1,<0.2", "fxr-dep<2"))
    new = make_plugin("fxr-new", dependencies=("corehost>=0.1,<0.2", "fxr-dep>=2"))
    result = builder.build(
        "--with", old, "--with", new, "--find-links", wheels, "--offline", "--venv", tmp_path / "venv", "--json"
    )
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["ok"] is False and error["kind"] == "ResolutionError"
    message = error["error"]
    assert "On fxr-dep:" in message
    assert "plugin fxr-old 1.0" in message and "fxr-dep<2" in message
    assert "plugin fxr-new 1.0" in message and "fxr-dep>=2" in message


def test_replace_swaps_a_dependency_for_a_local_fork(builder: Builder, tmp_path: Path) -> None:
    fork = copy_project(ROOT / "plugins" / "greet", tmp_path / "greet-fork", version="0.1.7")
    dest = tmp_path / "venv"
    summary = json.loads(
        builder.ok(
            "build", "--with", "./plugins/greeter-zh", "--replace", f"corehost-greet={fork}", "--venv", dest, "--json"
        ).stdout
    )
    assert {"name": "corehost-greet", "version": "0.1.7"}.items() <= next(
        p for p in summary["packages"] if p["name"] == "corehost-greet"
    ).items()
    assert summary["plugins"] == ["corehost-greeter-zh"]
    out = builder.venv.run(dest / "bin" / "corehost", "list-modules", "--versions", check=True).stdout
    assert "greet  0.1.7" in out.splitlines()


def test_replace_names_the_wrong_fork(builder: Builder, tmp_path: Path) -> None:
    result = builder.build("--with", "./plugins/greet", "--replace", "corehost-greet=./plugins/greeter-en",
                           "--venv", tmp_path / "venv")  # fmt: skip
    assert result.returncode == 2
    assert "builds distribution corehost-greeter-en, not corehost-greet" in result.stderr


def test_plugins_dir_takes_every_project(builder: Builder, tmp_path: Path) -> None:
    dest = tmp_path / "venv"
    summary = json.loads(builder.ok("build", "--plugins-dir", "plugins", "--venv", dest, "--json").stdout)
    projects = [p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists()]
    assert sorted(summary["plugins"]) == sorted(project_name(p) for p in projects)
    assert "greeters.fr" in summary["modules"]


def test_bad_specs_are_named_in_the_users_words(builder: Builder, tmp_path: Path) -> None:
    missing = builder.build("--with", "./no/such/plugin", "--venv", tmp_path / "v")
    assert missing.returncode == 2
    assert "--with ./no/such/plugin: no such project folder or wheel file" in missing.stderr
    nothing = builder.build("--venv", tmp_path / "v")
    assert nothing.returncode == 2 and "--with SPEC" in nothing.stderr
    twice = builder.build("--with", "./plugins/greet", "--with", "corehost-greet", "--venv", tmp_path / "v")
    assert "distribution corehost-greet is given twice" in twice.stderr
    for result in (missing, nothing, twice):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "v").exists()


def test_a_dependency_nobody_publishes_is_blamed_on_the_plugin_that_needs_it(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    """A plugin outside the clone that depends on corehost-greet, which is on no index."""
    plugin = make_plugin("fx-needs-greet", dependencies=("corehost>=0.1,<0.2", "corehost-greet>=0.1,<0.2"))
    result = builder.build("--with", plugin, "--venv", tmp_path / "venv", "-q")
    assert result.returncode == 1, result.stderr
    head = result.stderr.splitlines()[0]
    assert "no distribution named corehost-greet could be found" in head
    assert f"but plugin fx-needs-greet 1.0 (--with {plugin}) requires corehost-greet>=0.1,<0.2." in head
    assert "give its project folder or wheel with --with PATH" in head
    assert "--offline" not in head, "--offline was not given"
