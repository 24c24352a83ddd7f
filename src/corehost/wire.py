"""The protocol between a host and an isolated module's worker process, go-plugin style.

A worker is ``corehost serve-module MODULE_ID`` run in its own process. It
refuses to start unless :data:`COOKIE_KEY` holds :data:`COOKIE_VALUE` (or it
was told where to listen), so that running it by hand explains itself
instead of waiting for a host. Once listening it prints one handshake line
on stdout::

    CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|ENCODING
    1|1|unix|/tmp/corehost-k2j4/worker.sock|pickle

``CORE-PROTOCOL`` is :data:`CORE_PROTOCOL`, the version of this module's
messages; ``APP-PROTOCOL`` the version of the module's namespace interface
as the worker's environment has it (``__corehost_version__`` on the
interface, 1 when it declares none). The host connects with the standard
library's :mod:`multiprocessing.connection` (an AF_UNIX socket at mode 0600
in a private 0700 directory, or TCP bound to loopback), which authenticates
both ends with an HMAC challenge over a shared secret: the secret never
crosses the socket, and a peer without it is refused before any message is
read. Messages are tuples pickled at :data:`PICKLE_PROTOCOL`, each one
length-prefixed frame (``Connection.send_bytes``); the first item is the
kind. The standard library's pickle is the fastest serializer available
without a compiled dependency for the small tuples a call is made of, and
the host unpickles what a worker sends with :func:`loads_reply`, which
admits only data types, so a compromised worker cannot run code in the host.
"""

from __future__ import annotations

import io
import os
import sys

from corehost import TYPE_CHECKING
from corehost.errors import ProtocolMismatch

if TYPE_CHECKING:
    from typing import Any

#: The version of the messages below; both ends must speak the same one.
CORE_PROTOCOL = 1
#: What a worker's handshake names as its encoding.
ENCODING = "pickle"
PICKLE_PROTOCOL = 5

#: The magic cookie: a host sets it for the workers it starts; a worker started without it
#: (and not told where to listen) explains what it is and exits.
COOKIE_KEY = "COREHOST_PLUGIN_MAGIC_COOKIE"
COOKIE_VALUE = "9f3c2b7e41d04f1a8c55e0b6d2a7f318"
#: The shared secret (hex) a host gives the worker it starts, or a reattached worker is given.
SECRET_ENV = "COREHOST_PLUGIN_SECRET"
#: The pid of the host that started the worker: a worker whose parent is no longer it exits.
PARENT_ENV = "COREHOST_PLUGIN_PARENT"
#: The name of the host (a :class:`~corehost.hostspec.HostSpec`) whose registry the worker reads.
HOST_ENV = "COREHOST_PLUGIN_HOST"
#: The descriptors (comma-separated) of the further connections a host passes the worker it spawns:
#: its ends of socket pairs, answered each on a thread of its own so that calls proceed together.
CHANNELS_ENV = "COREHOST_PLUGIN_CHANNELS"

#: A worker's exit code when its module ran out of memory (MemoryError): ENOMEM's number.
EXIT_NO_MEMORY = 12
#: A worker's exit code when the host that started it went away.
EXIT_ORPHANED = 70

# Message kinds, first item of every message. Host → worker:
HELLO = 1  # (HELLO, core protocol, app versions the host speaks)
LOAD = 2  # (LOAD, config, config path): decode, construct, provision, validate
CALL = 3  # (CALL, method, args, kwargs)
LIFECYCLE = 4  # (LIFECYCLE, "start" | "stop" | "cleanup")
# Worker → host:
OK = 10  # (OK, result)
RAISED = 11  # (RAISED, exception type name, message, its arguments or None): the module's code raised
FAILED = 12  # (FAILED, error class name, message, fields): a corehost error (config, lifecycle, ...)


def handshake_line(app_version: int, network: str, address: str) -> str:
    """The line a worker prints once it listens."""
    return f"{CORE_PROTOCOL}|{app_version}|{network}|{address}|{ENCODING}"


class Handshake:
    """A parsed handshake line."""

    __slots__ = ("address", "app", "core", "encoding", "network")

    def __init__(self, core: int, app: int, network: str, address: str, encoding: str) -> None:
        self.core = core
        self.app = app
        self.network = network
        self.address = address
        self.encoding = encoding

    def url(self) -> str:
        """The address as a config spells it: ``unix:PATH`` or ``tcp://HOST:PORT``."""
        return f"unix:{self.address}" if self.network == "unix" else f"tcp://{self.address}"


def parse_handshake(line: str) -> Handshake | None:
    """The handshake in ``line``, or ``None`` when it is not one."""
    parts = line.strip().split("|")
    if len(parts) != 5 or not parts[0].isdigit() or not parts[1].isdigit() or parts[2] not in ("unix", "tcp"):
        return None
    return Handshake(int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4])


