"""Issue 2: the interface guards, as a user meets them through ``corehost check``.

Every case is a real plugin project under ``tests/fixtures/plugins/``, built
into a wheel, installed into a real venv, and checked by the real CLI in a
subprocess. Each test finds the problem by its culprit (distribution and
module ID, plugin or hookimpl) and asserts the message says what is wrong;
the same problem must also appear as its ``error: ...`` line in the text
output.

Venvs are module-scoped: ``check`` only reads them, so one run of
``check`` (text) and one of ``check --json`` per venv serve every test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from corehost.problems import Problem
from tests.conftest import Venv, Wheelhouse, clean_env, uv

REPO_PLUGINS = ("corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh", "corehost-polyglot")

#: Fixture plugins that are fine (or only earn a warning): the "clean" venv has these.
FINE = (
    "fixture-fetchers",
    "fixture-hookspec-owner",
    "fixture-hookspec-user",
    "fixture-optional-hook",
    "fixture-no-deps",
    "fixture-chatty",
)

#: One fixture plugin per thing a guard must catch.
BAD = (
    "fixture-bad-id",
    "fixture-unknown-namespace",
    "fixture-duplicate-en",
    "fixture-import-error",
    "fixture-sys-exit",
    "fixture-missing-attr",
    "fixture-missing-method",
    "fixture-wrong-signature",
    "fixture-sync-fetcher",
    "fixture-hook-typo",
    "fixture-hook-extra-arg",
)

LINE = re.compile(r"^(error|warning): (?P<subject>.+) \(distribution (?P<dist>[A-Za-z0-9._-]+)\): (?P<message>.+)$")


def venv_with(path: Path, wheelhouse: Wheelhouse, *dists: str, no_deps: Iterable[str] = ()) -> Venv:
    """A venv with ``dists``' wheels, then ``no_deps``' wheels installed with ``--no-deps``."""
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in dists))
    extra = [wheelhouse.wheel(d) for d in no_deps]
    if extra:
        venv.install(*extra, no_deps=True)
    return venv


@dataclass
class CheckRun:
    """``corehost check`` and ``corehost check --json`` in one venv."""

    text: subprocess.CompletedProcess[str]
    as_json: subprocess.CompletedProcess[str]
    problems: list[dict[str, str]]

    @classmethod
    def of(cls, venv: Venv) -> CheckRun:
        text = venv.corehost("check")
        as_json = venv.corehost("check", "--json")
        try:
            problems = json.loads(as_json.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"check --json stdout is not JSON ({exc}):\n{as_json.stdout}") from None
        return cls(text, as_json, problems)

    def report(self) -> str:
        return f"exit {self.text.returncode}\nstdout:\n{self.text.stdout}\nstderr:\n{self.text.stderr}"

    def of_dist(self, dist: str) -> list[dict[str, str]]:
        return [p for p in self.problems if p["distribution"] == dist]

    def find(self, dist: str, subject: str, severity: str = "error", containing: str = "") -> dict[str, str]:
        """The one problem about ``subject`` of ``dist`` (whose message has ``containing``).

        It must also be present as its line in the text output.
        """
        found = [p for p in self.of_dist(dist) if p["subject"] == subject and containing in p["message"]]
        assert len(found) == 1, f"expected one problem about {subject} of {dist}:\n{self.report()}"
        (problem,) = found
        assert problem["severity"] == severity, problem
        line = f"{severity}: {subject} (distribution {dist}): {problem['message']}"
        assert line in self.text.stdout.splitlines(), f"{line!r} not in the text output:\n{self.report()}"
        return problem


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> CheckRun:
    """corehost and the repository's own plugins, nothing else."""
    return CheckRun.of(venv_with(tmp_path_factory.mktemp("good") / "venv", wheelhouse, *REPO_PLUGINS))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> CheckRun:
    """The repository's plugins plus the fixtures that are fine or only warned about."""
    return CheckRun.of(venv_with(tmp_path_factory.mktemp("clean") / "venv", wheelhouse, *REPO_PLUGINS, *FINE))


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> CheckRun:
    """Everything at once, including fixture-old-core forced in with --no-deps."""
    path = tmp_path_factory.mktemp("bad") / "venv"
    return CheckRun.of(venv_with(path, wheelhouse, *REPO_PLUGINS, *FINE, *BAD, no_deps=["fixture-old-core"]))


# -- the whole run ----------------------------------------------------------------------


def test_repository_plugins_pass(good: CheckRun) -> None:
    assert good.text.returncode == 0, good.report()
    assert good.text.stdout.splitlines() == ["0 error(s), 0 warning(s)"]
    assert good.as_json.returncode == 0
    assert good.problems == []


