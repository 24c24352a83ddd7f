"""``corehost-build wheels``: one command makes the folder of wheels a plugin outside the clone needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.builder.conftest import Builder
from tests.conftest import ROOT, Venv, Wheelhouse, clean_env, uv


def wheel_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_plugins_and_corehost_become_an_installable_wheelhouse(builder: Builder, tmp_path: Path) -> None:
    out = tmp_path / "wheelhouse"
    made = builder.ok("wheels", "./plugins/greet", "./plugins/greeter-en", "-o", out)
    assert wheel_names(out) == [
        "corehost-0.1.0-py3-none-any.whl",
        "corehost_greet-0.1.0-py3-none-any.whl",
        "corehost_greeter_en-0.1.0-py3-none-any.whl",
    ]
    assert made.stdout.splitlines() == [str(out / name) for name in wheel_names(out)]
    assert "3 wheels in" in made.stderr
    venv = Venv(tmp_path / "venv")
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv.path)], check=True, env=clean_env())
    # Only the wheelhouse can provide corehost-*: they are on no index.
    venv.install("--find-links", out, "corehost-greeter-en")
    assert venv.corehost("greet", "Bob", "--lang", "en", check=True).stdout == "Hello, Bob!\n"


def test_a_second_run_rebuilds_nothing_and_no_host_leaves_corehost_out(builder: Builder, tmp_path: Path) -> None:
    out = tmp_path / "wheelhouse"
    builder.ok("wheels", "./plugins/greeter-zh", "-o", out, "--no-host")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert list(first) == ["corehost_greeter_zh-0.1.0-py3-none-any.whl"]
    again = builder.ok("wheels", "./plugins/greeter-zh", "-o", out, "--no-host")
    assert "(0 built now)" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_a_bad_path_is_named_and_nothing_is_written(builder: Builder, tmp_path: Path) -> None:
    out = tmp_path / "wheelhouse"
    missing = builder.run("wheels", "./plugins/greet", "./plugins/nope", "-o", out)
    assert missing.returncode == 2
    assert "wheels ./plugins/nope: no such project folder or wheel file" in missing.stderr
    not_project = builder.run("wheels", "./docs", "-o", out)
    assert not_project.returncode == 2
    assert "is not a Python project (it has no pyproject.toml or setup.py)" in not_project.stderr
    assert not out.exists()
    (tmp_path / "file").write_text("")
    into_file = builder.run("wheels", "./plugins/greet", "-o", tmp_path / "file")
    assert into_file.returncode == 1 and "that is a file, not a folder" in into_file.stderr
    no_output = builder.run("wheels", "./plugins/greet")
    assert no_output.returncode == 2 and "Missing option '--output'" in no_output.stderr


def test_a_corehost_that_cannot_be_copied_is_named_not_guessed(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    """corehost installed from a wheel that is gone since: the wheelhouse is made without it, and says so."""
    gone = tmp_path / "gone"
    gone.mkdir()
    host_wheel = shutil.copy2(wheelhouse.wheel("corehost"), gone)
    venv = Venv(tmp_path / "venv")
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv.path)], check=True, env=clean_env())
    venv.install(wheelhouse.wheel("corehost-build"), host_wheel)
    shutil.rmtree(gone)
    out = tmp_path / "wheelhouse"
    result = venv.run("corehost-build", "wheels", ROOT / "plugins" / "greeter-zh", "-o", out,
                      env={"COREHOST_BUILD_CACHE": str(tmp_path / "cache")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert wheel_names(out) == ["corehost_greeter_zh-0.1.0-py3-none-any.whl"]
    assert (
        "corehost-build: the corehost this builder runs with was installed from an index or from a wheel that is "
        "gone, so it is not in the wheelhouse; pass its project folder or wheel as one more PATH\n"
    ) in result.stderr
