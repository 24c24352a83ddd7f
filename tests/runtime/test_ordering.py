"""Ordered namespaces: one chain order from the modules' before/after declarations, the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import pytest

from corehost import Context
from corehost.errors import ConfigError, OrderError
from corehost.guards import check
from corehost.ordering import Declaration, ordered, resolve
from corehost.registry import Registry
from tests.conftest import MakeVenv


def decl(before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> Declaration:
    return tuple(f"ns.{n}" for n in before), tuple(f"ns.{n}" for n in after)


def order_of(declarations: Mapping[str, Declaration]) -> list[str]:
    return [m.removeprefix("ns.") for m in resolve("ns", declarations, {m: "dist-x" for m in declarations})]


def test_before_and_after_place_modules_and_ties_go_by_module_id() -> None:
    assert order_of({"ns.c": decl(), "ns.b": decl(), "ns.a": decl()}) == ["a", "b", "c"]
    # z comes before a because it says so; b and c, tied, keep ID order around them.
    assert order_of({"ns.a": decl(), "ns.b": decl(), "ns.c": decl(), "ns.z": decl(before=("a",))}) == [
        "b", "c", "z", "a",
    ]  # fmt: skip
    assert order_of({"ns.a": decl(after=("c",)), "ns.b": decl(), "ns.c": decl(after=("b",))}) == ["b", "c", "a"]


def test_a_cycle_names_its_modules_their_distributions_and_the_declarations_to_drop() -> None:
    with pytest.raises(OrderError) as caught:
        order_of(
            {"ns.a": decl(before=("b",)), "ns.b": decl(before=("c",)), "ns.c": decl(before=("a",)), "ns.d": decl()}
        )
    assert caught.value.modules == ("ns.a", "ns.b", "ns.c")
    assert caught.value.message == (
        "the modules of ordered namespace 'ns' declare a cycle: ns.a (distribution dist-x) before ns.b "
        "(distribution dist-x) before ns.c (distribution dist-x) before ns.a. The declarations that make it: "
        "a's corehost_before names 'b'; b's corehost_before names 'c'; c's corehost_before names 'a'. Drop one "
        "of these names from its corehost_before or corehost_after so that the modules have one order."
    )


def test_a_reference_to_a_module_that_is_not_there_names_both_and_the_fix() -> None:
    with pytest.raises(OrderError) as caught:
        order_of({"ns.a": decl(after=("gone",)), "ns.b": decl()})
    assert caught.value.modules == ("ns.a", "ns.gone")
    assert caught.value.message == (
        "module 'ns.a' (distribution dist-x) declares corehost_after = ('gone',), but ordered namespace 'ns' has "
        "no module 'gone' here (its modules: a, b). Add the plugin that provides 'ns.gone', or drop 'gone' from "
        "corehost_after."
    )
    # A module an allow or block list left out is no error: it only places nothing.
    assert resolve("ns", {"ns.a": decl(after=("gone",))}, {}, absent={"ns.gone"}) == ["ns.a"]


@ordered
class Step(Protocol):
    def step(self) -> str: ...


class Headers:
    corehost_before: ClassVar[tuple[str, ...]] = ("respond",)

    def step(self) -> str:
        return "headers"


class Rewrite:
    corehost_before: ClassVar[tuple[str, ...]] = ("steps.headers",)

    def step(self) -> str:
        return "rewrite"


class Respond:
    def step(self) -> str:
        return "respond"


def steps_registry(**extra: Any) -> Registry:
    registry = Registry()
    registry.add_namespace("steps", Step)
    for name, cls in {"headers": Headers, "rewrite": Rewrite, "respond": Respond, **extra}.items():
        registry.add_module(f"steps.{name}", cls)
    return registry


def test_a_live_registry_resolves_the_order_from_the_classes_and_keeps_it() -> None:
    registry = steps_registry()
    assert [m.short_name for m in registry.order("steps")] == ["rewrite", "headers", "respond"]
    assert registry.orders == {"steps": ["steps.rewrite", "steps.headers", "steps.respond"]}
    assert registry.ordered_namespaces() == ["steps"]
    assert check(registry, versions=False) == []


def test_an_unordered_namespace_is_listed_by_id() -> None:
    class Plain(Protocol):
        def step(self) -> str: ...

    registry = Registry()
    registry.add_namespace("plain", Plain)
    registry.add_module("plain.b", Headers)
    registry.add_module("plain.a", Respond)
    assert [m.short_name for m in registry.order("plain")] == ["a", "b"]
    assert registry.orders == {} and registry.ordered_namespaces() == []


def test_a_map_of_modules_loaded_ordered_runs_in_chain_order_a_list_as_written() -> None:
    ctx = Context(steps_registry())
    table = ctx.load_module({"respond": {}, "steps.headers": {}, "rewrite": {}}, "steps", ordered=True)
    assert [s.step() for s in table.values()] == ["rewrite", "headers", "respond"]
    assert list(table) == ["rewrite", "steps.headers", "respond"]
    listed = ctx.load_module([{"module": "respond"}, {"module": "rewrite"}], "steps", ordered=True)
    assert [s.step() for s in listed] == ["respond", "rewrite"]
    unordered = ctx.load_module({"respond": {}, "rewrite": {}}, "steps")
    assert list(unordered) == ["respond", "rewrite"]


def test_a_map_with_an_unknown_module_reports_it_and_a_cycle_names_the_config_path() -> None:
    ctx = Context(steps_registry())
    with pytest.raises(ConfigError, match=r"^routes\.nope: unknown module 'steps\.nope'"):
        ctx.load_module({"nope": {}, "respond": {}}, "steps", ordered=True, field="routes")

    class Loop:
        corehost_after: ClassVar[tuple[str, ...]] = ("respond",)
        corehost_before: ClassVar[tuple[str, ...]] = ("rewrite",)

        def step(self) -> str:
            return "loop"

    looped = steps_registry(loop=Loop)
    with pytest.raises(ConfigError, match=r"^routes: the modules of ordered namespace 'steps' declare a cycle"):
        Context(looped).load_module({"respond": {}}, "steps", ordered=True, field="routes")
    problems = check(looped, versions=False)
    assert [(p.kind, p.name, p.distribution) for p in problems] == [("module", "steps.headers", "__main__")]
    assert "declare a cycle: steps.headers (distribution __main__) before steps.respond" in problems[0].message


def test_a_declaration_that_is_not_a_tuple_of_names_is_a_problem_of_its_module() -> None:
    class Wrong:
        corehost_after = "respond"

        def step(self) -> str:
            return "wrong"

    problems = check(steps_registry(wrong=Wrong), versions=False)
    assert [str(p) for p in problems] == [
        "error: module 'steps.wrong' (distribution __main__): has corehost_after = 'respond'; it must be a "
        "tuple of module names of namespace 'steps', e.g. "
        "corehost_after = ('file_server',)."
    ]


def test_a_live_environment_lists_an_ordered_namespace_in_chain_order(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost", "fixture-order-base", "fixture-order-extra")
    listed = venv.corehost("list-modules", "--namespace", "chain.steps", "--packages")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "chain.steps.early  fixture-order-extra",
        "chain.steps.mid  fixture-order-base",
        "chain.steps.omega  fixture-order-base",
        "chain.steps.alpha  fixture-order-base",
    ]
    # Without --namespace the listing stays by ID (and imports no module).
    assert venv.corehost("list-modules").stdout.splitlines() == [
        "chain.steps.alpha", "chain.steps.early", "chain.steps.mid", "chain.steps.omega",
    ]  # fmt: skip
    info = venv.corehost("build-info")
    assert "order of chain.steps: early, mid, omega, alpha" in info.stdout.splitlines(), info.stdout
    # Leaving the extra out by the block list drops early from the order, and nothing else changes.
    blocked = venv.corehost(
        "list-modules", "--namespace", "chain.steps", env={"COREHOST_DISABLE_PLUGINS": "fixture-order-extra"}
    )
    assert blocked.stdout.splitlines() == ["chain.steps.mid", "chain.steps.omega", "chain.steps.alpha"]


def test_a_live_cycle_fails_check_and_the_listing_but_build_info_still_answers(make_venv: MakeVenv) -> None:
    venv = make_venv("corehost", "fixture-order-base", "fixture-order-cycle")
    cycle = (
        "the modules of ordered namespace 'chain.steps' declare a cycle: chain.steps.alpha (distribution "
        "fixture-order-base) before chain.steps.loop (distribution fixture-order-cycle) before chain.steps.omega "
        "(distribution fixture-order-base) before chain.steps.alpha."
    )
    checked = venv.corehost("check")
    assert checked.returncode == 1
    assert f"error: module 'chain.steps.alpha' (distribution fixture-order-base): {cycle}" in checked.stdout
    listed = venv.corehost("list-modules", "--namespace", "chain.steps")
    assert (listed.returncode, listed.stdout) == (1, "")
    assert listed.stderr.startswith(f"corehost: error: {cycle}"), listed.stderr
    info = venv.corehost("build-info")
    assert info.returncode == 0, info.stderr
    assert f"order of chain.steps: cannot be resolved: {cycle}" in info.stdout
