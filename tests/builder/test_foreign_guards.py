"""The guards of foreign (pluggy) hosts, run in a real environment against the hosts' own hookspecs.

One venv per session holds real datasette, llm and pytest from the index,
the fake plugins of ``tests/fixtures/foreign`` (each with one thing wrong,
or nothing), and a tiny pluggy host of our own that corehost-build has no
description for. Every guard runs in that venv's interpreter exactly as a
build runs it, through :func:`inspect_foreign` and :func:`describe_foreign`.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from corehost_build import foreign_target
from corehost_build.errors import GuardFailure, GuardRunError, ProbeError, SpecError
from corehost_build.foreign import SHIPPED, ForeignHost, host_from_table, shipped_host, table_example
from corehost_build.foreignprobe import ForeignReport, describe_foreign, inspect_foreign

from corehost.problems import Problem
from tests.conftest import ROOT, Venv, build_wheel, clean_env, uv

FIXTURES = ROOT / "tests" / "fixtures" / "foreign"
#: The hosts, and a real plugin of each from the index (pytest-xdist adds hookspecs through pytest_addhooks).
REAL = ("datasette", "llm", "pytest", "datasette-json-html", "llm-jq", "pytest-xdist")
TIMEOUT = 120.0


@pytest.fixture(scope="session")
def foreign_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """:data:`REAL` from the index with every fake plugin; datasette-fixture-ancient without its dependencies."""
    wheels = tmp_path_factory.mktemp("foreign-wheels")
    projects = sorted(p for p in FIXTURES.iterdir() if (p / "pyproject.toml").exists())
    with ThreadPoolExecutor(max_workers=4) as pool:
        built = dict(zip([p.name for p in projects], pool.map(lambda p: build_wheel(p, wheels), projects), strict=True))
    path = tmp_path_factory.mktemp("foreign") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    ancient = built.pop("datasette-fixture-ancient")
    subprocess.run(
        [uv(), "pip", "install", "-q", "--python", str(venv.python), "--find-links", str(wheels),
         *REAL, *map(str, built.values())],
        check=True, env=clean_env(),
    )  # fmt: skip
    venv.install(ancient, no_deps=True)
    return venv


def host(name: str) -> ForeignHost:
    found = shipped_host(name)
    assert found is not None
    return found


@pytest.fixture(scope="session")
def datasette_report(foreign_venv: Venv) -> ForeignReport:
    return inspect_foreign(foreign_venv.python, host("datasette"), timeout=TIMEOUT)


@pytest.fixture(scope="session")
def llm_report(foreign_venv: Venv) -> ForeignReport:
    return inspect_foreign(foreign_venv.python, host("llm"), timeout=TIMEOUT)


@pytest.fixture(scope="session")
def pytest_report(foreign_venv: Venv) -> ForeignReport:
    return inspect_foreign(foreign_venv.python, host("pytest"), timeout=TIMEOUT)


def of(report: ForeignReport, distribution: str) -> list[Problem]:
    return [p for p in report.problems if p.distribution == distribution]


def only(report: ForeignReport, distribution: str) -> Problem:
    found = of(report, distribution)
    assert len(found) == 1, f"{distribution}: {[str(p) for p in report.problems]}"
    return found[0]


# --- datasette ----------------------------------------------------------------------------------------------


def test_misspelt_hook_is_named_with_a_did_you_mean(datasette_report: ForeignReport) -> None:
    problem = only(datasette_report, "datasette-fixture-misspelt")
    assert (problem.kind, problem.name, problem.plugin, problem.version) == (
        "hookimpl", "extra_css_url", "fixture_misspelt", "0.1.0",
    )  # fmt: skip
    assert str(problem) == (
        "error: hookimpl 'extra_css_url' of plugin 'fixture_misspelt' (distribution datasette-fixture-misspelt): "
        "datasette-fixture-misspelt 0.1.0, entry point 'fixture_misspelt = datasette_fixture_misspelt' in group "
        "'datasette': no hookspec of datasette is named 'extra_css_url' (did you mean 'extra_css_urls'?), so "
        "datasette never calls it. Rename the function to the hook it implements, or mark it optionalhook=True "
        "if it is meant for a hook that may be absent."
    )


def test_argument_the_spec_lacks_is_a_problem_not_a_traceback(datasette_report: ForeignReport) -> None:
    problem = only(datasette_report, "datasette-fixture-badarg")
    assert (problem.kind, problem.name) == ("hookimpl", "extra_js_urls")
    assert "argument(s) page of extra_js_urls() are not in the hookspec of 'extra_js_urls' (it passes: " in (
        problem.message
    )
    assert "pluggy refuses the plugin when it is registered, so every command of datasette would fail" in (
        problem.message
    )


def test_hookwrapper_that_is_no_generator(datasette_report: ForeignReport) -> None:
    problem = only(datasette_report, "datasette-fixture-badwrapper")
    assert (problem.kind, problem.name) == ("hookimpl", "startup")
    assert "startup() is declared hookwrapper=True but is not a generator function (it has no 'yield')" in (
        problem.message
    )


def test_entry_point_that_fails_to_import_names_the_exception_and_line(datasette_report: ForeignReport) -> None:
    problem = only(datasette_report, "datasette-fixture-broken")
    assert (problem.kind, problem.name, problem.target) == ("plugin", "fixture_broken", "datasette_fixture_broken")
    assert re.search(
        r"entry point 'fixture_broken = datasette_fixture_broken' in group 'datasette': it fails to import: "
        r"ModuleNotFoundError: No module named 'datasette_fixture_missing_dependency' "
        r"\(at /\S+/datasette_fixture_broken/__init__.py:4, in <module>\)\. datasette would fail to start",
        problem.message,
    ), problem.message


def test_declared_range_on_the_host_excluding_the_installed_version(datasette_report: ForeignReport) -> None:
    (problem,) = [p for p in of(datasette_report, "datasette-fixture-ancient") if p.kind == "distribution"]
    installed = datasette_report.host_version
    assert str(problem) == (
        "error: distribution datasette-fixture-ancient 0.1.0 (distribution datasette-fixture-ancient): "
        "datasette-fixture-ancient 0.1.0, entry point 'fixture_ancient = datasette_fixture_ancient' in group "
        f"'datasette': it declares 'datasette<0.1', which excludes the installed datasette {installed}, the version "
        "the artifact would run it with. Choose a version of datasette-fixture-ancient made for datasette "
        f"{installed}, pin the host to the range it declares, or leave it out."
    )


def test_two_plugins_with_one_entry_point_name(datasette_report: ForeignReport) -> None:
    (problem,) = [p for p in datasette_report.problems if p.kind == "plugin" and p.name == "fixture_ancient"]
    twins = {"datasette-fixture-ancient", "datasette-fixture-twin"}
    assert problem.distribution in twins
    (other,) = twins - {problem.distribution}
    assert f"the plugin name 'fixture_ancient' is taken by {other} 0.1.0" in problem.message
    assert "pluggy registers one plugin per name, so datasette would silently never load this one" in problem.message


def test_good_plugin_passes_with_optionalhook_and_requirements_that_do_not_apply(
    datasette_report: ForeignReport,
) -> None:
    assert of(datasette_report, "datasette-fixture-good") == []
    assert of(datasette_report, "datasette") == []
    (row,) = [p for p in datasette_report.plugins if p["distribution"] == "datasette-fixture-good"]
    assert row == {
        "distribution": "datasette-fixture-good", "version": "0.1.0", "entry_point": "fixture_good",
        "group": "datasette", "value": "datasette_fixture_good", "hooks": ["extra_css_urls", "extra_fixture_hook"],
    }  # fmt: skip
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", datasette_report.host_version)


def test_all_problems_at_once_and_the_build_fails_naming_each(datasette_report: ForeignReport) -> None:
    culprits = {p.distribution for p in datasette_report.errors}
    assert culprits >= {
        "datasette-fixture-misspelt", "datasette-fixture-badarg", "datasette-fixture-badwrapper",
        "datasette-fixture-broken", "datasette-fixture-ancient",
    }  # fmt: skip
    with pytest.raises(GuardFailure) as failure:
        datasette_report.require_clean()
    text = str(failure.value)
    assert text.startswith(f"the interface guards found {len(datasette_report.errors)} error(s) in plugin(s) ")
    assert "nothing was written to the destination" in text
    for problem in datasette_report.errors:
        assert f"  - {problem.subject} (distribution {problem.distribution}): {problem.message}" in text


def test_an_extra_asked_for_brings_its_requirement_on_the_host(foreign_venv: Venv) -> None:
    report = inspect_foreign(
        foreign_venv.python, host("datasette"), timeout=TIMEOUT, extras={"datasette-fixture-good": ["old"]}
    )
    (problem,) = of(report, "datasette-fixture-good")
    assert problem.kind == "distribution"
    assert "it declares \"datasette<0.1; extra == 'old'\", which excludes the installed datasette" in problem.message


def test_only_the_files_on_path_are_checked(foreign_venv: Venv, tmp_path: Path) -> None:
    """With ``path``, the target sees that folder and the standard library: a package left out fails to import."""
    (site,) = foreign_venv.path.glob("lib/python*/site-packages")
    shipped = tmp_path / "site"
    shipped.mkdir()
    for entry in site.iterdir():
        if entry.name != "datasette_fixture_good":
            (shipped / entry.name).symlink_to(entry)
    report = inspect_foreign(foreign_venv.python, host("datasette"), timeout=TIMEOUT, path=[str(shipped)])
    problem = only(report, "datasette-fixture-good")
    assert "it fails to import: ModuleNotFoundError: No module named 'datasette_fixture_good'" in problem.message


@pytest.mark.parametrize(
    ("report", "distribution"),
    [("datasette_report", "datasette-json-html"), ("llm_report", "llm-jq"), ("pytest_report", "pytest-xdist")],
)
def test_real_plugins_from_the_index_pass(request: pytest.FixtureRequest, report: str, distribution: str) -> None:
    found: ForeignReport = request.getfixturevalue(report)
    assert of(found, distribution) == []
    assert distribution in {p["distribution"] for p in found.plugins}


# --- llm ----------------------------------------------------------------------------------------------------


def test_llm_misspelt_register_command(llm_report: ForeignReport) -> None:
    problem = only(llm_report, "llm-fixture-misspelt")
    assert (problem.kind, problem.name) == ("hookimpl", "register_command")
    assert "no hookspec of llm is named 'register_command' (did you mean 'register_commands'?)" in problem.message
    assert of(llm_report, "llm-fixture-good") == []
    assert {p["distribution"] for p in llm_report.plugins} >= {"llm-fixture-good", "llm-fixture-misspelt"}


def test_one_module_behind_two_entry_points(llm_report: ForeignReport) -> None:
    problem = only(llm_report, "llm-fixture-twice")
    assert str(problem) == (
        "error: plugin 'fixture_twice_again' (distribution llm-fixture-twice): llm-fixture-twice 0.2.0, entry point "
        "'fixture_twice_again = llm_fixture_twice' in group 'llm': it loads the object llm-fixture-twice 0.2.0, "
        "entry point 'fixture_twice = llm_fixture_twice' in group 'llm' loads, and pluggy refuses to register one "
        "plugin twice, so llm would fail to start. Keep one of the two entry points."
    )


# --- pytest -------------------------------------------------------------------------------------------------


def test_pytest_unmarked_misspelt_hook(pytest_report: ForeignReport) -> None:
    problem = only(pytest_report, "pytest-fixture-adoption")
    assert (problem.kind, problem.name) == ("hookimpl", "pytest_adoption")
    assert "no hookspec of pytest is named 'pytest_adoption' (did you mean 'pytest_addoption'?)" in problem.message


def test_pytest_wrapper_on_a_historic_hook(pytest_report: ForeignReport) -> None:
    problem = only(pytest_report, "pytest-fixture-historic")
    assert (problem.kind, problem.name) == ("hookimpl", "pytest_configure")
    assert "the hook 'pytest_configure' is historic" in problem.message
    assert "this hookimpl is declared wrapper=True. Drop wrapper=True and return the result instead" in (
        problem.message
    )


def test_pytest_addhooks_that_fails(pytest_report: ForeignReport) -> None:
    problem = only(pytest_report, "pytest-fixture-addhooks-fails")
    assert (problem.kind, problem.name) == ("hookimpl", "pytest_addhooks")
    assert re.search(
        r": pytest_addhooks\(\) fails, so the hookspecs it adds are missing: ImportError: cannot import name "
        r"'newhooks' from 'pytest_fixture_addhooks_fails' \(\S+\) "
        r"\(at \S+/pytest_fixture_addhooks_fails/__init__.py:5, in pytest_addhooks\)\. "
        r"pytest would fail to start with it\. Fix the plugin, or leave it out\.$",
        problem.message,
    ), problem.message


def test_pytest_hooks_added_through_addhooks_count(pytest_report: ForeignReport) -> None:
    assert of(pytest_report, "pytest-fixture-newhooks") == []
    assert of(pytest_report, "pytest-fixture-usehooks") == []
    (row,) = [p for p in pytest_report.plugins if p["distribution"] == "pytest-fixture-usehooks"]
    assert row["hooks"] == ["pytest_fixture_greeting"]
    assert of(pytest_report, "pytest") == []


# --- describing a host --------------------------------------------------------------------------------------


def test_tiny_host_is_inferred_and_its_plugins_checked(foreign_venv: Venv) -> None:
    tiny = describe_foreign(foreign_venv.python, "tinyhost", timeout=TIMEOUT)
    assert tiny == ForeignHost(
        name="tinyhost", distribution="tinyhost", project="tinyhost", hookspecs=("tinyhost.hookspecs",),
        groups=("tinyhost.plugins",), script="tinyhost",
        inferred=("project", "hookspecs", "groups", "script", "builtins", "install_tools", "refuse"),
    )  # fmt: skip
    assert tiny.inferred_summary() == (
        "project 'tinyhost'; hookspecs tinyhost.hookspecs; groups tinyhost.plugins; script 'tinyhost'; "
        "builtins (none); install-tools (none); refuse (none)"
    )
    # The plugin prints while imported, to sys.stdout and to file descriptor 1: the answer is still read.
    report = inspect_foreign(foreign_venv.python, tiny, timeout=TIMEOUT)
    problem = only(report, "tinyhost-fixture-typo")
    assert "no hookspec of tinyhost is named 'tinyhost_greting' (did you mean 'tinyhost_greeting'?)" in (
        problem.message
    )
    assert report.host_version == "1.2.0"


def test_a_wrong_description_is_a_problem_of_the_host(foreign_venv: Venv) -> None:
    wrong = ForeignHost(
        name="tinyhost", distribution="tinyhost", project="tinyhost", hookspecs=("tinyhost.nothere",),
        groups=("tinyhost.plugins",), script="tinyhost", builtins=("tinyhost.gone",),
    )  # fmt: skip
    report = inspect_foreign(foreign_venv.python, wrong, timeout=TIMEOUT)
    error, warning = sorted((p for p in report.problems if p.kind == "host"), key=lambda p: p.severity)
    assert str(error) == (
        "error: host 'tinyhost' (distribution tinyhost): its hookspecs 'tinyhost.nothere' cannot be added "
        "(ModuleNotFoundError: No module named 'tinyhost.nothere'); the host description names the wrong module, or "
        "this version of the host moved it. Fix 'hookspecs' in the [host] table."
    )
    assert warning.severity == "warning"
    assert warning.message.startswith("its own plugin module 'tinyhost.gone' does not import (ModuleNotFoundError: ")


@pytest.mark.parametrize("name", ["llm", "datasette"])
def test_inferred_description_matches_the_shipped_one(foreign_venv: Venv, name: str) -> None:
    inferred = describe_foreign(foreign_venv.python, name, timeout=TIMEOUT)
    assert dataclasses.replace(inferred, inferred=()) == host(name)
    assert inferred.inferred == ("project", "hookspecs", "groups", "script", "builtins", "install_tools", "refuse")


def test_a_host_that_cannot_be_described_shows_the_table_to_write(foreign_venv: Venv) -> None:
    with pytest.raises(SpecError) as error:
        describe_foreign(foreign_venv.python, "notahost", timeout=TIMEOUT)
    assert str(error.value) == (
        "--host notahost: notahost 0.1.0 is no corehost host and has no description shipped with corehost-build, "
        "and it could not be described from its metadata: hookspecs: importing the console script(s) notahost made "
        "no pluggy PluginManager. Describe it in the build file (-c build.toml) with "
        "a [host] table (see docs/foreign-hosts.md), for example:\n"
        '[host]\ndistribution = "notahost"\nproject = "PROJECT"\nhookspecs = ["PACKAGE.hookspecs"]\n'
        'groups = ["GROUP"]\nscript = "notahost"'
    )
    with pytest.raises(SpecError, match=r"--host not-installed: the distribution 'not-installed' is not installed"):
        describe_foreign(foreign_venv.python, "not-installed", timeout=TIMEOUT)


def test_a_plugin_that_blocks_while_imported_is_named_by_the_timeout(foreign_venv: Venv) -> None:
    tiny = ForeignHost(
        name="tinyhost", distribution="tinyhost", project="tinyhost", hookspecs=("tinyhost.hookspecs",),
        groups=("fixture.sleepy",), script="tinyhost",
    )  # fmt: skip
    with pytest.raises(GuardRunError) as error:
        inspect_foreign(foreign_venv.python, tiny, timeout=3)
    assert str(error.value).startswith(
        "the guards of tinyhost did not finish within 3 s: it was importing sleepy = fixture_sleepy "
        "(fixture-sleepy 0.1.0), which blocks while being imported"
    )


def test_an_environment_without_pluggy_or_the_host_is_refused(foreign_venv: Venv, tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match=r"the guards of datasette cannot run in \S+: pluggy is not installed"):
        inspect_foreign(foreign_venv.python, host("datasette"), timeout=TIMEOUT, path=[str(tmp_path)])
    absent = dataclasses.replace(host("datasette"), name="absent", distribution="absent")
    with pytest.raises(ProbeError, match="the host distribution 'absent' is not installed in this environment"):
        inspect_foreign(foreign_venv.python, absent, timeout=TIMEOUT)


def test_target_script_is_python38_with_stdlib_and_pluggy_only() -> None:
    """The target has no corehost and may be an old Python: the script is checked for both on its source."""
    source = Path(foreign_target.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    first = tree.body[1]
    assert isinstance(first, ast.ImportFrom) and first.module == "__future__", "annotations must stay unevaluated"
    imported = {
        alias.name.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == {"pluggy"}
    assert not {"removeprefix", "removesuffix"} & {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


# --- descriptions and [host] tables -------------------------------------------------------------------------


def test_shipped_descriptions() -> None:
    assert sorted(SHIPPED) == ["datasette", "llm", "pytest", "tox"]
    assert shipped_host("Datasette") is SHIPPED["datasette"]
    assert shipped_host("corehost") is None
    assert (host("pytest").groups, host("pytest").impl_prefix, host("pytest").addhooks) == (
        ("pytest11",), "pytest_", "pytest_addhooks",
    )  # fmt: skip
    for described in SHIPPED.values():
        assert ForeignHost.from_json(described.to_json()) == described


def test_from_json_names_a_wrong_field() -> None:
    data = host("llm").to_json()
    with pytest.raises(ValueError, match="field 'groups' must be a list of strings"):
        ForeignHost.from_json({**data, "groups": "llm"})
    with pytest.raises(ValueError, match="lacks field 'project'"):
        ForeignHost.from_json({k: v for k, v in data.items() if k != "project"})
    with pytest.raises(ValueError, match="unknown field"):
        ForeignHost.from_json({**data, "colour": "red"})


TABLE = {"distribution": "My_App", "project": "myapp", "hookspecs": ["myapp.hookspecs"], "script": "myapp"}


def test_host_table_fills_the_defaults() -> None:
    described = host_from_table({**TABLE, "refuse": ["install"], "impl-prefix": "myapp_"}, "build file b.toml")
    assert described == ForeignHost(
        name="my-app", distribution="My_App", project="myapp", hookspecs=("myapp.hookspecs",), groups=("myapp",),
        script="myapp", refuse=("install",), impl_prefix="myapp_",
    )  # fmt: skip
    assert host_from_table({**TABLE, "groups": "myapp.plugins"}, "b").groups == ("myapp.plugins",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hookspec": ["x"]}, "unknown key 'hookspec' (did you mean 'hookspecs'?); the keys are name, distribution, "),
        ({"project": None}, "missing key(s) project"),
        ({"hookspecs": [1]}, "key 'hookspecs' must be a list of non-empty strings, not [1]"),
        ({"hookspecs": ["my-app.hooks"]}, "key 'hookspecs': 'my-app.hooks' is not a module name"),
        ({"hookspecs": []}, "key 'hookspecs' is empty"),
        ({"groups": []}, "key 'groups' is empty"),
        ({"script": 3}, "key 'script' must be a string, not 3"),
        ({"project": "my app"}, "key 'project': 'my app' is not a pluggy project name"),
    ],
)
def test_host_table_errors_name_the_key(change: dict[str, object], message: str) -> None:
    table = {k: v for k, v in {**TABLE, **change}.items() if v is not None}
    with pytest.raises(SpecError) as error:
        host_from_table(table, "build file b.toml")
    text = str(error.value)
    assert text.startswith(f"build file b.toml, table [host]: {message}"), text
    assert text.endswith("A [host] table looks like:\n" + table_example())


def test_table_example_is_a_table_host_from_table_reads() -> None:
    import tomllib

    for described in SHIPPED.values():
        table = tomllib.loads(table_example(described))["host"]
        assert host_from_table(table, "example") == described
