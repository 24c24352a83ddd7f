"""atomic: every writer of the builder leaves the old destination whole and nothing beside it when it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corehost_build.atomic import atomic_dir, atomic_file, copy_atomic, umask, write_atomic
from corehost_build.lock import export
from corehost_build.wheelhouse import _place


class Boom(Exception):
    """Raised inside a write, as a full disk or a failed check would be."""


def test_a_failed_file_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "pylock.toml"
    dest.write_bytes(b"old")
    with pytest.raises(Boom), atomic_file(dest) as out:
        out.write(b"half")
        raise Boom
    assert dest.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["pylock.toml"]


def test_a_finished_file_has_a_normal_file_s_mode(tmp_path: Path) -> None:
    write_atomic(b"data", tmp_path / "plain")
    with atomic_file(tmp_path / "tool.pyz", executable=True) as out:
        out.write(b"#!")
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o666 & ~umask()
    assert (tmp_path / "tool.pyz").stat().st_mode & 0o777 == 0o777 & ~umask()
    assert sorted(os.listdir(tmp_path)) == ["plain", "tool.pyz"]


def test_copy_atomic_of_a_missing_source_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        copy_atomic(tmp_path / "gone.whl", tmp_path / "out" / "gone.whl")
    assert os.listdir(tmp_path / "out") == []


def test_a_failed_folder_leaves_nothing_and_a_finished_one_appears_whole(tmp_path: Path) -> None:
    dest = tmp_path / "entry"
    with pytest.raises(Boom), atomic_dir(dest) as tmp:
        (tmp / "a.whl").write_bytes(b"x")
        raise Boom
    assert os.listdir(tmp_path) == []
    with atomic_dir(dest) as tmp:
        (tmp / "a.whl").write_bytes(b"x")
    assert os.listdir(tmp_path) == ["entry"] and os.listdir(dest) == ["a.whl"]
    assert dest.stat().st_mode & 0o777 == 0o777 & ~umask(), "a new plugin project is not private to its maker"


def test_a_folder_made_by_another_writer_first_is_reported_not_replaced(tmp_path: Path) -> None:
    dest = tmp_path / "entry"
    with pytest.raises(FileExistsError), atomic_dir(dest) as tmp:
        (tmp / "mine.whl").write_bytes(b"mine")
        dest.mkdir()
        (dest / "theirs.whl").write_bytes(b"theirs")
    assert os.listdir(tmp_path) == ["entry"] and os.listdir(dest) == ["theirs.whl"]


def test_the_wheelhouse_copy_and_the_lock_export_go_through_it(tmp_path: Path) -> None:
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    house = tmp_path / "house"
    house.mkdir()
    (house / wheel.name).write_bytes(b"old wheel")
    assert _place(wheel, house).read_bytes() == b"wheel"
    assert os.listdir(house) == [wheel.name]
    export("lock-version = '1.0'\n", [], tmp_path / "out" / "pylock.toml")
    assert os.listdir(tmp_path / "out") == ["pylock.toml"]
    assert (tmp_path / "out" / "pylock.toml").stat().st_mode & 0o777 == 0o666 & ~umask()
