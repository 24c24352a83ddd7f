"""Building beside the destination, then moving into place in one step.

A failed build must leave an existing destination exactly as it was, and
a reader must never see half an environment. So everything is built in a
staging folder next to the destination (same filesystem, so ``rename`` is
atomic), and only a finished, checked environment replaces it: the old one
is moved aside, the new one renamed in, the old one deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from corehost_build.errors import BuildError


class Staging:
    """A staging folder beside ``dest``; ``commit()`` swaps its venv in, leaving it always discards.

    With ``file=True`` the destination is a single file (a bundle) that its
    writer replaces atomically itself; the staging folder is only the workspace.
    """

    def __init__(self, dest: Path, *, file: bool = False) -> None:
        self.dest = Path(os.path.abspath(dest))
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        if file and self.dest.is_dir():
            raise BuildError(f"--output {dest} is a folder; name the bundle file, e.g. {dest}/corehost.pyz.")
        if not file and self.dest.exists() and not self.dest.is_dir():
            raise BuildError(f"--venv {dest} exists and is not a folder; choose another destination or remove it.")
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.dest.name}.tmp-", dir=self.dest.parent))
        self.venv = self.root / "venv"
        self.committed = False

    def commit(self) -> None:
        """Put the staged venv at ``dest``; an existing ``dest`` is replaced only now."""
        old = self.root / "old"
        if self.dest.exists() or self.dest.is_symlink():
            os.rename(self.dest, old)
        try:
            os.rename(self.venv, self.dest)
        except OSError:
            if old.exists():
                os.rename(old, self.dest)
            raise
        self.committed = True

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.discard()
