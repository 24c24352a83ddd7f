"""``corehost-build --help``: every command shows an example and says what it requires."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from corehost_build.cli import cli


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_help_has_an_example_and_says_what_is_required(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="corehost-build")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and f"corehost-build {name} " in result.output, result.output
    assert "Required" in result.output or "[required]" in result.output, result.output


def test_the_group_help_shows_examples() -> None:
    result = CliRunner().invoke(cli, ["-h"], prog_name="corehost-build")
    assert result.exit_code == 0 and "Examples:\n    corehost-build build" in result.output, result.output
