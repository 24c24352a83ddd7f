"""Config files: JSON or TOML in Caddy's shape, and errors that say where.

``parse_config``/``load_config`` are tested in-process; the same configs are
then run through ``corehost run``/``validate`` in one real venv.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corehost import ConfigError, load_config, parse_config
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv

GREET_JSON = (ROOT / "examples" / "greet.json").read_text()

GREET_TOML = """
[apps.greet]
names = ["Bob"]
once = true

[[apps.greet.greeters]]
module = "en"
punctuation = "!"

[[apps.greet.greeters]]
module = "zh"
"""


def parse_error(text: str, fmt: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, fmt, source="cfg")
    return str(info.value)


# --- parse_config -----------------------------------------------------------------


def test_json_and_toml_of_the_same_config_are_equal() -> None:
    assert parse_config(GREET_JSON, "json") == parse_config(GREET_TOML, "toml")
    assert parse_config(GREET_TOML, "toml") == {
        "apps": {
            "greet": {
                "names": ["Bob"],
                "once": True,
                "greeters": [{"module": "en", "punctuation": "!"}, {"module": "zh"}],
            }
        }
    }


def test_format_is_guessed_when_not_given() -> None:
    assert parse_config(GREET_JSON) == parse_config(GREET_TOML)
    assert parse_config("") == {}


def test_invalid_json_names_source_line_and_column() -> None:
    assert parse_error('{"apps": {\n  "greet": }\n}', "json") == (
        "cfg: invalid JSON at line 2, column 12: Expecting value"
    )


def test_invalid_toml_names_source_and_position() -> None:
    assert parse_error("[apps.greet]\nnames = [\n", "toml") == "cfg: invalid TOML: Invalid value (at end of document)"
    assert parse_error("[apps.greet]\nnames = 'a' 'b'\n", "toml") == (
        "cfg: invalid TOML: Expected newline or end of document after a statement (at line 2, column 13)"
    )


def test_unknown_format() -> None:
    assert parse_error("{}", "yaml") == "cfg: unknown config format 'yaml'; use 'json' or 'toml'"


def test_unknown_top_level_key_suggests_apps() -> None:
    assert parse_error('{"app": {}}', "json") == (
        "app: unknown top-level key 'app' (did you mean 'apps'?); a config has only 'apps' and 'admin'"
    )


def test_guessed_json_with_a_wrong_shape_reports_the_shape_not_toml_syntax() -> None:
    # Valid JSON, wrong shape: falling back to TOML would blame the syntax instead.
    assert (
        parse_error('{"app": {}}')
        == "app: unknown top-level key 'app' (did you mean 'apps'?); a config has only 'apps' and 'admin'"
    )
    assert parse_error('{"apps": {"greet": []}}') == "apps.greet: expected an object (the app's config), got list"


def test_top_level_must_be_an_object() -> None:
    assert parse_error("[1]", "json") == "cfg: the config must be an object with an 'apps' key, not list"


def test_apps_must_map_ids_to_objects() -> None:
    assert parse_error('{"apps": []}', "json") == "apps: expected an object mapping app IDs to their config, got list"
    assert parse_error('apps = {greet = "x"}', "toml") == "apps.greet: expected an object (the app's config), got str"


# --- load_config ------------------------------------------------------------------


def test_suffix_chooses_the_format(tmp_path: Path) -> None:
    toml_file = tmp_path / "c.toml"
    toml_file.write_text(GREET_TOML)
    json_file = tmp_path / "c.JSON"
    json_file.write_text(GREET_JSON)
    assert load_config(toml_file) == load_config(json_file)
    # A .json suffix means JSON: TOML text in it is a JSON error.
    wrong = tmp_path / "wrong.json"
    wrong.write_text(GREET_TOML)
    with pytest.raises(ConfigError) as info:
        load_config(wrong)
    assert str(info.value) == f"{wrong}: invalid JSON at line 2, column 2: Expecting value"


def test_other_suffixes_are_tried_as_json_then_toml(tmp_path: Path) -> None:
    conf = tmp_path / "greet.conf"
    conf.write_text(GREET_TOML)
    assert load_config(conf)["apps"]["greet"]["names"] == ["Bob"]
    conf.write_text(GREET_JSON)
    assert load_config(conf)["apps"]["greet"]["once"] is True


@pytest.mark.parametrize("name", ["greet.yaml", "greet.YML"])
def test_a_yaml_file_is_refused_by_name_not_as_bad_toml(tmp_path: Path, name: str) -> None:
    config = tmp_path / name
    config.write_text("apps:\n  greet:\n    names: [Bob]\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        f"{config}: YAML is not read; corehost reads JSON and TOML configs, chosen by the file's extension "
        "(.json, .toml). Save the config as .json or .toml."
    )


def test_another_suffix_that_is_neither_format_says_both_were_tried(tmp_path: Path) -> None:
    config = tmp_path / "greet.conf"
    config.write_text("apps:\n  greet: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(info.value) == (
        f"{config}: not a JSON or TOML config: invalid TOML: Expected '=' after a key in a key/value pair "
        "(at line 1, column 5) (corehost reads JSON and TOML configs, chosen by the file's extension "
        "(.json, .toml); other names are tried as both)"
    )


def test_every_top_level_error_at_once() -> None:
    assert parse_error('{"app": {}, "apps": {"greet": [], "x": 1}}') == (
        "3 errors in the config:\n"
        "  - app: unknown top-level key 'app' (did you mean 'apps'?); a config has only 'apps' and 'admin'\n"
        "  - apps.greet: expected an object (the app's config), got list\n"
        "  - apps.x: expected an object (the app's config), got int"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.json")
    assert str(info.value) == f"{tmp_path / 'nope.json'}: cannot read the config file: No such file or directory"


def test_non_utf8_file(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[apps.greet]\nnames = ["Jos\xe9"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value) == f"{bad}: the config file is not valid UTF-8 (byte 26); save it as UTF-8"


# --- end to end: corehost run / validate ------------------------------------------

DISTS = ("corehost", "corehost-greet", "corehost-greeter-en", "corehost-greeter-zh", "corehost-polyglot")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Venv:
    path = tmp_path_factory.mktemp("config-venv") / "venv"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(path)], check=True, env=clean_env())
    venv = Venv(path)
    venv.install(*(wheelhouse.wheel(d) for d in DISTS))
    return venv


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_paragraph_error(result: subprocess.CompletedProcess[str], message: str, code: int = 2) -> None:
    """One line on stderr; it names the config file (the ``-c`` argument), then the message."""
    config_file = str(result.args[result.args.index("-c") + 1])
    if not message.startswith(config_file):
        message = f"{config_file}: {message}"
    assert result.returncode == code, result.stderr
    assert result.stderr == f"corehost: error: {message}\n"
    assert result.stdout == ""


def test_run_json_and_toml_print_the_same(venv: Venv, tmp_path: Path) -> None:
    from_json = venv.corehost("run", "--config", write(tmp_path, "g.json", GREET_JSON), check=True)
    from_toml = venv.corehost("run", "-c", write(tmp_path, "g.toml", GREET_TOML), check=True)
    assert from_json.stdout == from_toml.stdout == "Hello, Bob!\n你好, Bob!\n"
    assert from_toml.stderr == (
        "greet: stopped\ncorehost: stopped (greet: once = true); every app stopped and every module cleaned up\n"
    )


def test_map_form_from_a_toml_file(venv: Venv, tmp_path: Path) -> None:
    # The greet app's greeters field is a list, so the map form is refused with the path.
    config = write(tmp_path, "m.toml", '[apps.greet]\nonce = true\n[apps.greet.greeters.en]\npunctuation = "."\n')
    result = venv.corehost("run", "-c", config)
    assert_one_paragraph_error(
        result, "apps.greet.greeters: expected list[dict[str, Any]], got {'en': {'punctuation': '.'}} (dict)"
    )


def test_wrong_type_in_a_guest_module_names_the_full_path(venv: Venv, tmp_path: Path) -> None:
    config = json.loads(GREET_JSON)
    config["apps"]["greet"]["greeters"][1]["punctuation"] = 3
    result = venv.corehost("run", "-c", write(tmp_path, "c.json", json.dumps(config)))
    assert_one_paragraph_error(result, "apps.greet.greeters[1].punctuation: expected str, got 3 (int)")


def test_unknown_field_in_a_guest_module_from_toml(venv: Venv, tmp_path: Path) -> None:
    text = GREET_TOML.replace('module = "zh"', 'module = "zh"\npunctation = "!"')
    result = venv.corehost("validate", "-c", write(tmp_path, "c.toml", text))
    assert_one_paragraph_error(
        result,
        "apps.greet.greeters[1].punctation: module greeters.zh has no field 'punctation' "
        "(did you mean 'punctuation'?). Its fields are: punctuation.",
    )


def test_unknown_field_in_an_app(venv: Venv, tmp_path: Path) -> None:
    text = GREET_TOML.replace("once = true", "onse = true")
    result = venv.corehost("run", "-c", write(tmp_path, "c.toml", text))
    assert_one_paragraph_error(
        result,
        "apps.greet.onse: module greet has no field 'onse' (did you mean 'once'?). "
        "Its fields are: greeters, names, filters, once.",
    )


def test_missing_required_app_field(venv: Venv, tmp_path: Path) -> None:
    result = venv.corehost("run", "-c", write(tmp_path, "c.toml", "[apps.greet]\nonce = true\n"))
    assert_one_paragraph_error(result, "apps.greet: module greet needs field(s) 'greeters'; add them to its config.")


def test_bool_is_not_accepted_for_a_list(venv: Venv, tmp_path: Path) -> None:
    text = GREET_TOML.replace('names = ["Bob"]', "names = true")
    result = venv.corehost("run", "-c", write(tmp_path, "c.toml", text))
    assert_one_paragraph_error(result, "apps.greet.names: expected list[str], got True (bool)")


def test_unknown_app_suggests_the_nearest(venv: Venv, tmp_path: Path) -> None:
    result = venv.corehost("validate", "-c", write(tmp_path, "c.json", '{"apps": {"greeet": {}}}'))
    assert_one_paragraph_error(
        result,
        "apps.greeet: unknown app 'greeet' (did you mean 'greet'?). Known apps: greet. "
        "Install the plugin that provides it, or fix the name.",
    )


def test_bad_files_are_one_paragraph_errors(venv: Venv, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert_one_paragraph_error(
        venv.corehost("run", "-c", missing), f"{missing}: cannot read the config file: No such file or directory"
    )
    broken = write(tmp_path, "broken.json", '{"apps": {')
    assert_one_paragraph_error(
        venv.corehost("validate", "-c", broken),
        f"{broken}: invalid JSON at line 1, column 11: Expecting property name enclosed in double quotes",
    )


def test_validate_prints_valid_and_starts_nothing(venv: Venv, tmp_path: Path) -> None:
    config = write(tmp_path, "g.toml", GREET_TOML)
    result = venv.corehost("validate", "-c", config, check=True)
    assert result.stdout == f"{config}: valid\n"
    assert result.stderr == ""  # the greet app never started, so never stopped


def test_demo_config_with_modules_from_three_distributions(venv: Venv) -> None:
    result = venv.corehost("run", "-c", ROOT / "examples" / "greet.toml", check=True)
    assert result.stdout.splitlines() == [
        "« Hello, Bob! »",
        "« Hello, Alice! »",
        "« 你好, Bob！ »",
        "« 你好, Alice！ »",
        "« Bonjour, Bob ! »",
        "« Bonjour, Alice ! »",
    ]


def test_every_field_error_of_a_config_at_once(venv: Venv, tmp_path: Path) -> None:
    """App fields, guest module fields and a second app: one run names every one, each with its path."""
    config = write(
        tmp_path,
        "c.toml",
        """
