"""Live reload: the running config replaced by another, as Caddy's ``POST /load`` replaces it.

The new config is decoded, provisioned, validated and started while the old
one still runs; only then is the old one stopped and cleaned up. If any step
of the new one fails, what was started of it is stopped and cleaned up, the
old one goes on as if nothing happened, and the error goes back to whoever
asked (the admin endpoint's caller, or the log for SIGHUP). Loads are serial,
and the host's own shutdown waits for a load in progress.

Apps see a reload as two configs overlapping for a moment: an app that holds
something both configs use (the http app's listening sockets) shares it
between the two instances, so nothing is closed that the new one needs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from corehost.config import check_shape
from corehost.errors import AdminError, CorehostError

if TYPE_CHECKING:
    from corehost.admin import AdminServer, Settings
    from corehost.host import Host, Running


def admin_settings(config: Mapping[str, Any]) -> Settings | None:
    """The checked ``admin`` settings of ``config``, or None when it names no admin endpoint."""
    if "admin" not in config:
        return None
    # The admin endpoint's module (http.server and its imports) only for a config that names one.
    from corehost.admin import settings

    return settings(config["admin"])


class Live:
    """The host's running config, which the admin endpoint and SIGHUP can replace."""

    def __init__(self, host: Host, config: Mapping[str, Any], running: Running) -> None:
        self.host = host
        self.config = dict(config)
        self.running = running
        self.admin: AdminServer | None = None
        self.stop_requested = threading.Event()
        self.stop_reason = ""
        # Set by every stop request, of the host or of the running config's context, so that wait()
        # returns at once rather than at its next poll (a one-shot app's run would end up to 0.2 s late).
        self._wake = threading.Event()
        running.ctx.on_stop = self._wake.set
        self._lock = threading.Lock()
        self._closed = False

    def log(self, message: str) -> None:
        print(f"{self.host.spec.name}: {message}", file=sys.stderr, flush=True)

    def request_stop(self, reason: str) -> None:
        """Ask the host to stop (a signal handler may call it: it takes no lock)."""
        if not self.stop_requested.is_set():
            self.stop_reason = reason
            self.stop_requested.set()
        self._wake.set()

    def _stopping(self) -> bool:
        return self.stop_requested.is_set() or self.running.ctx.stop_requested.is_set()

    def wait(self, timeout: float) -> bool:
        """True once a stop was asked for: of the host, or by an app of the running config.

        Returns as soon as one is asked for, or after ``timeout`` (the caller's chance to act on SIGHUP).
        """
        if not self._stopping():
            self._wake.wait(timeout)
            self._wake.clear()
        return self._stopping()

    @property
    def reason(self) -> str:
        return self.stop_reason or self.running.ctx.stop_reason

    def current_config(self) -> Mapping[str, Any]:
        return self.config

    def open_admin(self) -> None:
        """Start the admin endpoint the running config names, if any (the first config's start)."""
        settings = admin_settings(self.config)
        if settings is not None:
            self.admin = self._start_admin(settings)

    def _start_admin(self, settings: Settings) -> AdminServer:
        # As in admin_settings: http.server only when an endpoint is named.
        from corehost.admin import AdminServer

        server = AdminServer(settings, self)
        server.start()
        return server

    def load(self, config: Mapping[str, Any], *, force: bool = False, origin: str = "reload") -> bool:
        """Replace the running config with ``config``; False when it is the same and not forced.

        Raises the :class:`~corehost.errors.CorehostError` of the step that
        failed (and logs it); the running config is then untouched.
        """
        try:
            return self._load(config, force=force, origin=origin)
        except CorehostError as exc:
            self.log(f"reload refused ({origin}); the running config keeps serving: {exc.message}")
            raise

    def _load(self, config: Mapping[str, Any], *, force: bool, origin: str) -> bool:
        with self._lock:
            if self._closed:
                raise AdminError("the host is stopping; no config is loaded any more")
            config = check_shape(config, origin)
            if config == self.config and not force:
                self.log(f"config unchanged ({origin}); nothing reloaded")
                return False
            settings = admin_settings(config)
            new = self.host.provision(config)
            self.host.start(new)
            admin = self.admin
            try:
                if settings is None:
                    admin = None
                elif self.admin is None or self.admin.settings.listen != settings.listen:
                    admin = self._start_admin(settings)
            except BaseException:
                self._stop_quietly(new)
                raise
            if admin is not None and settings is not None:
                # An endpoint kept on the same address answers to the new config's origins.
                admin.settings = settings
            old, old_admin = self.running, self.admin
            new.ctx.on_stop = self._wake.set
            self.running, self.config, self.admin = new, config, admin
            self._retire(old)
            if old_admin is not None and old_admin is not admin:
                # Closed from its own thread: this load may be answering through it.
                threading.Thread(target=old_admin.close, name="corehost admin close", daemon=True).start()
            self.log(f"config reloaded ({origin})")
            return True

    def reload(self, read: Callable[[], Mapping[str, Any]], origin: str) -> None:
        """Load what ``read`` returns (SIGHUP: the config file again); a failure is logged, not raised."""
        try:
            config = read()
        except CorehostError as exc:
            self.log(f"reload refused ({origin}); the running config keeps serving: {exc.message}")
            return
        try:
            self.load(config, origin=origin)
        except CorehostError:
            pass  # load logged it

    def _stop_quietly(self, running: Running) -> None:
        try:
            self.host.stop_config(running)
        except CorehostError as exc:
            self.log(f"while rolling the new config back: {exc.message}")

    def _retire(self, old: Running) -> None:
        """Stop and clean up the replaced config; its failures are logged (the new one runs on)."""
        try:
            self.host.stop_config(old)
        except CorehostError as exc:
            self.log(f"the replaced config did not stop cleanly: {exc.message}")

    def close(self, reason: str) -> None:
        """No more loads; close the admin endpoint, then stop and clean up the running config."""
        with self._lock:
            self._closed = True
        if self.admin is not None:
            self.admin.close()
        self.host.shutdown(self.running, reason)
