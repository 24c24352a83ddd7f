"""One http server: uvicorn serving the server's listeners in a thread with its own event loop.

The host's main thread keeps the signals; the server thread only serves, and
is told to finish through uvicorn's ``should_exit``.

A reloaded config whose server listens on the same addresses does not start a
second uvicorn: it attaches its routes to the one running (:class:`Serving`),
so every open connection, keep-alive ones included, stays open and its next
request goes to the new routes. Stopping uvicorn would close idle keep-alive
connections, and a client whose next request was already on the wire would
get no answer. The replaced config's requests in flight finish on its own
routes before it is cleaned up.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Sequence

import uvicorn

from corehost_http.asgi import ASGIApp, Generation
from corehost_http.interfaces import Next
from corehost_http.listeners import POOL

#: How long start() waits for uvicorn to be serving, and stop() for requests in flight.
START_TIMEOUT = 10.0
GRACE = 5.0


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's event loop when it is installed (uvicorn[standard]), asyncio's otherwise."""
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


class Serving:
    """uvicorn serving one set of listen addresses for every config attached to it, the newest first."""

    def __init__(self, name: str, listen: Sequence[str], first: Generation) -> None:
        self.name = name
        self.listen = list(listen)
        self.attached = [first]
        self.app = ASGIApp(first)
        self.config = uvicorn.Config(
            self.app,
            lifespan="off",
            ws="none",
            log_config=None,
            access_log=False,
            # X-Forwarded-* from a client is not taken as the client's address: reverse_proxy passes it on.
            proxy_headers=False,
            timeout_graceful_shutdown=int(GRACE),
        )
        self._uvicorn = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None
        self._acquired: list[str] = []
        self._error: BaseException | None = None

    def attach(self, generation: Generation) -> None:
        """Serve ``generation``'s routes from the next request on."""
        self.attached.append(generation)
        self.app.current = generation

    def detach(self, generation: Generation) -> bool:
        """Stop serving ``generation``; the one attached before it serves again. True if none is left."""
        self.attached.remove(generation)
        if self.attached:
            self.app.current = self.attached[-1]
        return not self.attached

    def start(self) -> None:
        """Bind every address and return once uvicorn serves them all."""
        sockets: list[socket.socket] = []
        try:
            for address in self.listen:
                sockets.append(self._acquire(address))
        except BaseException:
            # The duplicates already handed out are closed now, not whenever the error's traceback is freed.
            for sock in sockets:
                sock.close()
            raise
        self._thread = threading.Thread(target=self._run, args=(sockets,), name=f"http server {self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"http server {self.name!r} did not start serving {self.listen}: {self._error!r}")
            time.sleep(0.005)

    def _acquire(self, address: str) -> socket.socket:
        try:
            sock = POOL.acquire(address)
        except (OSError, ValueError) as exc:
            self._release()
            raise RuntimeError(f"http server {self.name!r} cannot listen on {address!r}: {exc}") from exc
        self._acquired.append(address)
        return sock

    def _run(self, sockets: list[socket.socket]) -> None:
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                runner.run(self._uvicorn.serve(sockets=sockets))
        except BaseException as exc:
            self._error = exc

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to GRACE seconds), free the ports."""
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(GRACE + 1)
            if self._thread.is_alive():
                self._uvicorn.force_exit = True
                self._thread.join(1)
            self._thread = None
        self._release()

    def _release(self) -> None:
        while self._acquired:
            POOL.release(self._acquired.pop())


#: The uvicorn servers of this process by listen addresses: a reloaded config finds its predecessor's here.
_SERVING: dict[tuple[str, ...], Serving] = {}
_LOCK = threading.Lock()


class Server:
    """Serves ``dispatch`` on ``listen`` from start() to stop()."""

    def __init__(self, name: str, listen: Sequence[str], dispatch: Next) -> None:
        self.name = name
        self.listen = list(listen)
        self.generation = Generation(dispatch)
        self._serving: Serving | None = None

    def start(self) -> None:
        """Serve on ``listen``: attached to the uvicorn already serving exactly those addresses, or a new one."""
        key = tuple(self.listen)
        with _LOCK:
            serving = _SERVING.get(key)
            if serving is None:
                serving = Serving(self.name, self.listen, self.generation)
                serving.start()
                _SERVING[key] = serving
            else:
                serving.attach(self.generation)
        self._serving = serving

    def stop(self) -> None:
        """Stop serving; the last config on these addresses stops uvicorn, another waits for its requests."""
        serving, self._serving = self._serving, None
        if serving is None:
            return
        with _LOCK:
            last = serving.detach(self.generation)
            if last:
                del _SERVING[tuple(self.listen)]
        if last:
            serving.stop()
            return
        deadline = time.monotonic() + GRACE
        while self.generation.in_flight and time.monotonic() < deadline:
            time.sleep(0.005)