[apps.greet]
names = 3
onse = true
greeters = [{module = "en", punctuaton = "!"}, {module = "zh", punctuation = 1}]

[apps.greeet]
""",
    )
    result = venv.corehost("validate", "-c", config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "corehost: error: 3 errors in the config:\n"
        f"  - {config}: apps.greet.names: expected list[str], got 3 (int)\n"
        f"  - {config}: apps.greet.onse: module greet has no field 'onse' (did you mean 'once'?). "
        "Its fields are: greeters, names, filters, once.\n"
        f"  - {config}: apps.greeet: unknown app 'greeet' (did you mean 'greet'?). Known apps: greet. "
        "Install the plugin that provides it, or fix the name.\n"
    )
    # With the app's own fields right, the errors of its guest modules are all reported too.
    config.write_text(config.read_text().replace("names = 3\nonse = true\n", ""))
    result = venv.corehost("run", "-c", config)
    assert result.returncode == 2
    assert result.stderr == (
        "corehost: error: 3 errors in the config:\n"
        f"  - {config}: apps.greet.greeters[0].punctuaton: module greeters.en has no field 'punctuaton' "
        "(did you mean 'punctuation'?). Its fields are: punctuation.\n"
        f"  - {config}: apps.greet.greeters[1].punctuation: expected str, got 1 (int)\n"
        f"  - {config}: apps.greeet: unknown app 'greeet' (did you mean 'greet'?). Known apps: greet. "
        "Install the plugin that provides it, or fix the name.\n"
    )


def test_a_module_named_by_its_full_id(venv: Venv, tmp_path: Path) -> None:
    text = GREET_TOML.replace('module = "zh"', 'module = "greeters.zh"')
    result = venv.corehost("run", "-c", write(tmp_path, "c.toml", text), check=True)
    assert result.stdout == "Hello, Bob!\n你好, Bob!\n"


def test_a_full_id_of_another_namespace_is_refused(venv: Venv, tmp_path: Path) -> None:
    text = GREET_TOML.replace('module = "zh"', 'module = "greet.filters.upper"')
    result = venv.corehost("run", "-c", write(tmp_path, "c.toml", text))
    assert_one_paragraph_error(
        result,
        "apps.greet.greeters[1].module: 'greet.filters.upper' names a module of namespace 'greet.filters', "
        "but this takes a module of namespace 'greeters': give its name (one of: de, en, es, fr, zh) "
        "or its full ID ('greeters.NAME')",
    )


def test_a_yaml_config_through_the_cli(venv: Venv, tmp_path: Path) -> None:
    config = write(tmp_path, "greet.yaml", "apps:\n  greet: {}\n")
    assert_one_paragraph_error(
        venv.corehost("run", "-c", config),
        "YAML is not read; corehost reads JSON and TOML configs, chosen by the file's extension (.json, .toml). "
        "Save the config as .json or .toml.",
    )
