"""Feedback that must not mislead (issue 10): left-out plugins, typos, --version, help, the cache.

Everything runs the CLI in subprocesses, in one real venv (live discovery)
and, where the registry matters, in a real ``.pyz`` built by corehost-build
from the session wheelhouse (frozen registry), so that both ways a host
finds its plugins give the same answers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.builder.conftest import Builder, builder
from tests.conftest import Venv, Wheelhouse, clean_env, uv

__all__ = ["builder"]

PLUGINS = ("corehost-greet", "corehost-greeter-en", "corehost-greeter-zh", "corehost-polyglot")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("feedback") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", *PLUGINS)))
    return venv


@pytest.fixture(scope="module")
def pyz(builder: Builder, wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feedback-bundle") / "corehost.pyz"
    wheels = [a for d in PLUGINS for a in ("--with", str(wheelhouse.wheel(d)))]
    builder.ok("build", *wheels, "--output", out, "--quiet")
    return out


class Host:
    """``corehost ARGS`` in the venv, or ``python corehost.pyz ARGS``: the same questions to both."""

    def __init__(self, venv: Venv, pyz: Path | None) -> None:
        self.venv = venv
        self.pyz = pyz

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        if self.pyz is None:
            return self.venv.corehost(*args, env=env)
        return self.venv.run("python", self.pyz, *args, env=env)

    @property
    def where(self) -> str:
        """How a warning names what was searched for a plugin."""
        return "no installed plugin" if self.pyz is None else "no plugin in this bundle"


@pytest.fixture(params=["venv", "pyz"])
def host(request: pytest.FixtureRequest, venv: Venv) -> Host:
    return Host(venv, request.getfixturevalue("pyz") if request.param == "pyz" else None)


def error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The one-paragraph error of a failed command, without the ``corehost: error: `` prefix."""
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("corehost: error: "), result.stderr
    return result.stderr.removeprefix("corehost: error: ").rstrip("\n")


# -- item 8: a module left out by COREHOST_DISABLE_PLUGINS / COREHOST_PLUGINS ---------------------


def test_a_blocked_module_is_installed_but_blocked(host: Host) -> None:
    result = host("greet", "Bob", "--lang", "zh", COREHOST_DISABLE_PLUGINS="corehost-greeter-zh")
    assert error(result) == (
        "--lang: module 'greeters.zh' is installed (distribution corehost-greeter-zh) but "
        "COREHOST_DISABLE_PLUGINS blocks it; take 'corehost-greeter-zh' out of COREHOST_DISABLE_PLUGINS to use it."
    )


def test_a_module_the_allow_list_leaves_out_says_so(host: Host) -> None:
    result = host("greet", "Bob", "--lang", "zh", COREHOST_PLUGINS="corehost-greet corehost-greeter-en")
    assert error(result) == (
        "--lang: module 'greeters.zh' is installed (distribution corehost-greeter-zh) but COREHOST_PLUGINS "
        "leaves it out; add 'corehost-greeter-zh' to COREHOST_PLUGINS, or unset it, to use it."
    )


def test_a_blocked_generated_module(host: Host) -> None:
    result = host("greet", "Bob", "--lang", "de", COREHOST_DISABLE_PLUGINS="corehost-polyglot")
    if host.pyz is not None:
        # The build recorded the generated module, so the bundle knows who provides it.
        assert error(result) == (
            "--lang: module 'greeters.de' is installed (distribution corehost-polyglot) but "
            "COREHOST_DISABLE_PLUGINS blocks it; take 'corehost-polyglot' out of COREHOST_DISABLE_PLUGINS to use it."
        )
    else:
        # Live, only the blocked plugin's hook could make it: the message points there.
        assert error(result) == (
            "--lang: unknown module 'greeters.de'. Known modules in namespace 'greeters': en, zh. Install the plugin "
            "that provides it, or fix the name. Left out by COREHOST_PLUGINS/COREHOST_DISABLE_PLUGINS: "
            "corehost-polyglot; one of them may provide it."
        )


