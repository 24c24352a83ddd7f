"""Benchmark 1: start-up of ``list-modules`` and ``run`` in each mode, as the environment grows.

Three ways to run the same host and plugins (the repo's ``plugins/``): the
single-file bundle, the built venv (both with a frozen registry), and a
plain venv where ``pip install`` put them (live discovery of entry points).
Baselines are an interpreter that does nothing and one that imports click,
which every corehost CLI imports anyway. Then unrelated distributions are
installed into every environment (cumulatively, 0 -> 100 -> 500): live
discovery reads every distribution's entry points on each start, the frozen
registry must not care.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.envs import PLUGINS_DIR, Builder, Venv, make_venv, repo_projects
from bench.gen import extra_dists
from bench.stats import Command, commands

ONE_MODULE_CONFIG = {"apps": {"greet": {"names": ["Bob"], "once": True, "greeters": [{"module": "en"}]}}}


@dataclass(frozen=True)
class FirstStart(Command):
    """A bundle's first start: every sample begins with an empty unpack cache (emptied outside the timing)."""

    cache: Path = Path()

    def run(self) -> float:
        shutil.rmtree(self.cache, ignore_errors=True)
        env = {**(self.env or {}), "COREHOST_CACHE_DIR": str(self.cache)}
        return Command(self.argv, self.expect, env, self.cwd).run()


def run_startup(work: Path, builder: Builder, extras: list[int], runs: int, warmup: int = 2) -> dict[str, Any]:
    """Every mode and baseline at each count of extra distributions; samples by count, then side."""
    zipapp = work / "greeter.pyz"
    # A bundle unpacks into this cache on its first start; later starts (the timed ones) find it there.
    cached = {"COREHOST_CACHE_DIR": str(work / "bundle-cache")}
    builder.build("--plugins-dir", PLUGINS_DIR, "--output", zipapp)
    built = work / "built-venv"
    builder.build("--plugins-dir", PLUGINS_DIR, "--venv", built)
    plain = make_venv(work / "plain-venv", *repo_projects())
    # The bundle runs on an interpreter with click only (none of corehost): a plain `python3` would do,
    # but the system one may carry .pth files whose cost is no part of any mode.
    base = make_venv(work / "base-venv", "click")
    config = work / "one-module.json"
    config.write_text(json.dumps(ONE_MODULE_CONFIG), encoding="utf-8")
    built_corehost = built / "bin" / "corehost"
    sides = {
        "python -c pass": Command([base.python, "-c", "pass"]),
        "python -c 'import click'": Command([base.python, "-c", "import click"]),
        "zipapp list-modules": Command([base.python, zipapp, "list-modules"], "greeters.en", cached),
        "zipapp run": Command([base.python, zipapp, "run", "--config", config], "Hello, Bob!", cached),
        # What a start costs once per machine and build: unpacking into an empty cache.
        "zipapp list-modules, first start": FirstStart(
            [base.python, zipapp, "list-modules"], "greeters.en", cache=work / "first-start-cache"
        ),
        "built venv list-modules": Command([built_corehost, "list-modules"], "greeters.en"),
        "built venv run": Command([built_corehost, "run", "--config", config], "Hello, Bob!"),
        # The same start without bin/corehost's #!/bin/sh launcher lines: what the shell costs.
        "built venv python -m corehost list-modules": Command(
            [built / "bin" / "python", "-m", "corehost", "list-modules"], "greeters.en"
        ),
        "live venv list-modules": Command([plain.bin("corehost"), "list-modules"], "greeters.en"),
        "live venv run": Command([plain.bin("corehost"), "run", "--config", config], "Hello, Bob!"),
    }
    results: dict[str, Any] = {"extras": {}, "zipapp_bytes": zipapp.stat().st_size}
    installed = 0
    wheels_dir = work / "extra-wheels"
    for count in extras:
        if count > installed:
            wheels = extra_dists(wheels_dir, count - installed, start=installed)
            for venv in (base, Venv(built), plain):
                venv.install(*wheels, no_deps=True)
            installed = count
        samples = commands(sides, runs, warmup=warmup)
        results["extras"][count] = samples
    return results
