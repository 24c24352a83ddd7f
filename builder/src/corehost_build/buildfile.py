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

Keys may also sit in a ``[build]`` table. Unknown keys are errors, so a
misspelled key cannot silently drop an input.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from corehost.errors import did_you_mean
from corehost_build.errors import BuildFileError
from corehost_build.request import RawInputs

_LISTS = {"with": "with_", "plugins-dir": "plugins_dirs", "find-links": "find_links"}
_PATHS = {"host": "host", "venv": "venv", "output": "output", "lock": "lock", "from-lock": "from_lock"}
_STRINGS = {"python-version": "python_version", "platform": "platform"}
_FLAGS = {"offline": "offline", "pip": "pip", "compile": "compile_bytecode"}
KEYS = sorted([*_LISTS, *_PATHS, *_STRINGS, *_FLAGS, "replace", "python", "guard-timeout"])


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
        where = f"build file {path}, key {key!r}"
        if key in _LISTS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise BuildFileError(f"{where}: expected a string or a list of strings, got {value!r}.")
            getattr(raw, _LISTS[key]).extend((v, base) for v in values)
        elif key in _PATHS:
            if not isinstance(value, str):
                raise BuildFileError(f"{where}: expected a string, got {value!r}.")
            setattr(raw, _PATHS[key], (value, base))
        elif key in _STRINGS:
            if not isinstance(value, str):
                raise BuildFileError(f"{where}: expected a string, got {value!r}.")
            setattr(raw, _STRINGS[key], value)
        elif key in _FLAGS:
            if not isinstance(value, bool):
                raise BuildFileError(f"{where}: expected true or false, got {value!r}.")
            setattr(raw, _FLAGS[key], value)
        elif key == "replace":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise BuildFileError(f'{where}: expected a table of NAME = "PATH", got {value!r}.')
            raw.replace.extend((f"{name}={target}", base) for name, target in value.items())
        elif key == "python":
            if not isinstance(value, str):
                raise BuildFileError(f"{where}: expected the path of a Python interpreter, got {value!r}.")
            raw.python = str(base / value) if "/" in value and not value.startswith("/") else value
        elif key == "guard-timeout":
            if not isinstance(value, (int, float)) or value <= 0:
                raise BuildFileError(f"{where}: expected a number of seconds, got {value!r}.")
            raw.guard_timeout = float(value)
        else:
            raise BuildFileError(
                f"build file {path}: unknown key {key!r}{did_you_mean(key, KEYS)}; the keys are {', '.join(KEYS)}."
            )
    return raw
