"""The admin endpoint: the running config over HTTP, as Caddy's admin API.

Off unless the config names it (``admin = {listen = "127.0.0.1:2019"}``, or
``"unix:/path/admin.sock"``). ``GET /config[/path]`` answers the running
config as JSON, ``POST /load`` replaces it (a JSON body, or TOML with
``Content-Type: application/toml``; ``?force=1`` reloads an identical one),
``POST /stop`` stops the host. Whoever reaches it can replace what the host
runs, so it listens on loopback or a unix socket unless the config sets
``allow_public``, and it refuses a request whose ``Host`` or ``Origin`` is not
one it serves under: a web page whose name was made to resolve to 127.0.0.1
(DNS rebinding) sends its own name, and is turned away.

The server is the standard library's (a thread per request): the runtime
depends on nothing else, and a config load is serial anyway. The host
imports this module only for a config that names an admin endpoint.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from corehost.config import parse_config
from corehost.errors import AdminError, ConfigError, CorehostError, config_errors, did_you_mean

UNIX = "unix:"
FIELDS = ("listen", "allow_public", "origins")
#: The names a loopback endpoint answers to besides its own host.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: The largest config ``POST /load`` reads.
MAX_BODY = 16 * 1024 * 1024
#: How long a client waits for the host to answer (a load starts a whole config).
CLIENT_TIMEOUT = 120.0


def _split(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) as (host, port); ValueError names the address."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port (e.g. '127.0.0.1:2019') or unix:/path/to/admin.sock")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        # A name other than localhost may resolve anywhere: it is not known to be loopback.
        return False


class Settings:
    """The config's ``admin`` object, checked: where to listen, and whom to answer."""

    __slots__ = ("allow_public", "host", "listen", "origins", "port", "unix_path")

    def __init__(self, listen: str, allow_public: bool, origins: list[str]) -> None:
        self.listen = listen
        self.allow_public = allow_public
        self.origins = origins
        self.unix_path = listen[len(UNIX) :] if listen.startswith(UNIX) else ""
        self.host, self.port = ("", 0) if self.unix_path else _split(listen)

    def allowed(self) -> set[tuple[str, int | None]]:
        """(host, port) pairs a request may name in Host or Origin (port None: that of a unix socket)."""
        port = None if self.unix_path else self.port
        pairs: set[tuple[str, int | None]] = {(h, port) for h in {self.host, *LOOPBACK_NAMES} if h}
        for origin in self.origins:
            pairs.add(_host_port(origin.split("://", 1)[-1], port))
        return pairs


