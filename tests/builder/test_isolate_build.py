"""``corehost-build build --isolate MODULE_ID``: a module built to run in its own process must be able to.

Every call of the module's interface must cross the process boundary
(:mod:`corehost.crossing`); a method that cannot fails the build, naming the
module, its distribution and the method. For every module the guards
checked, the answer is recorded in the frozen registry, so that a config
isolating a module whose calls cannot cross is refused at run time with the
build's reason. Real builds of the repo's greeters plus a plugin whose
namespace takes a callback; they share one lock, so the guards run once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corehost_build.errors import SpecError
from corehost_build.guards import require_crossable

from tests.builder.conftest import GREETER_PLUGINS, Builder, MakePlugin
from tests.conftest import Venv

CALLBACK_PLUGIN = """
from collections.abc import Callable
from typing import Protocol


class Each(Protocol):
    \"\"\"Namespace ``fxcb``: calls back for every name.\"\"\"

    def each(self, names: list[str], callback: Callable[[str], None]) -> None: ...

    def count(self, names: list[str]) -> int: ...


class One:
    def each(self, names: list[str], callback: Callable[[str], None]) -> None:
        for name in names:
            callback(name)

    def count(self, names: list[str]) -> int:
        return len(names)
"""

EACH_REASON = (
    "method 'each', parameter 'callback': Callable[[str], None] cannot cross the process boundary: a callable "
    "would have to call back into the process that sent it, which a call across the boundary cannot do; pass the "
    "data the callable would compute instead"
)


@pytest.fixture
def plugins(make_plugin: MakePlugin) -> list[str]:
    project = make_plugin("fx-callback", code=CALLBACK_PLUGIN, namespaces={"fxcb": "fx_callback:Each"},
                          modules={"fxcb.one": "fx_callback:One"})  # fmt: skip
    return [a for p in (*(f"./{g}" for g in GREETER_PLUGINS), str(project)) for a in ("--with", p)]


def frozen_registry(venv: Path) -> dict[str, object]:
    result = Venv(venv).run("python", "-c", "import json, _corehost_frozen as f; print(json.dumps(f.REGISTRY))")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_isolate_checks_the_named_modules_and_records_every_module(
    builder: Builder, plugins: list[str], tmp_path: Path
) -> None:
    refused = builder.build(*plugins, "--isolate", "greeters.zh", "--isolate", "fxcb.one", "--venv", tmp_path / "a")
    assert refused.returncode == 1
    assert (
        "- module 'fxcb.one' (distribution fx-callback): is built to be isolated (--isolate fxcb.one), but not "
        f"every call of its interface can reach a worker: {EACH_REASON}. Change those types, or build "
        "without --isolate to run it in the host's process."
    ) in refused.stderr, refused.stderr
    assert "greeters.zh" not in refused.stderr, "a module whose calls cross is not reported"
    assert not (tmp_path / "a").exists(), "a refused build writes nothing"

    venv = tmp_path / "b"
    built = builder.build(*plugins, "--isolate", "greeters.zh", "--venv", venv)
    assert built.returncode == 0, built.stderr
    crossing = frozen_registry(venv)["crossing"]
    assert isinstance(crossing, dict)
    assert crossing["fxcb.one"] == [EACH_REASON]
    assert crossing["greeters.zh"] == crossing["greeters.en"] == crossing["greet.filters.upper"] == []
    info = Venv(venv).corehost("build-info", "--json")
    assert info.returncode == 0, info.stderr
    assert "--isolate greeters.zh" in json.loads(info.stdout)["build"]["inputs"]


def test_an_isolate_id_that_names_no_module_is_refused_with_the_closest() -> None:
    report = {"registry": {"modules": [["greeters.zh", "corehost_greeter_zh:Chinese", "corehost-greeter-zh", "0.1.0"]],
                           "generated": [], "crossing": {"greeters.zh": []}}}  # fmt: skip
    require_crossable(report, ["greeters.zh"])
    with pytest.raises(SpecError) as refused:
        require_crossable(report, ["greeter.zh"])
    assert refused.value.exit_code == 2
    assert refused.value.message == (
        "--isolate greeter.zh: no module of that ID is in the build (did you mean 'greeters.zh'?). Give the ID of "
        "a module a plugin of the build provides (corehost list-modules shows them)."
    )


def test_a_build_file_isolates_like_the_flag(builder: Builder, plugins: list[str], tmp_path: Path) -> None:
    (tmp_path / "build.toml").write_text('isolate = "fxcb.one"\n', encoding="utf-8")
    result = builder.build(*plugins, "-c", tmp_path / "build.toml", "--venv", tmp_path / "v")
    assert result.returncode == 1
    assert "- module 'fxcb.one' (distribution fx-callback): is built to be isolated" in result.stderr
    assert EACH_REASON in result.stderr
