"""The frozen registry: a build's list of what it contains, read without scanning.

``corehost-build`` writes a top-level module ``_corehost_frozen`` into the
bundle. When it is importable, the host takes its registry from there and
never reads entry points, so start-up does not grow with the number of
installed distributions, and a package installed into the bundle later adds
nothing. A Python module (not JSON) because its bytecode is cached and it
imports from a zipapp like any other module.
"""

from __future__ import annotations

import importlib
from typing import Any

from corehost.registry import ModuleInfo, NamespaceInfo, PluginInfo, Registry

FROZEN_MODULE = "_corehost_frozen"
FORMAT = 1


def to_data(registry: Registry, hooks: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The registry as plain data; ``hooks`` maps plugin name to hooks it implements."""
    hooks = hooks or {}

    def row(e: Any) -> list[str]:
        return [e.name, e.target, e.distribution, e.version]

    return {
        "format": FORMAT,
        "namespaces": [row(e) for _, e in sorted(registry.namespaces.items()) if e.name],
        "modules": [row(e) for _, e in sorted(registry.modules.items()) if e.obj is None],
        "plugins": [[*row(e), sorted(hooks.get(e.name, []))] for _, e in sorted(registry.plugins.items())],
    }


def from_data(data: dict[str, Any], build: dict[str, Any] | None = None) -> Registry:
    """Rebuild a :class:`Registry` from :func:`to_data` output."""
    from corehost.interfaces import core_namespaces

    if data.get("format") != FORMAT:
        raise ValueError(f"frozen registry format {data.get('format')!r} is not {FORMAT}; rebuild the bundle")
    registry = Registry(frozen=True, build=dict(build or {}))
    registry.extend(core_namespaces())
    registry.extend(NamespaceInfo(*r) for r in data["namespaces"])
    registry.extend(ModuleInfo(*r) for r in data["modules"])
    registry.extend(PluginInfo(r[0], r[1], r[2], r[3], hooks=tuple(r[4])) for r in data["plugins"])
    return registry


def render(registry_data: dict[str, Any], build: dict[str, Any]) -> str:
    """Source of the ``_corehost_frozen`` module (deterministic: sorted, no clock)."""
    import pprint

    return (
        '"""Frozen corehost registry and build record, written by corehost-build."""\n\n'
        f"REGISTRY = {pprint.pformat(registry_data, width=100, sort_dicts=True)}\n\n"
        f"BUILD = {pprint.pformat(build, width=100, sort_dicts=True)}\n"
    )


def load_frozen() -> Registry | None:
    """The frozen registry of this bundle, or ``None`` in a plain environment."""
    try:
        module = importlib.import_module(FROZEN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != FROZEN_MODULE:
            raise
        return None
    return from_data(module.REGISTRY, getattr(module, "BUILD", {}))


def inspect_environment() -> dict[str, Any]:
    """Guard problems and registry data of the running environment, as JSON-ready data.

    The builder runs this (``python -m corehost.frozen``) with the target
    environment's interpreter: the guards run where the bundle will run, and
    the registry it freezes is exactly what the guards passed. Every entry
    point is read, whatever COREHOST_PLUGINS says: a build is its own selection.
    """
    from corehost.discovery import Selection, discover
    from corehost.guards import check_all

    registry = discover(Selection())
    problems, hooks = check_all(registry)
    return {
        "problems": [p.to_json() for p in problems],
        "registry": to_data(registry, hooks),
        "distributions": registry.distributions(),
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(inspect_environment(), sys.stdout, indent=1, sort_keys=True)
