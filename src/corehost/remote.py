"""The host's side of an isolated module: a proxy that implements its namespace's interface.

A module whose config says ``isolation = "process"`` runs in a worker
process (:mod:`corehost.worker`), and the host gets a proxy in its place:
each method of the namespace's interface sends its arguments to the worker
and returns its result or raises its exception; ``start``, ``stop`` and
``cleanup`` are forwarded; ``provision`` and ``validate`` have run in the
worker already, with its own context, when the proxy is returned. With
``isolation = { address = ... }`` the proxy reattaches to a worker that
someone else started (``corehost serve-module ... --listen ADDR``).

A worker that dies, or does not answer a call within ``timeout``, becomes a
:class:`~corehost.errors.WorkerCrashed` or
:class:`~corehost.errors.WorkerTimeout` naming the module, its distribution,
the signal or exit code and the last lines of its stderr; the host's other
modules are untouched. ``restart = "on-failure"`` starts a new worker on the
next call (at most ``tries`` times, waiting ``backoff`` seconds, doubled on
each try); ``"never"``, the default, asks the host to stop, as a module that
fails in-process stops it.
"""

from __future__ import annotations

import builtins
import collections
import functools
import os
import pickle
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Any

from corehost import errors, wire
from corehost.conformance import interface_members
from corehost.crossing import crossing_problems
from corehost.decode import join_path
from corehost.errors import (
    ConfigError,
    CorehostError,
    LifecycleError,
    WorkerCrashed,
    WorkerError,
    WorkerStartFailed,
    WorkerTimeout,
    closest,
    config_errors,
)
from corehost.registry import ModuleInfo

#: The keys of an ``isolation = { ... }`` table, each with what it takes.
KEYS = {
    "address": 'a running worker to reattach to: "unix:/path" or "tcp://127.0.0.1:PORT"',
    "secret": "the reattached worker's secret",
    "secret_file": "a file holding the reattached worker's secret",
    "network": '"unix" (the default) or "tcp": where a started worker listens',
    "restart": '"never" (the default) or "on-failure"',
    "tries": "how many times on-failure restarts the worker (default 3)",
    "backoff": "seconds before the first restart, doubled for each next one (default 0.5)",
    "timeout": "seconds a call or a start may take before the worker is killed (default 30)",
    "grace": "seconds a stopping worker gets before SIGKILL (default 5)",
}
#: The lifecycle steps: the worker runs provision and validate when it loads the module.
LIFECYCLE = ("provision", "validate", "start", "stop", "cleanup")
#: How many of a worker's last stderr lines an error quotes.
TAIL_LINES = 12
#: The least time a worker is given to start, hand-shake and provision its module, whatever the call timeout.
START_TIMEOUT = 30.0
#: The connections to a worker this host spawns: as many of its calls can be in flight at once.
CHANNELS = 16
#: The longest wait between two restarts, however many there were.
MAX_BACKOFF = 30.0


class Settings:
    """A module's ``isolation`` setting, checked."""

    __slots__ = ("address", "backoff", "grace", "network", "restart", "secret", "secret_file", "timeout", "tries")

    def __init__(self) -> None:
        self.address: str | None = None
        self.secret: str | None = None
        self.secret_file: str | None = None
        self.network = "unix"
        self.restart = "never"
        self.tries = 3
        self.backoff = 0.5
        self.timeout = 30.0
        self.grace = 5.0


def settings(value: Any, path: str) -> Settings:
    """Check a module's ``isolation`` value (``"process"`` or a table); ``path`` is where it is in the config."""
    out = Settings()
    if value == "process":
        return out
    if not isinstance(value, Mapping):
        raise ConfigError(
            path,
            f'expected "none", "process" or a table such as {{ restart = "on-failure", timeout = 10 }}, got {value!r}',
        )
    problems: list[ConfigError] = []
    for key, item in value.items():
        at = join_path(path, str(key))
        if key not in KEYS:
            near = closest(str(key), KEYS)
            hint = f" (did you mean {near!r}?)" if near else ""
            keys = "; ".join(f"{k}: {v}" for k, v in KEYS.items())
            problems.append(ConfigError(at, f"isolation has no setting {key!r}{hint}. Its settings are {keys}."))
            continue
        problem = _setting_problem(str(key), item)
        if problem:
            problems.append(ConfigError(at, problem))
            continue
        setattr(out, str(key), float(item) if key in ("backoff", "timeout", "grace") else item)
    if out.address is not None and not (out.secret or out.secret_file or os.environ.get(wire.SECRET_ENV)):
        problems.append(
            ConfigError(
                path,
                'reattaching to a worker needs the secret it was started with: add secret_file = "PATH" '
                f'(the file corehost serve-module named) or secret = "...", or set ${wire.SECRET_ENV}',
            )
        )
    error = config_errors(problems)
    if error is not None:
        raise error
    return out


