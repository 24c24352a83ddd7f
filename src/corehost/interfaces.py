"""The core's own interfaces: apps, and the optional lifecycle methods.

Every lifecycle method is optional, as in Caddy: a module implements only
the steps it needs, and the host calls whichever are present. The Protocols
below document the signatures; the guards check modules against them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from corehost.hostspec import COREHOST, HostSpec
from corehost.ids import APPS
from corehost.registry import NamespaceInfo

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


def core_namespaces(spec: HostSpec = COREHOST) -> list[NamespaceInfo]:
    """Namespaces a host declares itself: the root namespace of apps, and the spec's own.

    They belong to the host's distribution, so its allow and block lists
    never drop them; a host's own namespaces are imported only when used.
    """
    version = spec.version()
    apps = NamespaceInfo(APPS, "corehost.interfaces:App", spec.distribution, version, App, spec.block_env)
    own = [
        NamespaceInfo(name, target, spec.distribution, version, disable_env=spec.block_env)
        for name, target in spec.namespaces.items()
    ]
    return [apps, *sorted(own, key=lambda ns: ns.name)]
