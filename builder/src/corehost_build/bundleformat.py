"""The layout of a ``.pyz`` bundle that the builder writes and ``verify`` reads back.

Both sides must agree on it byte for byte, so it is stated once, here, and
imports nothing of either side: the writer (:mod:`corehost_build.zipapp`)
and the checker (:mod:`corehost_build.verify`) each import it.
"""

from __future__ import annotations

import hashlib
import json

#: The archive's entry that holds the packages (the bundle's site-packages): a zip of its own, stored
#: uncompressed so a start can read it in place; its entries are deflated. The manifest names each of
#: them as ``site.zip/NAME``.
SITE = "site.zip"
#: The layout's version, in the manifest: a bundle of another one is rebuilt, not verified.
FORMAT = 2
#: The ``.pyz`` entry listing the sha256 of every other entry and of every entry of :data:`SITE`; written last.
MANIFEST = "corehost-manifest.json"


def manifest_of(entries: list[tuple[str, bytes]]) -> bytes:
    """The ``.pyz`` manifest: every entry's sha256, sorted, as deterministic JSON bytes.

    ``entries`` are the archive's own entries but :data:`SITE`, and :data:`SITE`'s entries as ``site.zip/NAME``.
    """
    hashes = {name: "sha256:" + hashlib.sha256(data).hexdigest() for name, data in entries}
    return (
        json.dumps({"format": FORMAT, "files": dict(sorted(hashes.items()))}, indent=0, sort_keys=True) + "\n"
    ).encode()
