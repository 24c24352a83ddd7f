"""Typed hooks: hook calls and hookimpls that mypy can check.

pluggy calls hooks by name with keyword arguments (``pm.hook.x(reason=...)``),
which no type checker can follow: a misspelt argument or a wrong type
surfaces at run time, in someone else's plugin. Two typed doors avoid that,
both keyed by the hookspec *function itself*, so its signature is the one
source of truth:

- :class:`HostHooks` calls hooks: a method per corehost hookspec
  (``host.hooks.corehost_stopping(reason="...")``), and
  :meth:`HostHooks.call` for any other hookspec, e.g. one a host of its own
  declares (``host.hooks.call(myapp_hooks.myapp_saved, path=p)``);
- :func:`implements` marks a hookimpl and makes mypy check its signature
  against the spec's (``@implements(hookspecs.corehost_stopping)``).

This module imports neither pluggy nor click (nor do the hookspecs it
refers to): the host reads it on every start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from corehost import hookspecs

if TYPE_CHECKING:
    import click

    from corehost.plugins import Plugins
    from corehost.registry import Registry

P = ParamSpec("P")
R = TypeVar("R")


class HostHooks:
    """The host's hook calls, typed by the hookspecs they call.

    Each call imports only the plugins that may implement the hook (see
    :class:`~corehost.plugins.Plugins`) and returns pluggy's list of
    non-``None`` results.
    """

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    def call(self, spec: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> list[R]:
        """Call the hook that ``spec`` declares, with arguments checked against ``spec``.

        pluggy takes keyword arguments only; positional ones are bound to
        the spec's parameter names here, so both spellings work.
        """
        if args:
            # inspect costs milliseconds on every start; only a positional call needs it.
            import inspect

            kwargs = dict(inspect.signature(spec).bind_partial(*args, **kwargs).arguments)  # type: ignore[assignment]
        return self._plugins.call(spec.__name__, **kwargs)

    def corehost_add_commands(self, cli: click.Group) -> None:
        self.call(hookspecs.corehost_add_commands, cli=cli)

    def corehost_register_modules(self, registry: Registry) -> None:
        self.call(hookspecs.corehost_register_modules, registry=registry)

    def corehost_config_loaded(self, config: Mapping[str, Any]) -> None:
        self.call(hookspecs.corehost_config_loaded, config=config)

    def corehost_apps_started(self, apps: Mapping[str, Any]) -> None:
        self.call(hookspecs.corehost_apps_started, apps=apps)

    def corehost_stopping(self, reason: str) -> None:
        self.call(hookspecs.corehost_stopping, reason=reason)


def implements(spec: Callable[P, R]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``@implements(spec)``: a hookimpl of ``spec``'s hook whose signature mypy checks.

    The same as ``@hookimpl(specname=spec.__name__)`` at run time, so the
    function may have any name; for mypy, its parameters and return type must
    be those of ``spec`` (pluggy would also accept a subset of the
    arguments; use plain ``@hookimpl`` for that).
    """

    def mark(impl: Callable[P, R]) -> Callable[P, R]:
        # markers imports pluggy, and this module is read on every start.
        from corehost.markers import hookimpl

        return hookimpl(specname=spec.__name__)(impl)

    return mark
