"""Bad configs, fuzzed: the host answers every one with a CorehostError naming a place, and starts nothing.

Everything runs in-process on a host composed in code (no entry points, no
subprocess per example), so hypothesis can try hundreds of configs in a few
seconds: random JSON documents, random TOML text, invalid UTF-8, mutations
of a valid config (wrong types, unknown fields and modules, deep nesting)
and a huge file. A few examples then go through the real ``corehost``
command, to check what a user sees: exit code 2, one paragraph, no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corehost import Context, Host
from corehost.config import load_config, parse_config
from corehost.errors import ConfigError, CorehostError, LifecycleError
from tests.conftest import Venv, Wheelhouse, clean_env, uv

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: App IDs whose start() ran; a config that failed validation must never add to it.
STARTED: list[str] = []


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


@dataclass
class English:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"Hello, {name}{self.punctuation}"


@dataclass
class Inner:
    size: int
    tags: list[str] = field(default_factory=list)


@dataclass
class Fancy:
    """Fields of every kind the decoder handles, to give wrong types somewhere to land."""

    style: Literal["plain", "bold"] = "plain"
    repeat: int = 1
    ratio: float = 1.0
    inner: Inner | None = None
    table: dict[str, int] = field(default_factory=dict)

    def greet(self, name: str) -> str:
        return f"{name}!" * self.repeat


@dataclass
class Greet:
    ID: ClassVar[str] = "greet"
    greeters: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=lambda: ["World"])

    def provision(self, ctx: Context) -> None:
        self._ctx = ctx
        self._greeters = ctx.load_module(self.greeters, namespace="greeters")

    def start(self) -> None:
        STARTED.append("greet")
        self._ctx.request_stop("greet: done")

    def stop(self) -> None:
        pass


HOST = Host.from_objects(
    namespaces={"greeters": Greeter},
    modules={"greet": Greet, "greeters.en": English, "greeters.fancy": Fancy},
)
VALID: dict[str, Any] = {
    "apps": {
        "greet": {
            "greeters": [
                {"module": "en", "punctuation": "?"},
                {"module": "fancy", "style": "bold", "repeat": 2, "inner": {"size": 3, "tags": ["a"]}},
            ],
            "names": ["Bob"],
        }
    }
}


def run(config: dict[str, Any]) -> CorehostError | None:
    """Run ``config`` on the composed host; return the error, asserting it is one of ours with a place."""
    STARTED.clear()
    # Only the greet app asks the host to stop: without it (no app, or only 'greeters.en' as an app)
    # run() would wait for a signal forever, and validate answers the same question.
    runs = "greet" in (config.get("apps") or {})
    try:
        if runs:
            HOST.run(config, handle_signals=False)
        else:
            HOST.validate(config, handle_signals=False)
    except CorehostError as exc:
        assert STARTED == [], f"an app started although the config failed: {exc}"
        assert exc.message and "Traceback" not in exc.message
        if isinstance(exc, (ConfigError, LifecycleError)):
            assert exc.path, exc.message  # every config error names where
        return exc
    assert STARTED == (["greet"] if runs else [])
    return None


def test_the_valid_config_runs() -> None:
    assert run(json.loads(json.dumps(VALID))) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
APP_KEYS = st.sampled_from(["greet", "greeters", "greeters.en", "nope", "Greet", ""])


@FUZZ
@given(doc=JSON | st.fixed_dictionaries({"apps": st.dictionaries(APP_KEYS, JSON, max_size=3)}))
def test_any_json_document(doc: Any) -> None:
    try:
        config = parse_config(json.dumps(doc), "json", source="fuzz.json")
    except ConfigError as exc:
        assert exc.path  # the top-level key, "apps", or the file
        return
    run(config)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """VALID with one place changed; returns the config and the changed place's path."""
    config = json.loads(json.dumps(VALID))
    places: list[tuple[Any, Any, str]] = []

    def walk(node: Any, path: str) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            sub = f"{path}[{key}]" if isinstance(node, list) else f"{path}.{key}" if path else str(key)
            places.append((node, key, sub))
            walk(value, sub)

    walk(config, "")
    node, key, path = draw(st.sampled_from(places))
    how = draw(st.sampled_from(["value", "unknown-field", "unknown-module", "deep"]))
    if how == "value":
        node[key] = draw(JSON)
    elif how == "unknown-field" and isinstance(node[key], dict):
        node[key][draw(st.text(min_size=1, max_size=6))] = draw(JSON)
    elif how == "unknown-module":
        node[key] = {"module": draw(st.text(max_size=10))}
    else:
        value: Any = node[key]
        for _ in range(draw(st.integers(1, 300))):
            value = [value]
        node[key] = value
    return config, path


