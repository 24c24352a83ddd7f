"""The codebase stays ruff-clean and the runtime passes ``mypy --strict``."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run_tool("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_runtime() -> None:
    result = run_tool("mypy", "--strict", "src/corehost")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_builder() -> None:
    result = run_tool("mypy", "--strict", "builder/src/corehost_build")
    assert result.returncode == 0, result.stdout + result.stderr
