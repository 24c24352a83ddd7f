"""The reference scenario, driven through the real CLI in a real venv."""

from __future__ import annotations

import json

from tests.conftest import ROOT, MakeVenv

GREETERS = ("corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh")


def test_greet_command_uses_the_chosen_greeter(make_venv: MakeVenv) -> None:
    venv = make_venv(*GREETERS)
    zh = venv.corehost("greet", "Bob", "--lang", "zh", check=True)
    assert zh.stdout == "你好, Bob!\n"
    en = venv.corehost("greet", "Bob", check=True)
    assert en.stdout == "Hello, Bob!\n"


def test_list_modules_names_distribution_and_version(make_venv: MakeVenv) -> None:
    venv = make_venv(*GREETERS)
    out = venv.corehost("list-modules", "--versions", "--packages", check=True).stdout.splitlines()
    assert "greeters.zh  corehost-greeter-zh  0.1.0" in out
    rows = json.loads(venv.corehost("list-modules", "--json", "--namespace", "greeters", check=True).stdout)
    assert [r["id"] for r in rows] == ["greeters.en", "greeters.zh"]
    assert rows[1]["distribution"] == "corehost-greeter-zh"


def test_run_demo_config(make_venv: MakeVenv) -> None:
    venv = make_venv(*GREETERS, "corehost-polyglot")
    result = venv.corehost("run", "--config", ROOT / "examples" / "greet.toml", check=True)
    assert result.stdout.splitlines()[:2] == ["« Hello, Bob! »", "« Hello, Alice! »"]
    assert "« 你好, Bob！ »" in result.stdout