@pytest.mark.parametrize("variable", ["COREHOST_PLUGINS", "COREHOST_DISABLE_PLUGINS"])
def test_a_name_that_matches_no_plugin_is_a_warning_with_a_suggestion(host: Host, variable: str) -> None:
    names = "corehost-greet corehost-greeter-en corehost-greter-zh"
    result = host("list-modules", **{variable: names})
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"corehost: warning: {variable} names 'corehost-greter-zh', which matches {host.where} "
        "(did you mean 'corehost-greeter-zh'?); the name has no effect\n"
    )
    # The misspelt name does nothing: zh is neither allowed nor blocked by it.
    assert ("greeters.zh" in result.stdout.splitlines()) == (variable == "COREHOST_DISABLE_PLUGINS")


def test_a_name_like_nothing_is_a_warning_without_a_suggestion(host: Host) -> None:
    result = host("list-modules", COREHOST_DISABLE_PLUGINS="pirate")
    assert result.returncode == 0, result.stderr
    warning = f"COREHOST_DISABLE_PLUGINS names 'pirate', which matches {host.where}; the name has no effect"
    assert result.stderr == f"corehost: warning: {warning}\n"


def test_names_that_match_warn_about_nothing(host: Host) -> None:
    # A distribution, a plugin's entry name and a module ID all match.
    result = host("list-modules", COREHOST_DISABLE_PLUGINS="Corehost_Greeter_ZH polyglot greeters.en")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# -- item 9: list-modules --namespace ---------------------------------------------------------------


def test_an_unknown_namespace_is_an_error_with_a_suggestion(host: Host) -> None:
    assert error(host("list-modules", "--namespace", "greeter"), code=1) == (
        "unknown namespace 'greeter' (did you mean 'greeters'?). Namespaces: greet.filters, greeters (and '' for apps)."
    )


def test_a_known_namespace_lists_its_modules(host: Host) -> None:
    result = host("list-modules", "--namespace", "greet.filters")
    assert (result.returncode, result.stdout) == (0, "greet.filters.guillemets\ngreet.filters.upper\n")
    assert host("list-modules", "--namespace", "").stdout == "greet\n"


# -- item 10: the CLI ---------------------------------------------------------------------------------


def test_version_option_prints_what_version_prints(venv: Venv) -> None:
    version = venv.corehost("version", check=True).stdout
    assert version.strip()
    assert venv.corehost("--version", check=True).stdout == version
    assert venv.corehost("--strict", "--version", check=True).stdout == version


def test_no_suggestion_that_shares_nothing_with_the_word(host: Host) -> None:
    assert error(host("greet", "Bob", "--lang", "pirate")) == (
        "--lang: unknown module 'greeters.pirate'. Known modules in namespace 'greeters': de, en, es, fr, zh. "
        "Install the plugin that provides it, or fix the name."
    )
    assert "(did you mean 'greeters.zh'?)" in error(host("greet", "Bob", "--lang", "zhh"))


def test_cache_list_says_when_nothing_is_cached(venv: Venv, tmp_path: Path) -> None:
    result = venv.corehost("cache", "list", env={"COREHOST_CACHE_DIR": str(tmp_path / "cache")}, check=True)
    assert result.stdout == (
        f"cache: {tmp_path / 'cache'}\n  empty: nothing is unpacked (a bundle unpacks itself here on its first start)\n"
    )


COMMANDS = [
    ("run",),
    ("validate",),
    ("list-modules",),
    ("build-info",),
    ("check",),
    ("cache",),
    ("cache", "list"),
    ("cache", "clean"),
    ("version",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_has_an_example_and_names_what_is_required(venv: Venv, command: tuple[str, ...]) -> None:
    text = venv.corehost(*command, "--help", check=True).stdout
    assert "Example" in text
    assert f"    corehost {' '.join(command)}" in text
    if command in (("run",), ("validate",)):
        assert text.startswith(f"Usage: corehost {command[0]} --config FILE\n")
        assert "--config is required." in text
        assert "[required]" in text
    else:
        assert "[required]" not in text


def test_root_help_has_examples(venv: Venv) -> None:
    text = venv.corehost("--help", check=True).stdout
    assert "--version" in text
    assert "  corehost COMMAND --help" in text
