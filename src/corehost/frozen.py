"""The frozen registry: a build's list of what it contains, read without scanning.

``corehost-build`` writes a top-level module ``_corehost_frozen`` into the
bundle. When it is importable, the host takes its registry from there and
never reads entry points, so start-up does not grow with the number of
installed distributions, and a package installed into the bundle later adds
nothing. A Python module (not JSON) because its bytecode is cached and it
imports from a zipapp like any other module.

A bundle of a host of its own (``corehost-build --host myapp``) records the
host's name in the frozen data; corehost's own bundles record none (the
default host needs no name).

Modules a plugin generates (``corehost_register_modules``) are recorded
apart, under ``generated``: their classes are made at run time, so their
targets cannot be imported. The registry lists them without running the
hook, and runs it when one is looked up or checked.

The chain order of each ordered namespace (:mod:`corehost.ordering`) is
recorded under ``order``, so that a bundle lists and sorts without
importing a module.

Whether each module's interface calls can cross a process boundary
(:mod:`corehost.crossing`) is recorded under ``crossing``, so that a config
isolating a module whose calls cannot cross is refused with the build's
reason before a worker starts.

The version each namespace's interface declares (``__corehost_version__``)
is recorded under ``interface_versions``, so that an isolated module's
worker prints its handshake without importing the interface (a
``typing.Protocol`` costs typing, re and enum: most of a worker's start).
"""

from __future__ import annotations

import importlib
from typing import Any

from corehost.hostspec import COREHOST, HostSpec
from corehost.registry import ModuleInfo, NamespaceInfo, PluginInfo, Registry, core_namespaces

FROZEN_MODULE = "_corehost_frozen"
FORMAT = 1


def to_data(registry: Registry, hooks: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The registry as plain data; ``hooks`` maps plugin name to hooks it implements."""
    hooks = hooks or {}

    spec = registry.spec
    # The host's own namespaces come from its spec when the registry is rebuilt.
    core = {"", *spec.namespaces}

    def row(e: Any) -> list[str]:
        return [e.name, e.target, e.distribution, e.version]

    data: dict[str, Any] = {
        "format": FORMAT,
        "namespaces": [row(e) for _, e in sorted(registry.namespaces.items()) if e.name not in core],
        "modules": [row(e) for _, e in sorted(registry.modules.items()) if e.obj is None],
        # Made by plugins' corehost_register_modules: listed without the hook, made by it on first use.
        "generated": [row(e) for _, e in sorted(registry.modules.items()) if e.obj is not None],
        "plugins": [[*row(e), sorted(hooks.get(e.name, []))] for _, e in sorted(registry.plugins.items())],
    }
    if registry.orders:
        # The chain order of each ordered namespace, resolved by the guards (absent when none is ordered).
        data["order"] = {name: list(order) for name, order in sorted(registry.orders.items())}
    if registry.crossing:
        # Why each checked module's calls cannot cross a process boundary (an empty list: they can).
        data["crossing"] = {module: list(why) for module, why in sorted(registry.crossing.items())}
    versions = {name: v for name, v in sorted(registry.interface_versions.items()) if name not in core}
    if versions:
        # The version of each checked namespace's interface, for a worker's handshake.
        data["interface_versions"] = versions
    if not spec.is_default:
        data["host"] = spec.name
    return data


def recorded_host(data: dict[str, Any]) -> str:
    """The name of the host a frozen registry was built for."""
    return str(data.get("host", COREHOST.name))


def from_data(data: dict[str, Any], build: dict[str, Any] | None = None, spec: HostSpec = COREHOST) -> Registry:
    """Rebuild ``spec``'s :class:`Registry` from :func:`to_data` output."""
    if data.get("format") != FORMAT:
        raise ValueError(f"frozen registry format {data.get('format')!r} is not {FORMAT}; rebuild the bundle")
    orders = {str(name): [str(m) for m in order] for name, order in data.get("order", {}).items()}
    crossing = {str(module): [str(w) for w in why] for module, why in data.get("crossing", {}).items()}
    versions = {str(namespace): int(v) for namespace, v in data.get("interface_versions", {}).items()}
    registry = Registry(
        frozen=True,
        build=dict(build or {}),
        spec=spec,
        orders=orders,
        crossing=crossing,
        interface_versions=versions,
    )
    registry.extend(core_namespaces(spec))
    env = spec.block_env
    registry.extend(NamespaceInfo(r[0], r[1], r[2], r[3], disable_env=env) for r in data["namespaces"])
    registry.extend(ModuleInfo(r[0], r[1], r[2], r[3], disable_env=env) for r in data["modules"])
    registry.extend(
        ModuleInfo(r[0], r[1], r[2], r[3], disable_env=env, generated=True) for r in data.get("generated", [])
    )
    registry.extend(PluginInfo(r[0], r[1], r[2], r[3], disable_env=env, hooks=tuple(r[4])) for r in data["plugins"])
    return registry


def render(registry_data: dict[str, Any], build: dict[str, Any]) -> str:
    """Source of the ``_corehost_frozen`` module (deterministic: sorted, no clock)."""
    # The builder's only: a start reads the frozen module, never renders it.
    import pprint

    return (
        '"""Frozen corehost registry and build record, written by corehost-build."""\n\n'
        f"REGISTRY = {pprint.pformat(registry_data, width=100, sort_dicts=True)}\n\n"
        f"BUILD = {pprint.pformat(build, width=100, sort_dicts=True)}\n"
    )


def load_frozen(spec: HostSpec = COREHOST) -> Registry | None:
    """The frozen registry of this bundle for ``spec``'s host, or ``None``.

    ``None`` in a plain environment, and for a host other than the one the
    bundle was built for (that host scans its own groups instead).
    """
    try:
        module = importlib.import_module(FROZEN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != FROZEN_MODULE:
            raise
        return None
    if recorded_host(module.REGISTRY) != spec.name:
        return None
    return from_data(module.REGISTRY, getattr(module, "BUILD", {}), spec)


if __name__ == "__main__":
    import sys

    from corehost.probe import main

    # ``python -m corehost.frozen [--host NAME]`` (docs/api.md) is the probe's inspect command.
    raise SystemExit(main(["inspect", *sys.argv[1:]], prog="python -m corehost.frozen"))
