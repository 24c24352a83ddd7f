"""The host: runs a config through the whole lifecycle, and undoes it safely.

Order, as in Caddy: every app (and, through the context, every guest module)
is built, provisioned and validated; then the apps are started in config
order; on shutdown they are stopped in reverse order and every module is
cleaned up in reverse order. If anything fails part way, what was started is
stopped and what was provisioned is cleaned up, and the error names the
module and its config path.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from corehost.config import check_shape
from corehost.context import Context
from corehost.discovery import environment_registry
from corehost.errors import (
    CleanupErrors,
    ConfigError,
    CorehostError,
    GuardError,
    LifecycleError,
    Stopped,
    config_errors,
)
from corehost.hooks import HostHooks
from corehost.hostspec import COREHOST, HostSpec
from corehost.plugins import Plugins
from corehost.registry import Registry
from corehost.reload import Live, admin_settings


class Running:
    """A provisioned config: its context and its apps (started or not).

    A plain class, like the host's others, not a dataclass: a run reads this module.
    """

    __slots__ = ("apps", "ctx", "started")

    def __init__(self, ctx: Context, apps: dict[str, Any], started: list[str] | None = None) -> None:
        self.ctx = ctx
        self.apps = apps
        self.started: list[str] = [] if started is None else started


class Host:
    """A registry plus the plugins' hooks: everything needed to run configs.

    Without a registry, the host takes this environment's for ``spec``
    (corehost's own by default; see :class:`~corehost.hostspec.HostSpec`).
    """

    def __init__(self, registry: Registry | None = None, *, strict: bool = False, spec: HostSpec = COREHOST) -> None:
        self.registry = environment_registry(spec=spec) if registry is None else registry
        self.spec = self.registry.spec
        self.plugins = Plugins(self.registry, strict=strict)
        #: Typed hook calls: ``host.hooks.corehost_stopping(reason=...)``, ``host.hooks.call(spec, ...)``.
        self.hooks = HostHooks(self.plugins)
        self._hook_modules_added = False
        #: The signal that stopped the last :meth:`run` (0 when an app stopped it), for the exit code.
        self.stop_signal = 0
        #: The error that stopped the last :meth:`run`, when a module failed (an isolated module's worker),
        #: for the exit code.
        self.stop_error: CorehostError | None = None
        # Generated modules are made on the first lookup that needs them, not at start-up:
        # most runs never touch them, and the hook imports the plugins that make them.
        self.registry.generate = self.add_generated_modules

    @classmethod
    def from_objects(
        cls,
        *,
        modules: Mapping[str, Callable[..., Any]] | None = None,
        namespaces: Mapping[str, type] | None = None,
        plugins: Mapping[str, object] | None = None,
        spec: HostSpec = COREHOST,
        strict: bool = True,
    ) -> Host:
        """A host composed in code, with no entry points: the scheduler-framework style.

        ``modules`` maps module IDs to classes or factories, ``namespaces``
        names to interfaces, ``plugins`` names to hookimpl objects (modules,
        classes or instances with ``@hookimpl`` methods). The interface
        guards run on them before the host is returned, exactly as ``corehost
        check`` runs them on installed plugins, and any error raises
        :class:`~corehost.errors.GuardError`; ``strict`` (the default here,
        since nothing is optional in code) makes a plugin that fails to
        register an error rather than a warning later.
        """
        # Only a host composed in code runs the guards here: a host of installed plugins never imports them.
        from corehost.guards import check, errors

        registry = Registry.for_host(spec)
        for name, interface in (namespaces or {}).items():
            registry.add_namespace(name, interface)
        for module_id, factory in (modules or {}).items():
            registry.add_module(module_id, factory)
        for name, plugin in (plugins or {}).items():
            registry.add_plugin(name, plugin)
        problems = errors(check(registry, versions=False))
        if problems:
            raise GuardError(problems)
        return cls(registry, strict=strict)

    def add_generated_modules(self) -> None:
        """Let plugins register modules they generate (once per host).

        A frozen registry already lists them (the build recorded them), so
        listing needs no hook; a lookup of one runs it through the registry.
        """
        if not self._hook_modules_added:
            self._hook_modules_added = True
            self.registry.generate = None
            self.hooks.corehost_register_modules(registry=self.registry)

    def list_modules(self) -> None:
        """Make the registry complete for listing: generated modules included."""
        if not self.registry.frozen:
            self.add_generated_modules()

    def provision(self, config: Mapping[str, Any], *, on_ready: Callable[[Context], None] | None = None) -> Running:
        """Build, provision and validate every app; clean up if any fails.

        ``on_ready`` is called once everything is provisioned, still inside
        the clean-up guard, so that a signal arriving just before it returns
        cannot leave provisioned modules behind.
        """
        # A config passed in code has not been through the loader: check its shape the same way.
        config = check_shape(config)
        self.hooks.corehost_config_loaded(config=config)
        ctx = Context(self.registry, config, hooks=self.hooks)
        apps: dict[str, Any] = {}
        errors: list[ConfigError] = []
        try:
            for app_id, app_config in config.get("apps", {}).items():
                # Go on past a config error, so that every app's errors are reported at once.
                try:
                    apps[app_id] = ctx.load(app_id, app_config, f"apps.{app_id}")
                except ConfigError as exc:
                    errors.append(exc)
            error = config_errors(errors)
            if error is not None:
                raise error
            if on_ready is not None:
                on_ready(ctx)
        except BaseException:
            _cleanup_after_failure(ctx)
            raise
        return Running(ctx, apps)

    @contextmanager
    def context(self, config: Mapping[str, Any] | None = None) -> Iterator[Context]:
        """A context for loading modules outside a config run (e.g. in a command).

        Everything loaded through it is cleaned up when the block ends.
        """
        ctx = Context(self.registry, config, hooks=self.hooks)
        try:
            yield ctx
        finally:
            ctx.cleanup()

    def validate(self, config: Mapping[str, Any], *, handle_signals: bool = True) -> None:
        """Provision and validate everything, start nothing, clean up.

        SIGINT/SIGTERM abort it as they abort a run's set-up: what was
        provisioned is cleaned up and :class:`Stopped` is raised.
        """
        with _signals(handle_signals) as state:
            admin_settings(config)
            running = self.provision(config, on_ready=state.set_shutting_down)
            running.ctx.cleanup()
            if state.signum:
                raise Stopped(state.signum)

    def start(self, running: Running) -> None:
        """Start the apps in config order; on failure stop those started, clean up."""
        for app_id, app in running.apps.items():
            try:
                start = getattr(app, "start", None)
                if start is not None:
                    start()
            except BaseException as exc:
                # Undo what was done; a failure while undoing must not hide
                # the start failure that caused it.
                try:
                    self._stop_apps(running)
                except CorehostError:
                    pass
                finally:
                    _cleanup_after_failure(running.ctx)
                if isinstance(exc, Exception) and not isinstance(exc, CorehostError):
                    raise LifecycleError(app_id, f"apps.{app_id}", "start", exc, self._distribution(app_id)) from exc
                raise
            running.started.append(app_id)
        self.hooks.corehost_apps_started(apps=dict(running.apps))

    def shutdown(self, running: Running, reason: str) -> None:
        """Stop every started app in reverse order, then clean up every module."""
        self.hooks.corehost_stopping(reason=reason)
        self.stop_config(running)

    def stop_config(self, running: Running) -> None:
        """Stop ``running``'s started apps in reverse order, then clean up its modules; every failure at once.

        The host itself goes on: a reload stops the config it replaced this way.
        """
        errors: list[str] = []
        try:
            self._stop_apps(running)
        except CorehostError as exc:
            errors.append(str(exc))
        try:
            running.ctx.cleanup()
        except CorehostError as exc:
            errors.append(str(exc))
        if errors:
            raise CleanupErrors("; ".join(errors))

    def _distribution(self, module_id: str) -> str:
        info = self.registry.modules.get(module_id)
        return info.distribution if info is not None else ""

    def _stop_apps(self, running: Running) -> None:
        errors: list[str] = []
        while running.started:
            app_id = running.started.pop()
            try:
                stop = getattr(running.apps[app_id], "stop", None)
                if stop is not None:
                    stop()
            except Exception as exc:
                errors.append(str(LifecycleError(app_id, f"apps.{app_id}", "stop", exc, self._distribution(app_id))))
        if errors:
            raise CleanupErrors("; ".join(errors))

    def run(
        self,
        config: Mapping[str, Any],
        *,
        handle_signals: bool = True,
        reread: Callable[[], Mapping[str, Any]] | None = None,
    ) -> str:
        """Run ``config`` until an app, a signal or the admin endpoint asks to stop; return why it stopped.

        The config in force can be replaced while it runs (:mod:`corehost.reload`):
        through its admin endpoint, if it names one, and on SIGHUP by what
        ``reread`` returns (the CLI's re-reads the config file).
        """
        with _signals(handle_signals, hangup=reread is not None) as state:
            config = check_shape(config)
            admin_settings(config)
            running = self.provision(config, on_ready=state.set_ctx)
            self.start(running)
            live = Live(self, config, running)
            try:
                live.open_admin()
            except BaseException:
                self.shutdown(running, "the admin endpoint could not start")
                raise
            state.stop = live.request_stop
            while not live.wait(0.2):
                if state.hangup and reread is not None:
                    state.hangup = False
                    live.reload(reread, "SIGHUP")
            reason = live.reason
            state.shutting_down = True
            # Read before shutdown: a signal during it is only noted, and did not stop the run.
            self.stop_signal = state.signum
            ctx = live.running.ctx
            self.stop_error = ctx.stop_error if reason == ctx.stop_reason else None
            live.close(reason)
            return reason


def _cleanup_after_failure(ctx: Context) -> None:
    """Clean up after a failure without hiding the failure itself."""
    try:
        ctx.cleanup()
    except CorehostError:
        pass


class _SignalState:
    """What the signal handler of a run or validate knows: how to stop once set up, the signals, the phase."""

    __slots__ = ("hangup", "shutting_down", "signum", "stop")

    def __init__(self) -> None:
        #: Asks the running config to stop: the first context's, then the live config's.
        self.stop: Callable[[str], None] | None = None
        self.signum = 0
        self.shutting_down = False
        #: A SIGHUP arrived and the run has not reloaded for it yet.
        self.hangup = False

    # From here on a signal no longer aborts set-up: it asks the apps to stop.
    def set_ctx(self, ctx: Context) -> None:
        self.stop = ctx.request_stop

    # From here on a signal is only noted (validate's clean-up).
    def set_shutting_down(self, ctx: Context) -> None:
        self.shutting_down = True


@contextmanager
def _signals(enabled: bool, *, hangup: bool = False) -> Iterator[_SignalState]:
    """SIGINT/SIGTERM: during set-up, abort it; while running, ask to stop. SIGHUP (``hangup``): reload.

    Once shutdown has begun a further signal is only noted, so that a
    second Ctrl-C cannot cut cleanup short. A SIGHUP is only noted: the
    run's loop reloads, outside the handler.
    """
    state = _SignalState()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        state.signum = state.signum or signum
        if state.shutting_down:
            return
        if state.stop is None:
            # Set-up is aborted; the clean-up that follows must not be cut
            # short by a second signal.
            state.shutting_down = True
            raise Stopped(signum)
        state.stop(f"signal {signal.Signals(signum).name}")

    def on_hangup(signum: int, frame: FrameType | None) -> None:
        state.hangup = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    if hangup and hasattr(signal, "SIGHUP"):
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


__all__ = ["Host", "Running", "Stopped"]
