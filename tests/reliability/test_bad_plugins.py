"""Bad plugins, each built with the builder: one error naming distribution and module, nothing written.

Every case is a real ``corehost-build build`` of a real wheel (the fixture
projects under tests/fixtures/plugins, plus a plugin that hangs at import).
The builds do not depend on each other, so they run side by side once per
module; each test then reads its own outcome.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builder.conftest import Builder
from tests.conftest import Wheelhouse, build_wheel
from tests.reliability.conftest import wheels

GREET = "corehost-greet"


@dataclass(frozen=True)
class Case:
    dists: tuple[str, ...]
    #: The one problem line the error must hold: it names the module (or plugin) and the distribution.
    line: str
    culprit: str


CASES = {
    "missing-method": Case(
        (GREET, "fixture-missing-method"),
        "  - module 'greeters.mute' (distribution fixture-missing-method): missing required method "
        "`def greet(self, name: str) -> str`",
        "fixture-missing-method",
    ),
    "wrong-signature": Case(
        (GREET, "fixture-wrong-signature"),
        "  - module 'greeters.rude' (distribution fixture-wrong-signature): ",
        "fixture-wrong-signature",
    ),
    "sync-for-async": Case(
        ("fixture-fetchers", "fixture-sync-fetcher"),
        "  - module 'fetchers.sync' (distribution fixture-sync-fetcher): ",
        "fixture-sync-fetcher",
    ),
    "undeclared-namespace": Case(
        ("fixture-unknown-namespace",),
        "  - module 'greeterz.x' (distribution fixture-unknown-namespace): ",
        "fixture-unknown-namespace",
    ),
    "invalid-id": Case(
        (GREET, "fixture-bad-id"),
        "  - module 'Greeters.EN' (distribution fixture-bad-id): ",
        "fixture-bad-id",
    ),
    "duplicate-id": Case(
        (GREET, "corehost-greeter-en", "fixture-duplicate-en"),
        "  - module 'greeters.en' (distribution ",
        "fixture-duplicate-en",
    ),
    "misspelled-hook": Case(
        ("fixture-hook-typo",),
        "  - hookimpl 'corehost_add_comands' of plugin 'hook_typo' (distribution fixture-hook-typo): matches no "
        "hookspec",
        "fixture-hook-typo",
    ),
    "extra-hook-argument": Case(
        ("fixture-hook-extra-arg",),
        "  - plugin 'hook_extra_arg' (distribution fixture-hook-extra-arg): ",
        "fixture-hook-extra-arg",
    ),
    "import-raises": Case(
        (GREET, "fixture-import-error"),
        "  - module 'greeters.broken' (distribution fixture-import-error): importing fixture_import_error:Broken "
        "failed",
        "fixture-import-error",
    ),
    "sys-exit-at-import": Case(
        (GREET, "fixture-sys-exit"),
        "  - module 'greeters.exits' (distribution fixture-sys-exit): importing fixture_sys_exit:Exits failed: "
        "it called sys.exit(3) while being imported.",
        "fixture-sys-exit",
    ),
    "missing-object": Case(
        (GREET, "fixture-missing-attr"),
        "  - module 'greeters.ghost' (distribution fixture-missing-attr): ",
        "fixture-missing-attr",
    ),
}

HANG = "fxr-hang"
HANG_CODE = (
    "import time\n\ntime.sleep(600)\n\n\nclass Slow:\n    def greet(self, name: str) -> str:\n        return name\n"
)


@dataclass
class Outcome:
    dest: Path
    result: subprocess.CompletedProcess[str]


def _hang_wheel(root: Path) -> Path:
    project = root / HANG
    (project / "src" / "fxr_hang").mkdir(parents=True)
    (project / "src" / "fxr_hang" / "__init__.py").write_text(HANG_CODE)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n'
        f'[project]\nname = "{HANG}"\nversion = "1.0"\ndependencies = ["corehost>=0.1,<0.2", "corehost-greet"]\n'
        '[project.entry-points."corehost.modules"]\n"greeters.slow" = "fxr_hang:Slow"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/fxr_hang"]\n'
    )
    return build_wheel(project, root)


@pytest.fixture(scope="module")
def outcomes(builder: Builder, wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("bad-plugins")
    jobs: dict[str, list[str | Path]] = {name: [*wheels(wheelhouse, *case.dists)] for name, case in CASES.items()}
    jobs["hang"] = [*wheels(wheelhouse, GREET), "--with", _hang_wheel(root), "--guard-timeout", "3"]
    jobs["chatty"] = [*wheels(wheelhouse, GREET, "fixture-chatty"), "--json"]

    def run(name: str) -> tuple[str, Outcome]:
        dest = root / name / "dist" / "venv"
        return name, Outcome(dest, builder.build(*jobs[name], "--no-pip", "--venv", dest))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_plugin_fails_the_build_with_one_error_naming_it(name: str, outcomes: dict[str, Outcome]) -> None:
    case, out = CASES[name], outcomes[name]
    err = out.result.stderr
    assert out.result.returncode == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("corehost-build: error:")]
    assert errors == [
        f"corehost-build: error: the interface guards found 1 error(s) in plugin(s) {case.culprit}; nothing was "
        "written to the destination. Fix each plugin below (or leave it out of the build):"
    ]
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and problems[0].startswith(case.line), problems
    # Nothing at all beside the destination: no venv, no staging folder, no lock file.
    assert list(out.dest.parent.iterdir()) == []


def test_duplicate_module_id_names_both_distributions(outcomes: dict[str, Outcome]) -> None:
    (problem,) = [line for line in outcomes["duplicate-id"].result.stderr.splitlines() if line.startswith("  - ")]
    assert "fixture-duplicate-en" in problem and "corehost-greeter-en" in problem


def test_import_that_hangs_times_out_naming_the_plugin(outcomes: dict[str, Outcome]) -> None:
    out = outcomes["hang"]
    assert out.result.returncode == 1
    assert out.result.stderr.endswith(
        "corehost-build: error: the interface guards did not finish within 3 s in the new environment: it was "
        "importing module 'greeters.slow' (fxr_hang:Slow) of distribution fxr-hang, which blocks while being "
        "imported (a network call, a prompt, a loop at module level). Move that work out of import time into the "
        "module's provision(), or leave the plugin out; nothing was written to the destination.\n"
    )
    assert list(out.dest.parent.iterdir()) == []


def test_plugin_printing_at_import_keeps_json_output_intact(builder: Builder, outcomes: dict[str, Outcome]) -> None:
    out = outcomes["chatty"]
    assert out.result.returncode == 0, out.result.stderr
    summary = json.loads(out.result.stdout)
    assert summary["ok"] is True and "greeters.chatty" in summary["modules"]
    assert "hello from import time" not in out.result.stdout
    # And in the built bundle, the machine-readable listing stays parseable too.
    listed = builder.venv.run(out.dest / "bin" / "corehost", "list-modules", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "hello from import time" not in listed.stdout
    json.loads(listed.stdout)
