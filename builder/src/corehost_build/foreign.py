"""Foreign hosts: pluggy applications that are not corehost hosts, described rather than changed.

datasette, llm, pytest and tox load their plugins with pluggy from
entry-point groups of their own. None of them declares a
``corehost.hosts`` entry point, and none needs to: a :class:`ForeignHost`
says what the builder must know about one (its pluggy project name, the
modules its hookspecs live in, the groups its plugins use, the console
script an artifact starts, the subcommands a frozen artifact refuses).

A description comes from one of three places, in this order: the ones
shipped here (:func:`shipped_host`), a build file's ``[host]`` table
(:func:`host_from_table`), or the installed host's own metadata
(:func:`corehost_build.foreignprobe.describe_foreign`, which fills
:attr:`ForeignHost.inferred` so the build can say what it guessed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

from packaging.utils import canonicalize_name

from corehost.errors import did_you_mean
from corehost_build.errors import SpecError

#: A module (``datasette.hookspecs``), or a class in one (``tox.plugin.spec:Hooks``).
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*)?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class ForeignHost:
    """A pluggy application that is not a corehost host, described (not changed).

    The guards in the target (:mod:`corehost_build.foreign_target`) read
    every field but ``install_tools`` and ``refuse``; the build reads those
    two to leave pip out and to refuse ``install`` in a frozen artifact.
    """

    #: What ``--host`` names: the canonical distribution name (``datasette``).
    name: str
    #: The host's distribution, as installed (``datasette``).
    distribution: str
    #: The pluggy project name: ``PluginManager(project)``, ``HookimplMarker(project)``.
    project: str
    #: Modules (or ``module:Class``) whose hookspecs the host adds, in the order it adds them.
    hookspecs: tuple[str, ...]
    #: Entry-point groups the host loads plugins from (``pytest11`` for pytest).
    groups: tuple[str, ...]
    #: The console script an artifact starts (``datasette``).
    script: str
    #: The host's own plugin modules, registered besides the entry points.
    builtins: tuple[str, ...] = ()
    #: Distributions the host depends on only to install things (pip; setuptools, which neither datasette nor llm
    #: imports), left out of a frozen artifact unless another distribution requires them.
    install_tools: tuple[str, ...] = ()
    #: Subcommands a frozen artifact refuses (``install``, ``uninstall``): they would change what it runs.
    refuse: tuple[str, ...] = ()
    #: Functions named with this prefix are hookimpls even unmarked (pytest: ``pytest_``).
    impl_prefix: str = ""
    #: A historic hook through which plugins add hookspecs (pytest: ``pytest_addhooks``).
    addhooks: str = ""
    #: The fields :func:`~corehost_build.foreignprobe.describe_foreign` inferred, in field order.
    inferred: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The description as JSON data (tuples as lists); :meth:`from_json` reads it back."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in data.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ForeignHost:
        """The description :meth:`to_json` wrote; a missing or mistyped field raises ``ValueError`` naming it."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"foreign host description has unknown field(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, field in known.items():
            if name not in data:
                if field.default is MISSING:
                    raise ValueError(f"foreign host description lacks field {name!r}")
                continue
            value = data[name]
            if field.type == "str":
                if not isinstance(value, str):
                    raise ValueError(f"foreign host description field {name!r} must be a string")
            elif not (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"foreign host description field {name!r} must be a list of strings")
            values[name] = value if isinstance(value, str) else tuple(value)
        return cls(**values)

    def inferred_summary(self) -> str:
        """The inferred fields and their values, one phrase each (``project 'llm'; groups llm``), or ``""``."""
        parts = []
        for name in self.inferred:
            value = getattr(self, name)
            shown = ", ".join(value) if isinstance(value, tuple) else repr(value)
            parts.append(f"{name.replace('_', '-')} {shown or '(none)'}")
        return "; ".join(parts)


#: The pytest modules that register its own hooks, as in ``_pytest.config.default_plugins`` since pytest 7.
_PYTEST_BUILTINS = tuple(
    f"_pytest.{name}"
    for name in (
        "mark", "main", "runner", "fixtures", "helpconfig", "python", "terminal", "debugging", "unittest",
        "capture", "skipping", "legacypath", "tmpdir", "monkeypatch", "recwarn", "pastebin", "assertion",
        "junitxml", "doctest", "cacheprovider", "setuponly", "setupplan", "stepwise", "unraisableexception",
        "threadexception", "warnings", "logging", "reports", "faulthandler",
    )
)  # fmt: skip

#: The descriptions the builder ships, by canonical distribution name; read from datasette 0.65, llm 0.36,
#: pytest 8-9 and tox 4 (their ``plugins`` modules and ``console_scripts``).
SHIPPED: dict[str, ForeignHost] = {
    host.name: host
    for host in (
        ForeignHost(
            name="datasette",
            distribution="datasette",
            project="datasette",
            hookspecs=("datasette.hookspecs",),
            groups=("datasette",),
            script="datasette",
            builtins=(
                "datasette.publish.heroku",
                "datasette.publish.cloudrun",
                "datasette.facets",
                "datasette.filters",
                "datasette.sql_functions",
                "datasette.actor_auth_cookie",
                "datasette.default_permissions",
                "datasette.default_magic_parameters",
                "datasette.blob_renderer",
                "datasette.default_menu_links",
                "datasette.handle_exception",
                "datasette.forbidden",
            ),
            install_tools=("pip", "setuptools"),
            refuse=("install", "uninstall"),
        ),
        ForeignHost(
            name="llm",
            distribution="llm",
            project="llm",
            hookspecs=("llm.hookspecs",),
            groups=("llm",),
            script="llm",
            builtins=("llm.default_plugins.openai_models", "llm.default_plugins.default_tools"),
            install_tools=("pip", "setuptools"),
            refuse=("install", "uninstall"),
        ),
        ForeignHost(
            name="pytest",
            distribution="pytest",
            project="pytest",
            hookspecs=("_pytest.hookspec",),
            groups=("pytest11",),
            script="pytest",
            builtins=_PYTEST_BUILTINS,
            impl_prefix="pytest_",
            addhooks="pytest_addhooks",
        ),
        ForeignHost(
            name="tox",
            distribution="tox",
            project="tox",
            hookspecs=("tox.plugin.spec",),
            groups=("tox",),
            script="tox",
        ),
    )
}


def shipped_host(name: str) -> ForeignHost | None:
    """The description the builder ships for distribution ``name`` (any spelling), or ``None``."""
    return SHIPPED.get(canonicalize_name(name))


#: The keys of a ``[host]`` table: the field names, spelt with dashes as every build-file key is.
TABLE_KEYS: dict[str, str] = {f.name.replace("_", "-"): f.name for f in fields(ForeignHost) if f.name != "inferred"}
_REQUIRED = ("distribution", "project", "hookspecs", "script")
_LISTS = frozenset(f.name for f in fields(ForeignHost) if f.type != "str")


def table_example(host: ForeignHost | None = None) -> str:
    """A ``[host]`` table a user can paste into a build file: ``host``'s values, or placeholders."""
    if host is None:
        host = ForeignHost(
            name="myapp", distribution="myapp", project="myapp", hookspecs=("myapp.hookspecs",), groups=("myapp",),
            script="myapp",
        )  # fmt: skip
    lines = ["[host]"]
    for key, name in TABLE_KEYS.items():
        value = getattr(host, name)
        if name == "name" or (not value and name not in _REQUIRED):
            continue
        shown = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, tuple) else f'"{value}"'
        lines.append(f"{key} = {shown}")
    return "\n".join(lines)


