"""Every guard failure fails the build, names the culprit, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builder.conftest import Builder, MakePlugin

GREET = ("--with", "./plugins/greet")

BAD_PLUGINS = {
    # name: (make_plugin kwargs, words the error must contain)
    "fxb-missing-method": (
        {
            "code": "class Mute:\n    def hello(self, name: str) -> str:\n        return name\n",
            "modules": {"greeters.mute": "fxb_missing_method:Mute"},
            "dependencies": ("corehost>=0.1,<0.2", "corehost-greet>=0.1,<0.2"),
        },
        ["missing required method", "greet"],
    ),
    "fxb-import-error": (
        {"code": "raise RuntimeError('boom at import')\n", "modules": {"greeters.boom": "fxb_import_error:X"}},
        ["boom at import"],
    ),
    "fxb-hook-typo": (
        {
            "code": "from corehost import hookimpl\n\n@hookimpl\ndef corehost_add_comands(cli):\n    pass\n",
            "plugins": {"typo": "fxb_hook_typo"},
        },
        ["corehost_add_comands", "matches no hookspec"],
    ),
    "fxb-bad-id": (
        {"code": "class X:\n    pass\n", "modules": {"Greeters.Upper": "fxb_bad_id:X"}},
        ["Greeters.Upper"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PLUGINS))
def test_guard_failure_fails_the_build_naming_the_plugin(
    name: str, builder: Builder, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    kwargs, words = BAD_PLUGINS[name]
    project = make_plugin(name, **kwargs)
    dest = tmp_path / "dist" / "venv"
    result = builder.build(*GREET, "--with", project, "--venv", dest)
    assert result.returncode == 1, result.stderr
    assert "interface guards found" in result.stderr
    assert f"distribution {name}" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


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


def test_a_plugin_that_hangs_on_import_times_out(builder: Builder, make_plugin: MakePlugin, tmp_path: Path) -> None:
    slow = make_plugin("fxb-hang", code="import time\ntime.sleep(600)\n", plugins={"hang": "fxb_hang"})
    dest = tmp_path / "venv"
    result = builder.build(*GREET, "--with", slow, "--venv", dest, "--guard-timeout", "3")
    assert result.returncode == 1
    assert "did not finish within 3 s" in result.stderr
    assert not dest.exists()


def test_a_chatty_plugin_does_not_break_the_guards(builder: Builder, make_plugin: MakePlugin, tmp_path: Path) -> None:
    chatty = make_plugin(
        "fxb-chatty",
        code="print('hello from import')\nfrom corehost import hookimpl\n",
        plugins={"chatty": "fxb_chatty"},
    )
    result = builder.build(*GREET, "--with", chatty, "--venv", tmp_path / "venv", "--quiet")
    assert result.returncode == 0, result.stderr
