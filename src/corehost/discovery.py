"""Live discovery: build a registry from the installed distributions' entry points.

This is what a user gets after ``pip install some-plugin``. Only the host's
own entry-point groups are read (``corehost.modules``, ``.namespaces`` and
``.plugins`` for corehost; ``myapp.*`` for a host of its own) and nothing is
imported. ``COREHOST_PLUGINS`` (allow list) and ``COREHOST_DISABLE_PLUGINS``
(block list), or the host's own ``<PREFIX>_PLUGINS`` variables, name
distributions or plugin names, separated by commas or spaces; whatever they
leave out never reaches the registry, so it can never be imported.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Collection, Mapping
from typing import Any

from corehost.errors import did_you_mean
from corehost.frozen import load_frozen
from corehost.hostspec import COREHOST, HostSpec
from corehost.registry import Entry, ModuleInfo, NamespaceInfo, PluginInfo, Registry

CORE_DISTRIBUTION = COREHOST.distribution


def normalize(name: str) -> str:
    """PEP 503 normalisation, so ``Greeter_EN`` and ``greeter-en`` match: the runtime's one definition.

    It is ``packaging.utils.canonicalize_name``, written out because
    importing that (it pulls in ``packaging.tags``) would add 15-30 ms to
    every start that lists modules, about as much as discovery itself costs
    (``python -X importtime``).
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    return frozenset(normalize(n) for n in re.split(r"[,\s]+", value.strip()) if n)


def kinds(spec: HostSpec) -> dict[str, type[Entry]]:
    """The host's entry-point groups and the kind of entry each holds."""
    return {spec.namespaces_group: NamespaceInfo, spec.modules_group: ModuleInfo, spec.plugins_group: PluginInfo}


class Selection:
    """Which plugins may load: an allow list (``None`` = all) and a block list.

    ``core`` is the host's own distribution, which neither list can drop.
    A plain class, not a dataclass: every start reads this module.
    """

    __slots__ = ("allow", "allow_env", "block", "block_env", "core")

    def __init__(
        self,
        allow: frozenset[str] | None = None,
        block: frozenset[str] = frozenset(),
        core: str = CORE_DISTRIBUTION,
        allow_env: str = COREHOST.allow_env,
        block_env: str = COREHOST.block_env,
    ) -> None:
        self.allow = allow
        self.block = block
        self.core = core
        #: The variables the lists came from, named when they leave something out.
        self.allow_env = allow_env
        self.block_env = block_env

    def __repr__(self) -> str:
        return f"Selection({', '.join(f'{f}={getattr(self, f)!r}' for f in self.__slots__)})"

    @property
    def everything(self) -> bool:
        """Whether neither list is set, so that every entry loads (and no name need be normalised)."""
        return self.allow is None and not self.block

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, spec: HostSpec = COREHOST) -> Selection:
        env = os.environ if env is None else env
        return cls(
            _names(env.get(spec.allow_env)),
            _names(env.get(spec.block_env)) or frozenset(),
            spec.distribution,
            spec.allow_env,
            spec.block_env,
        )

    def left_out_by(self, distribution: str, name: str = "") -> str | None:
        """Why an entry ``name`` of ``distribution`` may not load (the variable, and the fix), or ``None``.

        The host's own entries always load: blocking them would leave a host
        without its apps' interface.
        """
        if self.everything:
            return None
        keys = {normalize(distribution), normalize(name)} - {""}
        if normalize(distribution) == normalize(self.core):
            return None
        blocked = sorted(keys & self.block)
        if blocked:
            return f"{self.block_env} blocks it; take {blocked[0]!r} out of {self.block_env} to use it"
        if self.allow is not None and not keys & self.allow:
            return f"{self.allow_env} leaves it out; add {distribution!r} to {self.allow_env}, or unset it, to use it"
        return None

    def admits(self, distribution: str, name: str = "") -> bool:
        """Whether an entry ``name`` of ``distribution`` may load."""
        return self.left_out_by(distribution, name) is None

    def unmatched(self, registry: Registry, where: str) -> list[str]:
        """A warning for each listed name that matches nothing in ``registry`` (its kept and excluded entries).

        Such a name is nearly always a typo, and silently has no effect.
        ``where`` says what was searched (``no installed plugin``, ``no plugin in this bundle``).
        """
        entries = [*registry.entries(), *(e for e, _ in registry.excluded)]
        known = {
            normalize(self.core),
            *(normalize(e.distribution) for e in entries),
            *(normalize(e.name) for e in entries),
        }
        warnings = []
        for variable, names in ((self.allow_env, self.allow or frozenset()), (self.block_env, self.block)):
            for name in sorted(names - known):
                warnings.append(
                    f"{variable} names {name!r}, which matches {where}{did_you_mean(name, known)}; "
                    "the name has no effect"
                )
        return warnings


def discover(
    selection: Selection | None = None, groups: Collection[str] | None = None, spec: HostSpec = COREHOST
) -> Registry:
    """Scan the environment's entry points of ``spec``'s groups into a :class:`Registry`."""
    selection = Selection.from_env(spec=spec) if selection is None else selection
    registry = Registry.for_host(spec)
    versions: dict[int, tuple[str, str]] = {}
    # Only a live scan reads entry points: a bundle's frozen registry never imports importlib.metadata.
    from importlib import metadata

    # One scan of every distribution's entry points, then a cheap select per group.
    everything = metadata.entry_points()
    by_group = kinds(spec)
    for group in by_group if groups is None else groups:
        kind = by_group[group]
        for ep in everything.select(group=group):
            dist_name, version = _dist_of(ep, versions)
            entry = kind(ep.name, ep.value, dist_name, version, disable_env=spec.block_env)
            why = selection.left_out_by(dist_name, ep.name)
            if why is None:
                registry.add(entry)
            else:
                registry.skipped.add(dist_name)
                registry.excluded.append((entry, why))
    return registry


def _dist_of(ep: Any, cache: dict[int, tuple[str, str]]) -> tuple[str, str]:
    """Name and version of the distribution behind ``ep``, one metadata read each."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "0"
    key = id(dist)
    if key not in cache:
        md = dist.metadata
        cache[key] = (md["Name"] or "unknown", md["Version"] or "0")
    return cache[key]


def environment_registry(selection: Selection | None = None, spec: HostSpec = COREHOST) -> Registry:
    """This environment's registry for ``spec``: the frozen one of a bundle, else a live scan.

    In a bundle the selection can only narrow what was built in: a name in
    ``COREHOST_PLUGINS`` that the build did not include matches nothing. A
    bundle's frozen registry belongs to the host it was built for; another
    host in the same environment scans its own groups live.
    """

    selection = Selection.from_env(spec=spec) if selection is None else selection
    frozen = load_frozen(spec)
    if frozen is not None and selection.everything:
        # Nothing to leave out: the bundle's registry as it was built, not a copy entry by entry.
        return frozen
    if frozen is None:
        registry = discover(selection, spec=spec)
        where = "no installed plugin"
    else:
        registry = Registry(
            frozen=True,
            build=frozen.build,
            spec=spec,
            orders=frozen.orders,
            crossing=frozen.crossing,
            interface_versions=frozen.interface_versions,
        )
        where = "no plugin in this bundle"
        for entry in frozen.entries():
            why = selection.left_out_by(entry.distribution, entry.name)
            if why is None:
                registry.add(entry)
            else:
                registry.skipped.add(entry.distribution)
                registry.excluded.append((entry, why))
    if not selection.everything:
        for warning in selection.unmatched(registry, where):
            print(f"{spec.name}: warning: {warning}", file=sys.stderr)
    return registry
