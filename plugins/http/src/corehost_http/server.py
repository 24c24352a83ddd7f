"""One http server: uvicorn serving the server's listeners in a thread with its own event loop.

The host's main thread keeps the signals; the server thread only serves, and
is told to finish through uvicorn's ``should_exit``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Sequence

import uvicorn

from corehost_http.asgi import ASGIApp
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


class Server:
    """Serves ``dispatch`` on ``listen`` from start() to stop()."""

    def __init__(self, name: str, listen: Sequence[str], dispatch: Next) -> None:
        self.name = name
        self.listen = list(listen)
        self.config = uvicorn.Config(
            ASGIApp(dispatch),
            lifespan="off",
            ws="none",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(GRACE),
        )
        self._uvicorn = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None
        self._acquired: list[str] = []
        self._error: BaseException | None = None

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
