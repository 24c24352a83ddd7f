"""Build files, and the plugin author's loop: run and list-modules on cached environments."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builder.conftest import Builder
from tests.conftest import ROOT


def test_build_file_holds_the_inputs(builder: Builder, tmp_path: Path) -> None:
    buildfile = tmp_path / "build.toml"
    buildfile.write_text(
        f'with = ["{ROOT}/plugins/greet", "{ROOT}/plugins/greeter-zh"]\nvenv = "out/venv"\nlock = "pylock.toml"\n'
    )
    summary = json.loads(builder.ok("build", "-c", buildfile, "--json", "--quiet", cwd=ROOT).stdout)
    assert Path(summary["venv"]) == tmp_path / "out" / "venv"
    assert (tmp_path / "pylock.toml").exists()
    record = json.loads(
        builder.venv.run(tmp_path / "out" / "venv" / "bin" / "corehost", "build-info", "--json", check=True).stdout
    )["build"]
    assert record["inputs"] == [f"-c {buildfile}"]


def test_build_file_rejects_unknown_keys(builder: Builder, tmp_path: Path) -> None:
    buildfile = tmp_path / "build.toml"
    buildfile.write_text('whith = ["x"]\nvenv = "v"\n')
    result = builder.build("-c", buildfile)
    assert result.returncode == 2
    assert "unknown key 'whith' (did you mean 'with'?)" in result.stderr


def test_run_builds_once_then_reuses(builder: Builder) -> None:
    args = ("run", "--with", "./plugins/greet", "--with", "./plugins/greeter-zh", "--", "greet", "Bob", "--lang", "zh")
    first = builder.ok(*args)
    assert first.stdout == "你好, Bob!\n"
    second = builder.ok(*args)
    assert second.stdout == "你好, Bob!\n"
    assert "reusing" in second.stderr and "resolve" not in second.stderr


def test_list_modules_shows_what_the_bundle_would_contain(builder: Builder) -> None:
    result = builder.ok("list-modules", "--with", "./plugins/greet", "--with", "./plugins/greeter-en", "--quiet")
    assert result.stdout.splitlines() == [
        "greet  corehost-greet  0.1.0",
        "greet.filters.upper  corehost-greet  0.1.0",
        "greeters.en  corehost-greeter-en  0.1.0",
    ]
