"""lock.portable: a lock names its local wheels by file name, not by this machine's cache path (no build)."""

from __future__ import annotations

from pathlib import Path

from corehost_build.lock import WHEELS_DIR, portable

LOCK = """\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "corehost-greet"
version = "0.1.0"
archive = {{ path = "{cache}/wheels/ab12/corehost_greet-0.1.0-py3-none-any.whl", hashes = {{ sha256 = "aa" }} }}

[[packages]]
name = "fork"
version = "1.0+local.2"
archive = {{ path = "{cache}/wheels/cd34/fork-1.0+local.2-py3-none-any.whl", hashes = {{ sha256 = "bb" }} }}

[[packages]]
name = "click"
version = "8.1.7"
wheels = [{{ url = "https://files.example/click-8.1.7-py3-none-any.whl", hashes = {{ sha256 = "cc" }} }}]
"""


def test_local_wheels_are_named_beside_the_lock_and_nothing_else_changes(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(LOCK.format(cache="/home/u/.cache/corehost-build"), encoding="utf-8")
    wheels = [
        Path("/home/u/.cache/corehost-build/wheels/ab12/corehost_greet-0.1.0-py3-none-any.whl"),
        Path("/home/u/.cache/corehost-build/wheels/cd34/fork-1.0+local.2-py3-none-any.whl"),
    ]
    text = portable(lock, wheels)
    assert f'path = "{WHEELS_DIR}/corehost_greet-0.1.0-py3-none-any.whl"' in text
    assert f'path = "{WHEELS_DIR}/fork-1.0+local.2-py3-none-any.whl"' in text
    assert "/home/u/" not in text
    changed = [(a, b) for a, b in zip(lock.read_text().splitlines(), text.splitlines(), strict=True) if a != b]
    assert len(changed) == 2, "only the two local paths change; an index wheel keeps its url"


def test_the_same_lock_from_two_caches_is_the_same_text(tmp_path: Path) -> None:
    texts = []
    for cache in ("/home/a/.cache/corehost-build", "/srv/ci/cache"):
        lock = tmp_path / "pylock.toml"
        lock.write_text(LOCK.format(cache=cache), encoding="utf-8")
        wheels = [Path(f"{cache}/wheels/ab12/corehost_greet-0.1.0-py3-none-any.whl"),
                  Path(f"{cache}/wheels/cd34/fork-1.0+local.2-py3-none-any.whl")]  # fmt: skip
        texts.append(portable(lock, wheels))
    assert texts[0] == texts[1]
