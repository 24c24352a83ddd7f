"""Build files: the inputs of a build, kept in version control.

``corehost-build build -c build.toml`` reads the same inputs the flags
give, with the flags' names::

    with = ["./plugins/greet", "corehost-greeter-en==0.1.0"]
    host = "0.1.0"            # optional
    venv = "dist/venv"        # or: output = "dist/corehost.pyz"
    python-version = "3.11"   # bundles only, optional
    platform = "x86_64-manylinux_2_28"  # bundles only, optional
    lock = "pylock.toml"      # optional
    replace = { corehost-greet = "../greet-fork" }
    find-links = ["wheels"]
    plugins-dir = ["plugins"]
    offline = false
    python = "/usr/bin/python3.11"
    guard-timeout = 300       # seconds
    allow-plain = ["rich"]    # --with names that are plain dependencies, not plugins

Every key is an option of :data:`~corehost_build.options.OPTIONS`, read the
way its flag is; a flag given on the command line beats the key. Keys may
also sit in a ``[build]`` table. Unknown keys are errors, so a misspelled
key cannot silently drop an input.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from corehost.errors import did_you_mean
from corehost_build.errors import BuildFileError
from corehost_build.options import BY_KEY
from corehost_build.request import RawInputs

KEYS = sorted(BY_KEY)


def load_buildfile(path: Path) -> RawInputs:
    """Read a build file into :class:`RawInputs` (paths relative to the file's folder)."""
    try:
        doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildFileError(f"build file {path} does not exist; fix the path given to -c.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BuildFileError(f"build file {path} is not valid TOML: {exc}.") from None
    if isinstance(doc.get("build"), dict) and len(doc) == 1:
        doc = doc["build"]
    base = path.resolve().parent
    raw = RawInputs(words=[f"-c {path}"])
    for key, value in doc.items():
        option = BY_KEY.get(key)
        if option is None:
            raise BuildFileError(
                f"build file {path}: unknown key {key!r}{did_you_mean(key, KEYS)}; the keys are {', '.join(KEYS)}."
            )
        raw.given[option.name] = option.from_file(value, base, f"build file {path}, key {key!r}")
    return raw
