"""A ``--with`` input that gives its host nothing fails the build unless it is allowed as a plain dependency.

``greet`` on the package index is a real, unrelated project (a joke
package, "greet 0.3"): exactly the name clash a user meets when typing
``--with greet`` for corehost-greet. The local case is a project with no
entry points at all.
"""

from __future__ import annotations

import json
from pathlib import Path

from corehost_build.provides import no_module_warning
from corehost_build.resolve import Pinned
from corehost_build.specs import REQUIREMENT, Spec

from tests.builder.conftest import Builder, MakePlugin

UNRELATED = "greet==0.3"


def test_an_unrelated_index_package_is_refused_with_its_summary(builder: Builder, tmp_path: Path) -> None:
    dest = tmp_path / "venv"
    result = builder.build("--with", UNRELATED, "--venv", dest)
    assert result.returncode == 2, result.stderr
    assert (
        '--with greet==0.3: distribution greet 0.3 ("The funniest joke in the world") provides no module, '
        "namespace, hook implementation or host entry point, so it is not a corehost plugin." in result.stderr
    )
    assert '--allow-plain greet (allow-plain = ["greet"] in a build file)' in result.stderr
    assert "Traceback" not in result.stderr and not dest.exists()


def test_an_allowed_plain_dependency_builds_and_a_set_without_modules_says_so(builder: Builder, tmp_path: Path) -> None:
    result = builder.build("--with", UNRELATED, "--allow-plain", "greet", "--venv", tmp_path / "venv", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["modules"] == []
    [warning] = summary["warnings"]
    assert warning["severity"] == "warning" and warning["distribution"] == "greet"
    assert warning["message"].startswith("the plugins of this build (greet) add no module")
    assert "corehost-build: warning: the plugins of this build (greet) add no module" in result.stderr


def test_a_local_project_without_entry_points_is_refused(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    plain = make_plugin("fx-plain-lib")
    dest = tmp_path / "venv"
    result = builder.build("--with", "./plugins/greet", "--with", plain, "--venv", dest)
    assert result.returncode == 2, result.stderr
    assert f"--with {plain}: distribution fx-plain-lib 1.0 (no summary in its metadata) provides no" in result.stderr
    assert not dest.exists()
    buildfile = tmp_path / "build.toml"
    buildfile.write_text(f'with = ["{plain}"]\nallow-plain = ["fx_plain_lib"]\nvenv = "venv"\n', encoding="utf-8")
    allowed = builder.build("--with", "./plugins/greet", "-c", buildfile, "--json", "-q")
    assert allowed.returncode == 0, allowed.stderr
    summary = json.loads(allowed.stdout)
    assert "greeters" not in summary["modules"] and "greet" in summary["modules"]
    assert summary["warnings"] == [], "corehost-greet adds modules, so the set is not empty"
    assert sorted(summary["plugins"]) == ["corehost-greet", "fx-plain-lib"]


def _plugin(name: str) -> Pinned:
    return Pinned(Spec(name, REQUIREMENT), "plugin", name, "1.0", name)


def test_a_generated_module_counts_as_a_module() -> None:
    """A plugin whose only modules are made by its corehost_register_modules hook adds modules all the same."""
    report = {"registry": {"modules": [], "generated": [["greeters.de", "x:Y", "Corehost_Polyglot", "0.1.0"]]}}
    assert no_module_warning([_plugin("corehost-polyglot")], report) is None
    assert no_module_warning([_plugin("other")], report) is not None
    assert no_module_warning([], report) is None, "a build from a lock names no plugins to blame"
