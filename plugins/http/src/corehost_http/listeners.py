"""Listening sockets, bound by the app rather than by uvicorn.

The app owns each bound socket and gives uvicorn a duplicate of it: uvicorn
closes the sockets it serves when it shuts down, and a duplicate closing leaves
the bound port open, so a later server (a reloaded config) can be handed the
same listener without a moment in which connections are refused.
"""

from __future__ import annotations

import socket
import threading


class ListenError(OSError):
    """An address that cannot be bound, named with the server that asked for it."""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6; ``:port`` for every interface) as (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port (e.g. '127.0.0.1:8080', '[::1]:8080', ':8080')")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def bind(address: str, backlog: int = 2048) -> socket.socket:
    """A socket bound to ``address`` and listening (SO_REUSEADDR, so a restart finds the port free)."""
    host, port = parse_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    # Non-blocking, as every event loop serving it sets it: the mode belongs to the socket that every
    # duplicate shares, and a duplicate takes its original's, so handing one out must not make the socket
    # blocking under a server that serves it already (its loop would then block in accept()).
    sock.setblocking(False)
    return sock


class Pool:
    """Bound listeners by address, shared by reference count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[socket.socket, int]] = {}

    def acquire(self, address: str) -> socket.socket:
        """A duplicate of the listener on ``address``, binding it on first use.

        The pool is the process's: a reloaded config acquires the listeners its
        predecessor still holds, and the port stays bound while both serve it.
        """
        with self._lock:
            sock, count = self._sockets.get(address) or (bind(address), 0)
            self._sockets[address] = (sock, count + 1)
            return sock.dup()

    def release(self, address: str) -> None:
        """Give back one reference; the last one closes the listener and frees the port."""
        with self._lock:
            sock, count = self._sockets[address]
            if count > 1:
                self._sockets[address] = (sock, count - 1)
            else:
                del self._sockets[address]
                sock.close()


#: The process's listeners: every http server of every loaded config shares it.
POOL = Pool()
