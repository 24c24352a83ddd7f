"""What this host is made of: versions, plugins, and the build record.

In a built bundle the record comes from the frozen registry (written by
``corehost-build``: the lock, the inputs, the builder's version); in a plain
environment it is assembled from the installed distributions.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from corehost import __version__
from corehost.errors import CorehostError
from corehost.registry import Registry


def build_info(registry: Registry) -> dict[str, Any]:
    """A JSON-ready description of this host and every plugin distribution."""
    orders, unresolved = _orders(registry)
    plugins = []
    for dist, version in sorted(registry.distributions().items()):
        entries = registry.provided_by(dist)
        plugins.append(
            {
                "distribution": dist,
                "version": version,
                "modules": sorted(e.name for e in entries if e.kind == "module"),
                "namespaces": sorted(e.name or "(apps)" for e in entries if e.kind == "namespace"),
                "plugins": sorted(e.name for e in entries if e.kind == "plugin"),
            }
        )
    info: dict[str, Any] = {
        "corehost": __version__,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "mode": "frozen" if registry.frozen else "live",
        "plugins": plugins,
        "skipped": sorted(registry.skipped),
        # The chain order of each ordered namespace: recorded by the build, or resolved live.
        "order": orders,
        "build": registry.build,
    }
    if unresolved:
        info["order_errors"] = unresolved
    spec = registry.spec
    if not spec.is_default:
        # A host of its own names itself; corehost's own output has no host line.
        info["host"] = {"name": spec.name, "distribution": spec.distribution, "version": spec.version()}
        info["selection_env"] = [spec.allow_env, spec.block_env]
    return info


def _orders(registry: Registry) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each ordered namespace's chain order, and why for each one whose order cannot be resolved.

    Live, an order is resolved from the installed classes, which may not
    import or may declare a cycle: ``build-info`` says so and shows the rest
    (``corehost check`` reports the same as problems).
    """
    orders: dict[str, list[str]] = {}
    unresolved: dict[str, str] = {}
    for namespace in registry.ordered_namespaces():
        try:
            orders[namespace] = [m.id for m in registry.order(namespace)]
        except CorehostError as exc:
            unresolved[namespace] = exc.message
    return orders, unresolved


def render_text(info: dict[str, Any]) -> str:
    """``build-info`` for people: one line per fact, one per distribution."""
    host = info.get("host")
    lines = [f"{host['name']} {host['version']} ({host['distribution']})"] if host else []
    lines += [
        f"corehost {info['corehost']}",
        f"python {info['python']} ({info['implementation']}) on {info['platform']}",
        f"registry: {info['mode']}",
        "plugins:",
    ]
    for p in info["plugins"]:
        provides = ", ".join(
            [f"module {m}" for m in p["modules"]]
            + [f"namespace {n}" for n in p["namespaces"]]
            + [f"hooks {h}" for h in p["plugins"]]
        )
        lines.append(f"  {p['distribution']} {p['version']}: {provides}")
    for namespace, order in info.get("order", {}).items():
        lines.append(f"order of {namespace}: {', '.join(module_id.rpartition('.')[2] for module_id in order)}")
    for namespace, why in info.get("order_errors", {}).items():
        lines.append(f"order of {namespace}: cannot be resolved: {why}")
    if info["skipped"]:
        env = "/".join(info.get("selection_env", ["COREHOST_PLUGINS", "COREHOST_DISABLE_PLUGINS"]))
        lines.append(f"skipped by {env}: {', '.join(info['skipped'])}")
    build = info["build"]
    if build:
        lines.append(f"built by {build.get('builder', '?')} from inputs: {', '.join(build.get('inputs', []))}")
        lines.append("packages:")
        for pkg in build.get("packages", []):
            lines.append(f"  {pkg['name']} {pkg['version']} {pkg.get('hash', '')}".rstrip())
    return "\n".join(lines)
