"""The worker: one module served in a process of its own (``corehost serve-module MODULE_ID``).

A host starts it for a module whose config says ``isolation = "process"``;
``--listen`` serves it on an address for a host that reattaches to it
(``isolation = { address = ... }``). The worker reads its environment's
registry as a host does (the venv's entry points, or the bundle's frozen
registry), prints its handshake line (:mod:`corehost.wire`), and serves one
host connection at a time: the host sends the module's config, the worker
decodes it strictly, builds, provisions and validates the module with a
:class:`~corehost.context.Context` of its own (a context cannot cross a
process boundary), then answers calls until the host cleans it up or goes
away.

A worker a host started never outlives it: on Linux the kernel kills it
when its parent dies (``PR_SET_PDEATHSIG``), and everywhere it watches a
pipe from the host (its stdin) and exits when the pipe closes, which happens
however the host ends, SIGKILL included.
"""

from __future__ import annotations

import errno
import os
import sys

from corehost import TYPE_CHECKING, wire
from corehost.errors import ConfigError, ConfigErrors, CorehostError, LifecycleError, WorkerStartFailed
from corehost.hostspec import COREHOST, HostSpec, find_host

if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from typing import Any, NoReturn

    from corehost.context import Context
    from corehost.registry import Registry

#: What a worker run by hand prints: it is a plugin server, not a program (go-plugin's message, adapted).
NOT_A_PROGRAM = """\
This is a corehost plugin worker: it serves one module ({module}) to a corehost host that isolates it,
and is not meant to be run directly. To run the module in its own process, give it
isolation = "process" in the host's config; to serve it for a host that reattaches, run
  {name} serve-module {module} --listen unix:/path/to/socket   (or tcp://127.0.0.1:PORT)"""

#: PR_SET_PDEATHSIG from <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1
#: SIGKILL's number on Linux (the only system with a parent-death signal), without the signal module's enums.
_SIGKILL = 9
#: The module a build writes its frozen registry to (:mod:`corehost.frozen`), and the format this worker reads.
_FROZEN_MODULE, _FROZEN_FORMAT = "_corehost_frozen", 1
#: The socket file and private directory of a started worker until its host connects, for an orphaned
#: worker to remove on its way out.
_private: tuple[str, str] | None = None


