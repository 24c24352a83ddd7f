"""Typed hooks: mypy flags a wrong argument in a hook call or a hookimpl, and passes correct ones.

mypy runs for real (``python -m mypy --strict``) on small snippets that use
the public API, as a plugin author's or host author's CI would.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from corehost import Host, hookspecs, implements
from corehost.hooks import HostHooks

CORRECT = """
    from collections.abc import Mapping
    from typing import Any

    from corehost import Host, hookspec, hookspecs, implements


    @hookspec
    def myapp_saved(path: str, size: int) -> None:
        '''A host's own hook.'''


    @implements(hookspecs.corehost_stopping)
    def on_stop(reason: str) -> None:
        print(reason)


    @implements(myapp_saved)
    def on_saved(path: str, size: int) -> None:
        print(path, size)


    def use(host: Host, config: Mapping[str, Any]) -> None:
        host.hooks.corehost_stopping(reason="shutdown")
        host.hooks.corehost_config_loaded(config=config)
        host.hooks.call(hookspecs.corehost_stopping, reason="shutdown")
        host.hooks.call(myapp_saved, path="a.txt", size=3)
        host.hooks.call(myapp_saved, "a.txt", 3)
"""

#: Each wrong line is marked with ``# wrong``; mypy must report an error on each, and nowhere else.
WRONG = """
    from corehost import Host, hookspec, hookspecs, implements


    @hookspec
    def myapp_saved(path: str, size: int) -> None:
        '''A host's own hook.'''


    @implements(hookspecs.corehost_stopping)  # wrong
    def on_stop(reason: int) -> None:
        print(reason)


    @implements(myapp_saved)  # wrong
    def on_saved(path: str) -> None:
        print(path)


    def use(host: Host) -> None:
        host.hooks.corehost_stopping(reason=1)  # wrong
        host.hooks.corehost_stopping(why="shutdown")  # wrong
        host.hooks.call(hookspecs.corehost_stopping, reason=2)  # wrong
        host.hooks.call(myapp_saved, path="a.txt", size="3")  # wrong
        host.hooks.call(myapp_saved, path="a.txt")  # wrong
"""


def mypy(tmp_path: Path, source: str) -> tuple[int, str, list[int]]:
    """Exit code, output, and the lines with errors of mypy --strict on ``source``."""
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), path.name],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = sorted({int(m) for m in re.findall(r"^snippet\.py:(\d+): error:", result.stdout, re.M)})
    return result.returncode, result.stdout + result.stderr, lines


def test_mypy_passes_correct_hook_calls_and_hookimpls(tmp_path: Path) -> None:
    code, output, errors = mypy(tmp_path, CORRECT)
    assert code == 0, output
    assert errors == []
    assert "Success: no issues found in 1 source file" in output


def test_mypy_flags_every_wrong_hook_call_and_hookimpl(tmp_path: Path) -> None:
    code, output, errors = mypy(tmp_path, WRONG)
    wrong = [n for n, line in enumerate(textwrap.dedent(WRONG).splitlines(), 1) if line.endswith("# wrong")]
    assert code == 1, output
    assert errors == wrong, output
    assert 'Argument "reason" to "corehost_stopping" of "HostHooks" has incompatible type "int"' in output


def test_the_facade_has_a_method_per_hookspec_with_its_signature() -> None:
    declared = sorted(n for n, f in vars(hookspecs).items() if inspect.isfunction(f) and n.startswith("corehost_"))
    assert sorted(f.__name__ for f in hookspecs.ALL) == declared
    for spec in hookspecs.ALL:
        method = getattr(HostHooks, spec.__name__)
        params = list(inspect.signature(method).parameters.values())[1:]  # without self
        assert params == list(inspect.signature(spec).parameters.values()), spec.__name__
        assert inspect.signature(method).return_annotation == inspect.signature(spec).return_annotation


def test_implements_registers_the_impl_under_the_specs_name() -> None:
    seen: list[str] = []

    class Plugin:
        @staticmethod
        @implements(hookspecs.corehost_stopping)
        def note(reason: str) -> None:
            seen.append(reason)

    host = Host.from_objects(plugins={"plugin": Plugin})
    host.hooks.corehost_stopping(reason="typed")
    host.hooks.call(hookspecs.corehost_stopping, "positional")
    assert seen == ["typed", "positional"]


def test_the_example_host_and_its_plugin_pass_mypy_strict(tmp_path: Path) -> None:
    # The host calls its own hook through host.hooks.call and the plugin implements it with
    # @implements: both are checked against example_hostapp.hookspecs.
    examples = Path(__file__).resolve().parents[2] / "examples"
    packages = ["-p", "example_hostapp", "-p", "example_hostapp_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), *packages],
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": f"{examples / 'hostapp' / 'src'}:{examples / 'hostapp-plugin' / 'src'}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 10 source files" in result.stdout
