"""request: inputs as written become one BuildRequest; messages quote the user's own words (no build)."""

from __future__ import annotations

from pathlib import Path

from corehost_build.request import discover_dir
from corehost_build.resolve import Pinned


def test_a_plugin_found_by_plugins_dir_is_named_by_that_flag(tmp_path: Path) -> None:
    (tmp_path / "plugins" / "greet").mkdir(parents=True)
    (tmp_path / "plugins" / "greet" / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (tmp_path / "plugins" / "x-1.0-py3-none-any.whl").write_bytes(b"")
    project, wheel = discover_dir(("plugins", tmp_path))
    party = Pinned(project, "plugin", "corehost-greet", "0.1.0", "").party()
    assert party.describe() == "plugin corehost-greet 0.1.0 (--plugins-dir plugins, its project greet)"
    assert Pinned(wheel, "plugin", "x", "1.0", "").party().words == (
        "--plugins-dir plugins, its wheel x-1.0-py3-none-any.whl"
    )
    assert str(tmp_path) not in party.describe()
