"""``buildfile.load_buildfile``: every key read the way its flag is, every mistake named with the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from corehost_build.buildfile import KEYS, load_buildfile
from corehost_build.errors import BuildFileError
from corehost_build.options import OPTIONS


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "build.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_values_are_placed_in_the_files_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'with = "./p"\nplugins-dir = ["plugins"]\nvenv = "out/venv"\nreplace = { x = "../fork" }\n'
        'python = "bin/python3"\nguard-timeout = 300\noffline = true\npip = false\nallow-plain = "Rich"\n',
    )
    raw = load_buildfile(path)
    here = path.resolve().parent
    assert raw.given == {
        "with_": [("./p", here)],
        "plugins_dirs": [("plugins", here)],
        "venv": ("out/venv", here),
        "replace": [("x=../fork", here)],
        "python": str(here / "bin/python3"),
        "guard_timeout": 300.0,
        "offline": True,
        "pip": False,
        "allow_plain": ["Rich"],
    }
    assert raw.words == [f"-c {path}"]


def test_a_build_table_and_a_bare_interpreter_name(tmp_path: Path) -> None:
    raw = load_buildfile(write(tmp_path, '[build]\nvenv = "v"\npython = "python3.12"\n'))
    assert raw.given["python"] == "python3.12", "a bare name is looked up on PATH, not in the file's folder"
    assert raw.value("guard_timeout") == 120.0 and raw.value("with_") == [], "keys not given keep their defaults"


def test_keys_are_the_options_keys() -> None:
    assert KEYS == sorted(o.key for o in OPTIONS)
    public = "with plugins-dir host venv output lock from-lock replace find-links offline pip compile python"
    assert {*public.split(), "python-version", "platform", "guard-timeout"} <= set(KEYS), "keys are public contract"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("whith = ['x']\n", "unknown key 'whith' (did you mean 'with'?); the keys are "),
        ("with = 3\n", "key 'with': expected a string or a list of strings, got 3."),
        ("venv = ['a']\n", "key 'venv': expected a string, got ['a']."),
        ("offline = 'yes'\n", "key 'offline': expected true or false, got 'yes'."),
        ("replace = ['a=b']\n", "key 'replace': expected a table of NAME = \"PATH\", got ['a=b']."),
        ("python = 3.11\n", "key 'python': expected the path of a Python interpreter, got 3.11."),
        ("guard-timeout = 0\n", "key 'guard-timeout': expected a number of seconds, got 0."),
        ("guard-timeout = true\n", "key 'guard-timeout': expected a number of seconds, got True."),
        ("venv = \n", "is not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BuildFileError) as caught:
        load_buildfile(path)
    assert f"build file {path}" in caught.value.message and expected in caught.value.message


def test_a_missing_file_says_which_flag_gave_it(tmp_path: Path) -> None:
    with pytest.raises(BuildFileError, match="does not exist; fix the path given to -c"):
        load_buildfile(tmp_path / "nope.toml")
