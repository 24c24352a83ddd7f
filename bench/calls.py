"""Benchmark 5: what a call costs once everything is loaded (in-process, timeit).

A module is a plain instance of the plugin's class: a method call through
the instance the registry built must cost what a direct call costs. A hook
call goes through :class:`corehost.hooks.HostHooks` (typed) and
:class:`corehost.plugins.Plugins` (lazy loading) before pluggy's own
caller, so it is compared with calling pluggy's caller directly, over the
same 1 or 10 hookimpls.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from bench.stats import Sample, alternate


def _per_call(stmt: Callable[[], object], number: int) -> Callable[[], float]:
    timer = timeit.Timer(stmt)
    return lambda: timer.timeit(number) / number


def module_calls(runs: int, number: int) -> dict[str, Sample]:
    """``greeters.en``'s ``greet`` through the registry's instance vs a directly made one."""
    from corehost_greeter_en import English

    from corehost.context import Context
    from corehost.discovery import discover

    ctx = Context(discover())
    via_registry = ctx.load("greeters.en", {}, "bench")
    if type(via_registry) is not English:
        raise AssertionError(f"the registry handed out {type(via_registry)!r}, not the plugin's own class")
    direct = English()
    return alternate(
        {
            "direct call": _per_call(lambda: direct.greet("Bob"), number),
            "through the registry's instance": _per_call(lambda: via_registry.greet("Bob"), number),
        },
        runs,
    )


def _impls(count: int) -> list[Any]:
    from corehost.markers import hookimpl

    plugins = []
    for _ in range(count):

        class Impl:
            @hookimpl
            def corehost_stopping(self, reason: str) -> None:
                return None

        plugins.append(Impl())
    return plugins


def hook_calls(impls: int, runs: int, number: int) -> dict[str, Sample]:
    """``corehost_stopping`` through the host's hooks vs pluggy's own caller, ``impls`` hookimpls each."""
    import pluggy

    from corehost import hookspecs
    from corehost.hooks import HostHooks
    from corehost.plugins import PROJECT, Plugins, new_manager
    from corehost.registry import Registry

    registry = Registry.for_host()
    for i, obj in enumerate(_impls(impls)):
        registry.add_plugin(f"p{i}", obj)
    plugins = Plugins(registry)
    hooks = HostHooks(plugins)
    hooks.corehost_stopping(reason="bench")  # the first call imports and registers

    pm: pluggy.PluginManager = new_manager(registry.spec)
    assert pm.project_name == PROJECT
    for i, obj in enumerate(_impls(impls)):
        pm.register(obj, name=f"p{i}")
    caller = pm.hook.corehost_stopping
    direct = _impls(1)[0].corehost_stopping
    if len(caller.get_hookimpls()) != impls or len(plugins.pm.hook.corehost_stopping.get_hookimpls()) != impls:
        raise AssertionError("hookimpls were not all registered")
    _ = hookspecs
    sides: dict[str, Callable[[], float]] = {
        "pluggy pm.hook.corehost_stopping()": _per_call(lambda: caller(reason="bench"), number),
        "host.hooks.corehost_stopping()": _per_call(lambda: hooks.corehost_stopping(reason="bench"), number),
    }
    if impls == 1:
        sides["direct function call"] = _per_call(lambda: direct(reason="bench"), number)
    return alternate(sides, runs)
