"""The console script ends its process without the interpreter's teardown, and loses nothing by it.

Each test runs :func:`corehost_build.cli.entry` in a fresh interpreter
beside an object whose ``__del__`` only the teardown would call, and an
``atexit`` function that must run either way.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import clean_env

#: argv[1]: "thread" to leave a thread running when the command returns; the rest is the command line.
SCRIPT = """
import atexit, sys, threading, time
import corehost_build.cli as cli
class Teardown:
    def __del__(self):
        print("teardown ran", flush=True)
kept = Teardown()
atexit.register(lambda: print("atexit ran", flush=True))
if sys.argv[1] == "thread":
    threading.Thread(target=time.sleep, args=(0.2,)).start()
sys.argv = ["corehost-build", *sys.argv[2:]]
cli.entry()
"""


def entry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=clean_env(), timeout=120
    )


def test_a_command_ends_without_the_teardown_after_its_atexit_functions() -> None:
    done = entry("none", "--version")
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["corehost-build, version 0.1.0", "atexit ran"]


def test_a_failing_command_keeps_its_exit_code_and_its_whole_output() -> None:
    done = entry("none", "build", "--json", "--venv", "nowhere")
    assert done.returncode == 2, done.stderr
    answer, _, rest = done.stdout.partition("\n}\n")
    assert json.loads(answer + "\n}")["kind"] == "SpecError" and rest == "atexit ran\n"
    assert done.stderr.startswith("corehost-build: error: nothing to build")


def test_a_thread_still_running_leaves_the_exit_to_the_interpreter() -> None:
    done = entry("thread", "--version")
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["corehost-build, version 0.1.0", "atexit ran", "teardown ran"]
