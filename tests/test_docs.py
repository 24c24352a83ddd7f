"""The docs run as written: every command block is executed, and the output it shows is the real output.

Conventions, for anyone writing docs/*.md:

- A *command block* is a fenced block in ``sh``, ``console``, ``shell`` or
  ``bash``, or an unlabelled one whose first line starts with ``$ ``.
- A ``sh``/``shell``/``bash`` block runs as one bash script under
  ``set -euo pipefail``: it must succeed.
- In a ``console`` (or unlabelled) block each ``$ `` line runs on its own;
  the lines under it, up to the next ``$ ``, are its output, compared line
  for line with what it prints (stdout and stderr, in the order written). A
  shown line may use ``…`` for any text (a temporary path). A command shown
  with no output is only required to succeed; one whose output shows an
  ``error:`` line must fail.
- A block that cannot run here carries ``<!-- not run: REASON -->`` on the
  line before it, REASON naming what stops it and where it is tested
  instead. A page replayed by a test of its own is listed in ``REPLAYED``.

All runnable blocks of one page run in order, in one temporary copy of the
checkout (what a fresh clone has), with a virtualenv on PATH holding corehost
and corehost-build from the session wheelhouse (pip included, as a reader's
would), and one builder cache for the session, so the pages' builds reuse
each other's wheels of the same projects.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, MakeVenv, Venv, Wheelhouse, clean_env, copy_checkout, uv

DOCS = ROOT / "docs"
SCRIPT_LANGS = {"sh", "shell", "bash"}
CONSOLE_LANGS = {"console", ""}
#: Pages whose commands another test replays, because they need more than one page's copy (its own folder).
REPLAYED = {"getting-started.md": "tests/test_getting_started.py"}
NOT_RUN = re.compile(r"<!-- not run: (.*?) -->\n$")
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```\n", re.S | re.M)


@dataclass
class Block:
    """One fenced block of a page: its language, its text, and the reason it is not run (if it is not)."""

    page: str
    lang: str
    text: str
    line: int
    not_run: str | None

    @property
    def is_command(self) -> bool:
        if self.lang in SCRIPT_LANGS or self.lang == "console":
            return True
        return self.lang == "" and self.text.startswith("$ ")

    def __str__(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        marker = NOT_RUN.search(before)
        found.append(
            Block(path.name, match.group(1), match.group(2), before.count("\n") + 1,
                  marker.group(1).strip() if marker else None)
        )  # fmt: skip
    return found


def command_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.is_command]


def runnable_pages() -> list[str]:
    return sorted(
        p.name
        for p in DOCS.glob("*.md")
        if p.name not in REPLAYED and any(b.not_run is None for b in command_blocks(p))
    )


def test_every_command_block_runs_or_says_why_not() -> None:
    """A marker has a reason and sits on a command block; the conventions find the blocks they should."""
    text = "".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    all_blocks = [b for p in sorted(DOCS.glob("*.md")) for b in blocks(p)]
    marked = [b for b in all_blocks if b.not_run is not None]
    assert text.count("<!-- not run:") == len(marked), "a not-run marker must be the line right before a block"
    for page in DOCS.glob("*.md"):
        fences = [line for line in page.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("```")]
        assert len(fences) == 2 * len(blocks(page)), f"docs/{page.name}: a fence this runner cannot read"
    for block in marked:
        assert block.is_command, f"{block}: only command blocks need a not-run marker"
        assert len(block.not_run or "") > 20, f"{block}: say why it is not run and where it is tested instead"
    for page, test in REPLAYED.items():
        assert (ROOT / test).is_file() and page in (ROOT / test).read_text(), f"{test} must replay docs/{page}"
    assert {"bundles.md", "hosts.md", "plugins.md"} <= set(runnable_pages())


def doc_file(doc: str, name: str) -> str:
    """The code block that follows the line naming ``name`` in the doc."""
    match = re.search(rf"`{re.escape(name)}`:\n\n```\w*\n(.*?)```", doc, re.S)
    assert match, f"docs/plugins.md has no block for {name}"
    return match.group(1)


def write_minimal_plugin(clone: Path) -> None:
    """docs/plugins.md shows a plugin's files one by one; the reader writes them where its tree says."""
    doc = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for name in ("pyproject.toml", "src/greeter_pirate/__init__.py"):
        path = clone / "greeter-pirate" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc_file(doc, name), encoding="utf-8")


