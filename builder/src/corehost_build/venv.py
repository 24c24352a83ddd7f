"""Making the target environment and installing the locked set into it.

The venv is created *relocatable* (uv writes ``#!/bin/sh`` trampolines
that find the interpreter next to the script, and a relative-friendly
``pyvenv.cfg``): it is built beside the destination and renamed into place
at the end, and ordinary venvs would keep the staging path in every script.
Installing goes through ``uv pip sync`` of the lock, which never resolves,
verifies every hash, and removes anything the lock does not list.
"""

from __future__ import annotations

from pathlib import Path

from corehost_build.errors import InstallError
from corehost_build.tools import run_uv


def create_venv(path: Path, python: str) -> None:
    """A fresh, empty, relocatable virtualenv at ``path`` for interpreter ``python``."""
    result = run_uv(["venv", "--quiet", "--relocatable", "--python", python, str(path)])
    if result.returncode != 0:
        raise InstallError(
            f"creating a virtualenv with Python {python} failed: {result.stderr.strip()}. "
            "Pass --python with the path of an installed Python 3.11+ interpreter."
        )


def venv_python(path: Path) -> Path:
    """The interpreter of the venv at ``path``."""
    return path / "bin" / "python"


def install_lock(lock: Path, venv: Path, *, offline: bool = False, compile_bytecode: bool = False) -> None:
    """Install exactly the locked set into ``venv``, hashes enforced, nothing resolved."""
    args = ["pip", "sync", "--quiet", "--preview-features", "pylock", "--python", str(venv_python(venv))]
    if offline:
        args.append("--offline")
    if compile_bytecode:
        args.append("--compile-bytecode")
    result = run_uv([*args, str(lock)])
    if result.returncode != 0:
        text = result.stderr.strip()
        if "No space left on device" in text or "Disk quota exceeded" in text or "File too large" in text:
            why = (
                "the disk the destination is on ran out of space while installing into the staging folder beside "
                "it; the staging folder was removed and an existing destination is intact. Free space there (or "
                "build somewhere else) and retry."
            )
        elif "Read-only file system" in text:
            why = "the destination's folder is read-only; nothing was changed there. Build somewhere writable."
        elif "Hash mismatch" in text:
            why = (
                "a file does not match the hash recorded in the lock, so the install was refused: the lock or "
                "the file was changed after locking. Rebuild the lock from the plugins, or restore the original file."
            )
        elif "not found" in text.lower() or "no such file" in text.lower():
            why = (
                "a file the lock names is missing (a wheel of a --find-links folder that was moved or deleted?); "
                "put it back where the lock says, or rebuild the lock from the plugins."
            )
        else:
            why = "fix what uv names below (no network with --offline, a damaged file), or rebuild the lock."
        raise InstallError(f"installing the locked set from {lock} failed; {why}\n" + _indent(text))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def site_packages(venv: Path) -> Path:
    """The venv's purelib folder, where the frozen registry module goes."""
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise InstallError(f"the new environment {venv} has no site-packages folder; is --python a CPython 3.11+?")
    return found[0]


def python_version(venv: Path) -> str:
    """The target's Python version, as uv recorded it in ``pyvenv.cfg``."""
    for line in (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            return value.strip()
    return ""
