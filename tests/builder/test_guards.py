"""Every guard failure fails the build, names the culprit, and writes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.builder.conftest import Builder, MakePlugin, copy_project
from tests.conftest import ROOT, Venv, clean_env, uv

GREET = ("--with", "./plugins/greet")

# Every kind of bad plugin, each built on its own (one error naming distribution and module, nothing
# written, a hang named by its plugin), is in tests/reliability/test_bad_plugins.py.


def test_a_failed_build_leaves_the_existing_destination_as_it_was(
    builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    dest = tmp_path / "venv"
    builder.ok("build", *GREET, "--venv", dest, "--quiet")
    before = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    broken = make_plugin("fxb-broken", code="import no_such_module_anywhere\n", plugins={"b": "fxb_broken"})
    result = builder.build(*GREET, "--with", broken, "--venv", dest, "--json")
    assert result.returncode == 1
    assert '"ok": false' in result.stdout and "fxb-broken" in result.stdout
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fxb-broken", "venv"]


def test_a_chatty_plugin_does_not_break_the_guards(builder: Builder, make_plugin: MakePlugin, tmp_path: Path) -> None:
    chatty = make_plugin(
        "fxb-chatty",
        code="print('hello from import')\nfrom corehost import hookimpl\n",
        plugins={"chatty": "fxb_chatty"},
    )
    result = builder.build(*GREET, "--with", chatty, "--venv", tmp_path / "venv", "--quiet")
    assert result.returncode == 0, result.stderr


def test_a_recorded_generated_module_its_plugin_no_longer_makes_fails_check(builder: Builder, tmp_path: Path) -> None:
    """A build records generated modules; ``check`` makes them with the hook, and names one that is gone."""
    dest = tmp_path / "venv"
    builder.ok("build", "--plugins-dir", "plugins", "--venv", dest, "--quiet")
    fork = copy_project(ROOT / "plugins" / "polyglot", tmp_path / "polyglot", version="0.1.1")
    hooks = fork / "src" / "corehost_polyglot" / "hooks.py"
    hooks.write_text(hooks.read_text().replace('"es": "Hola", ', ""), encoding="utf-8")
    subprocess.run([uv(), "pip", "install", "-q", "--no-deps", "--python", str(dest / "bin" / "python"), str(fork)],
                   check=True, env=clean_env())  # fmt: skip
    result = Venv(dest).corehost("check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "error: module 'greeters.es' (distribution corehost-polyglot): was recorded by the build as made by a "
        "plugin's corehost_register_modules hook, but no plugin made it when the hook ran here. Rebuild with "
        "corehost-build so the record matches the plugins, or fix the plugin's hookimpl so that it registers the "
        "module again.",
        "1 error(s), 0 warning(s)",
    ]