def settings(value: Any, path: str = "admin") -> Settings:
    """The admin endpoint's settings from the config's ``admin`` value; every mistake at once."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            path, f'expected an object such as {{"listen": "127.0.0.1:2019"}}, got {type(value).__name__}'
        )
    errors = [
        ConfigError(f"{path}.{key}", f"the admin endpoint has no field {key!r}{did_you_mean(str(key), FIELDS)}. "
                    f"Its fields are: {', '.join(FIELDS)}.")
        for key in value if key not in FIELDS
    ]  # fmt: skip
    listen = value.get("listen")
    allow_public = value.get("allow_public", False)
    origins = value.get("origins", [])
    if not isinstance(allow_public, bool):
        errors.append(ConfigError(f"{path}.allow_public", f"expected true or false, got {allow_public!r}"))
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        errors.append(ConfigError(f"{path}.origins", f"expected a list of host[:port] strings, got {origins!r}"))
    if not isinstance(listen, str) or not listen:
        errors.append(ConfigError(f"{path}.listen", "give the address to listen on: '127.0.0.1:2019' or "
                                  "'unix:/path/to/admin.sock'"))  # fmt: skip
    elif not listen.startswith(UNIX):
        try:
            host, _ = _split(listen)
        except ValueError as exc:
            errors.append(ConfigError(f"{path}.listen", str(exc)))
        else:
            if not _is_loopback(host) and allow_public is not True:
                errors.append(ConfigError(
                    f"{path}.listen",
                    f"{listen!r} is not a loopback address: whoever reaches the admin endpoint can replace the "
                    "running config and stop the host, so it listens on 127.0.0.1, ::1, localhost or a unix socket "
                    "unless the config also sets admin.allow_public = true",
                ))  # fmt: skip
    error = config_errors(errors)
    if error is not None:
        raise error
    return Settings(str(listen), bool(allow_public), list(origins))


def _host_port(text: str, default: int | None) -> tuple[str, int | None]:
    """``host[:port]`` (``[::1]:port``) as (host, port), lowercased; no port gives ``default``."""
    text = text.strip().lower()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return host, int(port) if port.isdigit() else default


class Controller(Protocol):
    """What the endpoint drives: the host's live config (:class:`corehost.reload.Live`)."""

    def current_config(self) -> Mapping[str, Any]: ...

    def load(self, config: Mapping[str, Any], *, force: bool, origin: str) -> bool: ...

    def request_stop(self, reason: str) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    server: _TCPServer | _UnixServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the host logs what a load did."""

    def address_string(self) -> str:
        # A unix socket's peer has no address.
        return str(self.client_address[0]) if self.client_address else "unix"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        admin = self.server.admin
        refusal = admin.refusal(self.headers.get("Host"), self.headers.get("Origin"))
        if refusal:
            self._reply(403, {"error": refusal})
            return
        url = urlsplit(self.path)
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self._reply(400, {"error": f"Content-Length {length!r} is not a number of bytes"})
            return
        if int(length) > MAX_BODY:
            self._reply(413, {"error": f"the body is {length} bytes; the admin endpoint reads at most {MAX_BODY}"})
            return
        body = self.rfile.read(int(length))
        if url.path == "/config" or url.path.startswith("/config/"):
            if method != "GET":
                self._reply(
                    405, {"error": f"{method} /config is not supported; GET it, or POST a whole config to /load"}
                )
                return
            self._config(url.path[len("/config") :])
        elif url.path == "/load":
            if method != "POST":
                self._reply(405, {"error": "/load takes POST with a whole config as its body"})
                return
            force = parse_qs(url.query).get("force", ["0"])[-1].lower() in ("1", "true", "yes")
            self._load(body, force)
        elif url.path == "/stop":
            if method != "POST":
                self._reply(405, {"error": "/stop takes POST"})
                return
            self._reply(200, {"stopping": True})
            admin.controller.request_stop("POST /stop on the admin endpoint")
        else:
            endpoints = "GET /config[/path], POST /load, POST /stop"
            self._reply(404, {"error": f"no such endpoint {url.path!r}; there are {endpoints}"})

    def _config(self, path: str) -> None:
        value: Any = self.server.admin.controller.current_config()
        walked = "/config"
        for segment in (unquote(s) for s in path.split("/") if s):
            walked += f"/{segment}"
            if isinstance(value, Mapping) and segment in value:
                value = value[segment]
            elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
                value = value[int(segment)]
            else:
                self._reply(404, {"error": f"the running config has nothing at {walked}"})
                return
        self._reply(200, value)

    def _load(self, body: bytes, force: bool) -> None:
        source = "POST /load"
        is_toml = self.headers.get_content_type() == "application/toml"
        try:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(source, f"the body is not valid UTF-8 (byte {exc.start})") from None
            config = parse_config(text, "toml" if is_toml else "json", source=source)
            loaded = self.server.admin.controller.load(config, force=force, origin=source)
        except CorehostError as exc:
            self._reply(400, {"error": exc.message})
            return
        except Exception as exc:
            self._reply(500, {"error": f"unexpected {type(exc).__name__}: {exc}"})
            return
        self._reply(200, {"loaded": loaded})

    def _reply(self, status: int, data: Any) -> None:
        body = (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class _TCPServer(ThreadingHTTPServer):
    admin: AdminServer

    def server_bind(self) -> None:
        # TCPServer's bind only: HTTPServer's also looks the host's name up, which can wait on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _IPv6Server(_TCPServer):
    address_family = socket.AF_INET6


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    admin: AdminServer
    daemon_threads = True


class AdminServer:
    """The endpoint for one :class:`Settings`, serving ``controller`` from :meth:`start` to :meth:`close`."""

    def __init__(self, settings: Settings, controller: Controller) -> None:
        self.settings = settings
        self.controller = controller
        self._server: _TCPServer | _UnixServer | None = None
        self._thread: threading.Thread | None = None

    def refusal(self, host: str | None, origin: str | None) -> str:
        """Why a request with these Host and Origin headers is refused ('' when it is not)."""
        allowed = self.settings.allowed()
        names = {h for h, _ in allowed}
        default = None if self.settings.unix_path else self.settings.port
        if host is None:
            return "a request to the admin endpoint must have a Host header"
        name, port = _host_port(host, None)
        if (name, port) not in allowed and not (port is None and name in names):
            return f"Host {host!r} is not allowed: the admin endpoint answers only to {_listing(allowed)}"
        if origin is not None:
            parts = urlsplit(origin)
            pair = (parts.hostname or "", parts.port if parts.port is not None else default)
            if pair not in allowed:
                return (
                    f"Origin {origin!r} is not allowed: the admin endpoint answers only to {_listing(allowed)} "
                    "(add the origin to admin.origins to allow it)"
                )
        return ""

    def start(self) -> None:
        """Listen and serve in a thread; :class:`AdminError` names the address when it cannot listen."""
        try:
            self._server = self._bind()
        except OSError as exc:
            raise AdminError(
                f"admin: the admin endpoint cannot listen on {self.settings.listen!r}: {exc.strerror or exc} "
                "(change admin.listen, or stop what holds it)"
            ) from exc
        self._server.admin = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="corehost admin",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _bind(self) -> _TCPServer | _UnixServer:
        path = self.settings.unix_path
        if not path:
            cls = _IPv6Server if ":" in self.settings.host else _TCPServer
            return cls((self.settings.host, self.settings.port), _Handler)
        _remove_stale_socket(path)
        server = _UnixServer(path, _Handler)
        # Only the host's own user may drive it.
        os.chmod(path, 0o600)
        return server

    def close(self) -> None:
        """Stop listening (a request being answered is finished first) and remove a unix socket's file."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self.settings.unix_path:
            try:
                os.unlink(self.settings.unix_path)
            except FileNotFoundError:
                pass


def _listing(allowed: set[tuple[str, int | None]]) -> str:
    return ", ".join(sorted(f"[{h}]:{p}" if ":" in h and p else f"{h}:{p}" if p else h for h, p in allowed))


def _remove_stale_socket(path: str) -> None:
    """A socket file nothing listens on (a host that was killed) is removed; a live one is left to fail bind."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)
        except OSError:
            pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(address: str, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:  # fmt: skip
    """Send one request to the admin endpoint at ``address``: (status, decoded JSON answer)."""
    conn: http.client.HTTPConnection
    if address.startswith(UNIX):
        conn = _UnixConnection(address[len(UNIX) :], CLIENT_TIMEOUT)
    else:
        try:
            host, port = _split(address)
        except ValueError as exc:
            raise AdminError(f"--address: {exc}") from None
        conn = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
    try:
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except OSError as exc:
        raise AdminError(
            f"cannot reach the admin endpoint at {address!r}: {getattr(exc, 'strerror', None) or exc} "
            "(is the host running, with this address as admin.listen in its config?)"
        ) from None
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, {"error": raw.decode("utf-8", "replace")}