def parse_address(address: str) -> tuple[str, Any]:
    """``unix:PATH`` or ``tcp://HOST:PORT`` → (family, address) for :mod:`multiprocessing.connection`.

    Raises ValueError with what a valid address looks like.
    """
    if address.startswith("unix:"):
        path = address[len("unix:") :]
        if path:
            return "AF_UNIX", path
    elif address.startswith("tcp://"):
        host, _, port = address[len("tcp://") :].rpartition(":")
        if host and port.isdigit():
            return "AF_INET", (host.strip("[]"), int(port))
    raise ValueError(f"{address!r} is not an address; write unix:/path/to/socket or tcp://127.0.0.1:PORT")


def interface_version(interface: Any) -> int:
    """The version a namespace's interface declares (``__corehost_version__``), 1 when it declares none."""
    version = getattr(interface, "__corehost_version__", 1)
    return version if isinstance(version, int) else 1


def interface_speaks(interface: Any) -> tuple[int, ...]:
    """The versions of an interface a host of it can talk to: ``__corehost_speaks__``, else its own version."""
    speaks = getattr(interface, "__corehost_speaks__", None)
    if isinstance(speaks, (tuple, list, frozenset, set)) and all(isinstance(v, int) for v in speaks):
        return tuple(sorted(speaks))
    return (interface_version(interface),)


def check_versions(
    module_id: str, distribution: str, namespace: str, core: int, app: int, speaks: tuple[int, ...], where: str
) -> None:
    """Raise :class:`ProtocolMismatch` unless a worker's ``core`` and ``app`` versions are ones this host speaks."""
    dist = f" (distribution {distribution})" if distribution else ""
    if core != CORE_PROTOCOL:
        newer = "corehost" if core > CORE_PROTOCOL else f"the worker's environment ({where}) with this corehost"
        raise ProtocolMismatch(
            module_id,
            distribution,
            f"module {module_id}{dist}: the worker at {where} speaks core protocol {core}, this host speaks "
            f"{CORE_PROTOCOL}; rebuild {newer} so both run the same corehost protocol",
        )
    if app not in speaks:
        versions = ", ".join(map(str, speaks))
        raise ProtocolMismatch(
            module_id,
            distribution,
            f"module {module_id}{dist}: the worker at {where} implements version {app} of namespace "
            f"{namespace!r}'s interface, this host speaks version(s) {versions}; rebuild the worker's "
            f"environment with the plugin that owns {namespace!r} at a version this host speaks (or the host "
            f"with the one the worker has), so both sides have the same interface",
        )


# A worker imports this module before its handshake, and pickle only after it: the functions below
# import it when first called.


def dumps(message: Any) -> bytes:
    # pickle after the handshake: see above.
    import pickle

    return pickle.dumps(message, PICKLE_PROTOCOL)


#: The classes of the standard library a reply may carry (data: constructing one runs no other code).
_STDLIB_DATA = {
    "builtins": frozenset(
        {"list", "dict", "set", "frozenset", "tuple", "int", "float", "complex", "str", "bytes", "bytearray", "bool"}
    ),
    "collections": frozenset({"OrderedDict", "deque", "defaultdict"}),
    "datetime": frozenset({"date", "time", "datetime", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    "uuid": frozenset({"UUID"}),
    "pathlib": frozenset({"PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath"}),
    "ipaddress": frozenset({"IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network"}),
}


def _is_data_class(obj: Any) -> bool:
    """An enum, dataclass or named tuple: classes whose instances the crossing guards admit."""
    if not isinstance(obj, type):
        return False
    if hasattr(obj, "__dataclass_fields__") or (issubclass(obj, tuple) and hasattr(obj, "_fields")):
        return True
    enum = sys.modules.get("enum")
    return enum is not None and issubclass(obj, enum.Enum)


#: The class :func:`_data_unpickler` makes, once (functools.cache would import functools before the handshake).
_unpickler: Any = None


def _data_unpickler() -> Any:
    """The unpickler of a worker's replies: data only, the standard library's value types, and enums,
    dataclasses and named tuples of modules the host has imported already (a worker cannot make the host
    import anything)."""
    global _unpickler
    if _unpickler is not None:
        return _unpickler
    # pickle after the handshake: see above.
    import pickle

    class DataUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if name in _STDLIB_DATA.get(module, ()):
                return super().find_class(module, name)
            # Looked up in the dictionaries of a module already imported and of its classes: no code runs.
            obj: Any = sys.modules.get(module)
            for part in name.split("."):
                obj = vars(obj).get(part) if hasattr(obj, "__dict__") else None
            if _is_data_class(obj):
                return obj
            raise pickle.UnpicklingError(
                f"a worker's reply may not carry {module}.{name}: only data crosses to the host"
            )

    _unpickler = DataUnpickler
    return _unpickler


def loads_reply(data: bytes) -> Any:
    """A worker's message, admitting only data types (see :func:`_data_unpickler`)."""
    return _data_unpickler()(io.BytesIO(data)).load()


def loads(data: bytes) -> Any:
    """A host's message: the worker trusts the host that holds its secret."""
    # pickle after the handshake: see above.
    import pickle

    return pickle.loads(data)


def new_secret() -> bytes:
    return os.urandom(32)