def test_every_problem_is_one_line_naming_its_distribution(bad: CheckRun) -> None:
    assert bad.text.returncode == 1, bad.report()
    assert bad.as_json.returncode == 1
    *lines, summary = bad.text.stdout.splitlines()
    for line in lines:
        assert LINE.match(line), f"not an `error: <subject> (distribution <dist>): <message>` line: {line!r}"
    expected = [
        f"{p['severity']}: {p['subject']} (distribution {p['distribution']}): {p['message']}" for p in bad.problems
    ]
    assert lines == expected
    n_errors = sum(p["severity"] == "error" for p in bad.problems)
    assert summary == f"{n_errors} error(s), {len(bad.problems) - n_errors} warning(s)"
    for p in bad.problems:
        assert {"severity", "distribution", "subject", "message", "kind", "name"} <= set(p)
        assert set(p) <= {
            "severity",
            "distribution",
            "subject",
            "message",
            "kind",
            "name",
            "plugin",
            "version",
            "target",
        }
        assert Problem.from_json(p).to_json() == p
    # Every bad fixture is caught, and nothing fine is blamed for anything but a warning.
    blamed = {p["distribution"] for p in bad.problems if p["severity"] == "error"}
    assert blamed == {*BAD, "fixture-old-core"}, bad.report()


# -- IDs, namespaces, duplicates --------------------------------------------------------


def test_invalid_module_id(bad: CheckRun) -> None:
    message = bad.find("fixture-bad-id", "module 'Greeters.EN'")["message"]
    assert "label 'Greeters'" in message
    assert "lowercase letters" in message
    assert "pyproject.toml" in message


def test_undeclared_namespace_suggests_the_near_one(bad: CheckRun) -> None:
    message = bad.find("fixture-unknown-namespace", "module 'greeterz.x'")["message"]
    assert "namespace 'greeterz' is not declared" in message
    assert "(did you mean 'greeters'?)" in message


def test_duplicate_module_id_names_both_distributions(bad: CheckRun) -> None:
    clashes = [p for p in bad.problems if p["subject"] == "module 'greeters.en'"]
    assert len(clashes) == 1, bad.report()
    (clash,) = clashes
    both = {"corehost-greeter-en", "fixture-duplicate-en"}
    assert clash["distribution"] in both
    (other,) = both - {clash["distribution"]}
    message = bad.find(clash["distribution"], "module 'greeters.en'")["message"]
    assert f"also provided by distribution {other}" in message
    assert "corehost_greeter_en:English" in message
    assert "fixture_duplicate_en:AnotherEnglish" in message
    assert "must be unique" in message


# -- imports -------------------------------------------------------------------------------


def test_import_that_raises(bad: CheckRun) -> None:
    message = bad.find("fixture-import-error", "module 'greeters.broken'")["message"]
    assert "importing fixture_import_error:Broken failed" in message
    assert "RuntimeError: fixture-import-error refuses to be imported" in message


def test_import_that_calls_sys_exit_does_not_end_the_run(bad: CheckRun) -> None:
    message = bad.find("fixture-sys-exit", "module 'greeters.exits'")["message"]
    assert "importing fixture_sys_exit:Exits failed" in message
    assert "sys.exit(3)" in message
    # The run went on: modules checked after it, and the hookimpl plugins checked
    # after every module, are still reported, and check's own exit code stands.
    assert bad.text.returncode == 1
    subjects = [p["subject"] for p in bad.problems]
    after = subjects[subjects.index("module 'greeters.exits'") + 1 :]
    assert "module 'greeters.rude'" in after
    assert "hookimpl 'corehost_add_comands' of plugin 'hook_typo'" in after
    assert bad.text.stdout.splitlines()[-1].endswith("warning(s)")


def test_entry_point_naming_a_missing_attribute(bad: CheckRun) -> None:
    message = bad.find("fixture-missing-attr", "module 'greeters.ghost'")["message"]
    assert "importing fixture_missing_attr:Ghsot failed" in message
    assert "AttributeError" in message
    assert "has no attribute 'Ghsot'" in message


# -- modules against their interface ----------------------------------------------------------


def test_missing_required_method(bad: CheckRun) -> None:
    message = bad.find("fixture-missing-method", "module 'greeters.mute'")["message"]
    assert "missing required method `def greet(self, name: str) -> str`" in message
    assert "add it to Mute" in message
    assert "namespace 'greeters'" in message
    assert "declared by corehost-greet" in message


def test_wrong_signature_shows_both_signatures(bad: CheckRun) -> None:
    message = bad.find("fixture-wrong-signature", "module 'greeters.rude'")["message"]
    assert "method 'greet' has an incompatible signature" in message
    assert "parameter 'name' is missing" in message
    assert "the interface has `def greet(self, name: str) -> str`" in message
    assert "the module has `def greet(self) -> str`" in message


