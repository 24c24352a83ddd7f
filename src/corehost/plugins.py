"""Hookimpl plugins: imported on demand and registered with pluggy.

A plugin is imported the first time one of the hooks it implements is
called. When the registry knows which hooks a plugin implements (a frozen
registry records it at build time) that is exact; otherwise the first hook
call imports every plugin. A plugin that fails to import or register is
reported with its distribution and skipped, so one broken plugin does not
take the host down; with ``strict`` it is an error instead.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from corehost import hookspecs
from corehost.errors import PluginLoadError
from corehost.hookspecs import PROJECT
from corehost.registry import PluginInfo, Registry, import_target

if TYPE_CHECKING:
    import pluggy

    from corehost.hostspec import HostSpec


def new_manager(spec: HostSpec) -> pluggy.PluginManager:
    """A pluggy manager that knows corehost's hookspecs and those of ``spec``'s host."""
    # Both import pluggy: a run that calls no hook never makes a manager.
    import pluggy

    from corehost.markers import hookspec

    for spec_function in hookspecs.ALL:
        hookspec(spec_function)
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for target in spec.hookspecs:
        try:
            pm.add_hookspecs(import_target(target))
        except Exception as exc:
            raise PluginLoadError(
                spec.distribution,
                f"hookspecs {target!r} of host {spec.name!r}",
                f"{type(exc).__name__}: {exc}. Fix the 'hookspecs' of the host's HostSpec, or reinstall the host.",
            ) from exc
    return pm


def has_hookspecs(module: ModuleType) -> bool:
    """Whether a plugin module declares hooks of its own."""
    return any(hasattr(getattr(module, n, None), f"{PROJECT}_spec") for n in dir(module))


class Plugins:
    """The host's pluggy manager, filled lazily from a registry."""

    def __init__(
        self,
        registry: Registry,
        *,
        strict: bool = False,
        report: Callable[[PluginLoadError], None] | None = None,
    ) -> None:
        self._pm: pluggy.PluginManager | None = None
        self.spec = registry.spec
        self.strict = strict
        self.report = self._warn if report is None else report
        self.failures: list[PluginLoadError] = []
        self._pending: dict[str, PluginInfo] = dict(registry.plugins)

    def _warn(self, error: PluginLoadError) -> None:
        print(
            f"{self.spec.name}: warning: {error} (the host goes on without it; --strict makes this an error)",
            file=sys.stderr,
        )

    @property
    def pm(self) -> pluggy.PluginManager:
        """The pluggy manager, made on first use: a run that calls no hook never imports pluggy."""
        if self._pm is None:
            self._pm = new_manager(self.spec)
        return self._pm

    def load(self, hook: str | None = None) -> None:
        """Import and register the pending plugins that may implement ``hook``.

        Modules are all imported before any is registered, so that hookspecs
        a plugin declares are known when another plugin's impls are checked.
        """
        if not self._pending:
            return
        batch = [p for p in self._pending.values() if hook is None or p.hooks is None or hook in p.hooks]
        imported: list[tuple[PluginInfo, ModuleType]] = []
        for info in batch:
            del self._pending[info.name]
            try:
                # What a plugin prints while being imported goes to stderr, so that
                # it cannot corrupt a command's output (``list-modules --json``).
                with contextlib.redirect_stdout(sys.stderr):
                    module = info.load()
            except PluginLoadError as exc:
                self._fail(exc)
            else:
                imported.append((info, module))
        for _, module in imported:
            if has_hookspecs(module):
                self.pm.add_hookspecs(module)
        for info, module in imported:
            try:
                self.pm.register(module, name=info.name)
            except Exception as exc:  # pluggy.PluginValidationError, ValueError for a name clash
                self._fail(PluginLoadError(info.distribution, f"plugin {info.name!r}", str(exc)))

    def _fail(self, error: PluginLoadError) -> None:
        if self.strict:
            raise error
        self.failures.append(error)
        self.report(error)

    def call(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call ``hook`` on every plugin that implements it (pluggy's 1:N call)."""
        if self._pending:
            self.load(hook)
        if self._pm is None:
            return []
        caller = getattr(self._pm.hook, hook, None)
        if caller is None:
            return []
        result: list[Any] = caller(**kwargs)
        return result
