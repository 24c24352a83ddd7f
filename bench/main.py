"""Run every benchmark and write RESULTS.md: the body of ``bench/run``.

``--smoke`` runs each benchmark once at its smallest size (what the test
suite does so that the benchmarks cannot rot); the default run is the one
whose figures RESULTS.md quotes, sized to finish in about 15 minutes on
a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import build_time, calls, foreign, loaders, machine, report, scale, startup
from bench.envs import ROOT, Builder
from bench.foreign import FOREIGN_SMOKE, ForeignPlan, run_foreign
from bench.http import HTTP_SMOKE, HttpPlan, run_http
from bench.isolation import ISOLATION_SMOKE, IsolationPlan, run_isolation
from bench.stats import BUNDLE_CACHE_ENV, Sample


@dataclass(frozen=True)
class Plan:
    """How many samples and which sizes each benchmark takes."""

    startup_extras: tuple[int, ...] = (0, 100, 500)
    startup_runs: int = 11
    loader_extras: tuple[int, ...] = (0, 500)
    loader_runs: int = 11
    #: shiv and pex take 15-40 s a build on a loaded 2-core machine: these counts keep bench/run under 15 min.
    warm_builds: int = 5
    cold_builds: int = 2
    scale_sizes: tuple[int, ...] = (1, 10, 100, 1000)
    scale_builds: int = 2
    scale_runs: int = 10
    call_runs: int = 7
    call_number: int = 200_000
    #: Unrecorded runs of each side first (bytecode and page caches); builds take one fewer.
    warmup: int = 2
    http: HttpPlan = field(default_factory=HttpPlan)
    isolation: IsolationPlan = field(default_factory=IsolationPlan)
    foreign: ForeignPlan = field(default_factory=ForeignPlan)


SMOKE = Plan(
    startup_extras=(0, 3),
    startup_runs=1,
    loader_extras=(0,),
    loader_runs=1,
    warm_builds=1,
    cold_builds=0,
    scale_sizes=(1,),
    scale_builds=1,
    scale_runs=1,
    call_runs=1,
    call_number=1000,
    warmup=1,
    http=HTTP_SMOKE,
    isolation=ISOLATION_SMOKE,
    foreign=FOREIGN_SMOKE,
)


def run_all(plan: Plan, work: Path, smoke: bool) -> dict[str, Any]:
    """Every benchmark in order, sharing one warm builder cache; returns the results as objects."""
    started = time.perf_counter()
    results: dict[str, Any] = {"smoke": smoke, "machine": machine.describe()}
    builder = Builder(work / "build-cache")
    w = plan.warmup
    results["startup"] = startup.run_startup(work, builder, list(plan.startup_extras), plan.startup_runs, w)
    results["loaders"] = loaders.run_loaders(work, builder, list(plan.loader_extras), plan.loader_runs, w)
    results["build_time"] = build_time.run_build_time(work, builder, plan.warm_builds, plan.cold_builds, w - 1)
    results["scale"] = scale.run_scale(work, builder, list(plan.scale_sizes), plan.scale_builds, plan.scale_runs, w)
    results["calls"] = {
        "module": calls.module_calls(plan.call_runs, plan.call_number),
        "hooks": {n: calls.hook_calls(n, plan.call_runs, plan.call_number) for n in (1, 10)},
    }
    results["http"] = run_http(work, builder, plan.http)
    results["isolation"] = run_isolation(work, builder, plan.isolation)
    results["seconds"] = time.perf_counter() - started
    notes = ROOT / "bench" / "notes.md"
    if notes.exists() and not smoke:
        results["notes"] = notes.read_text(encoding="utf-8")
    return results


def to_json(value: Any) -> Any:
    """Results as JSON-ready data (samples become their medians, spreads and times)."""
    if isinstance(value, Sample):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description="Run corehost's benchmarks, write RESULTS.md.")
    parser.add_argument("--smoke", action="store_true", help="one sample of the smallest size of each benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md", help="where RESULTS.md goes")
    parser.add_argument("--json", type=Path, help="also write the raw samples as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (its path is printed)")
    parser.add_argument(
        "--only",
        choices=["http", "foreign", "isolation"],
        help="run only this benchmark and rewrite only its section of the --out file (foreign: datasette and llm "
        "with plugins from the index, built by corehost-build, shiv, pex and into a plain venv; a full run keeps "
        "the section as it was)",
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="corehost-bench-"))
    print(f"bench: scratch folder {work}", flush=True)
    # Every .pyz unpacks on its first start: into the scratch folder (removed at the end), never the user's cache;
    # a side that times first starts names a folder of its own.
    os.environ[BUNDLE_CACHE_ENV] = str(work / "unpacked")
    plan = SMOKE if args.smoke else Plan()
    try:
        if args.only == "http":
            started = time.perf_counter()
            results = {"smoke": args.smoke, "machine": machine.describe()}
            results["http"] = run_http(work, Builder(work / "build-cache"), plan.http)
            results["seconds"] = time.perf_counter() - started
        elif args.only == "isolation":
            results = {"smoke": args.smoke, "machine": machine.describe()}
            results["isolation"] = run_isolation(work, Builder(work / "build-cache"), plan.isolation)
            results["seconds"] = results["isolation"]["seconds"]
        elif args.only == "foreign":
            results = {"smoke": args.smoke, "machine": machine.describe()}
            results["foreign"] = run_foreign(work, plan.foreign)
            results["seconds"] = results["foreign"]["seconds"]
        else:
            results = run_all(plan, work, args.smoke)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if args.only == "http":
        args.out.write_text(report.with_http_section(old, results), encoding="utf-8")
    elif args.only == "isolation":
        args.out.write_text(report.with_isolation_section(old, results), encoding="utf-8")
    elif args.only == "foreign":
        command = "bench/run --only foreign" + (" --smoke" if args.smoke else "")
        text = foreign.section(results["foreign"], results["machine"], args.smoke, command)
        args.out.write_text(foreign.with_section(old, text), encoding="utf-8")
    else:
        args.out.write_text(foreign.carry_over(old, report.render(results)), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=1), encoding="utf-8")
    print(f"bench: wrote {args.out} in {results['seconds']:.0f} s", flush=True)
    return 0