def test_sync_method_where_the_interface_is_async(bad: CheckRun, clean: CheckRun) -> None:
    message = bad.find("fixture-sync-fetcher", "module 'fetchers.sync'")["message"]
    assert "method 'fetch' must be async" in message
    assert "the interface has `async def fetch(self, url: str) -> bytes`" in message
    assert "the module has `def fetch(self, url: str) -> bytes`" in message
    assert "declared by fixture-fetchers" in message
    # The namespace's owner and its async implementation are fine.
    assert bad.of_dist("fixture-fetchers") == []
    assert clean.of_dist("fixture-fetchers") == []


# -- hookimpl plugins ----------------------------------------------------------------------


def test_misspelled_hook_name(bad: CheckRun) -> None:
    message = bad.find("fixture-hook-typo", "hookimpl 'corehost_add_comands' of plugin 'hook_typo'")["message"]
    assert "matches no hookspec" in message
    assert "(did you mean 'corehost_add_commands'?)" in message
    assert "optionalhook=True" in message


def test_hookimpl_argument_the_hookspec_lacks(bad: CheckRun) -> None:
    message = bad.find("fixture-hook-extra-arg", "plugin 'hook_extra_arg'")["message"]
    assert "corehost_stopping" in message
    assert "exit_code" in message
    assert "can not be found in the hookspec" in message


def test_optionalhook_with_an_unknown_name_is_fine(bad: CheckRun, clean: CheckRun) -> None:
    assert clean.of_dist("fixture-optional-hook") == []
    assert bad.of_dist("fixture-optional-hook") == []
    assert not any("othertool_report_ready" in p["subject"] + p["message"] for p in bad.problems)


def test_plugin_declared_hookspec_and_its_implementation_are_fine(bad: CheckRun, clean: CheckRun) -> None:
    for run in (clean, bad):
        assert run.of_dist("fixture-hookspec-owner") == []
        assert run.of_dist("fixture-hookspec-user") == []
        assert not any("fixture_greeting_sent" in p["subject"] + p["message"] for p in run.problems)


# -- declared compatibility ------------------------------------------------------------------


def test_plugin_made_for_another_corehost(bad: CheckRun) -> None:
    message = bad.find("fixture-old-core", "distribution fixture-old-core 0.1.0")["message"]
    assert "is incompatible" in message
    assert "requires corehost<0.1" in message
    assert "corehost 0.1.0 is installed" in message


def test_plugin_without_a_corehost_dependency_is_only_warned_about(clean: CheckRun) -> None:
    assert clean.text.returncode == 0, clean.report()
    assert clean.as_json.returncode == 0
    assert {p["distribution"] for p in clean.problems} == {"fixture-no-deps"}
    assert {p["severity"] for p in clean.problems} == {"warning"}
    subject = "distribution fixture-no-deps 0.1.0"
    message = clean.find("fixture-no-deps", subject, "warning", "no dependency on corehost;")["message"]
    assert "add a version range for it" in message
    # It uses namespace 'greeters', so the namespace's owner is missing from its dependencies too.
    clean.find("fixture-no-deps", subject, "warning", "no dependency on corehost-greet;")
    assert clean.text.stdout.splitlines()[-1] == f"0 error(s), {len(clean.problems)} warning(s)"


# -- output hygiene ----------------------------------------------------------------------------


def test_plugin_printing_on_import_cannot_corrupt_json(bad: CheckRun, clean: CheckRun) -> None:
    for run in (clean, bad):
        # CheckRun.of already parsed stdout as JSON; the prints went to stderr.
        assert isinstance(run.problems, list)
        assert "fixture-chatty" not in run.as_json.stdout
        assert "fixture-chatty: hello from import time!" in run.as_json.stderr
        assert "fixture-chatty hooks: hello from import time!" in run.as_json.stderr
        assert run.of_dist("fixture-chatty") == []


# -- generated modules -------------------------------------------------------------------------

GENERATING = """
import sys
from typing import Protocol

from corehost import Registry, hookimpl
from corehost.guards import check


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


class Good:
    def greet(self, name: str) -> str:
        return name


class Mute:
    pass


class Maker:
    @hookimpl
    def corehost_register_modules(self, registry: Registry) -> None:
        registry.add_module("greeters.good", Good, distribution="fx-maker")
        registry.add_module("greeters.mute", Mute, distribution="fx-maker")


registry = Registry.for_host()
registry.add_namespace("greeters", Greeter)
registry.add_plugin("maker", Maker(), distribution="fx-maker")
for problem in check(registry, versions=False):
    print(problem)
print("host imported:", "corehost.host" in sys.modules)
"""


def test_generated_modules_are_checked_through_the_guards_own_plugin_manager(tmp_path: Path) -> None:
    """The hook runs on the manager check_plugins registered every plugin with: no second Host, no second import."""
    result = subprocess.run([sys.executable, "-c", GENERATING], capture_output=True, text=True, env=clean_env(),
                            cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (problem, imported) = result.stdout.splitlines()
    assert problem.startswith("error: module 'greeters.mute' (distribution fx-maker): missing required method")
    assert imported == "host imported: False"