def _setting_problem(key: str, value: Any) -> str:
    """What is wrong with one isolation setting ('' when nothing is)."""
    if key in ("address", "secret", "secret_file"):
        if not isinstance(value, str) or not value:
            return f"expected a non-empty string, got {value!r}"
        if key == "address":
            try:
                wire.parse_address(value)
            except ValueError as exc:
                return str(exc)
        return ""
    if key == "network":
        return "" if value in ("unix", "tcp") else f'expected "unix" or "tcp", got {value!r}'
    if key == "restart":
        return "" if value in ("never", "on-failure") else f'expected "never" or "on-failure", got {value!r}'
    if key == "tries":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return "" if ok else f"expected a whole number of tries (0 or more), got {value!r}"
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (value > 0 or (key == "backoff" and value == 0))
    )
    return (
        "" if ok else f"expected a number of seconds{' (0 or more)' if key == 'backoff' else ' above 0'}, got {value!r}"
    )


class RemoteException(Exception):
    """An exception a module raised in its worker, of a class the host does not have: its name is kept."""


_exception_classes: dict[str, type[Exception]] = {}


def rebuild_exception(name: str, message: str, args: tuple[Any, ...] | None = None) -> Exception:
    """The exception a module raised in its worker, as the host can have it: a built-in one as itself.

    ``args`` are the exception's own arguments, when the worker could send them (plain values): a
    built-in exception made from them reads as the worker's did (a ``KeyError``'s key quoted once).
    """
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(*args) if args is not None else cls(message)
        except Exception:
            pass
    found = _exception_classes.get(name)
    if found is None:
        found = _exception_classes[name] = type(name, (RemoteException,), {"__module__": "corehost.remote"})
    return found(message)


def rebuild_error(name: str, message: str, fields: Any) -> CorehostError:
    """A corehost error the worker reported (a config or lifecycle error), as the same error in the host."""
    if name in ("ConfigError", "ConfigErrors"):
        error = config_errors(ConfigError(path, detail) for path, detail in fields)
        if error is not None:
            return error
    if name == "LifecycleError":
        module_id, path, phase, cause_name, cause_message, distribution, cause_args = fields
        cause = rebuild_exception(cause_name, cause_message, cause_args)
        return LifecycleError(module_id, path, phase, cause, distribution)
    cls = getattr(errors, name, None)
    out = cls.__new__(cls) if isinstance(cls, type) and issubclass(cls, CorehostError) else CorehostError("")
    CorehostError.__init__(out, message)
    return out


