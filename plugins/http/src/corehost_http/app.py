"""The ``http`` app: named servers, each with listen addresses and ordered routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corehost import Context
from corehost_http.interfaces import Handler, Matcher
from corehost_http.listeners import parse_address
from corehost_http.routes import dispatcher
from corehost_http.server import Server


@dataclass
class Route:
    """A route runs its ``handle`` chain when every module in ``match`` matches (none: always).

    ``handle`` is a list (run in the order written) or a table of handler name to config
    (run in the handlers' chain order, ``corehost list-modules --namespace http.handlers``).
    """

    match: list[dict[str, Any]] = field(default_factory=list)
    handle: list[dict[str, Any]] | dict[str, dict[str, Any]] = field(default_factory=list)


@dataclass
class ServerConfig:
    """One server: the addresses it listens on and its routes, tried in order."""

    listen: list[str] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)


@dataclass
class HTTPApp:
    """App ``http``: every server in ``servers`` (by name) serves its routes on its ``listen`` addresses."""

    servers: dict[str, ServerConfig] = field(default_factory=dict)

    def provision(self, ctx: Context) -> None:
        self._servers: list[Server] = []
        for name, server in self.servers.items():
            routes: list[tuple[list[Matcher], list[Handler]]] = []
            for i, route in enumerate(server.routes):
                where = f"servers.{name}.routes[{i}]"
                matchers = ctx.load_module(route.match, namespace="http.matchers", field=f"{where}.match")
                handlers = ctx.load_module(
                    route.handle, namespace="http.handlers", field=f"{where}.handle", ordered=True
                )
                chain = list(handlers.values()) if isinstance(handlers, dict) else handlers
                routes.append((matchers, chain))
            self._servers.append(Server(name, server.listen, dispatcher(routes)))

    def validate(self) -> None:
        for name, server in self.servers.items():
            if not server.listen:
                raise ValueError(f'servers.{name}.listen is empty; name an address, e.g. listen = ["127.0.0.1:8080"]')
            for i, address in enumerate(server.listen):
                try:
                    parse_address(address)
                except ValueError as exc:
                    raise ValueError(f"servers.{name}.listen[{i}]: {exc}") from None

    def start(self) -> None:
        started: list[Server] = []
        try:
            for server in self._servers:
                server.start()
                started.append(server)
        except BaseException:
            for server in reversed(started):
                server.stop()
            raise

    def stop(self) -> None:
        for server in reversed(self._servers):
            server.stop()