#: What a reader has done before a page's first command, beyond installing corehost and corehost-build:
#: more wheels installed, and files the page shows written into place.
PREPARE: dict[str, tuple[tuple[str, ...], Callable[[Path], None] | None]] = {
    "plugins.md": (("corehost-greet",), write_minimal_plugin),
}


def matches(shown: str, real: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, real) is not None


def run_console(block: str, cwd: Path, env: dict[str, str], where: str) -> None:
    """Each ``$`` line of a console block, its output compared with the lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip() or steps[-1][1]:
            steps[-1][1].append(line)
    for command, shown in steps:
        while shown and not shown[-1].strip():
            shown.pop()
        result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=600)  # fmt: skip
        real = result.stdout.splitlines()
        expect_error = any("error:" in line for line in shown)
        assert (result.returncode != 0) == expect_error, f"{where}: `{command}` exited {result.returncode}:\n" + (
            result.stdout
        )
        if shown:
            assert len(real) == len(shown) and all(map(matches, shown, real)), (
                f"{where}: `{command}` printed\n{result.stdout}\nbut the doc shows\n" + "\n".join(shown)
            )


def run_script(block: str, cwd: Path, env: dict[str, str], where: str) -> None:
    result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, f"{where} failed ({result.returncode}):\n{result.stdout}{result.stderr}"


def reader_env(venv: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A shell whose ``python``, ``pip`` and console scripts are the venv's, as after activating it."""
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return clean_env({"PATH": path, "VIRTUAL_ENV": str(venv), **(extra or {})})


@pytest.fixture(scope="session")
def docs_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corehost-build's cache for every page: a project built by one page is reused by the next."""
    return tmp_path_factory.mktemp("docs-build-cache")


@pytest.mark.parametrize("page", runnable_pages())
def test_page_runs_as_written(page: str, tmp_path: Path, wheelhouse: Wheelhouse, docs_build_cache: Path) -> None:
    wheels, prepare = PREPARE.get(page, ((), None))
    venv = tmp_path / "venv"
    subprocess.run([uv(), "venv", "-q", "--seed", "--python", sys.executable, str(venv)], check=True,
                   env=clean_env())  # fmt: skip
    Venv(venv).install(*(wheelhouse.wheel(d) for d in ("corehost", "corehost-build", *wheels)))
    clone = copy_checkout(tmp_path / "clone")
    if prepare:
        prepare(clone)
    env = reader_env(venv, {"COREHOST_BUILD_CACHE": str(docs_build_cache)})
    ran = 0
    for block in command_blocks(DOCS / page):
        if block.not_run is not None:
            continue
        runner = run_script if block.lang in SCRIPT_LANGS else run_console
        runner(block.text, clone, env, str(block))
        ran += 1
    assert ran >= 1


def test_readme_output_samples_are_true(make_venv: MakeVenv, tmp_path: Path) -> None:
    """README's config-error sample, run in a venv with the repo's plugins: the message is the real one.

    The sample once lacked the ``bad.json: `` prefix that every config error
    carries. (README's "Try it" tour is tests/test_try_it.py's.)
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("A mistake is reported", 1)[1]
    block = FENCE.search(sample)
    assert block is not None and block.group(1) == "console", "README lost its config-error sample"
    venv = make_venv("corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh")
    run_console(block.group(2), tmp_path, reader_env(venv.path), "README.md (config error sample)")


def test_cli_reference_is_current() -> None:
    import runpy

    generator = runpy.run_path(str(ROOT / "docs" / "gen_cli.py"))
    assert (ROOT / "docs" / "cli.md").read_text() == generator["render"](), "run: python docs/gen_cli.py"


def test_api_composition_example_runs() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    code = re.search(r"## Composing a host in code.*?```python\n(.*?)```", doc, re.S)
    assert code, "docs/api.md lost its composition example"
    result = subprocess.run([sys.executable, "-c", code.group(1)], capture_output=True, text=True, check=True)
    assert result.stdout == "Hello, Bob?\n"
