"""README's "Try it", run as written against a built venv and a built bundle.

Every ``$`` line of the section's console blocks is run, once with the
artifact of each kind (the venv the README builds, and the ``.pyz`` its set-up
builds), and its output is compared with the lines the README shows under
it. A line whose README text is only a comment (``build-info``) is held to
what the comment promises. The two artifacts are built once, by the
README's own build command, with corehost-build installed from the session
wheelhouse.

Generated modules (``greeters.de``/``greeters.es``, made by polyglot's
``corehost_register_modules`` hook) are held to the same standard as any
other module in every command: a bundle once listed them but failed
``check`` on them, and its build counted six modules instead of eight.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.builder.conftest import Builder
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

KINDS = ("venv", "pyz")
HOSTS = ("./dist/corehost.pyz", "dist/venv/bin/corehost")
BUILDER = ".venv/bin/corehost-build"


@dataclass
class Step:
    """One ``$`` line of the README: the command, its comment, the output shown under it."""

    argv: list[str]
    comment: str
    output: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(self.argv)


def try_it_steps() -> list[Step]:
    """The steps of the section's first console block: the tour of the built artifacts.

    The section's later block is a sample of a config error for a file the
    README only describes (``bad.json``), not a command of the tour.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None, "README's Try it section has no console block"
    steps: list[Step] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            command, _, comment = line[2:].partition(" #")
            steps.append(Step(shlex.split(command), comment.strip()))
        else:
            steps[-1].output.append(line)
    return steps


STEPS = try_it_steps()


@dataclass
class Artifact:
    """A built venv or bundle: how to run its host, and what its build reported.

    ``summary`` is the last line the README's command printed; ``record`` is
    the ``--json`` report of the same build run again (a warm rebuild).
    """

    program: Path
    summary: str
    record: dict[str, Any]

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.program), *args], capture_output=True, text=True, env=clean_env(), cwd=cwd,
                              timeout=120)  # fmt: skip


def build_argv(step: Step, kind: str, dest: Path) -> list[str]:
    """The README's build command for ``kind``: its ``--venv dist/venv``, or ``--output FILE.pyz`` instead."""
    args = list(step.argv[1:])
    where = args.index("--venv")
    args[where : where + 2] = ["--venv", str(dest)] if kind == "venv" else ["--output", str(dest)]
    return args


@pytest.fixture(scope="module")
def built(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    root = tmp_path_factory.mktemp("try-it")
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(root / "builder")], check=True,
                   env=clean_env())  # fmt: skip
    builder = Builder(Venv(root / "builder"), root / "cache")
    builder.venv.install(wheelhouse.wheel("corehost-build"), wheelhouse.wheel("corehost"))
    (build_step,) = [s for s in STEPS if s.argv[0] == BUILDER]
    out: dict[str, Artifact] = {}
    for kind in KINDS:
        dest = root / "dist" / ("venv" if kind == "venv" else "corehost.pyz")
        argv = build_argv(build_step, kind, dest)
        as_written = builder.run(*argv)
        assert as_written.returncode == 0, f"the README's build command failed for a {kind}:\n{as_written.stderr}"
        report = builder.run(*argv, "--json")
        assert report.returncode == 0, report.stderr
        program = dest / "bin" / "corehost" if kind == "venv" else dest
        out[kind] = Artifact(program, as_written.stderr.strip().splitlines()[-1], json.loads(report.stdout))
    return out


def check_build_info(artifact: Artifact, stdout: str) -> None:
    """What README's comment promises: the host, the plugins, every locked package with its hash."""
    record = artifact.record
    lines = stdout.splitlines()
    packages = {p["name"]: p for p in record["packages"]}
    assert f"corehost {packages['corehost']['version']}" in lines and "registry: frozen" in lines
    built_by = next(i for i, line in enumerate(lines) if line.startswith("built by"))
    plugins = lines[lines.index("plugins:") + 1 : built_by]
    for dist in record["plugins"]:
        assert any(line.startswith(f"  {dist} {packages[dist]['version']}: ") for line in plugins), (dist, plugins)
    provided = {m for line in plugins for m in re.findall(r"module ([\w.]+)", line)}
    assert provided == set(record["modules"]), "build-info and the build disagree on the modules"
    for p in packages.values():
        assert f"  {p['name']} {p['version']} {p['hash']}" in lines[lines.index("packages:") :], p


#: Commands whose README text is a comment only, and the check of what that comment promises.
PROMISES = {("build-info",): check_build_info}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step", STEPS, ids=str)
def test_try_it(step: Step, kind: str, built: dict[str, Artifact], tmp_path: Path) -> None:
    artifact = built[kind]
    if step.argv[0] == BUILDER:
        # The build step is the fixture's; its promise is "the same set" in both kinds, counted right.
        modules = artifact.record["modules"]
        assert modules == built["venv"].record["modules"] == built["pyz"].record["modules"]
        assert artifact.summary.endswith(f", {len(modules)} modules"), artifact.summary
        listed = artifact.run("list-modules", cwd=tmp_path)
        assert listed.stdout.split() == modules
        return
    assert step.argv[0] in HOSTS, f"README's Try it runs {step.argv[0]}; teach this test to run it in both kinds"
    result = artifact.run(*step.argv[1:], cwd=tmp_path)
    assert result.returncode == 0, f"{step} exited {result.returncode} in a {kind}:\n{result.stdout}{result.stderr}"
    if step.output:
        assert result.stdout.splitlines() == step.output
    else:
        assert tuple(step.argv[1:]) in PROMISES, f"README shows no output for {step}: say what it promises here"
        PROMISES[tuple(step.argv[1:])](artifact, result.stdout)


GENERATED = ("greeters.de", "greeters.es")


@pytest.mark.parametrize("kind", KINDS)
def test_generated_modules_are_first_class_in_every_command(kind: str, built: dict[str, Artifact],
                                                            tmp_path: Path) -> None:  # fmt: skip
    artifact = built[kind]
    config = tmp_path / "generated.toml"
    config.write_text(
        '[apps.greet]\nnames = ["Bob"]\nonce = true\n\n'
        '[[apps.greet.greeters]]\nmodule = "de"\n\n[[apps.greet.greeters]]\nmodule = "es"\npunctuation = "?"\n',
        encoding="utf-8",
    )
    ran = artifact.run("run", "--config", str(config), cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout == "Hallo, Bob!\nHola, Bob?\n", ran.stderr
    assert artifact.run("validate", "--config", str(config), cwd=tmp_path).stdout == f"{config}: valid\n"
    checked = artifact.run("check", "--json", cwd=tmp_path)
    assert checked.returncode == 0 and json.loads(checked.stdout) == [], checked.stdout
    listed = {m["id"]: m for m in json.loads(artifact.run("list-modules", "--json", cwd=tmp_path).stdout)}
    info = json.loads(artifact.run("build-info", "--json", cwd=tmp_path).stdout)
    (polyglot,) = [p for p in info["plugins"] if p["distribution"] == "corehost-polyglot"]
    for module_id in GENERATED:
        assert listed[module_id]["distribution"] == "corehost-polyglot"
        assert module_id in polyglot["modules"] and module_id in artifact.record["modules"]
