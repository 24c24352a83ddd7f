"""devenv: a cached development environment is reused only for the same inputs (no build)."""

from __future__ import annotations

from pathlib import Path

from corehost_build.devenv import env_key
from corehost_build.request import BuildRequest
from corehost_build.specs import parse_spec


def test_allowing_a_plain_dependency_is_another_environment(tmp_path: Path) -> None:
    plugins = [parse_spec("corehost-greet", tmp_path)]
    checked = env_key(BuildRequest(plugins=plugins))
    assert env_key(BuildRequest(plugins=plugins)) == checked
    assert env_key(BuildRequest(plugins=plugins, allow_plain=["requests"])) != checked, (
        "an environment built with --allow-plain would let a later run without it skip the plain-dependency check"
    )
