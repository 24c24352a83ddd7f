"""The ``greet`` app: greets a list of names with a list of greeters."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from corehost import Context
from corehost_greet.interfaces import Filter, Greeter


@dataclass
class GreetApp:
    """App ``greet``.

    ``greeters`` are guest modules of namespace ``greeters`` (each
    ``{"module": "en", ...}``), ``filters`` of namespace ``greet.filters``;
    with ``once`` the app prints and asks the host to stop, otherwise it runs
    until the host is stopped.
    """

    greeters: list[dict[str, Any]]
    names: list[str] = field(default_factory=lambda: ["World"])
    filters: list[dict[str, Any]] = field(default_factory=list)
    once: bool = False

    def provision(self, ctx: Context) -> None:
        self._ctx = ctx
        self._greeters: list[Greeter] = ctx.load_module(self.greeters, namespace="greeters")
        self._filters: list[Filter] = ctx.load_module(self.filters, namespace="greet.filters")

    def validate(self) -> None:
        if not self._greeters:
            raise ValueError('\'greeters\' is empty; name at least one greeter module, e.g. {"module": "en"}')

    def greetings(self) -> list[str]:
        out = []
        for greeter in self._greeters:
            for name in self.names:
                text = greeter.greet(name)
                for f in self._filters:
                    text = f.apply(text)
                out.append(text)
        return out

    def start(self) -> None:
        for line in self.greetings():
            print(line)
        sys.stdout.flush()
        if self.once:
            self._ctx.request_stop("greet: once = true")

    def stop(self) -> None:
        print("greet: stopped", file=sys.stderr)
