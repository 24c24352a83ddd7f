"""The layout of a ``.pyz`` bundle that the builder writes and ``verify`` reads back.

Both sides must agree on it byte for byte, so it is stated once, here, and
imports nothing of either side: the writer (:mod:`corehost_build.zipapp`)
and the checker (:mod:`corehost_build.verify`) each import it.
"""

from __future__ import annotations

import hashlib
import json

#: The folder inside the archive that holds the packages (the bundle's site-packages).
SITE = "site"
#: The ``.pyz`` entry listing every other entry's sha256; written last.
MANIFEST = "corehost-manifest.json"


def manifest_of(entries: list[tuple[str, bytes]]) -> bytes:
    """The ``.pyz`` manifest: every entry's sha256, sorted, as deterministic JSON bytes."""
    hashes = {name: "sha256:" + hashlib.sha256(data).hexdigest() for name, data in entries}
    return (json.dumps({"format": 1, "files": dict(sorted(hashes.items()))}, indent=0, sort_keys=True) + "\n").encode()
