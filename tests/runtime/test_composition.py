"""Programmatic composition: a host made of objects passed in code, no entry points at all.

Everything here runs in-process, as an application embedding corehost would:
modules, namespaces and hookimpl plugin objects go to ``Host.from_objects``,
the same guards as ``corehost check`` run on them, and the host runs a
config with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

import corehost
from corehost import ConfigError, Context, GuardError, Host, HostSpec, hookimpl, hookspec


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


@dataclass
class English:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"Hello, {name}{self.punctuation}"


class Mute:
    """Lacks ``greet``: the guards must refuse it."""

    def speak(self, name: str) -> str:
        return name


@dataclass
class Greet:
    """App ``greet``: greets ``names`` and asks the host to stop."""

    greeters: list[dict[str, Any]]
    names: list[str] = field(default_factory=lambda: ["World"])

    def provision(self, ctx: Context) -> None:
        self._ctx = ctx
        self._greeters: list[Greeter] = ctx.load_module(self.greeters, namespace="greeters")
        self.lines: list[str] = []

    def start(self) -> None:
        self.lines = [g.greet(n) for g in self._greeters for n in self.names]
        # A host app's own hook, called through the typed facade.
        self._ctx.hooks.call(myapp_greeted, lines=list(self.lines))
        self._ctx.request_stop("greet: done")

    def stop(self) -> None:
        pass


@hookspec
def myapp_greeted(lines: list[str]) -> None:
    """An embedding application's own hook (spec module: this test module)."""


class Recorder:
    """A hookimpl plugin object (an instance, not a module) that records what it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def corehost_config_loaded(self, config: Mapping[str, Any]) -> None:
        self.events.append(("config_loaded", sorted(config["apps"])))

    @hookimpl
    def corehost_apps_started(self, apps: Mapping[str, Any]) -> None:
        self.events.append(("apps_started", sorted(apps)))

    @hookimpl
    def myapp_greeted(self, lines: list[str]) -> None:
        self.events.append(("greeted", lines))

    @hookimpl
    def corehost_stopping(self, reason: str) -> None:
        self.events.append(("stopping", reason))


class WrongArgument:
    @hookimpl
    def corehost_stopping(self, why: str) -> None: ...


class Misspelt:
    @hookimpl
    def corehost_stoping(self, reason: str) -> None: ...


MYAPP = HostSpec(name="myapp", hookspecs=(__name__,))
CONFIG = {"apps": {"greet": {"greeters": [{"module": "en", "punctuation": "?"}], "names": ["Bob", "Ann"]}}}


def compose(**plugins: object) -> Host:
    return Host.from_objects(
        namespaces={"greeters": Greeter},
        modules={"greet": Greet, "greeters.en": English},
        plugins=plugins,
        spec=MYAPP,
    )


def test_a_host_composed_in_code_runs_a_config_and_calls_every_hook() -> None:
    recorder = Recorder()
    host = compose(recorder=recorder)
    assert host.registry.frozen is False
    assert {e.distribution for e in host.registry.entries()} == {"myapp", "__main__"}
    assert host.run(CONFIG, handle_signals=False) == "greet: done"
    assert recorder.events == [
        ("config_loaded", ["greet"]),
        ("greeted", ["Hello, Bob?", "Hello, Ann?"]),
        ("apps_started", ["greet"]),
        ("stopping", "greet: done"),
    ]


def test_composition_needs_no_entry_point_scan() -> None:
    # The composed registry is what the host uses: nothing installed leaks in,
    # although this environment has corehost's greet plugins installed.
    host = compose(recorder=Recorder())
    assert sorted(host.registry.modules) == ["greet", "greeters.en"]
    with host.context() as ctx:
        assert ctx.load("greeters.en", {}, "code").greet("Zoe") == "Hello, Zoe!"


def test_guards_refuse_a_module_that_misses_its_interface() -> None:
    with pytest.raises(GuardError) as caught:
        Host.from_objects(namespaces={"greeters": Greeter}, modules={"greeters.mute": Mute})
    assert caught.value.message == (
        "1 problem(s) found by the interface guards:\n"
        "  - error: module 'greeters.mute' (distribution __main__): missing required method "
        "`def greet(self, name: str) -> str`; add it to Mute (Greeter is the interface of namespace "
        "'greeters', declared by __main__)."
    )


def test_guards_refuse_a_hookimpl_whose_argument_the_spec_lacks() -> None:
    with pytest.raises(GuardError) as caught:
        Host.from_objects(plugins={"wrong": WrongArgument()})
    (problem,) = caught.value.problems
    assert isinstance(problem, corehost.Problem)
    assert (problem.distribution, problem.subject) == ("__main__", "plugin 'wrong'")
    assert "'why'" in problem.message
    assert problem.message.endswith("Rename the hookimpl's arguments to the hookspec's, or drop the extra ones.")


def test_guards_refuse_a_hookimpl_of_no_hook() -> None:
    with pytest.raises(GuardError) as caught:
        Host.from_objects(plugins={"typo": Misspelt()})
    assert [str(p) for p in caught.value.problems] == [
        "error: hookimpl 'corehost_stoping' of plugin 'typo' (distribution __main__): matches no hookspec "
        "(did you mean 'corehost_stopping'?). Fix the name, or mark it @hookimpl(optionalhook=True) if it is "
        "for a plugin that may be absent."
    ]


def test_a_hook_of_the_hosts_own_spec_is_known_only_to_that_host() -> None:
    # Under corehost's spec, myapp's hook is unknown, so the recorder's impl of it is an error.
    with pytest.raises(GuardError) as caught:
        Host.from_objects(plugins={"recorder": Recorder()})
    assert [p.subject for p in caught.value.problems] == ["hookimpl 'myapp_greeted' of plugin 'recorder'"]


def test_a_config_passed_in_code_is_shape_checked_like_a_file() -> None:
    host = Host.from_objects(modules={})
    with pytest.raises(ConfigError, match=r"^apps: expected an object mapping app IDs to their config, got NoneType"):
        host.run({"apps": None}, handle_signals=False)
