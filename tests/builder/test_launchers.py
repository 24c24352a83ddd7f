"""A built venv's console scripts start their interpreter without running another program, and stay relocatable.

uv's relocatable trampoline runs ``dirname`` and ``realpath`` on every
start; the build replaces it (``corehost_build.venv.launcher_header``) and
records the new files' hashes, so the venv still verifies.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from corehost_build.venv import UV_TRAMPOLINE, launcher_header

from tests.builder.conftest import Builder, Bundle
from tests.conftest import clean_env


def _run(argv: list[str], *, cwd: Path | None = None, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    if path is not None:
        env["PATH"] = path
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_console_scripts_carry_the_direct_header(greeter_bundle: Bundle) -> None:
    bin_dir = greeter_bundle.venv.path / "bin"
    assert (bin_dir / "corehost").read_text(encoding="utf-8").startswith(launcher_header())
    scripts = [p for p in bin_dir.iterdir() if p.is_file() and not p.is_symlink()]
    assert scripts
    assert not [p.name for p in scripts if p.read_bytes().startswith(UV_TRAMPOLINE.encode())]


def test_starts_with_no_program_on_path(greeter_bundle: Bundle) -> None:
    # No dirname, no realpath: the shell finds the interpreter by itself.
    result = _run([str(greeter_bundle.venv.bin("corehost")), "list-modules"], path="/nonexistent")
    assert result.returncode == 0, result.stderr
    assert "greeters.en" in result.stdout


def test_relocatable_symlinked_and_started_by_sh(greeter_bundle: Bundle, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(greeter_bundle.venv.path, moved, symlinks=True)
    copied = _run([str(moved / "bin" / "corehost"), "list-modules"])
    assert copied.returncode == 0 and "greeters.en" in copied.stdout, copied.stderr
    link = tmp_path / "elsewhere" / "corehost"
    link.parent.mkdir()
    link.symlink_to(moved / "bin" / "corehost")
    linked = _run([str(link), "list-modules"])
    assert linked.returncode == 0 and "greeters.en" in linked.stdout, linked.stderr
    by_sh = _run(["sh", "corehost", "list-modules"], cwd=moved / "bin")
    assert by_sh.returncode == 0 and "greeters.en" in by_sh.stdout, by_sh.stderr


def test_rewritten_scripts_still_verify(builder: Builder, greeter_bundle: Bundle) -> None:
    result = builder.ok("verify", greeter_bundle.venv.path)
    assert "OK" in result.stdout + result.stderr
