"""Reliability fixtures: the builder (shared with tests/builder) and small helpers.

Every bundle here is built from wheels of the session wheelhouse (no
project builds, no pip in the venv), so each build takes about a second and
builds that do not depend on each other run in parallel.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builder.conftest import Builder, builder
from tests.conftest import Wheelhouse

__all__ = ["builder", "tree", "wheels"]


def wheels(wheelhouse: Wheelhouse, *dists: str) -> list[str]:
    """``--with WHEEL`` for each distribution, from the session wheelhouse."""
    return [a for d in dists for a in ("--with", str(wheelhouse.wheel(d)))]


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file under ``root`` with its bytes (symlinks by target): equal trees are identical."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def build_json(builder: Builder, *args: str | Path) -> dict[str, object]:
    result = builder.ok("build", *args, "--json", "--quiet")
    return dict(json.loads(result.stdout))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path | None]:
    """A fresh 64 MB tmpfs, or ``None`` where mounting is not allowed (not root): callers then fall back."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