def serve(module_id: str, listen: str | None, secret_file: str | None, spec: HostSpec) -> int:
    """Serve ``module_id`` until the host that started it cleans it up or goes away; return the exit code.

    Started by a host (the magic cookie is set) it serves that one host; run
    with ``--listen`` and no cookie it serves one host after another until
    it is stopped.

    Until its handshake line is out, a worker does only what the line needs
    (the module's interface version, a listening socket) and imports only
    :mod:`corehost.wire` and the build's frozen registry, which records that
    version: a host waits for the line, and everything else (the interface,
    typing, the transport, the registry, the module's own code, its context)
    is imported once it is printed, while the host connects and sends the
    module's config. An environment no build froze imports the interface
    for its version, and reads the registry as a host does.
    """
    spawned = os.environ.get(wire.COOKIE_KEY) == wire.COOKIE_VALUE
    if not spawned and listen is None:
        print(NOT_A_PROGRAM.format(module=module_id, name=spec.name), file=sys.stderr)
        return 1
    # stdout carries one line, the handshake, to whoever started the worker: everything the worker and its
    # module print, from the first import on, joins stderr (which a host forwards line by line).
    sys.stdout.flush()
    handshake_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not spawned:
        # Stopped by its supervisor (SIGTERM), a server closes its listener, which removes its socket file.
        import signal

        signal.signal(signal.SIGTERM, _exit_cleanly)
    host = os.environ.get(wire.HOST_ENV)
    if host and host != spec.name:
        spec = find_host(host)
    registry: Registry | None = None
    found = _frozen_entry(module_id, spec)
    if found is None:
        registry = _registry(spec)
        info = registry.get(module_id)
        distribution = info.distribution
        namespace = registry.namespaces.get(info.namespace)
        app = wire.interface_version(namespace.load() if namespace is not None else None)
    else:
        distribution, app = found
    secret, secret_path = _secret(module_id, distribution, spawned, secret_file)
    global _private
    sock, network, address, private = _listen(module_id, distribution, listen)
    _private = (address, private) if private is not None else None
    try:
        os.write(handshake_fd, f"{wire.handshake_line(app, network, address)}\n".encode())
        os.close(handshake_fd)
        if spawned:
            _watch_parent()
        else:
            url = f"unix:{address}" if network == "unix" else f"tcp://{address}"
            where = f'secret_file = "{secret_path}"' if secret_path else f"secret from ${wire.SECRET_ENV}"
            print(
                f"{spec.name} serve-module: serving {module_id} on {url}; a host reattaches with\n"
                f'  isolation = {{ address = "{url}", {where} }}',
                file=sys.stderr,
                flush=True,
            )
        # What the handshake did not need: the transport (multiprocessing.connection costs more to import
        # than the rest of a worker's start together), the registry a context loads from.
        import socket
        from multiprocessing import AuthenticationError
        from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

        listener = socket.socket(fileno=sock.detach())
        session = _Session(registry or _registry(spec), module_id, distribution, app)
        while True:
            try:
                peer, _ = listener.accept()
                conn = Connection(peer.detach())
                try:
                    # multiprocessing.connection.Listener.accept's challenge: the worker asks first.
                    deliver_challenge(conn, secret)
                    answer_challenge(conn, secret)
                except BaseException:
                    conn.close()
                    raise
            except (AuthenticationError, OSError, EOFError) as exc:
                # A peer without the secret, or one that hung up during the challenge: the worker goes on.
                print(f"{module_id}: refused a connection: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            if network == "tcp":
                _no_delay(conn)
            if spawned:
                # Its one host is connected: the socket and its directory go now, so that nothing else
                # connects and nothing is left behind however the worker ends.
                listener.close()
                _remove_private()
            if spawned:
                session.after_load = lambda: _start(_answer_channels, session)
            with conn:
                session.serve(conn)
            if spawned:
                return 0
    finally:
        sock.close()
        if network == "unix" and not spawned:
            # A server's socket file goes with it, as multiprocessing's Listener removes its own.
            _unlink(address)
        _remove_private()


def _start(target: Callable[..., None], *args: Any) -> None:
    # After the handshake (serve's docstring).
    import threading

    threading.Thread(target=target, args=args, name="corehost-channels", daemon=True).start()


def _answer_channels(session: _Session) -> None:
    """Answer the further connections a host passed its worker when it spawned it, each on a thread.

    They are the worker's ends of socket pairs (:data:`corehost.wire.CHANNELS_ENV`): inherited from
    the host, reachable by no other process, so they need no challenge. Calls on them proceed
    together with the first connection's, as calls from several host threads would in-process.
    """
    # Threads and the transport once the handshake is out (serve's docstring).
    import threading
    from multiprocessing.connection import Connection

    fds = os.environ.pop(wire.CHANNELS_ENV, "")
    for fd in (int(f) for f in fds.split(",") if f.isdigit()):
        # The module's own subprocesses do not inherit the host's connections.
        os.set_inheritable(fd, False)
        channel = Connection(fd)
        threading.Thread(target=session.answer, args=(channel,), name="corehost-channel", daemon=True).start()


def _frozen_entry(module_id: str, spec: HostSpec) -> tuple[str, int] | None:
    """The distribution of ``module_id`` and its namespace's interface version, from the frozen registry.

    The version is the one the build's guards recorded; for a namespace the
    frozen registry records no version of, the interface is imported for it.

    ``None`` when the frozen registry alone does not decide (no build made this
    environment, it was built for another host, a plugin list in the
    environment narrows it, the module is generated or unknown): the worker
    then reads the registry as a host does, which names what is wrong.
    """
    if os.environ.get(spec.allow_env, "").strip() or os.environ.get(spec.block_env, "").strip():
        return None
    try:
        frozen = __import__(_FROZEN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _FROZEN_MODULE:
            raise
        return None
    data = frozen.REGISTRY
    if data.get("format") != _FROZEN_FORMAT or data.get("host", COREHOST.name) != spec.name:
        return None
    namespace = module_id.rpartition(".")[0]
    module = next((row for row in data["modules"] if row[0] == module_id), None)
    interface = next((row[1] for row in data["namespaces"] if row[0] == namespace), None)
    if module is None or interface is None:
        return None
    recorded = data.get("interface_versions", {}).get(namespace)
    if isinstance(recorded, int):
        return str(module[2]), recorded
    try:
        target, _, attribute = str(interface).partition(":")
        value: Any = __import__(target, fromlist=["_"])
        for part in attribute.split("."):
            value = getattr(value, part)
    except Exception:
        # The registry's own loading names what failed, and how to fix it.
        return None
    return str(module[2]), wire.interface_version(value)


def _registry(spec: HostSpec) -> Registry:
    # The whole registry only when the frozen one does not decide, or once the handshake is out.
    from corehost.discovery import environment_registry

    return environment_registry(spec=spec)


def _watch_parent() -> None:
    """Exit when the host that started this worker goes away, however it ends."""
    if sys.platform.startswith("linux"):
        # The parent-death signal, through libc: only a worker on Linux needs ctypes.
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    parent = os.environ.get(wire.PARENT_ENV, "")
    if parent.isdigit() and os.getppid() != int(parent):
        # The host died before the signal was armed.
        _remove_private()
        os._exit(wire.EXIT_ORPHANED)
    # The host's pipe moves off fd 0, so that a module reading stdin reads nothing rather than the pipe.
    watched = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # After the handshake (serve's docstring).
    import threading

    threading.Thread(target=_exit_at_eof, args=(watched,), name="corehost-parent-watch", daemon=True).start()


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


def _exit_at_eof(fd: int) -> None:
    while os.read(fd, 4096):
        pass
    _remove_private()
    os._exit(wire.EXIT_ORPHANED)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_private() -> None:
    """Remove a started worker's socket file and private directory, if they are still there."""
    global _private
    private, _private = _private, None
    if private is not None:
        _unlink(private[0])
        try:
            os.rmdir(private[1])
        except OSError:
            pass


def _secret(module_id: str, distribution: str, spawned: bool, secret_file: str | None) -> tuple[bytes, str]:
    """The shared secret, and the file a reattaching host reads it from ('' when it comes from the environment)."""
    if secret_file and os.path.exists(secret_file):
        with open(secret_file, "rb") as f:
            return f.read().strip(), secret_file
    from_env = os.environ.get(wire.SECRET_ENV, "")
    if from_env:
        return from_env.encode(), ""
    if spawned:
        raise WorkerStartFailed(
            module_id, distribution, f"the host gave worker {module_id} no secret (${wire.SECRET_ENV} is empty)"
        )
    secret = wire.new_secret().hex().encode()
    if secret_file:
        path = secret_file
    else:
        # A server run by hand only: a started worker's secret comes from its host.
        import tempfile

        path = os.path.join(tempfile.mkdtemp(prefix="corehost-secret-"), "secret")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret, path


def _listen(module_id: str, distribution: str, listen: str | None) -> tuple[_socket.socket, str, str, str | None]:
    """A listening socket on ``listen``, else on a socket file in a new private directory.

    Returns the socket, its network ("unix" or "tcp"), its address and that directory. Made with the
    standard library's C socket module: the ``socket`` module around it builds its enums at import,
    which a worker would pay before its handshake.
    """
    # The C socket module: what listening needs, without the enums the socket module builds.
    import _socket

    private = None
    if listen is None:
        private = _private_directory()
        family, address = "AF_UNIX", os.path.join(private, "worker.sock")
    else:
        try:
            family, address = wire.parse_address(listen)
        except ValueError as exc:
            raise WorkerStartFailed(module_id, distribution, f"--listen: {exc}") from None
    if family == "AF_UNIX":
        kind = _socket.AF_UNIX
    else:
        kind = _socket.AF_INET6 if ":" in address[0] else _socket.AF_INET
    sock = _socket.socket(kind, _socket.SOCK_STREAM)
    # The socket file is made 0600 as it is bound: only this user can connect, secret or not.
    umask = os.umask(0o177)
    try:
        if family != "AF_UNIX":
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(8)
    except OSError as exc:
        sock.close()
        if private is not None:
            os.rmdir(private)
        busy = (
            " (another worker serves there, or a stale socket file is left: remove it)"
            if exc.errno == errno.EADDRINUSE and family == "AF_UNIX"
            else ""
        )
        raise WorkerStartFailed(
            module_id, distribution, f"cannot listen on {listen or address}: {exc.strerror or exc}{busy}"
        ) from None
    finally:
        os.umask(umask)
    if family == "AF_UNIX":
        return sock, "unix", str(address), private
    host, port = sock.getsockname()[:2]
    return sock, "tcp", f"{host}:{port}", private


def _private_directory() -> str:
    """A new directory only this user can enter (``tempfile.mkdtemp``'s, without importing tempfile)."""
    base = os.environ.get("TMPDIR") or os.environ.get("TEMP") or os.environ.get("TMP") or "/tmp"
    while True:
        path = os.path.join(base, f"corehost-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path


def _no_delay(conn: Connection) -> None:
    """Small replies go out at once on TCP: a call is one small frame each way."""
    # TCP workers only, after the handshake.
    import socket

    sock = socket.socket(fileno=conn.fileno())
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        sock.detach()


class _Session:
    """What one host connection does: load the module, answer its calls, clean it up."""

    def __init__(self, registry: Registry, module_id: str, distribution: str, app: int) -> None:
        self.registry = registry
        self.module_id = module_id
        self.distribution = distribution
        self.app = app
        self.ctx: Context | None = None
        self.instance: Any = None
        #: Run once the module is loaded and the host told so: what calls need and the load does not (the
        #: threads of the host's further connections, started from a thread of their own), kept off the
        #: host's wait for its module and its first call.
        self.after_load: Callable[[], None] | None = None

    def serve(self, conn: Connection) -> None:
        """Answer the host's first connection until it hangs up, then clean the module up."""
        try:
            self.answer(conn)
        finally:
            self._cleanup()

    def answer(self, conn: Connection) -> None:
        """Answer requests on one connection, one after another, until it closes."""
        # After the handshake (serve's docstring).
        import pickle

        recv, send, loads, dumps = conn.recv_bytes, conn.send_bytes, pickle.loads, pickle.dumps
        while True:
            try:
                message = loads(recv())
            except (EOFError, OSError):
                return
            if message[0] == wire.CALL:
                reply = self._call(message[1], message[2], message[3])
            else:
                reply = self._control(message)
            try:
                data = dumps(reply, wire.PICKLE_PROTOCOL)
            except Exception as exc:
                data = dumps(
                    (wire.RAISED, "TypeError", f"the result of {message[1]}() cannot be sent to the host: {exc}", None),
                    wire.PICKLE_PROTOCOL,
                )
            try:
                send(data)
            except OSError:
                return
            if message[0] == wire.LOAD and self.after_load is not None:
                after, self.after_load = self.after_load, None
                after()

    def _call(self, name: str, args: Any, kwargs: Any) -> tuple[Any, ...]:
        try:
            return (wire.OK, getattr(self.instance, name)(*args, **kwargs))
        except MemoryError:
            _out_of_memory(self.module_id, f"{name}()")
        except Exception as exc:
            return _raised(exc)

    def _control(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        kind = message[0]
        if kind == wire.HELLO:
            return (wire.OK, (wire.CORE_PROTOCOL, self.app, os.getpid(), self.distribution))
        try:
            if kind == wire.LOAD:
                # The context (and what it imports) on the host's first message, after the handshake.
                from corehost.context import Context

                self._cleanup()
                self.ctx = Context(self.registry)
                self.instance = self.ctx.load(self.module_id, message[1], message[2])
                return (wire.OK, None)
            if kind == wire.LIFECYCLE and message[1] == "cleanup":
                self._cleanup(raising=True)
                return (wire.OK, None)
            if kind == wire.LIFECYCLE and self.ctx is not None:
                method = getattr(self.instance, message[1], None)
                if method is not None:
                    method()
                # An app that asks its context to stop while it starts (a one-shot app) asks the host.
                return (wire.OK, self.ctx.stop_reason if self.ctx.stop_requested.is_set() else "")
        except MemoryError:
            _out_of_memory(self.module_id, "provision" if kind == wire.LOAD else f"{message[1]}()")
        except CorehostError as exc:
            return (wire.FAILED, *_fields(exc))
        except Exception as exc:
            return _raised(exc)
        return (wire.RAISED, "ValueError", f"unknown message kind {kind!r}", None)

    def _cleanup(self, raising: bool = False) -> None:
        ctx, self.ctx, self.instance = self.ctx, None, None
        if ctx is None:
            return
        try:
            ctx.cleanup()
        except CorehostError:
            if raising:
                raise


def _raised(exc: Exception) -> tuple[Any, ...]:
    """What the module raised, as a host rebuilds it: its class's name, its text, its plain arguments."""
    return (wire.RAISED, type(exc).__name__, str(exc), _plain_args(exc))


def _plain_args(exc: BaseException) -> tuple[Any, ...] | None:
    """An exception's arguments when each is a plain value the host's unpickler takes, else ``None``."""
    plain = (str, int, float, bool, bytes, type(None))
    return exc.args if all(type(arg) in plain for arg in exc.args) else None


def _fields(exc: CorehostError) -> tuple[str, str, Any]:
    """A corehost error as (class name, message, the fields that rebuild it in the host)."""
    if isinstance(exc, ConfigErrors):
        return ("ConfigErrors", exc.message, [(e.path, e.detail) for e in exc.errors])
    if isinstance(exc, ConfigError):
        return ("ConfigError", exc.message, [(exc.path, exc.detail)])
    if isinstance(exc, LifecycleError):
        cause = exc.cause
        return (
            "LifecycleError",
            exc.message,
            (
                exc.module_id,
                exc.path,
                exc.phase,
                type(cause).__name__,
                str(cause),
                exc.distribution,
                _plain_args(cause),
            ),
        )
    return (type(exc).__name__, exc.message, None)


def _out_of_memory(module_id: str, during: str) -> NoReturn:
    """A worker whose module ran out of memory is in no state to go on: it says so and exits at once."""
    os.write(2, f"{module_id}: out of memory (MemoryError) in {during}; the worker exits\n".encode())
    os._exit(wire.EXIT_NO_MEMORY)


def main(argv: list[str]) -> int:
    """``MODULE_ID [--listen tcp://127.0.0.1:0]``: what a host starts (:func:`corehost.remote.worker_command`).

    A worker is started once per isolated module (and per restart), so it skips
    click and the command table, and a bundle's launcher: the host names the
    path its packages are on.
    """
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--listen"):
        print(
            f"usage: python -m corehost.worker MODULE_ID [--listen ADDR] (or {COREHOST.name} serve-module --help)",
            file=sys.stderr,
        )
        return 2
    try:
        return serve(argv[0], argv[2] if len(argv) == 3 else None, None, COREHOST)
    except CorehostError as exc:
        print(f"{COREHOST.name}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
