"""The complete minimal plugin in docs/plugins.md works exactly as printed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, MakeVenv, Wheelhouse


def doc_file(doc: str, name: str) -> str:
    """The code block that follows the line naming ``name`` in the doc."""
    match = re.search(rf"`{re.escape(name)}`:\n\n```\w*\n(.*?)```", doc, re.S)
    assert match, f"docs/plugins.md has no block for {name}"
    return match.group(1)


def test_minimal_plugin_from_docs(tmp_path: Path, wheelhouse: Wheelhouse, make_venv: MakeVenv) -> None:
    doc = (ROOT / "docs" / "plugins.md").read_text()
    project = tmp_path / "greeter-pirate"
    for name in ("pyproject.toml", "src/greeter_pirate/__init__.py"):
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc_file(doc, name))
    wheel = wheelhouse.add(project)
    venv = make_venv("corehost", "corehost-greet", extra=[wheel])
    check = venv.corehost("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 error(s), 0 warning(s)" in check.stdout
    assert venv.corehost("greet", "Bob", "--lang", "pirate", check=True).stdout == "Ahoy, Bob!\n"


def test_cli_reference_is_current() -> None:
    import runpy

    generator = runpy.run_path(str(ROOT / "docs" / "gen_cli.py"))
    assert (ROOT / "docs" / "cli.md").read_text() == generator["render"](), "run: python docs/gen_cli.py"


def test_api_composition_example_runs() -> None:
    import subprocess
    import sys

    doc = (ROOT / "docs" / "api.md").read_text()
    code = re.search(r"## Composing a host in code.*?```python\n(.*?)```", doc, re.S)
    assert code, "docs/api.md lost its composition example"
    result = subprocess.run([sys.executable, "-c", code.group(1)], capture_output=True, text=True, check=True)
    assert result.stdout == "Hello, Bob?\n"
