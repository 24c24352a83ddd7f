"""docs/getting-started.md, replayed command by command in a clean copy of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT, clean_env, copy_checkout


def test_getting_started_works_as_written(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    steps = re.findall(r"```sh\n(.*?)```", doc, re.S)
    assert len(steps) >= 5
    clone = copy_checkout(tmp_path / "clone")
    script = "set -euo pipefail\n" + "\n".join(steps)
    result = subprocess.run(["bash", "-c", script], cwd=clone, capture_output=True, text=True, env=clean_env(),
                            timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert result.stdout.rstrip().endswith("Ahoy, Bob!")
    generated = (clone / "greeter-pirate" / "pyproject.toml").read_text()
    assert '"greeters.pirate" = "greeter_pirate:Pirate"' in generated
    assert "corehost-greet>=0.1,<0.2" in generated
