"""corehost.testing: the pytest plugin plugin authors get with corehost.

Its fixtures are exercised in test files written as a plugin author would
write them: with pytester where no plugin is needed, and in a real venv with
corehost-greet and corehost-greeter-en installed from the session's wheels
where the fixtures must see installed plugins. Each inner run is a
subprocess, as a plugin author's would be: an in-process run shares (and then
prunes) this process's modules, which a real run never does. That the plugin is registered
through ``pytest11`` is checked in the corehost wheel's own metadata, and
that it is inert in a pytest run that uses none of its fixtures.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Venv, Wheelhouse, clean_env, uv

pytest_plugins = ["pytester"]


def test_the_wheel_registers_the_plugin_with_pytest11(wheelhouse: Wheelhouse) -> None:
    with zipfile.ZipFile(wheelhouse.wheel("corehost")) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = wheel.read(name).decode()
    assert "[pytest11]\ncorehost.testing = corehost.testing\n" in text


def test_the_plugin_is_loaded_but_inert_until_a_fixture_is_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_of_the_runtime_is_imported(pytestconfig):
            assert pytestconfig.pluginmanager.get_plugin("corehost.testing") is not None
            assert sorted(m for m in sys.modules if m.startswith("corehost")) == ["corehost", "corehost.testing"]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_corehost_module_builds_provisions_and_cleans_up(pytester: pytest.Pytester) -> None:
    # A module with the whole lifecycle, composed in code through an overridden corehost_host.
    pytester.makeconftest(
        """
        import pytest
        from corehost import Host

        EVENTS = []

        class Probe:
            def __init__(self, label: str) -> None:
                self.label = label
                EVENTS.append(f"built {label}")

            def provision(self, ctx) -> None:
                EVENTS.append("provision")

            def validate(self) -> None:
                if not self.label:
                    raise ValueError("label is empty")
                EVENTS.append("validate")

            def start(self) -> None: ...

            def stop(self) -> None: ...

            def cleanup(self) -> None:
                EVENTS.append("cleanup")

        @pytest.fixture
        def corehost_host():
            return Host.from_objects(modules={"probe": Probe})
        """
    )
    pytester.makepyfile(
        r"""
        import pytest
        from conftest import EVENTS
        from corehost import ConfigError, LifecycleError

        def test_build(corehost_module):
            probe = corehost_module("probe", {"label": "a"})
            assert probe.label == "a"
            assert EVENTS == ["built a", "provision", "validate"]

        def test_cleaned_up_after_the_test():
            assert EVENTS[-1] == "cleanup"

        def test_config_errors_name_the_field(corehost_module):
            expected = r"^probe\.lable: module probe has no field 'lable' \(did you mean 'label'\?\)"
            with pytest.raises(ConfigError, match=expected):
                corehost_module("probe", {"lable": "a"})

        def test_validate_failures_are_lifecycle_errors(corehost_module):
            with pytest.raises(LifecycleError, match="module probe at probe failed in validate: ValueError"):
                corehost_module("probe", {"label": ""})
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=4)


@pytest.fixture(scope="module")
def author_venv(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A plugin author's environment: corehost, the greet plugins, pytest."""
    path = tmp_path_factory.mktemp("author") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", "corehost-greet", "corehost-greeter-en")), "pytest")
    return venv


def run_author_tests(venv: Venv, tmp_path: Path, source: str, passed: int) -> None:
    """Run ``source`` as a test file with the author's pytest; every test must pass."""
    test_file = tmp_path / "test_author.py"
    test_file.write_text(textwrap.dedent(source))
    result = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file), cwd=tmp_path)
    assert result.returncode == 0 and f"{passed} passed" in result.stdout, result.stdout + result.stderr


def test_corehost_module_uses_the_installed_plugins(author_venv: Venv, tmp_path: Path) -> None:
    run_author_tests(
        author_venv,
        tmp_path,
        """
        def test_english(corehost_module):
            assert corehost_module("greeters.en", {"punctuation": "?"}).greet("Bob") == "Hello, Bob?"
        """,
        passed=1,
    )


def test_corehost_problems_checks_one_distribution(author_venv: Venv, tmp_path: Path) -> None:
    run_author_tests(
        author_venv,
        tmp_path,
        """
        def test_clean(corehost_problems):
            assert corehost_problems("corehost-greeter-en") == []
            assert corehost_problems("Corehost_Greet") == []

        def test_unknown_distribution_has_no_problems(corehost_problems):
            assert corehost_problems("not-installed") == []
        """,
        passed=2,
    )


def test_corehost_cli_runs_a_real_command_in_process(author_venv: Venv, tmp_path: Path) -> None:
    run_author_tests(
        author_venv,
        tmp_path,
        """
        import json

        def test_list_modules(corehost_cli):
            result = corehost_cli("list-modules", "--json")
            assert result.exit_code == 0
            assert "greeters.en" in [row["id"] for row in json.loads(result.stdout)]

        def test_plugin_command(corehost_cli):
            assert corehost_cli("greet", "Bob").stdout == "Hello, Bob!\\n"

        def test_selection_from_env(corehost_cli):
            result = corehost_cli("list-modules", env={"COREHOST_DISABLE_PLUGINS": "corehost-greeter-en"})
            assert "greeters.en" not in result.stdout.splitlines()

        def test_errors_as_the_user_sees_them(corehost_cli):
            result = corehost_cli("greet", "Bob", "--lang", "xx")
            assert result.exit_code == 2
            assert result.stdout == ""
            assert result.stderr.startswith("corehost: error: --lang: unknown module 'greeters.xx'")

        def test_check(corehost_cli):
            result = corehost_cli("check")
            assert (result.exit_code, result.stdout) == (0, "0 error(s), 0 warning(s)\\n")
        """,
        passed=5,
    )
