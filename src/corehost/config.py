"""Reading a config file: JSON or TOML, Caddy's shape.

``{"apps": {"<app id>": {...app config...}}}``. The file format is chosen by
the file's suffix (``.json``, ``.toml``); any other suffix is tried as JSON,
then TOML, except YAML's, which is refused by name rather than reported as
bad TOML. Every problem is a :class:`~corehost.errors.ConfigError` naming
the file and the place in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from corehost.errors import ConfigError, config_errors, did_you_mean

#: The top-level keys: the apps, and the admin endpoint (optional; see :mod:`corehost.admin`).
TOP_LEVEL = ("apps", "admin")
#: What a user is told the loader reads, in every message about a format.
FORMATS = "corehost reads JSON and TOML configs, chosen by the file's extension (.json, .toml)"


def spelling(path: str | os.PathLike[str]) -> str:
    """``path`` as messages spell it: as :class:`pathlib.Path` prints it (``./a//b.json`` is ``a/b.json``).

    A path pathlib would print unchanged is returned as it is: importing
    pathlib (with urllib.parse and ipaddress) costs about 3 ms of a ``run``.
    """
    text = os.fspath(path)
    body = text[1:] if text.startswith("/") else text
    if os.sep == "/" and body and all(part not in ("", ".") for part in body.split("/")):
        return text
    # Only a path pathlib would respell (``./``, ``//``, a trailing slash, another separator) loads it.
    from pathlib import Path

    return str(Path(text))


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and parse the config file at ``path``."""
    source = spelling(path)
    try:
        with open(source, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(source, f"cannot read the config file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"the config file is not valid UTF-8 (byte {exc.start}); save it as UTF-8") from None
    suffix = os.path.splitext(source)[1].lower()
    if suffix in (".yaml", ".yml"):
        raise ConfigError(source, f"YAML is not read; {FORMATS}. Save the config as .json or .toml.")
    fmt = "toml" if suffix == ".toml" else "json" if suffix == ".json" else None
    return parse_config(text, fmt, source=source)


def parse_config(text: str, fmt: str | None = None, source: str = "<config>") -> dict[str, Any]:
    """Parse config ``text`` as ``fmt`` (``"json"``, ``"toml"``, or ``None`` to try both)."""
    if fmt is None:
        # Each format's parser only for a config that may be in it: a TOML config's run never loads json.
        import json

        # Fall back to TOML only when the text is not JSON at all: a JSON
        # document with a wrong shape must report that, not a TOML syntax error.
        try:
            json.loads(text)
        except json.JSONDecodeError:
            try:
                return parse_config(text, "toml", source)
            except ConfigError as exc:
                if not exc.detail.startswith("invalid TOML"):
                    raise
                # Neither format fits: say both were tried, not just that it is bad TOML.
                raise ConfigError(
                    source, f"not a JSON or TOML config: {exc.detail} ({FORMATS}; other names are tried as both)"
                ) from None
        except RecursionError:
            # JSON nested past the parser's limit: say so, rather than blame its TOML syntax.
            pass
        return parse_config(text, "json", source)
    try:
        if fmt == "json":
            # The JSON parser (json, its decoder, scanner and encoder: about 1.2 ms) only for a JSON config.
            import json

            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        elif fmt == "toml":
            # A JSON config never loads the TOML parser.
            import tomllib

            try:
                doc = tomllib.loads(text)
            except ValueError as exc:  # TOMLDecodeError, and any other value it cannot read
                raise ConfigError(source, f"invalid TOML: {exc}") from None
        else:
            raise ConfigError(source, f"unknown config format {fmt!r}; use 'json' or 'toml'")
    except RecursionError:
        raise ConfigError(source, "the config is nested too deeply to read") from None
    return check_shape(doc, source)


def check_shape(doc: Any, source: str = "<config>") -> dict[str, Any]:
    """Check the top level: an object of ``apps`` (an object of objects) and ``admin``.

    ``admin``'s own fields are checked by :func:`corehost.admin.settings`.

    Every wrong key is reported at once, like the fields of a module.
    """
    if not isinstance(doc, Mapping):
        raise ConfigError(source, f"the config must be an object with an 'apps' key, not {type(doc).__name__}")
    errors: list[ConfigError] = []
    for key in doc:
        if key not in TOP_LEVEL:
            # An empty key still needs a visible place in the message, so it is shown quoted.
            errors.append(
                ConfigError(
                    str(key) or repr(key),
                    f"unknown top-level key {key!r}{did_you_mean(str(key), TOP_LEVEL)}; "
                    "a config has only 'apps' and 'admin'",
                )
            )
    apps = doc.get("apps", {})
    if not isinstance(apps, Mapping):
        errors.append(
            ConfigError("apps", f"expected an object mapping app IDs to their config, got {type(apps).__name__}")
        )
        apps = {}
    for app_id, app_config in apps.items():
        if not isinstance(app_config, Mapping):
            errors.append(
                ConfigError(f"apps.{app_id}", f"expected an object (the app's config), got {type(app_config).__name__}")
            )
    error = config_errors(errors)
    if error is not None:
        raise error
    return dict(doc)