def describe_exit(code: int) -> str:
    """How a worker process ended, in words: the signal or the exit code, and what usually causes it."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = {
            "SIGSEGV": " (a segmentation fault)",
            "SIGKILL": " (kill -9, or the kernel's out-of-memory killer)",
            "SIGABRT": " (an abort)",
            "SIGBUS": " (a bus error)",
        }.get(name, "")
        return f"was killed by {name}{why}"
    if code == wire.EXIT_NO_MEMORY:
        return f"ran out of memory (MemoryError) and exited with code {code}"
    return f"exited with code {code}"


_spawn_lock = threading.Lock()
_spawn_jobs: list[tuple[Callable[[], Any], list[Any], threading.Event]] = []
_spawn_wake = threading.Condition(_spawn_lock)
_spawner: threading.Thread | None = None


def _spawn(make: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """Run ``make`` (which starts a worker) on a thread that lives as long as the host.

    Linux delivers a worker's parent-death signal when the *thread* that
    started it ends, not the process: a worker started from a short-lived
    thread (an admin request's, a reload's) would be killed with it. The
    main thread, and one daemon thread for every other, outlive them all.
    """
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return make()
    done = threading.Event()
    box: list[Any] = []
    with _spawn_wake:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawn_loop, name="corehost-spawner", daemon=True)
            _spawner.start()
        _spawn_jobs.append((make, box, done))
        _spawn_wake.notify()
    done.wait()
    if isinstance(box[0], BaseException):
        raise box[0]
    result: subprocess.Popen[bytes] = box[0]
    return result


def _spawn_loop() -> None:
    while True:
        with _spawn_wake:
            while not _spawn_jobs:
                _spawn_wake.wait()
            make, box, done = _spawn_jobs.pop(0)
        try:
            box.append(make())
        except BaseException as exc:
            box.append(exc)
        done.set()


def worker_command(module_id: str, listen: str | None) -> list[str]:
    """The command that serves ``module_id``: this interpreter, importing from this host's path.

    The worker sees exactly the packages the host sees (a venv's site-packages, or the folder a bundle
    unpacked into), without running a bundle's launcher or the CLI again, and without ``site`` when the
    host's path needs nothing it does (see :func:`_worker_flags`). A bundle's folder stays while the
    worker runs: the host holds it (:mod:`corehost.bundle`), and the worker ends with the host.
    """
    # Absolute: the worker may start in another folder, and a relative $COREHOST_CACHE_DIR gives a relative path.
    path = [os.path.abspath(entry) for entry in sys.path if entry]
    boot = f"import sys; sys.path[:] = {path!r}; from corehost.worker import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, *_worker_flags(), "-c", boot, module_id]
    return argv if listen is None else [*argv, "--listen", listen]


@functools.cache
def _worker_flags() -> tuple[str, ...]:
    """The interpreter options of a worker: ``-S`` unless ``site`` does more than put the path together.

    The worker is given the host's whole path, so ``site`` has nothing left to do unless a ``.pth``
    file runs code (an import hook of an editable install) or a ``sitecustomize`` runs: then it runs.
    ``-E`` when the host itself ignores ``PYTHON*`` variables.
    """
    flags = ["-E"] if sys.flags.ignore_environment else []
    if sys.flags.no_site or not _site_runs_code():
        flags.append("-S")
    return tuple(flags)


def _site_runs_code() -> bool:
    if "sitecustomize" in sys.modules or "usercustomize" in sys.modules:
        return True
    for entry in sys.path:
        if not entry.endswith("-packages"):
            continue
        try:
            names = [n for n in os.listdir(entry) if n.endswith(".pth")]
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(entry, name), encoding="utf-8", errors="replace") as f:
                    if any(line.startswith(("import ", "import\t")) for line in f):
                        return True
            except OSError:
                continue
    return False


class _Timeout(Exception):
    """No reply came within a call's time."""


class _Channel:
    """One connection to a worker, used by one call at a time."""

    __slots__ = ("conn", "poll")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        self.poll = poller.poll


