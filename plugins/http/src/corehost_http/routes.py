"""Dispatch: routes in order, the first whose matchers all match runs its handler chain."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from corehost_http.interfaces import Handler, Matcher, Next, Request, Response


async def not_found(request: Request) -> Response:
    """The end of every chain: 404 with an empty body, as Caddy answers when no handler responds."""
    return Response(404)


def chain(handlers: Sequence[Handler], terminal: Next = not_found) -> Next:
    """Handler i's ``next`` is handler i+1; the last one's is ``terminal``."""
    nxt = terminal
    for handler in reversed(handlers):
        nxt = partial(handler.handle, next=nxt)
    return nxt


def dispatcher(routes: Sequence[tuple[Sequence[Matcher], Sequence[Handler]]]) -> Next:
    """One callable for a server's routes (an empty matcher list always matches)."""
    compiled = tuple((tuple(matchers), chain(handlers)) for matchers, handlers in routes)

    async def dispatch(request: Request) -> Response:
        for matchers, run in compiled:
            for matcher in matchers:
                if not matcher.match(request):
                    break
            else:
                return await run(request)
        return await not_found(request)

    return dispatch
