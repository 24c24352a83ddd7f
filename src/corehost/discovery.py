"""Live discovery: build a registry from the installed distributions' entry points.

This is what a user gets after ``pip install some-plugin``. Only corehost's
own entry-point groups are read and nothing is imported. ``COREHOST_PLUGINS``
(allow list) and ``COREHOST_DISABLE_PLUGINS`` (block list) name
distributions or plugin names, separated by commas or spaces; whatever they
leave out never reaches the registry, so it can never be imported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from corehost.interfaces import core_namespaces
from corehost.registry import (
    MODULES_GROUP,
    NAMESPACES_GROUP,
    PLUGINS_GROUP,
    Entry,
    ModuleInfo,
    NamespaceInfo,
    PluginInfo,
    Registry,
)

ALLOW_ENV = "COREHOST_PLUGINS"
BLOCK_ENV = "COREHOST_DISABLE_PLUGINS"
CORE_DISTRIBUTION = "corehost"

_KINDS: dict[str, type[Entry]] = {
    NAMESPACES_GROUP: NamespaceInfo,
    MODULES_GROUP: ModuleInfo,
    PLUGINS_GROUP: PluginInfo,
}


def normalize(name: str) -> str:
    """PEP 503 normalisation, so ``Greeter_EN`` and ``greeter-en`` match."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    return frozenset(normalize(n) for n in re.split(r"[,\s]+", value.strip()) if n)


@dataclass(frozen=True)
class Selection:
    """Which plugins may load: an allow list (``None`` = all) and a block list."""

    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Selection:
        env = os.environ if env is None else env
        return cls(_names(env.get(ALLOW_ENV)), _names(env.get(BLOCK_ENV)) or frozenset())

    def admits(self, distribution: str, name: str = "") -> bool:
        """Whether an entry ``name`` of ``distribution`` may load.

        The core's own entries always load: blocking them would leave a host
        without its apps' interface.
        """
        keys = {normalize(distribution), normalize(name)} - {""}
        if normalize(distribution) == CORE_DISTRIBUTION:
            return True
        if keys & self.block:
            return False
        return self.allow is None or bool(keys & self.allow)


def discover(selection: Selection | None = None, groups: Collection[str] = tuple(_KINDS)) -> Registry:
    """Scan the environment's corehost entry points into a :class:`Registry`."""
    selection = Selection.from_env() if selection is None else selection
    registry = Registry()
    registry.extend(core_namespaces())
    versions: dict[int, tuple[str, str]] = {}
    from importlib import metadata

    # One scan of every distribution's entry points, then a cheap select per group.
    everything = metadata.entry_points()
    for group in groups:
        kind = _KINDS[group]
        for ep in everything.select(group=group):
            dist_name, version = _dist_of(ep, versions)
            if not selection.admits(dist_name, ep.name):
                registry.skipped.add(dist_name)
                continue
            registry.add(kind(ep.name, ep.value, dist_name, version))
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


def environment_registry(selection: Selection | None = None) -> Registry:
    """This environment's registry: the frozen one of a bundle, else a live scan.

    In a bundle the selection can only narrow what was built in: a name in
    ``COREHOST_PLUGINS`` that the build did not include matches nothing.
    """
    from corehost.frozen import load_frozen

    selection = Selection.from_env() if selection is None else selection
    frozen = load_frozen()
    if frozen is None:
        return discover(selection)
    narrowed = Registry(frozen=True, build=frozen.build)
    for entry in frozen.entries():
        if selection.admits(entry.distribution, entry.name):
            narrowed.add(entry)
        else:
            narrowed.skipped.add(entry.distribution)
    return narrowed