class _Worker:
    """The connections to a worker, the process behind it when this host started it, and its calls' turns.

    A call takes a free connection, sends its request and reads its reply, as if it were alone: calls
    from several threads proceed together on connections of their own, and the worker answers each
    connection on a thread of its own. A started worker gets :data:`CHANNELS` connections (its first
    through its socket, the others inherited when it is spawned); a reattached one has one.
    """

    __slots__ = ("address", "channels", "closing", "failure", "free", "pid", "private", "proc", "reader", "tail",
                 "turn", "waiters")  # fmt: skip

    def __init__(self, conn: Connection, address: str, proc: subprocess.Popen[bytes] | None) -> None:
        self.address = address
        self.proc = proc
        self.pid = proc.pid if proc is not None else 0
        self.closing = False
        self.private: str | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.reader: threading.Thread | None = None
        self.channels = [_Channel(conn)]
        self.free = list(self.channels)
        #: Notified when a connection is put back while calls wait for one (``waiters``), or the worker failed.
        self.turn = threading.Condition(threading.Lock())
        self.waiters = 0
        #: Why the worker is gone, once a call found out: the calls waiting for a connection raise it too.
        self.failure: WorkerError | None = None

    def add(self, conn: Connection) -> None:
        """A further connection, taken after the first (which is taken first, and alone carries the load)."""
        channel = _Channel(conn)
        self.channels.append(channel)
        self.free.insert(0, channel)

    @property
    def busy(self) -> bool:
        return len(self.free) < len(self.channels)

    def exchange(self, message: tuple[Any, ...], deadline: float) -> Any:
        """Send ``message`` on a free connection and return the worker's reply.

        Raises :class:`_Timeout` past ``deadline``, EOFError or OSError when the connection ends, and the
        worker's failure when another call found it.
        """
        data = pickle.dumps(message, wire.PICKLE_PROTOCOL)
        free = self.free
        try:
            # A free connection without a lock: list.pop is atomic, and a call alone never waits.
            channel = free.pop()
        except IndexError:
            channel = self._wait_for_channel(deadline)
        try:
            channel.conn.send_bytes(data)
            if not channel.poll(max(0, int((deadline - time.monotonic()) * 1000))):
                raise _Timeout
            reply = channel.conn.recv_bytes()
        finally:
            free.append(channel)
            # A call that found none free counts itself waiting before it looks again: it sees this one.
            if self.waiters:
                with self.turn:
                    self.turn.notify()
        return wire.loads_reply(reply)

    def _wait_for_channel(self, deadline: float) -> _Channel:
        turn, free = self.turn, self.free
        with turn:
            self.waiters += 1
            try:
                while True:
                    try:
                        # Another call may take a connection put back without the lock: try, then wait.
                        return free.pop()
                    except IndexError:
                        pass
                    if self.failure is not None:
                        raise _again(self.failure)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise _Timeout
                    turn.wait(left)
            finally:
                self.waiters -= 1

    def fail(self, error: WorkerError) -> None:
        """Record why the worker is gone and wake every call waiting for a connection."""
        with self.turn:
            if self.failure is None:
                self.failure = error
            self.turn.notify_all()

    def end(self, grace: float) -> int | None:
        """Close the connection; a started worker is given ``grace`` seconds, then SIGKILL. Its exit code."""
        self.closing = True
        for channel in self.channels:
            try:
                # Wakes a call reading on another thread: closing the descriptor alone would not.
                _shutdown(channel.conn.fileno())
            except OSError:
                pass
            channel.conn.close()
        proc = self.proc
        if proc is None:
            return None
        if proc.stdin is not None:
            # The pipe the worker watches: closing it tells it the host is done.
            proc.stdin.close()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(2)
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
        return proc.returncode


