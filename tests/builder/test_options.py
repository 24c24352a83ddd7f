"""Each build option declared once: the command line beats the build file, which beats the default.

These run the real click commands' option parsing in process (no build):
a probe command carries exactly the options ``build`` carries and turns
what it parsed into a :class:`BuildRequest` the way ``build`` does. Every
option of :data:`OPTIONS` must have a sample here, so a new option cannot
skip the precedence check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from corehost_build.cli import cli, inputs_of
from corehost_build.guards import DEFAULT_TIMEOUT
from corehost_build.options import OPTIONS, destination_options, input_options
from corehost_build.request import BuildRequest, to_request


@dataclass(frozen=True)
class Sample:
    """One option: a build-file value (TOML), command-line words, and how to read it back from a request."""

    file: str
    flags: tuple[str, ...]
    read: Callable[[BuildRequest], Any]
    default: Any
    from_file: Any
    from_flags: Any
    #: Repeatable options add up; for the others the command line wins.
    both: Any


def _texts(request: BuildRequest) -> list[str]:
    return [spec.text for spec in request.plugins]


def _names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _name(path: Path | None) -> str | None:
    return None if path is None else path.name


# The build file lives in conf/, the command runs in cwd/: each relative path must be read from its own folder.
SAMPLES: dict[str, Sample] = {
    "with_": Sample('["from-file"]', ("--with", "from-flag"), _texts, [], ["from-file"], ["from-flag"],
                    ["from-file", "from-flag"]),
    "plugins_dirs": Sample('"plugins"', ("--plugins-dir", "plugins"), lambda r: [s.path.parent.parent.name
                           for s in r.plugins if s.path], [], ["conf"], ["cwd"], ["conf", "cwd"]),
    "allow_plain": Sample('["Rich_Text"]', ("--allow-plain", "greet"), lambda r: r.allow_plain, [], ["rich-text"],
                          ["greet"], ["greet", "rich-text"]),
    "host": Sample('"0.1.0"', ("--host", "0.1.1"), lambda r: r.host and r.host.text, None, "0.1.0", "0.1.1",
                   "0.1.1"),
    "replace": Sample('{ a = "fork" }', ("--replace", "b=fork"), lambda r: {n: s.path.parent.name for n, s in
                      r.replace.items() if s.path}, {}, {"a": "conf"}, {"b": "cwd"}, {"a": "conf", "b": "cwd"}),
    "find_links": Sample('"wheels"', ("--find-links", "wheels"), lambda r: [p.parent.name for p in r.find_links], [],
                         ["conf"], ["cwd"], ["conf", "cwd"]),
    "offline": Sample("true", ("--offline",), lambda r: r.offline, False, True, True, True),
    "python": Sample('"bin/python-file"', ("--python", "python-flag"), lambda r: r.python and Path(r.python).name,
                     None, "python-file", "python-flag", "python-flag"),
    "pip": Sample("false", ("--no-pip",), lambda r: r.pip, True, False, False, False),
    "compile_bytecode": Sample("true", ("--compile",), lambda r: r.compile_bytecode, False, True, True, True),
    "guard_timeout": Sample("300", ("--guard-timeout", "7"), lambda r: r.guard_timeout, DEFAULT_TIMEOUT, 300.0, 7.0,
                            7.0),
    "isolate": Sample('["greeters.zh"]', ("--isolate", "fxcb.one"), lambda r: r.isolate, [], ["greeters.zh"],
                      ["fxcb.one"], ["fxcb.one", "greeters.zh"]),
    "venv": Sample('"file-venv"', ("--venv", "flag-venv"), lambda r: _name(r.venv), "dev", "file-venv", "flag-venv",
                   "flag-venv"),
    "output": Sample('"file.pyz"', ("-o", "flag.pyz"), lambda r: _name(r.output), None, "file.pyz", "flag.pyz",
                     "flag.pyz"),
    "python_version": Sample('"3.11"', ("--python-version", "3.12"), lambda r: r.python_version, None, "3.11", "3.12",
                             "3.12"),
    "platform": Sample('"linux"', ("--platform", "macos"), lambda r: r.platform, None, "linux", "macos", "macos"),
    "lock": Sample('"pylock.toml"', ("--lock", "pylock.toml"), lambda r: r.lock and r.lock.parent.name, None, "conf",
                   "cwd", "cwd"),
    "from_lock": Sample('"pylock.toml"', ("--from-lock", "pylock.toml"), lambda r: r.from_lock and
                        r.from_lock.parent.name, None, "conf", "cwd", "cwd"),
    "upgrade": Sample("true", ("--upgrade",), lambda r: r.upgrade, False, True, True, True),
    "upgrade_packages": Sample('["Click"]', ("--upgrade-package", "pluggy"), lambda r: r.upgrade_packages, [],
                              ["click"], ["pluggy"], ["click", "pluggy"]),
}  # fmt: skip


@click.command()
@input_options
@destination_options
def probe(**params: Any) -> BuildRequest:
    """Parses exactly what ``build`` parses and makes the request ``build`` would build.

    Without a destination it stands in for a development command, whose environment goes to ``dev``.
    """
    raw = inputs_of(params)
    return to_request(raw, venv=None if raw.one("venv") or raw.one("output") else Path("dev"))


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """conf/ (the build file's folder) and cwd/ (the command's), each with what relative paths point at."""
    conf, cwd = tmp_path / "conf", tmp_path / "cwd"
    for folder in (conf, cwd):
        for project in (folder / "plugins" / "p", folder / "fork"):
            project.mkdir(parents=True)
            (project / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
        (folder / "wheels").mkdir()
    monkeypatch.chdir(cwd)
    return conf, cwd


def parse(conf: Path, file: str | None, *flags: str) -> BuildRequest:
    args = list(flags)
    if file is not None:
        buildfile = conf / "build.toml"
        buildfile.write_text(file, encoding="utf-8")
        args += ["-c", str(buildfile)]
    request = probe.main(args, standalone_mode=False)
    assert isinstance(request, BuildRequest)
    return request


def test_every_option_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(o.name for o in OPTIONS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_command_line_beats_build_file_beats_default(name: str, folders: tuple[Path, Path]) -> None:
    conf, _ = folders
    option = next(o for o in OPTIONS if o.name == name)
    sample = SAMPLES[name]
    line = f"{option.key} = {sample.file}\n"
    assert sample.read(parse(conf, None)) == sample.default, "default"
    assert sample.read(parse(conf, line)) == sample.from_file, "build file only"
    assert sample.read(parse(conf, None, *sample.flags)) == sample.from_flags, "command line only"
    assert sample.read(parse(conf, line, *sample.flags)) == sample.both, "both"


def test_guard_timeout_from_a_build_file_is_kept(folders: tuple[Path, Path]) -> None:
    """The reported bug: ``guard-timeout = 300`` came out as the 120 s default, the smaller of the two."""
    conf, _ = folders
    assert parse(conf, "venv = 'v'\nguard-timeout = 300\n").guard_timeout == 300.0
    assert parse(conf, "venv = 'v'\nguard-timeout = 300\n", "--guard-timeout", "120").guard_timeout == 120.0


def test_build_record_keeps_the_words_used(folders: tuple[Path, Path]) -> None:
    conf, _ = folders
    request = parse(conf, "with = ['a']\n", "--with", "b", "--host", "0.1.0", "--offline", "--venv", "v")
    assert request.inputs == [f"-c {conf / 'build.toml'}", "--with b", "--host 0.1.0"]


def test_request_fields_and_defaults_come_from_the_table() -> None:
    """Every option fills the request field of its name with the table's default; ``--with`` and
    ``--plugins-dir`` both fill ``plugins``, ``inputs`` is the build record's, and a build file's
    ``[host]`` table (the ``host`` option) fills ``foreign`` too."""
    fields = {f.name: f for f in dataclasses.fields(BuildRequest)}
    names = {o.name for o in OPTIONS} - {"with_", "plugins_dirs"}
    assert set(fields) == names | {"plugins", "inputs", "foreign"}
    for option in OPTIONS:
        if option.name in fields and not option.repeatable:
            assert fields[option.name].default == option.default, option.name


def test_build_has_every_option_and_the_dev_commands_every_input() -> None:
    for command in ("build", "list-modules", "run", "new-plugin"):
        flags = {opt for p in cli.commands[command].params for opt in p.opts}
        expected = {o.flag for o in OPTIONS if command == "build" or not o.build_only}
        assert expected <= flags, (command, expected - flags)
