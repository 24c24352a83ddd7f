"""``specs.parse_spec`` and friends: what a user typed, classified once, every mistake in their words."""

from __future__ import annotations

from pathlib import Path

import pytest
from corehost_build.errors import SpecError
from corehost_build.specs import PROJECT, REQUIREMENT, WHEEL, parse_host, parse_replace, parse_spec


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "x-1.0-py3-none-any.whl").write_bytes(b"")
    return tmp_path


@pytest.mark.parametrize("text", ["corehost-greet", "corehost-greet==0.1.0", "corehost-greet>=0.1,<0.2"])
def test_requirements(text: str, base: Path) -> None:
    spec = parse_spec(text, base)
    assert spec.kind == REQUIREMENT and spec.requirement is not None and spec.requirement.name == "corehost-greet"


def test_projects_and_wheels_are_taken_from_base(base: Path) -> None:
    project = parse_spec("./proj", base)
    assert (project.kind, project.path) == (PROJECT, base / "proj")
    wheel = parse_spec("x-1.0-py3-none-any.whl", base)
    assert (wheel.kind, wheel.path) == (WHEEL, base / "x-1.0-py3-none-any.whl")
    assert str(project) == "./proj", "a spec prints as the user wrote it"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "--with was given an empty value"),
        ("./empty", "has no pyproject.toml (nor setup.py), so it is not a Python project"),
        ("./no/such", "--with ./no/such: no such project folder or wheel file"),
        ("dist/missing.whl", "no such project folder or wheel file"),
        ("not a name!", "--with 'not a name!' is not a requirement"),
    ],
)
def test_mistakes_are_named_with_the_words_used(text: str, expected: str, base: Path) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, base)
    assert expected in caught.value.message


def test_host_takes_a_version_or_a_range(base: Path) -> None:
    assert str(parse_host("0.1.0", base).requirement) == "corehost==0.1.0"
    assert str(parse_host(">=0.1", base).requirement) == "corehost>=0.1"
    assert parse_host("./proj", base).kind == PROJECT


def test_replace_wants_a_local_fork(base: Path) -> None:
    name, spec = parse_replace("corehost-greet=./proj", base)
    assert (name, spec.kind) == ("corehost-greet", PROJECT)
    with pytest.raises(SpecError, match="write NAME=PATH"):
        parse_replace("corehost-greet", base)
    with pytest.raises(SpecError, match="the part after '=' must be a path"):
        parse_replace("corehost-greet=corehost-greet==0.2", base)
