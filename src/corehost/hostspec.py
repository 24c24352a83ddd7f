"""Host specs: what makes one corehost-based host different from another.

corehost is a host (CLI ``corehost``, entry-point groups ``corehost.*``,
``COREHOST_PLUGINS``), and an application can be a host of its own: the
same runtime, guards, lifecycle and CLI, but its own namespaces and hooks,
its own entry-point groups (so its plugins and corehost's never see each
other), its own environment variables and its own command name. All of
that is one frozen :class:`HostSpec`; :data:`COREHOST` is corehost's own.

Hosts are found by name through the ``corehost.hosts`` entry-point group
(``myapp = "myapp.host:SPEC"``), so that ``python -m corehost.frozen --host
myapp`` and ``corehost-build --host myapp`` can use a host without knowing
its code. Every CLI start reads this module, so it imports nothing but
corehost's errors, and :class:`HostSpec` is a plain class: made with
``dataclasses`` (and its name checked by a regular expression compiled at
import) it would take about 1.5 ms of each start (``python -X importtime``).
"""

from __future__ import annotations

from types import MappingProxyType

from corehost import TYPE_CHECKING, __version__
from corehost.errors import UnknownHost

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: Entry-point group that maps a host's name to its spec (``name = "pkg.mod:SPEC"``).
HOSTS_GROUP = "corehost.hosts"

_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz")
_REST = _FIRST | frozenset("0123456789_")


def _valid_name(name: str) -> bool:
    """Dotted labels of lowercase letters, digits and '_', each starting with a letter."""
    return all(label[:1] in _FIRST and set(label) <= _REST for label in name.split("."))


class HostSpec:
    """One host: its name, entry-point groups, environment variables and hooks.

    ``name`` is the CLI's name and the host's name in ``corehost.hosts``;
    ``group_prefix`` (default: ``name``) makes the entry-point groups
    ``<prefix>.modules``, ``<prefix>.namespaces`` and ``<prefix>.plugins``;
    ``env_prefix`` (default: ``name`` upper-cased) makes ``<PREFIX>_PLUGINS``
    and ``<PREFIX>_DISABLE_PLUGINS``; ``distribution`` (default: ``name``) is
    the package that ships the host, whose own entries the allow and block
    lists never drop; ``hookspecs`` are modules of ``@corehost.hookspec``
    functions added to corehost's own; ``namespaces`` maps each namespace
    the host itself declares to its interface (``"pkg.mod:Interface"``),
    besides the apps' namespace, which every host has.

    The pluggy project stays ``corehost`` for every host, so that plugins of
    any host write ``from corehost import hookimpl``.
    """

    __slots__ = ("description", "distribution", "env_prefix", "group_prefix", "hookspecs", "name", "namespaces")
    #: Every field, in the order ``__init__`` takes them (and ``repr`` shows them).
    _fields = ("name", "group_prefix", "env_prefix", "distribution", "hookspecs", "namespaces", "description")

    name: str
    group_prefix: str
    env_prefix: str
    distribution: str
    hookspecs: tuple[str, ...]
    namespaces: Mapping[str, str]
    description: str

    def __init__(
        self,
        name: str,
        group_prefix: str = "",
        env_prefix: str = "",
        distribution: str = "",
        hookspecs: tuple[str, ...] = (),
        namespaces: Mapping[str, str] | None = None,
        description: str = "",
    ) -> None:
        if not _valid_name(name):
            raise ValueError(
                f"host name {name!r} must be lowercase letters, digits and '_' in dotted labels, "
                "starting with a letter (e.g. 'myapp'); it names the CLI and the entry-point groups."
            )
        # The effective values, so that every reader sees them; a name is letters, digits, '_' and '.'.
        init = object.__setattr__
        init(self, "name", name)
        init(self, "group_prefix", group_prefix or name)
        init(self, "env_prefix", env_prefix or name.replace(".", "_").upper())
        init(self, "distribution", distribution or name)
        init(self, "hookspecs", tuple(hookspecs))
        init(self, "namespaces", MappingProxyType(dict(namespaces or {})))
        init(self, "description", description)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a HostSpec is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a HostSpec is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles are rebuilt through __init__: immutability leaves no other way in.
        fields = {f: getattr(self, f) for f in self._fields}
        return (HostSpec, tuple({**fields, "namespaces": dict(self.namespaces)}.values()))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self) -> str:
        return f"HostSpec({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def __hash__(self) -> int:
        # A mappingproxy is not hashable; the name identifies a host.
        return hash(self.name)

    @property
    def modules_group(self) -> str:
        return f"{self.group_prefix}.modules"

    @property
    def namespaces_group(self) -> str:
        return f"{self.group_prefix}.namespaces"

    @property
    def plugins_group(self) -> str:
        return f"{self.group_prefix}.plugins"

    @property
    def allow_env(self) -> str:
        return f"{self.env_prefix}_PLUGINS"

    @property
    def block_env(self) -> str:
        return f"{self.env_prefix}_DISABLE_PLUGINS"

    @property
    def is_default(self) -> bool:
        """Whether this is corehost's own spec (whose outputs must stay as they always were)."""
        return self == COREHOST

    def version(self) -> str:
        """The host distribution's version (corehost's without a metadata read)."""
        if self.distribution == "corehost":
            return __version__
        # Only another host's version is read from metadata: corehost's own start never loads it.
        from importlib import metadata

        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "0"


#: corehost's own host: ``corehost.*`` groups, ``COREHOST_*`` variables, CLI ``corehost``.
COREHOST = HostSpec(
    name="corehost",
    distribution="corehost",
    description="corehost: a plugin host in the style of Caddy's modules.",
)


def find_host(name: str) -> HostSpec:
    """The spec of the host called ``name``, looked up in ``corehost.hosts``.

    Only the entry named ``name`` is imported, so looking a host up costs
    one entry-point scan and the import of that host's spec module.
    """
    if name == COREHOST.name:
        return COREHOST
    # Only a host named by --host is looked for among the installed ones.
    from importlib import metadata

    entries = metadata.entry_points(group=HOSTS_GROUP)
    found = [ep for ep in entries if ep.name == name]
    if not found:
        known = ", ".join(sorted({COREHOST.name, *(ep.name for ep in entries)}))
        raise UnknownHost(
            f"no host named {name!r} is installed (known hosts: {known}). Install the distribution of "
            f"that application, and check that it declares {name} in the {HOSTS_GROUP!r} entry-point group."
        )
    dists = sorted({getattr(getattr(ep, "dist", None), "name", "?") for ep in found})
    if len(found) > 1 and len({ep.value for ep in found}) > 1:
        raise UnknownHost(
            f"host {name!r} is declared by more than one distribution ({', '.join(dists)}); "
            "uninstall all but one of them."
        )
    try:
        spec = found[0].load()
    except Exception as exc:
        raise UnknownHost(
            f"host {name!r} (distribution {dists[0]}) could not be loaded: importing {found[0].value!r} failed "
            f"with {type(exc).__name__}: {exc}. Fix or reinstall that distribution."
        ) from exc
    if not isinstance(spec, HostSpec) or spec.name != name:
        raise UnknownHost(
            f"host {name!r} (distribution {dists[0]}) points at {found[0].value!r}, which is "
            f"{'a HostSpec named ' + repr(spec.name) if isinstance(spec, HostSpec) else 'not a corehost.HostSpec'}; "
            f"point the {HOSTS_GROUP!r} entry at a HostSpec whose name is {name!r}."
        )
    return spec
