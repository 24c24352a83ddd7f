"""Interface evolution: the greet plugin changes its Greeter, the greeters do not.

The go-plugin greeter experiments, done with real packages: the greet plugin
is copied from ``plugins/greet``, its ``Greeter`` interface rewritten and its
version bumped (staying below 0.2, so greeter-en's and greeter-zh's ranges
still accept it), built into a wheel, and installed next to the unchanged
``corehost-greeter-en`` and ``corehost-greeter-zh``. Nothing is committed but
the rewrite rules below.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT, Venv, Wheelhouse, build_wheel, clean_env, uv

ORIGINAL = "    def greet(self, name: str) -> str: ...\n"

#: variant -> (version, what replaces ORIGINAL in Greeter).
VARIANTS = {
    "optional": (
        "0.1.1",
        ORIGINAL + '\n    def farewell(self, name: str) -> str:\n        return f"Goodbye, {name}"\n',
    ),
    "required": ("0.1.2", ORIGINAL + "\n    def farewell(self, name: str) -> str: ...\n"),
    "breaking": ("0.1.3", "    def greet(self, name: str, times: int) -> str: ...\n"),
}

GREETERS = {"greeters.en": ("corehost-greeter-en", "English"), "greeters.zh": ("corehost-greeter-zh", "Chinese")}


def greet_variant(base: Path, variant: str) -> Path:
    """A copy of plugins/greet whose Greeter is rewritten as ``variant`` says."""
    version, replacement = VARIANTS[variant]
    project = base / f"greet-{variant}"
    shutil.copytree(
        ROOT / "plugins" / "greet", project, ignore=shutil.ignore_patterns("__pycache__", "dist", "*.egg-info")
    )
    interfaces = project / "src" / "corehost_greet" / "interfaces.py"
    source = interfaces.read_text()
    greeter = source.index("class Greeter(")
    at = source.index(ORIGINAL, greeter)
    assert at < source.index("class Filter("), "plugins/greet's Greeter changed; update the evolution rewrite"
    interfaces.write_text(source[:at] + replacement + source[at + len(ORIGINAL) :])
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert 'version = "0.1.0"' in text, "plugins/greet's version changed; keep the variants below 0.2"
    pyproject.write_text(text.replace('version = "0.1.0"', f'version = "{version}"', 1))
    return project


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> dict[str, Venv]:
    """One venv per variant: corehost, that greet variant, greeter-en and greeter-zh.

    The variants' wheels go to a directory of their own, not into the
    session wheelhouse, where they would shadow the real corehost-greet.
    """
    base = tmp_path_factory.mktemp("evolution")
    wheels = base / "wheels"
    wheels.mkdir()

    def make(variant: str) -> Venv:
        wheel = build_wheel(greet_variant(base, variant), wheels)
        venv = Venv(base / f"venv-{variant}")
        subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv.path)], check=True, env=clean_env())
        venv.install(
            wheelhouse.wheel("corehost"),
            wheel,
            wheelhouse.wheel("corehost-greeter-en"),
            wheelhouse.wheel("corehost-greeter-zh"),
        )
        return venv

    with ThreadPoolExecutor(max_workers=len(VARIANTS)) as pool:
        made = dict(zip(VARIANTS, pool.map(make, VARIANTS), strict=True))
    for variant, venv in made.items():
        rows = json.loads(venv.corehost("list-modules", "--json", check=True).stdout)
        versions = {r["distribution"]: r["version"] for r in rows}
        assert versions["corehost-greet"] == VARIANTS[variant][0], rows
    return made


def check(venv: Venv) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    text = venv.corehost("check")
    return text, json.loads(venv.corehost("check", "--json").stdout)


def test_optional_method_with_a_default_keeps_old_plugins_working(venvs: dict[str, Venv]) -> None:
    venv = venvs["optional"]
    text, problems = check(venv)
    assert text.returncode == 0, text.stdout + text.stderr
    assert problems == []
    assert text.stdout.splitlines() == ["0 error(s), 0 warning(s)"]
    assert venv.corehost("greet", "Bob", "--lang", "zh", check=True).stdout == "你好, Bob!\n"
    assert venv.corehost("greet", "Bob", check=True).stdout == "Hello, Bob!\n"


def test_new_required_method_names_every_plugin_lacking_it(venvs: dict[str, Venv]) -> None:
    venv = venvs["required"]
    text, problems = check(venv)
    assert text.returncode == 1, text.stdout + text.stderr
    assert {(p["distribution"], p["subject"]) for p in problems} == {
        (dist, f"module {module_id!r}") for module_id, (dist, _) in GREETERS.items()
    }
    for module_id, (dist, cls) in GREETERS.items():
        (problem,) = [p for p in problems if p["distribution"] == dist]
        assert problem["severity"] == "error"
        message = problem["message"]
        assert "missing required method `def farewell(self, name: str) -> str`" in message
        assert f"add it to {cls}" in message
        assert "namespace 'greeters', declared by corehost-greet" in message
        assert f"error: module {module_id!r} (distribution {dist}): {message}" in text.stdout.splitlines()
    # The host refuses to use such a greeter too, and says which and why.
    greet = venv.corehost("greet", "Bob", "--lang", "zh")
    assert greet.returncode != 0
    assert "greeters.zh (distribution corehost-greeter-zh)" in greet.stderr
    assert "missing required method `def farewell(self, name: str) -> str`" in greet.stderr


def test_breaking_signature_change_shows_both_signatures(venvs: dict[str, Venv]) -> None:
    venv = venvs["breaking"]
    text, problems = check(venv)
    assert text.returncode == 1, text.stdout + text.stderr
    assert {p["distribution"] for p in problems} == {dist for dist, _ in GREETERS.values()}
    for module_id, (dist, _) in GREETERS.items():
        (problem,) = [p for p in problems if p["distribution"] == dist]
        assert problem["subject"] == f"module {module_id!r}"
        message = problem["message"]
        assert "method 'greet' has an incompatible signature (parameter 'times' is missing)" in message
        assert "the interface has `def greet(self, name: str, times: int) -> str`" in message
        assert "the module has `def greet(self, name: str) -> str`" in message
        assert f"error: module {module_id!r} (distribution {dist}): {message}" in text.stdout.splitlines()
