"""The interface of the namespace this plugin owns."""

from __future__ import annotations

from typing import Protocol

from corehost_http.interfaces import Request


class SelectionPolicy(Protocol):
    """Namespace ``http.handlers.reverse_proxy.selection_policies``: the order in which upstreams are tried.

    ``select`` returns the upstreams (the addresses exactly as configured) in
    the order the proxy should try them for ``request``; the proxy skips
    those that are down and fails over along the rest, so a policy only
    decides preference, never health.
    """

    def select(self, upstreams: list[str], request: Request) -> list[str]: ...
