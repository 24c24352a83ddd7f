"""deflate: a bundle's entries written from kept deflate streams are the bytes ``ZipFile.writestr`` writes."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from corehost_build.deflate import LEVEL, write_deflated

ENTRIES = {
    "site/a.py": b"import os\n" * 200,
    "site/empty.txt": b"",
    "site/caf\u00e9/__init__.py": b"NAME = 'caf\xc3\xa9'\n",
    "site/random.bin": os.urandom(70_000),
    "__main__.py": b"print('hi')\n",
}


def archive(write: object) -> bytes:
    """The zip of :data:`ENTRIES` after a prefix line, each entry written by ``write(zf, info, data)``."""
    out = io.BytesIO()
    out.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in sorted(ENTRIES.items()):
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            write(zf, info, data)  # type: ignore[operator]
    return out.getvalue()


def test_entries_are_the_bytes_writestr_writes_whether_the_stream_was_kept_or_not(tmp_path: Path) -> None:
    plain = archive(lambda zf, info, data: zf.writestr(info, data, compresslevel=LEVEL))
    cache = tmp_path / "deflate"
    assert archive(lambda zf, info, data: write_deflated(zf, info, data, cache)) == plain, "deflated here"
    assert len([p for p in cache.rglob("*") if p.is_file()]) == len(ENTRIES)
    assert archive(lambda zf, info, data: write_deflated(zf, info, data, cache)) == plain, "from the kept streams"
    with zipfile.ZipFile(io.BytesIO(plain)) as zf:
        assert zf.testzip() is None and {n: zf.read(n) for n in zf.namelist()} == ENTRIES


def test_a_damaged_kept_stream_is_deflated_again_not_written(tmp_path: Path) -> None:
    plain = archive(lambda zf, info, data: zf.writestr(info, data, compresslevel=LEVEL))
    cache = tmp_path / "deflate"
    archive(lambda zf, info, data: write_deflated(zf, info, data, cache))
    for kept in (p for p in cache.rglob("*") if p.is_file()):
        stored = kept.read_bytes()
        kept.write_bytes(stored[:1] + bytes([stored[1] ^ 0xFF]) + stored[2:] if len(stored) > 33 else b"x")
    assert archive(lambda zf, info, data: write_deflated(zf, info, data, cache)) == plain
