"""Issue 2's acceptance, exactly as a new user types it: plain venv, plain pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Venv, clean_env


def test_pip_install_then_greet_in_chinese(tmp_path: Path) -> None:
    venv = Venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv.path)], check=True)
    subprocess.run(
        [str(venv.python), "-m", "pip", "install", "-q", ".", "./plugins/greet", "./plugins/greeter-zh"],
        cwd=ROOT,
        check=True,
        env=clean_env(),
    )
    assert venv.corehost("greet", "Bob", "--lang", "zh", check=True).stdout == "你好, Bob!\n"
    listing = venv.corehost("list-modules", "--versions", check=True).stdout.splitlines()
    assert "greeters.zh  0.1.0" in listing
    packages = venv.corehost("list-modules", "--versions", "--packages", check=True).stdout.splitlines()
    assert "greeters.zh  corehost-greeter-zh  0.1.0" in packages
