"""``corehost.problems`` and ``python -m corehost.probe``: the one contract between the runtime and its tools.

A problem's JSON form carries its fields, so a reader rebuilds the same
:class:`Problem` (and the same one-line text a user reads) without parsing
the text. The probe's every answer is one JSON object headed by its format
and corehost's version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import corehost
from corehost import __version__
from corehost.probe import ANNOUNCE, PROBE
from corehost.problems import ERROR, WARNING, Problem, errors, warnings
from corehost.registry import ModuleInfo, PluginInfo, on_import

#: One problem of every kind, and the subject each one's text names it by (pinned: tests and users read it).
EVERY_KIND = [
    (Problem("greeter-en", "module", "greeters.en", "m.", target="greeter_en:English"), "module 'greeters.en'"),
    (Problem("greet", "namespace", "greeters", "m.", target="corehost_greet:Greeter"), "namespace 'greeters'"),
    (Problem("polyglot", "plugin", "polyglot", "m.", target="corehost_polyglot.hooks"), "plugin 'polyglot'"),
    (Problem("polyglot", "hook", "corehost_register_modules", "m."), "hook 'corehost_register_modules'"),
    (Problem("rec", "hookimpl", "app_greeted", "m.", plugin="recorder"), "hookimpl 'app_greeted' of plugin 'recorder'"),
    (Problem("corehost", "host", "corehost", "m."), "host 'corehost'"),
    (Problem("old", "distribution", "old", "m.", WARNING, version="0.0.1"), "distribution old 0.0.1"),
    (Problem("corehost", "startup", "corehost.cli", "m."), "the bundle's start-up"),
]  # fmt: skip


@pytest.mark.parametrize(("problem", "subject"), EVERY_KIND, ids=[p.kind for p, _ in EVERY_KIND])
def test_a_problem_survives_its_json_form(problem: Problem, subject: str) -> None:
    assert problem.subject == subject
    data = json.loads(json.dumps(problem.to_json()))
    assert data["subject"] == subject and data["kind"] == problem.kind and data["name"] == problem.name
    again = Problem.from_json(data)
    assert again == problem
    assert str(again) == f"{problem.severity}: {subject} (distribution {problem.distribution}): m."


def test_a_problems_json_form_leaves_out_fields_it_does_not_use() -> None:
    assert Problem("d", "module", "a.b", "wrong.").to_json() == {
        "severity": "error",
        "distribution": "d",
        "subject": "module 'a.b'",
        "message": "wrong.",
        "kind": "module",
        "name": "a.b",
    }


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"kind": "widget", "name": "x", "distribution": "d", "message": "m"}, "problem kind 'widget'"),
        ({"distribution": "d", "subject": "module 'x'", "message": "m"}, "problem kind None"),
        ({"kind": "module", "severity": "fatal", "name": "x", "distribution": "d", "message": "m"}, "'fatal'"),
        ({"kind": "module", "name": 3, "distribution": "d", "message": "m"}, "field(s) name must be strings"),
    ],
)
def test_from_json_names_what_it_cannot_read(data: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        Problem.from_json(data)


def test_errors_and_warnings_split_by_severity() -> None:
    problems = [p for p, _ in EVERY_KIND]
    assert errors(problems) == [p for p in problems if p.severity == ERROR] != []
    assert warnings(problems) == [p for p in problems if p.severity == WARNING] != []


def test_problem_is_public_api_where_it_always_was() -> None:
    from corehost.guards import Problem as from_guards

    assert corehost.Problem is Problem is from_guards


def test_an_import_hook_sees_each_entry_before_its_code_is_imported() -> None:
    seen: list[str] = []
    on_import(lambda entry: seen.append(f"{entry.kind} {entry.name}"))
    try:
        ModuleInfo("json.dumps", "json:dumps", "std", "1").load()
        PluginInfo("given", "x", "std", "1", obj=object()).load()  # registered from code: nothing to import
    finally:
        on_import(None)
    ModuleInfo("json.loads", "json:loads", "std", "1").load()
    assert seen == ["module json.dumps"]


def probe(*args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m corehost.probe ARGS``, isolated, with ``path`` (a folder of installed code) first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(path)} if path is not None else None
    isolated = ["-I"] if path is None else []
    return subprocess.run([sys.executable, *isolated, "-m", "corehost.probe", *args], capture_output=True, text=True,
                          env=env)  # fmt: skip


def test_every_answer_is_headed_by_the_format_and_corehost_version() -> None:
    answers = {args: probe(*args) for args in [("hosts",), ("inspect",), ("inspect", "--host", "corehost")]}
    for args, result in answers.items():
        assert result.returncode == 0, (args, result.stderr)
        answer = json.loads(result.stdout)
        assert answer["probe"] == PROBE == 1 and answer["corehost"] == __version__, args
    hosts = json.loads(answers[("hosts",)].stdout)["hosts"]
    assert {"name": "corehost", "target": "corehost.hostspec:COREHOST", "distribution": "corehost"} in hosts
    inspected = json.loads(answers[("inspect",)].stdout)
    assert set(inspected) == {"probe", "corehost", "problems", "registry", "distributions"}
    assert inspected["registry"]["format"] == 1


def test_announce_names_each_entry_on_stderr_before_importing_it(tmp_path: Path) -> None:
    """A plugin "installed" as a dist-info folder: its module is announced, then imported (and fails)."""
    info = tmp_path / "fx_announced-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fx-announced\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[corehost.modules]\ngreeters.loud = fx_announced:Loud\n")
    (tmp_path / "fx_announced.py").write_text("raise RuntimeError('told to fail')\n")
    result = probe("--announce", "inspect", path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [ANNOUNCE + "module 'greeters.loud' (fx_announced:Loud) of distribution fx-announced"]
    problems = [Problem.from_json(p) for p in json.loads(result.stdout)["problems"]]
    (failed,) = [p for p in problems if "told to fail" in p.message]
    assert (failed.kind, failed.name, failed.distribution) == ("module", "greeters.loud", "fx-announced")
    assert failed.target == "fx_announced:Loud"
    assert ANNOUNCE not in probe("inspect", path=tmp_path).stderr


def test_errors_are_one_line_with_the_errors_exit_code() -> None:
    unknown = probe("interface", "greeterz")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("corehost.probe: error: namespace 'greeterz' is not declared")
    outside = probe("inspect", "--frozen")
    assert outside.returncode == 1
    assert outside.stderr == (
        "corehost.probe: error: inspect --frozen checks the bundle this process runs from, and it runs from none; "
        "run it inside a bundle, or use inspect without --frozen to check this environment.\n"
    )


def test_the_documented_frozen_command_is_the_probes_inspect() -> None:
    result = subprocess.run([sys.executable, "-I", "-m", "corehost.frozen", "--host", "nope"], capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("corehost.frozen: error: no host named 'nope' is installed")
    inspected = subprocess.run([sys.executable, "-I", "-m", "corehost.frozen"], capture_output=True, text=True)
    assert json.loads(inspected.stdout)["probe"] == PROBE
