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


def test_one_worker_compiles_every_batch_to_the_bytes_a_fresh_one_gives(tmp_path: Path) -> None:
    """A build asks twice (its files, then its __main__); the second batch must not depend on the first."""
    from corehost_build import bytecode

    version = ".".join(map(str, sys.version_info[:3]))
    files = {f"pkg/m{i}.py": f"import os\nNAME = 'm{i}'\ndef f(self, x):\n    return os.path.join(x, NAME)\n".encode()
             for i in range(5)}  # fmt: skip
    main = {"__main__.py": b"import sys\ndef enter(archive):\n    return sys.path, archive, 'm1'\n"}
    compile_all(Path(sys.executable), version, files, cache=tmp_path / "warm")
    worker = bytecode._workers[sys.executable]
    second = compile_all(Path(sys.executable), version, main, cache=tmp_path / "warm")
    assert bytecode._workers[sys.executable] is worker, "the second batch went to the same worker"
    bytecode._close_workers()
    fresh = compile_all(Path(sys.executable), version, main, cache=tmp_path / "cold")
    assert second == fresh


def test_a_worker_that_dies_is_an_error_naming_the_interpreter(tmp_path: Path) -> None:
    import pytest
    from corehost_build.errors import BuildError

    version = ".".join(map(str, sys.version_info[:3]))
    with pytest.raises(BuildError, match="compiling the bundle's modules with /bin/false failed"):
        compile_all(Path("/bin/false"), version, {"a.py": b"x = 1\n"}, cache=tmp_path)
