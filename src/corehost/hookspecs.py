"""The host's hookspecs: the points where plugins join in besides modules.

Modules (entry-point group ``corehost.modules``) are the main extension
point; hooks cover what is not a module: adding CLI commands (Caddy's
``RegisterCommand``), reacting to lifecycle events, and registering modules
that a plugin generates at run time.

The functions are plain here and marked as hookspecs when the pluggy
manager is made (:func:`corehost.plugins.new_manager`): the typed facade
:class:`corehost.hooks.HostHooks` refers to them on every start, and a
start that calls no hook must not import pluggy. A host's own hookspec
modules use ``@corehost.hookspec`` as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from corehost.registry import Registry

#: pluggy project name, here so that markers and plugins share it and neither costs a pluggy import.
#: The same for every host, so that every plugin writes ``from corehost import hookimpl``.
PROJECT = "corehost"


def corehost_add_commands(cli: click.Group) -> None:
    """Add commands to the ``corehost`` CLI with ``cli.add_command(...)``.

    Only called when a command that is not built in is asked for (or for
    ``--help``), so built-in commands start without importing plugins.
    """


def corehost_register_modules(registry: Registry) -> None:
    """Add modules built at run time with ``registry.add_module(id, factory)``."""


def corehost_config_loaded(config: Mapping[str, Any]) -> None:
    """The config was read and decoded; nothing is provisioned yet."""


def corehost_apps_started(apps: Mapping[str, Any]) -> None:
    """Every app started; ``apps`` maps app ID to instance."""


def corehost_stopping(reason: str) -> None:
    """The host is about to stop its apps (signal, request or error)."""


#: Every hookspec above, for the manager to mark and add.
ALL: tuple[Callable[..., None], ...] = (
    corehost_add_commands,
    corehost_register_modules,
    corehost_config_loaded,
    corehost_apps_started,
    corehost_stopping,
)
