"""What a start costs: the modules every start reads import little, and their plain classes act as before.

The registry's entries, ``HostSpec``, ``Selection`` and the run path's small
records are plain classes with ``__slots__`` rather than dataclasses (making
a dataclass runs generated code through ``exec``: about 0.5 ms a class on
every start). These tests pin what the dataclasses gave (equality, hashing,
immutability, copies, ``repr``) and the import sets that make starts cheap.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corehost.config import load_config, spelling
from corehost.discovery import Selection, environment_registry
from corehost.errors import ConfigError
from corehost.hostspec import COREHOST, HostSpec
from corehost.registry import Entry, ModuleInfo, NamespaceInfo, PluginInfo, Registry
from tests.conftest import clean_env

#: Prints the modules that importing argv[1:] adds to what ``import click`` already imported.
NEW_MODULES = """
import importlib, json, sys
import click
before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def new_modules(*names: str) -> set[str]:
    """The modules importing ``names`` adds, in a fresh interpreter, beyond ``import click`` (and json)."""
    result = subprocess.run(
        [sys.executable, "-c", NEW_MODULES, *names], capture_output=True, text=True, env=clean_env(), check=True
    )
    return set(json.loads(result.stdout))


#: The corehost modules listing reads: the registry's layer.
LISTING = {"corehost", *(f"corehost.{m}" for m in ("cli", "discovery", "errors", "frozen", "hostspec", "ids"))}
#: click's gettext reads the locale the first time it translates a word (click.Path's name, the
#: help option of every command line it parses): a cost of click's, paid by any click program.
CLICK_AT_WORK = {"locale", "_locale"}


def test_the_cli_imports_only_the_registry_layer_beyond_click() -> None:
    new = new_modules("corehost.cli")
    assert new - CLICK_AT_WORK <= LISTING | {"corehost.interfaces", "corehost.registry"}, sorted(new)


def test_the_run_path_makes_no_dataclass_and_reads_no_path_object() -> None:
    """host, context, decode and config: no dataclasses, pathlib, importlib.metadata or TOML parser."""
    new = new_modules("corehost.host", "corehost.config", "corehost.decode")
    assert new & {"dataclasses", "pathlib", "importlib.metadata", "tomllib", "pluggy", "corehost.guards"} == set()


def test_entries_compare_hash_copy_and_refuse_changes_like_frozen_dataclasses() -> None:
    a = ModuleInfo("greeters.en", "pkg:En", "dist", "1.0")
    same = ModuleInfo("greeters.en", "pkg:En", "dist", "1.0", obj=object, disable_env="X_DISABLE_PLUGINS")
    assert a == same and hash(a) == hash(same), "obj and disable_env are not compared"
    assert a != ModuleInfo("greeters.en", "pkg:En", "dist", "1.0", generated=True)
    assert a != NamespaceInfo("greeters.en", "pkg:En", "dist", "1.0"), "entries of two kinds are never equal"
    assert a != Entry("greeters.en", "pkg:En", "dist", "1.0")
    assert (
        repr(a)
        == "ModuleInfo(name='greeters.en', target='pkg:En', distribution='dist', version='1.0', generated=False)"
    )
    plugin = PluginInfo("p", "pkg.hooks", "dist", "1.0", disable_env="X", hooks=("corehost_stopping",))
    assert (
        repr(plugin)
        == "PluginInfo(name='p', target='pkg.hooks', distribution='dist', version='1.0', hooks=('corehost_stopping',))"
    )
    for entry in (a, same, plugin):
        for twin in (copy.copy(entry), copy.deepcopy(entry), pickle.loads(pickle.dumps(entry))):
            assert twin == entry and type(twin) is type(entry)
            assert (twin.obj, twin.disable_env) == (entry.obj, entry.disable_env)
    with pytest.raises(AttributeError, match="immutable"):
        a.name = "greeters.fr"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del a.version
    assert a.disable_env == COREHOST.block_env and a.obj is None


def test_registries_compare_by_value_without_their_generate_hook() -> None:
    one, two = Registry.for_host(), Registry.for_host()
    two.generate = lambda: None
    assert one == two
    one.add(ModuleInfo("greeters.en", "pkg:En", "dist", "1.0"))
    assert one != two
    with pytest.raises(TypeError):
        hash(one)
    assert repr(Registry()).startswith("Registry(modules={}, namespaces={}, plugins={}, conflicts=[]")


