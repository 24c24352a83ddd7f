"""bytecode: modules compiled once by a fresh target interpreter, kept in the cache as whole files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from corehost_build.bytecode import compile_all


def test_compiled_modules_and_failures_are_cached_whole_and_nothing_else(tmp_path: Path) -> None:
    version = ".".join(map(str, sys.version_info[:3]))
    sources = {"pkg/a.py": b"x = 1\n", "pkg/bad.py": b"def (\n"}
    first = compile_all(Path(sys.executable), version, sources, cache=tmp_path)
    assert sorted(first) == ["pkg/a.py"], "a source that does not compile ships without bytecode"
    assert first["pkg/a.py"].startswith(importlib.util.MAGIC_NUMBER)
    cached = sorted(p.name.rpartition(".")[2] for p in tmp_path.rglob("*") if p.is_file())
    assert cached == ["err", "pyc"], "one entry per source, no temp file left beside them"
    assert compile_all(Path("/no/such/python"), version, sources, cache=tmp_path) == first, (
        "a warm build compiles nothing"
    )