@FUZZ
@given(case=mutated())
def test_a_mutated_config_fails_naming_a_place_in_the_config_or_runs(case: tuple[dict[str, Any], str]) -> None:
    # Through the loader, as every config from a file or string arrives at the host.
    try:
        config = parse_config(json.dumps(case[0]), "json", source="mutated.json")
    except ConfigError as exc:
        assert exc.path, exc.message
        return
    error = run(config)
    if error is not None:
        assert "apps" in error.message, error.message


@FUZZ
@given(text=st.text(max_size=200))
def test_any_toml_text(text: str) -> None:
    try:
        config = parse_config(text, "toml", source="fuzz.toml")
    except ConfigError as exc:
        assert exc.message.startswith(("fuzz.toml: ", "apps", *map(str, []))) or exc.path, exc.message
        return
    run(config)


@FUZZ
@given(data=st.binary(max_size=64))
def test_any_bytes_in_a_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_bytes(b'{"apps": {"greet": {"names": ["' + data + b'"]}}}')
        try:
            config = load_config(path)
        except ConfigError as exc:
            assert exc.message.startswith(f"{path}: "), exc.message
            return
        run(config)


@pytest.mark.parametrize("depth", [50, 1_000, 100_000])
def test_deep_nesting_is_an_error_not_a_crash(depth: int) -> None:
    text = '{"apps": {"greet": {"names": ' + "[" * depth + "]" * depth + "}}}"
    try:
        config = parse_config(text, None, source="deep.json")
    except ConfigError as exc:
        assert exc.message == "deep.json: the config is nested too deeply to read"
        return
    error = run(config)
    assert error is not None and error.message.startswith("apps.greet.names[0]: "), error


def test_a_huge_config_names_the_one_bad_element() -> None:
    names = ["x" * 10] * 500_000 + [1]
    text = json.dumps({"apps": {"greet": {"names": names}}})
    assert len(text) > 7_000_000
    error = run(parse_config(text, "json", source="huge.json"))
    assert error is not None and error.message.startswith("apps.greet.names[500000]: "), error


# --- what a user sees: the real command --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    path = tmp_path_factory.mktemp("fuzz-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in ("corehost", "corehost-greet", "corehost-greeter-en")))
    return venv


CLI_CASES = {
    "wrong-type.json": (b'{"apps": {"greet": {"greeters": [{"module": "en"}, {"module": 5}]}}}',
                        "apps.greet.greeters[1].module: "),
    "unknown-module.json": (b'{"apps": {"greet": {"greeters": [{"module": "klingon"}]}}}',
                            "apps.greet.greeters[0].module: "),
    "unknown-field.toml": (b'[apps.greet]\nnames = ["a"]\ngreeters = [{module = "en"}]\ncolour = "red"\n',
                           "apps.greet.colour: module greet has no field 'colour'"),
    "invalid-utf8.json": (b'{"apps": {"greet": {"names": ["\xff\xfe"]}}}', "the config file is not valid UTF-8"),
    "deep.json": (b'{"apps": {"greet": {"names": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}}",
                  "the config is nested too deeply"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_the_command_exits_2_with_one_paragraph_naming_file_and_place(venv: Venv, tmp_path: Path, name: str) -> None:
    data, where = CLI_CASES[name]
    config = tmp_path / name
    config.write_bytes(data)
    result = venv.corehost("run", "--config", config, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"corehost: error: {config}: {where}"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_empty_top_level_key_still_names_its_place() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('{"": 1}', "json", source="empty.json")
    assert caught.value.message == "'': unknown top-level key ''; a config has only 'apps' and 'admin'"
