"""corehost.testing: the pytest plugin plugin authors get with corehost.

Its fixtures are exercised with pytester, in test files written as a plugin
author would write them, against the plugins installed in this environment
(corehost-greet and corehost-greeter-en). Each inner run is a subprocess, as
a plugin author's would be: an in-process run shares (and then prunes) this
process's modules, which a real run never does. That the plugin is registered
through ``pytest11`` is checked in the corehost wheel's own metadata, and
that it is inert in a pytest run that uses none of its fixtures.
"""

from __future__ import annotations

import zipfile

import pytest

from tests.conftest import Wheelhouse

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


def test_corehost_module_uses_the_installed_plugins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_english(corehost_module):
            assert corehost_module("greeters.en", {"punctuation": "?"}).greet("Bob") == "Hello, Bob?"
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_corehost_problems_checks_one_distribution(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_clean(corehost_problems):
            assert corehost_problems("corehost-greeter-en") == []
            assert corehost_problems("Corehost_Greet") == []

        def test_unknown_distribution_has_no_problems(corehost_problems):
            assert corehost_problems("not-installed") == []
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_corehost_cli_runs_a_real_command_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
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
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=5)
