"""corehost: Caddy-style modules and pluggy hooks for Python applications.

The vocabulary, from the bottom up: a *module ID* (``greeters.en``) names a
module in a *namespace* (``greeters``) whose interface it implements; the
*registry* knows every module by ID without importing it; a *context* loads
modules from config and runs their lifecycle; the *host* runs a whole config.

Names are imported on first use, so that ``import corehost`` (which every
plugin does) costs almost nothing at start-up.
"""

from __future__ import annotations

#: Not typing's: a worker imports this package before its handshake, and typing (with re and enum) would
#: be most of what it imports then. Type checkers take any name ``TYPE_CHECKING`` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "pass_host": "corehost.cli",
    "load_config": "corehost.config",
    "parse_config": "corehost.config",
    "Context": "corehost.context",
    "CleanupErrors": "corehost.errors",
    "ConfigError": "corehost.errors",
    "CorehostError": "corehost.errors",
    "GuardError": "corehost.errors",
    "InvalidModuleID": "corehost.errors",
    "LifecycleError": "corehost.errors",
    "PluginLoadError": "corehost.errors",
    "UnknownModule": "corehost.errors",
    "UnknownNamespace": "corehost.errors",
    "Problem": "corehost.problems",
    "check": "corehost.guards",
    "Host": "corehost.host",
    "HostHooks": "corehost.hooks",
    "implements": "corehost.hooks",
    "HostSpec": "corehost.hostspec",
    "UnknownHost": "corehost.errors",
    "APPS": "corehost.ids",
    "check_id": "corehost.ids",
    "name_of": "corehost.ids",
    "namespace_of": "corehost.ids",
    "App": "corehost.interfaces",
    "CleanerUpper": "corehost.interfaces",
    "Provisioner": "corehost.interfaces",
    "Validator": "corehost.interfaces",
    "hookimpl": "corehost.markers",
    "hookspec": "corehost.markers",
    "ModuleInfo": "corehost.registry",
    "NamespaceInfo": "corehost.registry",
    "PluginInfo": "corehost.registry",
    "Registry": "corehost.registry",
}

__all__ = [
    "APPS",
    "App",
    "CleanerUpper",
    "CleanupErrors",
    "ConfigError",
    "Context",
    "CorehostError",
    "GuardError",
    "Host",
    "HostHooks",
    "HostSpec",
    "InvalidModuleID",
    "LifecycleError",
    "ModuleInfo",
    "NamespaceInfo",
    "PluginInfo",
    "PluginLoadError",
    "Problem",
    "Provisioner",
    "Registry",
    "UnknownHost",
    "UnknownModule",
    "UnknownNamespace",
    "Validator",
    "__version__",
    "check",
    "check_id",
    "hookimpl",
    "hookspec",
    "implements",
    "load_config",
    "name_of",
    "namespace_of",
    "parse_config",
    "pass_host",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corehost' has no attribute {name!r}")
    # importlib on first use, not at ``import corehost``.
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from corehost.cli import pass_host
    from corehost.config import load_config, parse_config
    from corehost.context import Context
    from corehost.errors import (
        CleanupErrors,
        ConfigError,
        CorehostError,
        GuardError,
        InvalidModuleID,
        LifecycleError,
        PluginLoadError,
        UnknownHost,
        UnknownModule,
        UnknownNamespace,
    )
    from corehost.guards import check
    from corehost.hooks import HostHooks, implements
    from corehost.host import Host
    from corehost.hostspec import HostSpec
    from corehost.ids import APPS, check_id, name_of, namespace_of
    from corehost.interfaces import App, CleanerUpper, Provisioner, Validator
    from corehost.markers import hookimpl, hookspec
    from corehost.problems import Problem
    from corehost.registry import ModuleInfo, NamespaceInfo, PluginInfo, Registry
