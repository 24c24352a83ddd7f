"""corehost: Caddy-style modules and pluggy hooks for Python applications.

The vocabulary, from the bottom up: a *module ID* (``greeters.en``) names a
module in a *namespace* (``greeters``) whose interface it implements; the
*registry* knows every module by ID without importing it; a *context* loads
modules from config and runs their lifecycle; the *host* runs a whole config.
"""

from __future__ import annotations

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
    UnknownModule,
    UnknownNamespace,
)
from corehost.guards import Problem, check
from corehost.host import Host
from corehost.ids import APPS, check_id, name_of, namespace_of
from corehost.interfaces import App, CleanerUpper, Provisioner, Validator
from corehost.markers import hookimpl, hookspec
from corehost.registry import ModuleInfo, NamespaceInfo, PluginInfo, Registry

__version__ = "0.1.0"

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
    "InvalidModuleID",
    "LifecycleError",
    "ModuleInfo",
    "NamespaceInfo",
    "PluginInfo",
    "PluginLoadError",
    "Problem",
    "Provisioner",
    "Registry",
    "UnknownModule",
    "UnknownNamespace",
    "Validator",
    "__version__",
    "check",
    "check_id",
    "hookimpl",
    "hookspec",
    "load_config",
    "name_of",
    "namespace_of",
    "parse_config",
    "pass_host",
]
