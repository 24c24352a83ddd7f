"""Benchmark 4: 1, 10, 100 and 1000 generated plugin modules in one bundle.

Each generated distribution holds one ``greeters`` module (see
:mod:`bench.gen`); the bundle is built with the ``greet`` plugin that owns
the namespace. For each size: build time and the builder's guard step (from
``corehost-build build --json``), the bundle's size, the start-up of
``list-modules`` and of ``run`` on a config that uses ONE generated module.
That run is also checked: at exit exactly one generated plugin package may
be in ``sys.modules`` (``-X importtime`` cannot show it: modules imported
through ``importlib.import_module`` bypass it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.envs import PLUGINS_DIR, Builder, BuildOutcome, make_venv
from bench.gen import plugin_dists
from bench.stats import Command, Sample, bench_env, commands

_PROBE = """
import atexit, runpy, sys
def report():
    names = sorted(m for m in sys.modules if m.startswith("bench_gen_"))
    print("IMPORTED " + " ".join(names), file=sys.stderr)
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def imported_plugins(python: Path, bundle: Path, config: Path, cache: dict[str, str]) -> list[str]:
    """The generated plugin packages a ``run`` of ``bundle`` imported (``cache``: where it unpacks)."""
    argv = [str(python), "-c", _PROBE, str(bundle), "run", "--config", str(config)]
    result = subprocess.run(argv, capture_output=True, text=True, env=bench_env(cache))
    lines = [line for line in result.stderr.splitlines() if line.startswith("IMPORTED")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"probe run failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return lines[-1].split()[1:]


def run_scale(
    work: Path, builder: Builder, sizes: list[int], build_runs: int, runs: int, warmup: int = 2
) -> dict[str, Any]:
    """Per size: build outcomes, bundle bytes, imported plugins; start-up samples of every size, interleaved."""
    base = make_venv(work / "scale-base", "click")
    config = work / "scale-one.json"
    config.write_text(
        json.dumps({"apps": {"greet": {"names": ["Bob"], "once": True, "greeters": [{"module": "g0000"}]}}}),
        encoding="utf-8",
    )
    per_size: dict[int, dict[str, Any]] = {}
    # Bundles unpack into this cache on their first start (the probe run below); the timed starts find them there.
    cached = {"COREHOST_CACHE_DIR": str(work / "scale-cache")}
    sides: dict[str, Command] = {}
    for n in sizes:
        wheels = work / f"scale-wheels-{n}"
        plugin_dists(wheels, n)
        bundle = work / f"scale-{n}.pyz"
        builds: list[BuildOutcome] = []
        for _ in range(build_runs):
            # Each sample is a whole build: over its last bundle of the same inputs the builder is "up to date".
            bundle.unlink(missing_ok=True)
            builds.append(builder.build("--with", PLUGINS_DIR / "greet", "--plugins-dir", wheels, "--output", bundle))
        per_size[n] = {
            "build": Sample(f"build {n}", [b.seconds for b in builds]),
            "guards": Sample(f"guards {n}", [b.steps["guards"] for b in builds]),
            "steps": builds[-1].steps,
            "modules": len(builds[-1].summary["modules"]),
            "bytes": bundle.stat().st_size,
            "imported": imported_plugins(base.python, bundle, config, cached),
        }
        sides[f"list-modules {n}"] = Command([base.python, bundle, "list-modules"], "greeters.g0000", cached)
        sides[f"run 1 of {n}"] = Command([base.python, bundle, "run", "--config", config], "g0000 Bob!", cached)
    startup = commands(sides, runs, warmup=warmup)
    for n in sizes:
        per_size[n]["list"] = startup[f"list-modules {n}"]
        per_size[n]["run"] = startup[f"run 1 of {n}"]
    return {"sizes": per_size}
