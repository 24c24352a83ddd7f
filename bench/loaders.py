"""Benchmark 2: loading the same 10 plugin modules with corehost and with the loaders users know.

Ten generated distributions each ship ONE Python module that is at once a
corehost module (``greeters.gNNNN``), a pluggy plugin (group
``bench.pluggy``) and a stevedore extension (group ``bench.stevedore``), so
every loader imports exactly the same code. They are built with the repo's
plugins into a venv by ``corehost-build`` (frozen registry); the other
loaders scan the same venv's entry points. Each sample is a fresh
interpreter: the figure is the time from before importing the loader's
library to the 10 objects in hand, measured inside the process, and the
process's wall time beside it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.envs import PLUGINS_DIR, Builder, Venv, has_module
from bench.gen import PLUGGY_GROUP, PLUGGY_PROJECT, STEVEDORE_GROUP, extra_dists, plugin_dists
from bench.stats import Sample, alternate, bench_env

COUNT = 10

_PRELUDE = "import time\nt = time.perf_counter()\n"
_EPILOGUE = "dt = time.perf_counter() - t\nassert len(objs) == {n}, objs\nprint(dt)\n"

SCRIPTS = {
    "corehost frozen": """
from corehost.discovery import environment_registry
r = environment_registry()
assert r.frozen
objs = [m.load() for m in r.in_namespace("greeters") if m.short_name.startswith("g")]
""",
    "corehost live": """
from corehost.discovery import discover
r = discover()
objs = [m.load() for m in r.in_namespace("greeters") if m.short_name.startswith("g")]
""",
    "pluggy load_setuptools_entrypoints": f"""
import pluggy
class Spec:
    @pluggy.HookspecMarker("{PLUGGY_PROJECT}")
    def bench_greet(self, name): ...
pm = pluggy.PluginManager("{PLUGGY_PROJECT}")
pm.add_hookspecs(Spec)
pm.load_setuptools_entrypoints("{PLUGGY_GROUP}")
objs = pm.get_plugins()
""",
    "stevedore ExtensionManager": f"""
from stevedore import ExtensionManager
objs = [e.plugin for e in ExtensionManager("{STEVEDORE_GROUP}", invoke_on_load=False)]
""",
    "static imports (no plugin system)": """
import importlib
objs = [importlib.import_module(f"bench_gen_{i:04d}").Greeter for i in range(10)]
""",
}


def _side(python: Path, code: str, wall: Sample, env: dict[str, str]) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=bench_env(env))
        wall.times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise RuntimeError(f"loader script failed:\n{code}\n{result.stderr[-2000:]}")
        return float(result.stdout.split()[-1])

    return once


def run_loaders(work: Path, builder: Builder, extras: list[int], runs: int, warmup: int = 2) -> dict[str, Any]:
    """In-process and wall samples per loader, at each count of extra distributions."""
    wheels = work / "loader-wheels"
    plugin_dists(wheels, COUNT)
    venv = Venv(work / "loaders-venv")
    builder.build("--plugins-dir", PLUGINS_DIR, "--plugins-dir", wheels, "--venv", venv.path)
    absent = []
    if has_module("stevedore"):
        venv.install("stevedore")
    else:
        absent.append("stevedore ExtensionManager")
    # stevedore keeps an entry-point cache under the user's cache folder; this keeps it in the scratch folder.
    env = {"XDG_CACHE_HOME": str(work / "xdg-cache")}
    results: dict[str, Any] = {"absent": absent, "extras": {}}
    installed = 0
    for count in extras:
        if count > installed:
            venv.install(*extra_dists(work / "loader-extra-wheels", count - installed, start=installed), no_deps=True)
            installed = count
        walls: dict[str, Sample] = {}
        sides = {}
        for name, body in SCRIPTS.items():
            if name in absent:
                continue
            walls[name] = Sample(name)
            code = _PRELUDE + body + _EPILOGUE.format(n=COUNT)
            sides[name] = _side(venv.python, code, walls[name], env)
        inproc = alternate(sides, runs, warmup=warmup)
        for wall in walls.values():  # the warm-up runs are not samples
            del wall.times[: len(wall.times) - runs]
        results["extras"][count] = {"inproc": inproc, "wall": walls}
    return results
