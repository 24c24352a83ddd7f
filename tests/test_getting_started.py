"""docs/getting-started.md, replayed command by command: set up in a clean copy, plugin work outside it.

The page's first block runs in the copy's root; it then moves to a folder
beside the copy, and from there on only the wheelhouse made by
``corehost-build wheels`` and the copy's ``.venv/bin`` on PATH connect the
plugin to the repository, as for a plugin author who cloned corehost once.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT, clean_env, copy_checkout


def test_getting_started_works_as_written_outside_the_clone(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    steps = re.findall(r"```sh\n(.*?)```", doc, re.S)
    assert len(steps) >= 6
    clone = copy_checkout(tmp_path / "clone")
    script = "set -euo pipefail\n" + "\n".join(steps)
    env = clean_env({"COREHOST_BUILD_CACHE": str(tmp_path / "build-cache")})
    result = subprocess.run(["bash", "-c", script], cwd=clone, capture_output=True, text=True, env=env,
                            timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert result.stdout.rstrip().endswith("Ahoy, Bob!")
    project = tmp_path / "my-plugins" / "greeter-pirate"
    assert not (clone / "greeter-pirate").exists(), "the plugin must be made outside the clone"
    generated = (project / "pyproject.toml").read_text()
    assert '"greeters.pirate" = "greeter_pirate:Pirate"' in generated
    assert "corehost-greet>=0.1,<0.2" in generated
    assert f"export WHEELHOUSE={clone / 'wheelhouse'}\n" in (project / "README.md").read_text()
    assert (project / "dist" / "pirate.pyz").is_file()
