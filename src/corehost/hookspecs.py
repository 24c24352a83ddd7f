"""The host's hookspecs: the points where plugins join in besides modules.

Modules (entry-point group ``corehost.modules``) are the main extension
point; hooks cover what is not a module: adding CLI commands (Caddy's
``RegisterCommand``), reacting to lifecycle events, and registering modules
that a plugin generates at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from corehost.markers import hookspec

if TYPE_CHECKING:
    import click

    from corehost.registry import Registry


@hookspec
def corehost_add_commands(cli: click.Group) -> None:
    """Add commands to the ``corehost`` CLI with ``cli.add_command(...)``.

    Only called when a command that is not built in is asked for (or for
    ``--help``), so built-in commands start without importing plugins.
    """


@hookspec
def corehost_register_modules(registry: Registry) -> None:
    """Add modules built at run time with ``registry.add_module(id, factory)``."""


@hookspec
def corehost_config_loaded(config: Mapping[str, Any]) -> None:
    """The config was read and decoded; nothing is provisioned yet."""


@hookspec
def corehost_apps_started(apps: Mapping[str, Any]) -> None:
    """Every app started; ``apps`` maps app ID to instance."""


@hookspec
def corehost_stopping(reason: str) -> None:
    """The host is about to stop its apps (signal, request or error)."""
