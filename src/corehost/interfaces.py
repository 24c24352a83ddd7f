"""The core's own interfaces: apps, and the optional lifecycle methods.

Every lifecycle method is optional, as in Caddy: a module implements only
the steps it needs, and the host calls whichever are present. The Protocols
below document the signatures; the guards check modules against them.
The module imports nothing of corehost's, so the registry can name ``App`` as
the interface of the apps namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from corehost.context import Context


@runtime_checkable
class App(Protocol):
    """A top-level module, configured under ``apps.<id>`` and started by the host.

    ``start`` must not block: long-running work belongs in threads or
    subprocesses that ``stop`` ends. An app that has finished its work calls
    ``ctx.request_stop()``.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class Provisioner(Protocol):
    """Set-up after the config is decoded: load guest modules, open resources."""

    def provision(self, ctx: Context) -> None: ...


@runtime_checkable
class Validator(Protocol):
    """Check the provisioned module; raising stops the config from running."""

    def validate(self) -> None: ...


@runtime_checkable
class CleanerUpper(Protocol):
    """Release what ``provision`` acquired; called once, in reverse order."""

    def cleanup(self) -> None: ...
