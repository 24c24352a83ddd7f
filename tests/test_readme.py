"""README's set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, clean_env, copy_checkout


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands() -> None:
    assert len(setup_commands()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    test_command = setup_commands()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_main_job_command_works_in_a_clean_copy(tmp_path: Path) -> None:
    """The first set-up command, run verbatim in a copy of the tracked files (as a fresh clone)."""
    clone = copy_checkout(tmp_path / "clone")
    result = subprocess.run(["bash", "-c", setup_commands()[0]], cwd=clone, capture_output=True, text=True,
                            env=clean_env(), timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "« 你好, Bob！ »" in result.stdout
    assert (clone / "dist" / "corehost.pyz").is_file()
    info = subprocess.run([sys.executable, "dist/corehost.pyz", "build-info"], cwd=clone, capture_output=True,
                          text=True, env=clean_env())  # fmt: skip
    assert "registry: frozen" in info.stdout and "corehost-greeter-zh 0.1.0 sha256:" in info.stdout
