"""``corehost-build new-plugin``: a project that passes the guards before its author writes a line."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.builder.conftest import Builder
from tests.conftest import Venv, clean_env


def test_generated_greeter_builds_and_passes_the_guards(builder: Builder, tmp_path: Path) -> None:
    made = builder.run("new-plugin", "greeter-pirate", "--namespace", "greeters", "--with", "./plugins/greet",
                       "--dir", tmp_path, "-q")  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "greeter-pirate"
    code = (project / "src" / "greeter_pirate" / "__init__.py").read_text()
    assert "class Pirate:" in code and "def greet(self, name: str) -> str:" in code
    pyproject = (project / "pyproject.toml").read_text()
    assert '"greeters.pirate" = "greeter_pirate:Pirate"' in pyproject
    assert '"corehost>=0.1,<0.2", "corehost-greet>=0.1,<0.2"' in pyproject
    assert (project / "tests" / "test_greeter_pirate.py").exists() and (project / "README.md").exists()
    venv = tmp_path / "venv"
    built = builder.build("--with", "./plugins/greet", "--with", project, "--venv", venv, "-q")
    assert built.returncode == 0, built.stderr
    check = Venv(venv).corehost("check")
    assert check.returncode == 0 and "0 error(s), 0 warning(s)" in check.stdout, check.stdout + check.stderr
    assert "greeters.pirate" in Venv(venv).corehost("list-modules").stdout


def test_without_quiet_it_prints_only_what_it_wrote(builder: Builder, tmp_path: Path) -> None:
    """The environment that reads the interface is a means, not news: no build-phase lines without -q."""
    made = builder.run("new-plugin", "greeter-parrot", "--namespace", "greeters", "--with", "./plugins/greet",
                       "--dir", tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""
    assert made.stdout == f"wrote {tmp_path / 'greeter-parrot'}\n"


def test_an_app_scaffold_has_start_and_stop(builder: Builder, tmp_path: Path) -> None:
    made = builder.run("new-plugin", "hello-app", "--namespace", "", "--module", "hello", "--dir", tmp_path)
    assert made.returncode == 0, made.stderr
    code = (tmp_path / "hello-app" / "src" / "hello_app" / "__init__.py").read_text()
    assert "def start(self) -> None:" in code and "def stop(self) -> None:" in code
    assert '"hello" = "hello_app:Hello"' in (tmp_path / "hello-app" / "pyproject.toml").read_text()


def test_unknown_namespace_is_named_with_a_suggestion(builder: Builder, tmp_path: Path) -> None:
    result = builder.run("new-plugin", "x-y", "--namespace", "greeterz", "--with", "./plugins/greet",
                         "--dir", tmp_path, "-q")  # fmt: skip
    assert result.returncode == 2
    assert "namespace 'greeterz' is not declared (did you mean 'greeters'?)" in result.stderr
    assert not (tmp_path / "x-y").exists()


def test_existing_folder_and_bad_names_are_refused(builder: Builder, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    taken = builder.run("new-plugin", "taken", "--namespace", "", "--dir", tmp_path)
    assert taken.returncode == 1 and "already exists" in taken.stderr
    bad = builder.run("new-plugin", "Bad Name", "--namespace", "", "--dir", tmp_path)
    assert bad.returncode == 2 and "'Bad Name' is not a distribution name" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def readme_commands(readme: str) -> str:
    """The generated README's one shell block, exactly as a user would paste it."""
    (block,) = re.findall(r"```sh\n(.*?)```", readme, re.S)
    return block


def test_generated_readme_runs_outside_the_clone(builder: Builder, tmp_path: Path) -> None:
    """The README's commands, pasted into a shell in a folder that knows nothing of the repository.

    All it gets from the clone is a wheelhouse made by ``corehost-build
    wheels``: corehost and corehost-greet are on no public index, and before
    the README named a wheelhouse, ``pip install -e '.[test]'`` failed on
    ``corehost-greet<0.2,>=0.1``.
    """
    wheelhouse = tmp_path / "wheelhouse"
    builder.ok("wheels", "./plugins/greet", "-o", wheelhouse, "-q")
    assert sorted(p.name.split("-")[0] for p in wheelhouse.glob("*.whl")) == ["corehost", "corehost_greet"]
    work = tmp_path / "elsewhere"
    work.mkdir()
    made = builder.run("new-plugin", "greeter-pirate", "--namespace", "greeters", "--with", "corehost-greet",
                       "--find-links", wheelhouse, "-q", cwd=work)  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = work / "greeter-pirate"
    readme = (project / "README.md").read_text()
    assert f"export WHEELHOUSE={wheelhouse}\n" in readme
    path = f"{builder.venv.path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    env = clean_env({"PATH": path, "COREHOST_BUILD_CACHE": str(builder.cache)})
    script = "set -euo pipefail\n" + readme_commands(readme)
    result = subprocess.run(["bash", "-c", script], cwd=project, capture_output=True, text=True, env=env,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "greeters.pirate  0.1.0" in result.stdout.splitlines()
    assert (project / "dist" / "bundle.pyz").is_file()


def test_readme_without_a_wheelhouse_says_how_to_make_one(builder: Builder, tmp_path: Path) -> None:
    made = builder.run("new-plugin", "greeter-pirate", "--namespace", "greeters", "--with", "./plugins/greet",
                       "--dir", tmp_path, "-q")  # fmt: skip
    assert made.returncode == 0, made.stderr
    readme = (tmp_path / "greeter-pirate" / "README.md").read_text()
    assert "export WHEELHOUSE=/path/to/wheelhouse\n" in readme
    assert "`corehost-build wheels ./plugins/* -o wheelhouse/`" in readme
    assert "corehost and corehost-greet are not on a public index" in readme
