"""Where the builder keeps what it can reuse: wheels of local projects, dev environments.

One folder, ``$COREHOST_BUILD_CACHE`` or ``$XDG_CACHE_HOME/corehost-build``
(``~/.cache/corehost-build``). Everything in it is keyed by a content hash
and written beside its final name then renamed, so a crashed build never
leaves a half entry that a later build would trust, and two builds never
see each other's partial files.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "COREHOST_BUILD_CACHE"


def cache_dir() -> Path:
    """The builder's cache folder (created on demand)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        root = Path(explicit)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "corehost-build"
    root.mkdir(parents=True, exist_ok=True)
    return root
