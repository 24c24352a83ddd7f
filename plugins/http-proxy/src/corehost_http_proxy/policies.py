"""The selection policies that ship with the reverse proxy."""

from __future__ import annotations

import itertools
import random

from corehost_http.interfaces import Request


class RoundRobin:
    """``...selection_policies.round_robin``: each request starts one upstream further along the list.

    The rest of the list follows in order, so a failover goes to the next
    upstream. ``next`` on an ``itertools.count`` is atomic under the GIL,
    which keeps the rotation even when several servers' loops share a proxy.
    """

    def __init__(self) -> None:
        self._turn = itertools.count()

    def select(self, upstreams: list[str], request: Request) -> list[str]:
        start = next(self._turn) % len(upstreams) if upstreams else 0
        return upstreams[start:] + upstreams[:start]


class Random:
    """``...selection_policies.random``: a fresh random order for every request."""

    def select(self, upstreams: list[str], request: Request) -> list[str]:
        return random.sample(upstreams, len(upstreams))