def test_host_spec_checks_its_name_and_fills_in_its_defaults() -> None:
    spec = HostSpec(name="my.app", namespaces={"widgets": "my.app.api:Widget"}, hookspecs=["my.app.hooks"])  # type: ignore[arg-type]
    assert (spec.group_prefix, spec.env_prefix, spec.distribution) == ("my.app", "MY_APP", "my.app")
    assert spec.allow_env == "MY_APP_PLUGINS" and spec.hookspecs == ("my.app.hooks",)
    assert dict(spec.namespaces) == {"widgets": "my.app.api:Widget"}
    for bad in ("", "App", "1app", "my..app", "my-app", "app.", "_app", "my.1app", "my.App"):
        with pytest.raises(ValueError, match="must be lowercase letters"):
            HostSpec(name=bad)
    for good in ("a", "my_app2", "a1_.b_2"):
        assert HostSpec(good).name == good
    for twin in (copy.copy(spec), copy.deepcopy(spec), pickle.loads(pickle.dumps(spec))):
        assert twin == spec and hash(twin) == hash(spec)
    assert spec != HostSpec(name="my.app") and COREHOST.is_default and not spec.is_default
    with pytest.raises(AttributeError, match="immutable"):
        spec.name = "other"  # type: ignore[misc]
    assert repr(HostSpec("x")) == (
        "HostSpec(name='x', group_prefix='x', env_prefix='X', distribution='x', hookspecs=(), "
        "namespaces=mappingproxy({}), description='')"
    )


def test_a_bundle_with_no_allow_or_block_list_uses_its_frozen_registry_as_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "_corehost_frozen.py").write_text(
        "REGISTRY = {'format': 1, 'namespaces': [], 'generated': [], 'plugins': [],"
        " 'modules': [['greeters.en', 'pkg:En', 'corehost-greeter-en', '1.0']]}\nBUILD = {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "_corehost_frozen", raising=False)
    everything = environment_registry(Selection())
    assert everything.frozen and list(everything.modules) == ["greeters.en"]
    blocked = environment_registry(Selection(block=frozenset({"corehost-greeter-en"})))
    assert blocked.frozen and blocked.modules == {} and blocked.skipped == {"corehost-greeter-en"}
    assert [e.name for e, _ in blocked.excluded] == ["greeters.en"]


@pytest.mark.parametrize("path", ["a.json", "./a.json", "a//b.json", "/x/y.toml", "//x", "/", "", ".", "a/./b", "a/"])
def test_config_paths_are_spelled_as_pathlib_spells_them(path: str) -> None:
    assert spelling(path) == str(Path(path))


def test_a_config_error_names_the_file_as_pathlib_spells_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text('{"apps": ')
    with pytest.raises(ConfigError) as caught:
        load_config(f".{os.sep}bad.json")
    assert caught.value.path == "bad.json"


class _Widget:
    def spin(self) -> str: ...


class _NoSpin:
    """A module of namespace ``widgets`` that lacks the interface's method."""


class _Spinner:
    def spin(self) -> str:
        return "spun"


def _widget_host(frozen: bool, module: type) -> Any:
    from corehost.host import Host

    registry = Registry.for_host()
    registry.add_namespace("widgets", _Widget)
    registry.add_module("widgets.w", module)
    registry.frozen = frozen
    return Host(registry)


def test_a_live_registry_checks_each_module_against_its_interface_when_loaded() -> None:
    config = {"apps": {}, "widgets": {"module": "w"}}
    host = _widget_host(False, _NoSpin)
    ctx = host.provision({"apps": {}}).ctx
    with pytest.raises(ConfigError, match=r"module widgets\.w .* does not implement namespace 'widgets'.*spin"):
        ctx.load_module(config["widgets"], "widgets")
    assert _widget_host(False, _Spinner).provision({"apps": {}}).ctx.load_module(config["widgets"], "widgets").spin()


def test_a_frozen_registry_trusts_the_builds_check_and_never_imports_the_checker() -> None:
    """The build's guards checked the very class a frozen registry names: a start does not check it again."""
    ctx = _widget_host(True, _NoSpin).provision({"apps": {}}).ctx
    assert isinstance(ctx.load_module({"module": "w"}, "widgets"), _NoSpin)
    assert "corehost.conformance" not in new_modules("corehost.host", "corehost.config", "corehost.decode")


#: Prints the modules that reading the config file argv[1] adds to what ``import click`` already imported.
READ_CONFIG = """
import json as _probe_output, sys
import click
sys.modules.pop("json", None)
before = set(sys.modules)
from corehost.config import load_config
load_config(sys.argv[1])
print(_probe_output.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.mark.parametrize(("name", "text", "parser", "other"), [
    ("c.toml", '[apps.greet]\nnames = ["Bob"]\n', "tomllib", "json"),
    ("c.json", '{"apps": {"greet": {"names": ["Bob"]}}}', "json", "tomllib"),
])  # fmt: skip
def test_a_config_loads_only_its_own_parser(tmp_path: Path, name: str, text: str, parser: str, other: str) -> None:
    config = tmp_path / name
    config.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", READ_CONFIG, str(config)], capture_output=True, text=True, env=clean_env(), check=True
    )
    new = set(json.loads(result.stdout))
    assert parser in new and other not in new, sorted(new)
