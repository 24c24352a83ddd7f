"""Strict decoding: every field checked against its annotation, every error precise.

Pure functions (``check_value``, ``build``) and a :class:`Context` over modules
registered from code; the same rules, end to end through ``corehost run``,
are in ``test_config.py``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pytest

from corehost import ConfigError, Context, LifecycleError, Registry
from corehost.decode import check_value, instantiate
from corehost.errors import ConfigErrors, closest

# --- check_value: one value against one annotation --------------------------------


def error(value: Any, annotation: Any, path: str = "apps.x.f") -> str:
    with pytest.raises(ConfigError) as info:
        check_value(value, annotation, path)
    assert info.value.path.startswith(path)
    return str(info.value)


@pytest.mark.parametrize(
    ("value", "annotation"),
    [("hi", str), (3, int), (2.5, float), (False, bool), (None, None), ({"k": 1}, dict), ([1], list), ("x", Any)],
)
def test_matching_scalars_pass_through_unchanged(value: Any, annotation: Any) -> None:
    assert check_value(value, annotation, "p") == value


def test_wrong_type_names_path_expected_type_and_value() -> None:
    assert error(3, str) == "apps.x.f: expected str, got 3 (int)"
    assert error("3", int) == "apps.x.f: expected int, got '3' (str)"
    assert error([], dict[str, int]) == "apps.x.f: expected dict[str, int], got [] (list)"


def test_bool_is_not_an_int_nor_a_float() -> None:
    assert error(True, int) == "apps.x.f: expected int, got True (bool)"
    assert error(False, float) == "apps.x.f: expected float, got False (bool)"


def test_float_accepts_an_int_and_makes_it_a_float() -> None:
    value = check_value(2, float, "p")
    assert value == 2.0
    assert type(value) is float


def test_str_is_not_a_list_of_str() -> None:
    assert error("ab", list[str]) == "apps.x.f: expected list[str], got 'ab' (str)"


def test_long_values_are_shortened_in_messages() -> None:
    message = error("x" * 100, int)
    assert message == f"apps.x.f: expected int, got '{'x' * 56}... (str)"


def test_optional() -> None:
    assert check_value(None, int | None, "p") is None
    assert check_value(4, int | None, "p") == 4
    assert error("4", int | None) == "apps.x.f: expected int | None, got '4' (str)"
    assert error("4", typing.Optional[int]) == "apps.x.f: expected Optional[int], got '4' (str)"  # noqa: UP045


def test_literal_accepts_only_its_values() -> None:
    assert check_value("b", Literal["a", "b"], "p") == "b"
    assert error("c", Literal["a", "b"]) == "apps.x.f: expected Literal['a', 'b'], got 'c' (str)"


def test_literal_compares_type_as_well_as_value() -> None:
    # True == 1 and 1.0 == 1 in Python; a config that says true means a bool.
    assert error(True, Literal[1, 2]) == "apps.x.f: expected Literal[1, 2], got True (bool)"
    assert error(1.0, Literal[1, 2]) == "apps.x.f: expected Literal[1, 2], got 1.0 (float)"
    assert error(0, Literal[False]) == "apps.x.f: expected Literal[False], got 0 (int)"
    assert check_value(2, Literal[1, 2], "p") == 2


def test_nested_list_and_dict_errors_name_the_exact_element() -> None:
    assert error([1, 2, "x"], list[int]) == "apps.x.f[2]: expected int, got 'x' (str)"
    assert error({"ok": [1], "bad": [1, None]}, dict[str, list[int]]) == (
        "apps.x.f.bad[1]: expected int, got None (NoneType)"
    )
    assert error([{"a": 1.5}], list[dict[str, int]]) == "apps.x.f[0].a: expected int, got 1.5 (float)"


def test_nested_containers_are_converted_element_wise() -> None:
    assert check_value({"a": [1, 2]}, dict[str, list[float]], "p") == {"a": [1.0, 2.0]}
    assert check_value([1, "a"], tuple[int, str], "p") == (1, "a")
    assert check_value([1, 2, 3], tuple[int, ...], "p") == (1, 2, 3)
    assert check_value([1, 1, 2], set[int], "p") == {1, 2}
    assert error([1, "a", 3], tuple[int, str]) == "apps.x.f: expected tuple[int, str], got [1, 'a', 3] (list)"


def test_union_of_containers_tries_every_arm() -> None:
    assert check_value(["a"], list[int] | list[str], "p") == ["a"]
    assert check_value({"k": "v"}, dict[str, int] | dict[str, str], "p") == {"k": "v"}


def test_union_reports_the_deep_error_when_no_arm_fits() -> None:
    assert error(["x"], int | list[int]) == "apps.x.f[0]: expected int, got 'x' (str)"
    assert error("x", int | list[int]) == "apps.x.f: expected int | list[int], got 'x' (str)"


# --- build: a module's config into an instance ------------------------------------


@dataclass
class Limits:
    low: int
    high: float = 10.0


@dataclass
class DataModule:
    """A dataclass module: its fields are the dataclass fields."""

    name: str
    tags: list[str] = field(default_factory=list)
    mode: Literal["fast", "slow"] = "fast"
    limits: Limits | None = None


class PlainModule:
    """A plain class: its annotated class attributes are its fields."""

    KIND: ClassVar[str] = "plain"
    punctuation: str = "!"
    weight: float
    _private: int = 0


def factory_module(count: int, ratio: float = 0.5, **extra: Any) -> dict[str, Any]:
    """A factory function: its parameters are the fields; ``**extra`` takes any others."""
    return {"count": count, "ratio": ratio, "extra": extra}


def strict_factory(count: int, *, label: str = "") -> tuple[int, str]:
    return count, label


def test_dataclass_module_is_built_with_checked_fields() -> None:
    m = instantiate(DataModule, {"name": "n", "tags": ["a"], "mode": "slow", "limits": {"low": 1}}, "apps.d", "d")
    assert m == DataModule("n", ["a"], "slow", Limits(1, 10.0))


def test_unknown_field_names_module_field_and_nearest_known_field() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(DataModule, {"name": "n", "tagz": []}, "apps.greet.greeters[1]", "greeters.dm")
    assert info.value.path == "apps.greet.greeters[1].tagz"
    assert str(info.value) == (
        "apps.greet.greeters[1].tagz: module greeters.dm has no field 'tagz' (did you mean 'tags'?). "
        "Its fields are: name, tags, mode, limits."
    )


def test_unknown_field_with_nothing_close_lists_the_fields() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(PlainModule, {"weight": 1, "zzz": 1}, "apps.p", "p")
    assert str(info.value) == "apps.p.zzz: module p has no field 'zzz'. Its fields are: punctuation, weight."


def test_missing_required_field() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(DataModule, {"tags": []}, "apps.d", "dm")
    assert str(info.value) == "apps.d: module dm needs field(s) 'name'; add them to its config."


def test_nested_dataclass_errors_carry_the_nested_path() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(DataModule, {"name": "n", "limits": {"low": 1, "high": "x"}}, "apps.d", "dm")
    assert str(info.value) == "apps.d.limits.high: expected float, got 'x' (str)"
    with pytest.raises(ConfigError) as info:
        instantiate(DataModule, {"name": "n", "limits": {"high": 2}}, "apps.d", "dm")
    assert str(info.value) == "apps.d.limits: module Limits needs field(s) 'low'; add them to its config."


def test_literal_field_error_names_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(DataModule, {"name": "n", "mode": "medium"}, "apps.d", "dm")
    assert str(info.value) == "apps.d.mode: expected Literal['fast', 'slow'], got 'medium' (str)"


def test_plain_class_module_gets_its_fields_set_and_keeps_defaults() -> None:
    m = instantiate(PlainModule, {"weight": 2}, "apps.p", "p")
    assert (m.punctuation, m.weight, type(m.weight)) == ("!", 2.0, float)
    m2 = instantiate(PlainModule, {"weight": 1.5, "punctuation": "?"}, "apps.p", "p")
    assert m2.punctuation == "?"
    assert PlainModule.punctuation == "!"  # set on the instance, not the class


def test_plain_class_classvars_and_private_attributes_are_not_fields() -> None:
    for key in ("KIND", "_private"):
        with pytest.raises(ConfigError) as info:
            instantiate(PlainModule, {"weight": 1, key: 1}, "apps.p", "p")
        assert str(info.value).startswith(f"apps.p.{key}: module p has no field {key!r}")


def test_plain_class_required_attribute_and_wrong_type() -> None:
    with pytest.raises(ConfigError) as info:
        instantiate(PlainModule, {}, "apps.p", "p")
    assert str(info.value) == "apps.p: module p needs field(s) 'weight'; add them to its config."
    with pytest.raises(ConfigError) as info:
        instantiate(PlainModule, {"weight": 1, "punctuation": 3}, "apps.p", "p")
    assert str(info.value) == "apps.p.punctuation: expected str, got 3 (int)"


def test_factory_function_module() -> None:
    assert instantiate(factory_module, {"count": 3}, "apps.f", "f") == {"count": 3, "ratio": 0.5, "extra": {}}
    made = instantiate(factory_module, {"count": 3, "ratio": 1, "other": [1]}, "apps.f", "f")
    assert made == {"count": 3, "ratio": 1.0, "extra": {"other": [1]}}
    with pytest.raises(ConfigError) as info:
        instantiate(factory_module, {"count": True}, "apps.f", "f")
    assert str(info.value) == "apps.f.count: expected int, got True (bool)"


def test_factory_function_without_kwargs_is_strict() -> None:
    assert instantiate(strict_factory, {"count": 1, "label": "x"}, "apps.f", "f") == (1, "x")
    with pytest.raises(ConfigError) as info:
        instantiate(strict_factory, {"count": 1, "lable": "x"}, "apps.f", "f")
    assert str(info.value) == (
        "apps.f.lable: module f has no field 'lable' (did you mean 'label'?). Its fields are: count, label."
    )
    with pytest.raises(ConfigError) as info:
        instantiate(strict_factory, {"label": "x"}, "apps.f", "f")
    assert str(info.value) == "apps.f: module f needs field(s) 'count'; add them to its config."


# --- Context.load_module: the three forms, and config paths -----------------------


class English:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"Hello, {name}{self.punctuation}"


class Chinese:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"你好, {name}{self.punctuation}"


@dataclass
class Greet:
    """A host module like the greet app: ``greeters`` go to ``ctx.load_module`` as they are."""

    greeters: Any

    def provision(self, ctx: Context) -> None:
        self.loaded = ctx.load_module(self.greeters, namespace="greeters")


@dataclass
class TwoLists:
    """Two fields that may hold equal values, loaded into different namespaces."""

    first: list[dict[str, Any]]
    second: list[dict[str, Any]]

    def provision(self, ctx: Context) -> None:
        ctx.load_module(self.first, namespace="greeters")
        ctx.load_module(self.second, namespace="shouters")


def registry() -> Registry:
    r = Registry()
    r.add_module("greet", Greet)
    r.add_module("two", TwoLists)
    r.add_module("greeters.en", English)
    r.add_module("greeters.zh", Chinese)
    r.add_module("shouters.loud", English)
    return r


def load(config: dict[str, Any], module_id: str = "greet") -> Any:
    return Context(registry()).load(module_id, config, f"apps.{module_id}")


def config_error(config: dict[str, Any], module_id: str = "greet") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(config, module_id)
    return info.value


def test_load_module_single_object_form() -> None:
    app = load({"greeters": {"module": "zh", "punctuation": "！"}})
    assert isinstance(app.loaded, Chinese)
    assert app.loaded.greet("Bob") == "你好, Bob！"


def test_load_module_list_form() -> None:
    app = load({"greeters": [{"module": "en"}, {"module": "zh", "punctuation": "?"}]})
    assert [g.greet("Bob") for g in app.loaded] == ["Hello, Bob!", "你好, Bob?"]


def test_load_module_map_form_returns_a_dict_by_module_name() -> None:
    app = load({"greeters": {"en": {"punctuation": "."}, "zh": {}}})
    assert isinstance(app.loaded, dict)
    assert list(app.loaded) == ["en", "zh"]
    assert app.loaded["en"].greet("Bob") == "Hello, Bob."
    assert isinstance(app.loaded["zh"], Chinese)


def test_list_form_error_path_names_the_element_and_field() -> None:
    err = config_error({"greeters": [{"module": "en"}, {"module": "zh", "punctuation": 3}]})
    assert str(err) == "apps.greet.greeters[1].punctuation: expected str, got 3 (int)"


def test_map_form_error_path_names_the_module_and_field() -> None:
    err = config_error({"greeters": {"en": {}, "zh": {"punctuaton": "!"}}})
    assert str(err) == (
        "apps.greet.greeters.zh.punctuaton: module greeters.zh has no field 'punctuaton' "
        "(did you mean 'punctuation'?). Its fields are: punctuation."
    )


def test_single_form_error_path() -> None:
    err = config_error({"greeters": {"module": "en", "punctuation": ["!"]}})
    assert str(err) == "apps.greet.greeters.punctuation: expected str, got ['!'] (list)"


def test_unknown_guest_module_names_namespace_and_choices() -> None:
    err = config_error({"greeters": [{"module": "en"}, {"module": "fr"}]})
    assert err.path == "apps.greet.greeters[1].module"
    assert "unknown module 'greeters.fr'" in str(err)
    assert "Known modules in namespace 'greeters': en, zh." in str(err)


def test_missing_inline_key_suggests_a_typo() -> None:
    err = config_error({"greeters": [{"modul": "en"}]})
    assert str(err) == (
        "apps.greet.greeters[0].module: 'module' is missing (is 'modul' a typo of it?); "
        "name a module of namespace 'greeters' (one of: en, zh)"
    )


def test_inline_key_must_be_a_string() -> None:
    err = config_error({"greeters": {"module": 7}})
    assert str(err) == (
        "apps.greet.greeters.module: 'module' must be a string, got int; "
        "name a module of namespace 'greeters' (one of: en, zh)"
    )


def test_value_that_is_no_module_form() -> None:
    err = config_error({"greeters": "en"})
    assert str(err) == (
        "apps.greet.greeters: expected a module object (with 'module'), a list of them or a map "
        "of module name to config, got str"
    )
    err = config_error({"greeters": ["en"]})
    assert str(err) == "apps.greet.greeters[0]: expected an object (a module's config), got str"


def test_error_path_names_the_field_passed_even_when_another_field_is_equal() -> None:
    # Both fields hold the same value; only the second one's namespace lacks 'en'.
    err = config_error({"first": [{"module": "en"}], "second": [{"module": "en"}]}, "two")
    assert err.path == "apps.two.second[0].module"
    assert "unknown module 'shouters.en'" in str(err)


def test_construction_failure_names_module_and_path() -> None:
    def broken(size: int) -> None:
        raise ValueError(f"size {size} is too big")

    r = registry()
    r.add_module("greeters.broken", broken)
    with pytest.raises(LifecycleError) as info:
        Context(r).load("greet", {"greeters": [{"module": "broken", "size": 9}]}, "apps.greet")
    assert str(info.value) == (
        "module greeters.broken at apps.greet.greeters[0] failed in construction: ValueError: size 9 is too big"
    )


def test_every_field_error_of_a_module_at_once() -> None:
    err = config_error({"greeters": [{"module": "en", "punctuaton": "!"}, {"module": "zh", "punctuation": 3}]})
    assert str(err) == (
        "2 errors in the config:\n"
        "  - apps.greet.greeters[0].punctuaton: module greeters.en has no field 'punctuaton' "
        "(did you mean 'punctuation'?). Its fields are: punctuation.\n"
        "  - apps.greet.greeters[1].punctuation: expected str, got 3 (int)"
    )
    assert isinstance(err, ConfigErrors)
    assert [e.path for e in err.errors] == ["apps.greet.greeters[0].punctuaton", "apps.greet.greeters[1].punctuation"]


def test_a_wrong_field_is_not_also_reported_missing() -> None:
    @dataclass
    class Needs:
        size: int

    with pytest.raises(ConfigError) as info:
        instantiate(Needs, {"size": "9", "colour": 1}, "apps.x", "x")
    assert str(info.value) == (
        "2 errors in the config:\n"
        "  - apps.x.size: expected int, got '9' (str)\n"
        "  - apps.x.colour: module x has no field 'colour'. Its fields are: size."
    )


@pytest.mark.parametrize(
    "greeters",
    [[{"module": "greeters.zh"}], {"greeters.zh": {}}, {"module": "greeters.zh"}],
    ids=["list", "map", "single"],
)
def test_a_guest_module_named_by_its_full_id(greeters: Any) -> None:
    loaded = load({"greeters": greeters}).loaded
    if isinstance(loaded, dict):
        loaded = list(loaded.values())
    if isinstance(loaded, list):
        (loaded,) = loaded
    assert isinstance(loaded, Chinese)


def test_a_full_id_of_another_namespace_names_both() -> None:
    err = config_error({"greeters": {"shouters.en": {}}})
    assert str(err) == (
        "apps.greet.greeters.shouters.en: 'shouters.en' names a module of namespace 'shouters', but this takes "
        "a module of namespace 'greeters': give its name (one of: en, zh) or its full ID ('greeters.NAME')"
    )


def test_no_suggestion_that_shares_nothing_with_the_word() -> None:
    err = config_error({"greeters": [{"module": "pirate"}]})
    assert str(err) == (
        "apps.greet.greeters[0].module: unknown module 'greeters.pirate'. Known modules in namespace 'greeters': "
        "en, zh. Install the plugin that provides it, or fix the name."
    )
    assert closest("pirate", ["fr", "en", "zh"]) is None
    assert closest("greeters.pirate", ["greeters.fr", "greet.filters.upper"]) is None
    for typo, word in [("onse", "once"), ("punctuaton", "punctuation"), ("app", "apps"), ("greeterz", "greeters")]:
        assert closest(typo, [word, "pirate"]) == word


def test_a_misspelt_required_field_is_one_error_not_two() -> None:
    @dataclass
    class Needs:
        label: str

    with pytest.raises(ConfigError) as info:
        instantiate(Needs, {"lable": "a"}, "apps.x", "x")
    assert (
        str(info.value) == "apps.x.lable: module x has no field 'lable' (did you mean 'label'?). Its fields are: label."
    )