def _shutdown(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.detach()


def _again(error: WorkerError) -> WorkerError:
    """The same failure, raised again for another call."""
    return type(error)(error.module_id, error.distribution, error.message)


class Remote:
    """Supervises one isolated module: its worker, calls into it, restarts, and its end."""

    def __init__(
        self,
        info: ModuleInfo,
        interface: Any,
        config: Mapping[str, Any],
        path: str,
        options: Settings,
        request_stop: Callable[[str], None],
        host: str,
        stop_for: Callable[[WorkerError], None] | None = None,
    ) -> None:
        self.module_id = info.id
        self.distribution = info.distribution
        self.namespace = info.namespace
        self.speaks = wire.interface_speaks(interface)
        self.config = dict(config)
        self.path = path
        self.settings = options
        self.request_stop = request_stop
        #: Asks the host to stop because this module's worker is down for good (the host exits non-zero).
        self.stop_for = stop_for or (lambda error: request_stop(error.message.split("\n", 1)[0]))
        #: The name of the host whose registry the worker reads (a host of its own, or corehost).
        self.host = host
        #: Held to start, restart or end the worker (and by a failing call while it names the failure);
        #: calls themselves run without it.
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._down: WorkerError | None = None
        self._down_at = 0.0
        self._closed = False
        self._opened = False
        self._started = False
        self.restarts = 0

    # -- the call path --------------------------------------------------------------------

    def call(self, name: str, args: Any, kwargs: Any) -> Any:
        """Call method ``name`` of the module in its worker.

        Calls from several threads proceed together, as they would in-process: they share the
        worker's connection (:meth:`_Worker.exchange`), and the worker runs each on a thread of its own.
        """
        worker = self._worker
        if worker is None:
            with self._lock:
                worker = self._worker or self._revive(f"{name}()")
        reply = self._request(worker, (wire.CALL, name, args, kwargs), f"{name}()")
        if reply[0] == wire.OK:
            return reply[1]
        raise self._raised(reply)

    def _request(self, worker: _Worker, message: tuple[Any, ...], during: str, timeout: float = 0) -> Any:
        """One message and the worker's reply, within ``timeout`` s or the call timeout; a failure is named."""
        try:
            return worker.exchange(message, time.monotonic() + (timeout or self.settings.timeout))
        except _Timeout:
            raise self._timed_out(worker, during, timeout) from None
        except (OSError, EOFError):
            raise self._crashed(worker, during) from None
        except WorkerError:
            raise
        except BaseException as exc:
            self._interrupted(worker, during, exc)
            raise

    def _control(self, worker: _Worker, message: tuple[Any, ...], during: str, timeout: float = 0) -> Any:
        """A control message (hello, load, lifecycle): its value, or the error the worker reported."""
        reply = self._request(worker, message, during, timeout)
        if reply[0] == wire.OK:
            return reply[1]
        raise self._raised(reply)

    def _raised(self, reply: tuple[Any, ...]) -> BaseException:
        if reply[0] == wire.FAILED:
            return rebuild_error(reply[1], reply[2], reply[3])
        return rebuild_exception(reply[1], reply[2], reply[3])

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        """Start (or reach) the worker and have it load, provision and validate the module."""
        with self._lock:
            self._worker = self._begin()
            self._opened = True

    def lifecycle(self, phase: str) -> None:
        """Forward ``start`` or ``stop`` to the module."""
        with self._lock:
            worker = self._worker or self._revive(f"{phase}()")
            stop_reason = self._control(worker, (wire.LIFECYCLE, phase), f"{phase}()")
        self._started = phase == "start"
        if stop_reason:
            self.request_stop(stop_reason)

    def close(self) -> None:
        """Clean the module up in its worker, then end the worker (grace, then SIGKILL)."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
            if worker is None:
                return
            try:
                self._control(worker, (wire.LIFECYCLE, "cleanup"), "cleanup()")
            finally:
                worker.end(self.settings.grace)

    # -- starting, failing, restarting -----------------------------------------------------

    def _begin(self) -> _Worker:
        """A new worker with the module loaded in it; every failure leaves no process behind."""
        worker = self._attach() if self.settings.address is not None else self._start()
        try:
            self._control(worker, (wire.LOAD, self.config, self.path), "provision", self._start_timeout())
            if self._started:
                self._control(worker, (wire.LIFECYCLE, "start"), "start()")
        except BaseException:
            if not worker.closing:
                worker.end(self.settings.grace)
            raise
        return worker

    def _start_timeout(self) -> float:
        return max(self.settings.timeout, START_TIMEOUT)

    def _where(self) -> str:
        dist = f" (distribution {self.distribution})" if self.distribution not in ("", "__main__") else ""
        at = f" at {self.path}" if self.path else ""
        return f"module {self.module_id}{dist}{at}"

    def _start(self) -> _Worker:
        """A worker this host spawns, with :data:`CHANNELS` connections: its socket's and inherited pairs."""
        pairs = [socket.socketpair() for _ in range(CHANNELS - 1)]
        try:
            worker = self._spawn_worker([theirs.fileno() for _, theirs in pairs])
        except BaseException:
            for ours, _ in pairs:
                ours.close()
            raise
        finally:
            for _, theirs in pairs:
                theirs.close()
        for ours, _ in pairs:
            worker.add(Connection(ours.detach()))
        return worker

    def _spawn_worker(self, channels: list[int]) -> _Worker:
        listen = "tcp://127.0.0.1:0" if self.settings.network == "tcp" else None
        secret = wire.new_secret().hex()
        env = dict(os.environ)
        env.update(
            {
                wire.COOKIE_KEY: wire.COOKIE_VALUE,
                wire.SECRET_ENV: secret,
                wire.PARENT_ENV: str(os.getpid()),
                wire.HOST_ENV: self.host,
                wire.CHANNELS_ENV: ",".join(map(str, channels)),
            }
        )
        argv = worker_command(self.module_id, listen)
        try:
            proc = _spawn(
                lambda: subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    pass_fds=channels,
                    # Out of the terminal's process group: Ctrl-C reaches the host, which stops its workers in order.
                    start_new_session=True,
                )
            )
        except OSError as exc:
            raise WorkerStartFailed(
                self.module_id, self.distribution, f"{self._where()}: its worker could not be started: {exc}"
            ) from None
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        reader = threading.Thread(
            target=self._forward, args=(proc, tail), name=f"corehost-log-{self.module_id}", daemon=True
        )
        reader.start()
        try:
            line = _handshake(proc, self._start_timeout())
        except TimeoutError:
            proc.kill()
            proc.wait()
            reader.join(2)
            raise WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: its worker (pid {proc.pid}) printed no handshake within "
                f"{self._start_timeout():g} s and was killed.{_tail(tail)}",
            ) from None
        if not line:
            proc.wait()
            reader.join(2)
            raise WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: its worker (pid {proc.pid}) {describe_exit(proc.returncode)} before its "
                f"handshake.{_tail(tail)}",
            )
        found = wire.parse_handshake(line)
        problem: CorehostError | None = None
        if found is None:
            problem = WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: its worker printed {line!r} where its handshake "
                "(CORE|APP|NETWORK|ADDRESS|ENCODING) was expected; is `corehost serve-module` the corehost "
                "this host runs?",
            )
        else:
            try:
                self._check(found.core, found.app, f"pid {proc.pid}")
            except CorehostError as exc:
                problem = exc
        if problem is not None or found is None:
            _stop_process(proc, self.settings.grace)
            reader.join(2)
            raise problem or WorkerStartFailed(self.module_id, self.distribution, line)
        try:
            conn = _connect(found.network, found.address, secret.encode(), self._start_timeout())
        except (OSError, AuthenticationError, TimeoutError) as exc:
            _stop_process(proc, self.settings.grace)
            reader.join(2)
            raise WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: cannot connect to its worker at {found.url()}: {exc}.{_tail(tail)}",
            ) from None
        worker = _Worker(conn, found.url(), proc)
        worker.tail = tail
        worker.reader = reader
        if found.network == "unix":
            worker.private = os.path.dirname(found.address)
        return worker

    def _attach(self) -> _Worker:
        address = str(self.settings.address)
        if self.settings.secret_file:
            try:
                with open(self.settings.secret_file, "rb") as f:
                    secret = f.read().strip()
            except OSError as exc:
                raise WorkerStartFailed(
                    self.module_id,
                    self.distribution,
                    f"{self._where()}: cannot read isolation.secret_file {self.settings.secret_file!r}: "
                    f"{exc.strerror or exc}",
                ) from None
        else:
            secret = (self.settings.secret or os.environ.get(wire.SECRET_ENV, "")).encode()
        family, _ = wire.parse_address(address)
        target = address[len("unix:") :] if family == "AF_UNIX" else address[len("tcp://") :]
        try:
            conn = _connect("unix" if family == "AF_UNIX" else "tcp", target, secret, self._start_timeout())
        except AuthenticationError:
            raise WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: the worker at {address} refused the secret; give the one it was started "
                "with (isolation.secret_file names the file `corehost serve-module` printed)",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise WorkerStartFailed(
                self.module_id,
                self.distribution,
                f"{self._where()}: cannot reach its worker at {address}: {exc}. Start it with "
                f"`{self.host} serve-module {self.module_id} --listen {address}`, or fix isolation.address",
            ) from None
        worker = _Worker(conn, address, None)
        try:
            core, app, _pid, _dist = self._control(worker, (wire.HELLO, wire.CORE_PROTOCOL, self.speaks), "hello")
            self._check(core, app, address)
        except BaseException:
            worker.end(0)
            raise
        return worker

    def _check(self, core: int, app: int, where: str) -> None:
        wire.check_versions(self.module_id, self.distribution, self.namespace, core, app, self.speaks, where)

    def _forward(self, proc: subprocess.Popen[bytes], tail: collections.deque[str]) -> None:
        """Copy the worker's stderr to the host's, each line prefixed with the module ID; note how it ended."""
        prefix = f"[{self.module_id}] "
        stream = proc.stderr
        assert stream is not None
        write = sys.stderr.write
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tail.append(line)
            try:
                write(f"{prefix}{line}\n")
            except (OSError, ValueError):
                pass
        stream.close()
        worker = self._worker
        if worker is None or worker.proc is not proc or worker.closing or self._closed:
            return
        # The worker ended on its own: a call in progress reports it; an idle one is reported here.
        code = proc.wait()
        if self._lock.acquire(blocking=False):
            try:
                if self._worker is worker and worker.failure is None and not worker.busy:
                    # No caller to raise it to: the host's log is where it is seen.
                    error = self._crashed(worker, "", code)
                    sys.stderr.write(f"{error.message}\n")
            finally:
                self._lock.release()

    def _plan(self) -> str:
        """What happens after a failure, by the restart policy; asks the host to stop under "never"."""
        s = self.settings
        if not self._opened:
            return ""
        if s.restart == "never":
            return (
                'It is not restarted (isolation.restart = "never"; "on-failure" restarts it), and the host is '
                "asked to stop."
            )
        if self.restarts >= s.tries:
            return f"It was restarted {self.restarts} time(s) already (isolation.tries = {s.tries}): it stays down."
        wait = min(s.backoff * 2**self.restarts, MAX_BACKOFF)
        return f"It is restarted on the next call (restart {self.restarts + 1} of {s.tries}, after {wait:g} s)."

    def _failed(self, worker: _Worker, error: WorkerError) -> WorkerError:
        """Record ``worker``'s failure: every call still waiting on it raises it too."""
        worker.fail(error)
        if self._worker is worker:
            self._worker = None
        self._down = error
        self._down_at = time.monotonic()
        if self.settings.restart == "never" and self._opened and not self._closed:
            self.stop_for(error)
        return error

    def _crashed(self, worker: _Worker, during: str, code: int | None = None) -> WorkerError:
        """The error for a worker that died or hung up (``during`` a call, or '' while idle), once it is gone."""
        with self._lock:
            if worker.failure is not None:
                # Another call on the same worker found out first (and named it).
                return _again(worker.failure)
            return self._failed(worker, self._crash_error(worker, during, code))

    def _crash_error(self, worker: _Worker, during: str, code: int | None) -> WorkerError:
        when = f"during {during}" if during else "while idle"
        if code is None:
            code = worker.end(self.settings.grace)
        elif not worker.closing:
            worker.end(self.settings.grace)
        if worker.proc is None:
            what = f"its worker at {worker.address} closed the connection {when}"
        else:
            how = describe_exit(code if code is not None else 0)
            what = f"its worker process (pid {worker.pid}) {how} {when}"
        goes_on = f"; the host goes on without it. {self._plan()}" if self._opened else "."
        message = f"{self._where()}: {what}{goes_on}{_tail(worker.tail)}"
        return WorkerCrashed(self.module_id, self.distribution, message)

    def _interrupted(self, worker: _Worker, during: str, exc: BaseException) -> None:
        """A call cut short in the host (Ctrl-C, a stopping host) leaves its reply unread: the worker goes."""
        with self._lock:
            if worker.failure is not None:
                return
            worker.end(self.settings.grace)
            message = (
                f"{self._where()}: its worker was stopped because {during} was interrupted in the host "
                f"({type(exc).__name__}) before it answered. {self._plan()}"
            )
            self._failed(worker, WorkerCrashed(self.module_id, self.distribution, message.rstrip()))

    def _timed_out(self, worker: _Worker, during: str, seconds: float = 0) -> WorkerError:
        """The error for a call that outlived the timeout, once its worker is killed (or left, if reattached)."""
        with self._lock:
            if worker.failure is not None:
                return _again(worker.failure)
            return self._failed(worker, self._timeout_error(worker, during, seconds))

    def _timeout_error(self, worker: _Worker, during: str, seconds: float) -> WorkerError:
        if worker.proc is not None:
            worker.proc.kill()
            worker.end(self.settings.grace)
            what = f"its worker process (pid {worker.pid}) was killed"
        else:
            worker.end(0)
            what = f"the connection to its worker at {worker.address} was closed"
        seconds = seconds or self.settings.timeout
        setting = " (isolation.timeout)" if seconds == self.settings.timeout else ""
        plan = self._plan()
        message = (
            f"{self._where()}: {during} did not answer within {seconds:g} s{setting}; {what}."
            f"{' ' + plan if plan else ''}{_tail(worker.tail)}"
        )
        return WorkerTimeout(self.module_id, self.distribution, message)

    def _revive(self, during: str) -> _Worker:
        """A new worker in place of one that failed, if the restart policy allows it; else the failure again."""
        down = self._down
        if self._closed or down is None:
            raise WorkerStartFailed(
                self.module_id, self.distribution, f"{self._where()}: {during} was called after its cleanup"
            )
        s = self.settings
        if s.restart == "never" or self.restarts >= s.tries:
            raise type(down)(down.module_id, down.distribution, down.message)
        wait = min(s.backoff * 2**self.restarts, MAX_BACKOFF) - (time.monotonic() - self._down_at)
        if wait > 0:
            time.sleep(wait)
        self.restarts += 1
        sys.stderr.write(f"[{self.module_id}] restarting its worker (restart {self.restarts} of {s.tries})\n")
        self._worker = self._begin()
        return self._worker