def host_from_table(table: Mapping[str, Any], where: str) -> ForeignHost:
    """The host a build file's ``[host]`` table describes; ``where`` names the file for the errors.

    Every key is checked before any is used, and every error names the
    key and how to write it: a misspelt key must not silently leave the
    guards reading the wrong groups.
    """

    def fail(what: str) -> SpecError:
        return SpecError(f"{where}, table [host]: {what}. A [host] table looks like:\n{table_example()}")

    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        key = unknown[0]
        raise fail(f"unknown key {key!r}{did_you_mean(key, TABLE_KEYS)}; the keys are {', '.join(TABLE_KEYS)}")
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise fail(f"missing key(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for key, name in TABLE_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if name in _LISTS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise fail(f"key {key!r} must be a list of non-empty strings, not {value!r}")
            values[name] = tuple(v.strip() for v in value)
        else:
            if not isinstance(value, str):
                raise fail(f"key {key!r} must be a string, not {value!r}")
            values[name] = value.strip()
    for name in ("hookspecs", "builtins"):
        wrong = [m for m in values.get(name, ()) if not _MODULE.match(m)]
        if wrong:
            raise fail(f"key {name!r}: {wrong[0]!r} is not a module name ('package.module' or 'package.module:Class')")
    if not values["hookspecs"]:
        raise fail("key 'hookspecs' is empty; name at least the module the host's hookspecs are defined in")
    for name in ("project", "script", "distribution"):
        if not values[name]:
            raise fail(f"key {name!r} is empty")
    if not _IDENTIFIER.match(values["project"]):
        raise fail(f"key 'project': {values['project']!r} is not a pluggy project name (PluginManager('name'))")
    if values.get("addhooks") and not _IDENTIFIER.match(values["addhooks"]):
        raise fail(f"key 'addhooks': {values['addhooks']!r} is not a hook name")
    values.setdefault("groups", (values["project"],))
    if not values["groups"]:
        raise fail("key 'groups' is empty; name the entry-point group(s) the host loads its plugins from")
    values.setdefault("name", canonicalize_name(values["distribution"]))
    return ForeignHost(**values)
