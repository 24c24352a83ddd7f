"""``corehost-build``: every command's help shows an example and says what it requires; one error boundary.

Errors are driven through :func:`corehost_build.cli.main` in process, with
inputs that fail before anything is built.
"""

from __future__ import annotations

import json
from pathlib import Path

import corehost_build.verify
import pytest
from click.testing import CliRunner
from corehost_build.cli import cli, main


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_help_has_an_example_and_says_what_is_required(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="corehost-build")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and f"corehost-build {name} " in result.output, result.output
    assert "Required" in result.output or "[required]" in result.output, result.output


def test_the_group_help_shows_examples() -> None:
    result = CliRunner().invoke(cli, ["-h"], prog_name="corehost-build")
    assert result.exit_code == 0 and "Examples:\n    corehost-build build" in result.output, result.output


def test_an_error_with_json_is_one_paragraph_on_stderr_and_an_object_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--json", "--venv", str(tmp_path / "v")]) == 2
    out, err = capsys.readouterr()
    message = "nothing to build: name at least one plugin with --with SPEC (or --plugins-dir DIR)."
    assert json.loads(out) == {"ok": False, "error": message, "kind": "SpecError"}
    assert err == f"corehost-build: error: {message}\n"


def test_json_is_read_as_click_parsed_it_even_when_a_later_input_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--json", str(tmp_path / "gone.pyz")]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["kind"] == "VerifyError" and err.startswith("corehost-build: error: ")
    assert main(["build", "--venv", str(tmp_path / "v"), "-c", str(tmp_path / "none.toml"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["kind"] == "BuildFileError"


def test_without_json_stdout_stays_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--venv", str(tmp_path / "v")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("corehost-build: error: nothing to build")


def test_a_json_word_after_the_double_dash_belongs_to_corehost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--with", "/no/such/plugin", "--", "list-modules", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--with /no/such/plugin: no such project folder" in err


def test_usage_errors_are_click_s_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--no-such-flag"]) == 2
    assert "Error: No such option '--no-such-flag'" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("corehost-build, version ")


def test_ctrl_c_exits_130_saying_nothing_was_changed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(bundle: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(corehost_build.verify, "verify", interrupted)
    assert main(["verify", "x.pyz"]) == 130
    assert capsys.readouterr().err == "corehost-build: interrupted; the destination was left as it was\n"