def _tail(tail: collections.deque[str]) -> str:
    if not tail:
        return ""
    return " Last lines of its stderr:\n" + "\n".join(f"  | {line}" for line in tail)


def _handshake(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The worker's first line on stdout ('' if it ended first); TimeoutError if none comes in time."""
    stdout = proc.stdout
    assert stdout is not None
    fd = stdout.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    # The worker writes nothing more to stdout: from here on its output goes to stderr.
    stdout.close()
    return data.decode("utf-8", "replace").partition("\n")[0] if b"\n" in data else ""


def _stop_process(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _connect(network: str, address: str, secret: bytes, timeout: float) -> Connection:
    """An authenticated connection to a worker, or TimeoutError if it does not take it within ``timeout``."""
    if network == "unix":
        sock = socket.socket(socket.AF_UNIX)
        target: Any = address
    else:
        host, _, port = address.rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET)
        target = (host.strip("[]"), int(port))
    try:
        sock.settimeout(timeout)
        sock.connect(target)
        sock.setblocking(True)
        if network == "tcp":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    conn = Connection(sock.detach())
    try:
        # The worker challenges first; one busy with another host never does, and the wait ends here.
        if not conn.poll(timeout):
            raise TimeoutError(f"the worker did not answer within {timeout:g} s (is another host attached to it?)")
        answer_challenge(conn, secret)
        deliver_challenge(conn, secret)
    except BaseException:
        conn.close()
        raise
    return conn


_proxy_classes: dict[Any, type] = {}


def proxy_class(interface: Any) -> type:
    """The class of the proxies of ``interface``'s modules: each interface method forwards to the worker."""
    found = _proxy_classes.get(interface)
    if found is not None:
        return found
    body: dict[str, Any] = {
        "__slots__": ("_remote",),
        "__module__": __name__,
        "__doc__": f"A module of interface {getattr(interface, '__qualname__', 'none')} running in a worker process.",
        "__repr__": lambda self: f"<{self._remote.module_id} isolated in a worker process>",
        "provision": lambda self, ctx: None,
        "validate": lambda self: None,
        "start": lambda self: self._remote.lifecycle("start"),
        "stop": lambda self: self._remote.lifecycle("stop"),
        "cleanup": lambda self: self._remote.close(),
    }
    members = interface_members(interface) if isinstance(interface, type) else iter(())
    for name, member in members:
        if name in LIFECYCLE:
            continue
        body[name] = _forwarder(name, member)
    name = f"Isolated{getattr(interface, '__name__', 'Module')}"
    found = _proxy_classes[interface] = type(name, (), body)
    return found


def _forwarder(name: str, member: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._remote.call(name, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(member, "__doc__", None)
    return method


def check_crossing(info: ModuleInfo, interface: Any, path: str, recorded: list[str] | None) -> None:
    """Refuse, before any worker starts, a module whose interface has calls that cannot cross to a worker.

    ``recorded`` is what a build's guards found for the module (its class's annotations included);
    without it the interface is checked here, which needs none of the module's code.
    """
    if not isinstance(interface, type):
        return
    problems = crossing_problems(interface) if recorded is None else recorded
    if problems:
        dist = f" (distribution {info.distribution})" if info.distribution not in ("", "__main__") else ""
        raise ConfigError(
            path,
            f"module {info.id}{dist} cannot run in a worker process: {'; '.join(problems)}. "
            f'Run it in-process (isolation = "none"), or change namespace {info.namespace!r}\'s interface.',
        )


def open_module(
    info: ModuleInfo,
    interface: Any,
    config: Mapping[str, Any],
    path: str,
    options: Settings,
    request_stop: Callable[[str], None],
    host: str,
    stop_for: Callable[[WorkerError], None] | None = None,
) -> Any:
    """A proxy of ``info``'s module, running (provisioned and validated) in a worker of host ``host``.

    ``request_stop`` asks the host to stop for a reason (an isolated app that is done); ``stop_for``
    because the worker failed for good (by default, ``request_stop`` with the error's first paragraph).
    """
    remote = Remote(info, interface, config, path, options, request_stop, host, stop_for)
    remote.open()
    proxy: Any = object.__new__(proxy_class(interface))
    proxy._remote = remote
    return proxy
