"""Benchmark 3: building the same host + plugin set with corehost-build, shiv, pex and plain uv.

The set is the host and the repo's ``plugins/`` (what README builds into
``dist/corehost.pyz``). shiv and pex get the same project folders and the
third-party versions corehost-build locked, pinned, so all of them produce
the same packages; pip runs with no configuration file, as on a user's
machine. The floor is what no bundler can beat: ``uv venv`` plus
``uv pip sync`` of the lock (local wheels already built) into a fresh venv.

*Warm* means every tool's caches are filled by an earlier build of the same
set (corehost-build's wheel cache, uv's cache, pip's cache, pex's root).
corehost-build's plain warm rows build into a destination deleted first,
so every step but the resolve runs (it follows the lock it kept); the
rebuild rows build over the last build of the same destination: once with
nothing changed (``up to date``: nothing is written) and once after one
plugin's source was edited (a copy of ``plugins/``, a new line in
``corehost_greet/app.py`` each time, so every sample rebuilds that wheel).
A rebuild's time ends when the command returns; the build it replaced is
deleted afterwards by a process of its own, which in these back-to-back
samples runs beside the next one (its cost lands there, not nowhere).
*Cold* means each build gets a fresh, empty ``COREHOST_BUILD_CACHE`` and
``UV_CACHE_DIR`` (so packages are downloaded and local projects built
again, build backend included), and for shiv and pex a fresh pip cache and
``PEX_ROOT``.

The rebuild rows are also summed up as the issue states their targets: the
edited-plugin rebuild in seconds and as a ratio to the unchanged (up to
date) rebuild of the same kind, medians of the same interleaved run, with
the median of each builder step. ``python -m bench.build_time`` runs only
those four rows (a minute instead of bench/run's fifteen) and prints them
with the load average, for measuring the rebuild path while changing it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.envs import PLUGINS_DIR, ROOT, Builder, repo_projects, tool, uv
from bench.stats import Sample, alternate, bench_env

_counter = itertools.count()

#: The two kinds of rebuild of an existing destination (row names end with them; report.py finds them so).
UNCHANGED = "warm, unchanged (up to date)"
EDITED = "warm, one plugin edited"


def _fresh(work: Path, what: str) -> Path:
    path = work / "fresh" / f"{what}-{next(_counter)}"
    path.mkdir(parents=True)
    return path


def _timed(argv: list[str | Path], env: dict[str, str] | None = None) -> float:
    args = [str(a) for a in argv]
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, env=bench_env(env))
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{args} exited {result.returncode}\n{result.stderr[-3000:]}")
    return elapsed


def _pip_env(cache: Path) -> dict[str, str]:
    """pip as on a user's machine: no configuration file, its own cache."""
    return {"PIP_CONFIG_FILE": "/dev/null", "PIP_CACHE_DIR": str(cache), "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""}


def _pins(lock: Path) -> list[str]:
    """``name==version`` of every third-party package in the lock."""
    local = {tomllib.loads((p / "pyproject.toml").read_text())["project"]["name"] for p in repo_projects()}
    packages = tomllib.loads(lock.read_text(encoding="utf-8"))["packages"]
    return [f"{p['name']}=={p['version']}" for p in packages if p["name"] not in local and p["name"] != "pip"]


def run_build_time(work: Path, builder: Builder, warm_runs: int, cold_runs: int, warmup: int = 1) -> dict[str, Any]:
    """Warm and cold samples per tool; tools missing from the bench environment are listed as absent."""
    lock_dir = work / "bt-lock"
    lock_dir.mkdir()
    lock = lock_dir / "pylock.toml"
    builder.build("--plugins-dir", PLUGINS_DIR, "--venv", work / "bt-lock-venv", "--lock", lock)
    pins = _pins(lock)
    projects = [str(p) for p in repo_projects()]
    # The lock names local wheels as pylock-wheels/NAME.whl; uv reads them from there.
    builder.wheels(*projects, "-o", lock_dir / "pylock-wheels")
    shiv, pex = tool("shiv"), tool("pex")
    absent = [name for name, exe in (("shiv", shiv), ("pex", pex)) if exe is None]

    last_steps: dict[str, dict[str, float]] = {}

    def _corehost(b: Builder, kind: str, *dest: str | Path) -> Callable[[], float]:
        def once() -> float:
            outcome = b.build("--plugins-dir", PLUGINS_DIR, *dest)
            last_steps[f"{kind} {'warm' if b is builder else 'cold'}"] = outcome.steps
            return outcome.seconds

        return once

    def corehost_venv(b: Builder) -> Callable[[], float]:
        build = _corehost(b, "venv", "--venv", work / "bt-venv")

        def once() -> float:
            shutil.rmtree(work / "bt-venv", ignore_errors=True)
            return build()

        return once

    def corehost_zipapp(b: Builder) -> Callable[[], float]:
        build = _corehost(b, "zipapp", "--output", work / "bt.pyz")

        def once() -> float:
            (work / "bt.pyz").unlink(missing_ok=True)
            return build()

        return once

    rebuilds, rebuild_steps = rebuild_sides(work, builder)

    def cold(make: Callable[[Builder], Callable[[], float]]) -> Callable[[], float]:
        return lambda: make(Builder(_fresh(work, "build-cache"), _fresh(work, "uv-cache")))()

    def shiv_build(pip_cache: Callable[[], Path]) -> Callable[[], float]:
        assert shiv is not None
        argv: list[str | Path] = [shiv, "-q", "-c", "corehost", "-o", work / "bt-shiv.pyz", "--reproducible"]
        return lambda: _timed([*argv, *projects, *pins], _pip_env(pip_cache()))

    def pex_build(root: Callable[[], Path]) -> Callable[[], float]:
        assert pex is not None
        argv: list[str | Path] = [pex, "-c", "corehost", "-o", work / "bt.pex"]
        return lambda: _timed([*argv, *projects, *pins], {**_pip_env(root() / "pip"), "PEX_ROOT": str(root())})

    def uv_floor() -> float:
        venv = work / "bt-floor"
        shutil.rmtree(venv, ignore_errors=True)
        started = _timed([uv(), "venv", "-q", "--python", str(work / "bt-lock-venv" / "bin" / "python"), venv])
        sync = [uv(), "pip", "sync", "-q", "--preview-features", "pylock", "--python", venv / "bin" / "python", lock]
        return started + _timed(sync)

    warm_pip, warm_pex = work / "warm-pip-cache", work / "warm-pex-root"
    warm: dict[str, Callable[[], float]] = {
        "corehost-build --venv": corehost_venv(builder),
        "corehost-build --output .pyz": corehost_zipapp(builder),
        "uv venv + uv pip sync of the lock (floor)": uv_floor,
        **rebuilds,
    }
    cold_sides: dict[str, Callable[[], float]] = {
        "corehost-build --venv": cold(corehost_venv),
        "corehost-build --output .pyz": cold(corehost_zipapp),
    }
    if shiv is not None:
        warm["shiv"] = shiv_build(lambda: warm_pip)
        cold_sides["shiv"] = shiv_build(lambda: _fresh(work, "pip-cache"))
    if pex is not None:
        warm["pex"] = pex_build(lambda: warm_pex)
        cold_sides["pex"] = pex_build(lambda: _fresh(work, "pex-root"))
    names = [str(Path(p).relative_to(ROOT)) or "." for p in projects]
    results: dict[str, Any] = {"absent": absent, "pins": pins, "projects": names}
    results["warm"] = alternate(warm, warm_runs, warmup=warmup)
    results["cold"] = alternate(cold_sides, cold_runs, warmup=0) if cold_runs else {}
    last_steps.update({label: runs[-1] for label, runs in rebuild_steps.items()})
    results["steps"] = last_steps
    results["rebuild"] = rebuild_summary(results["warm"], rebuild_steps)
    return results


def rebuild_sides(
    work: Path, builder: Builder
) -> tuple[dict[str, Callable[[], float]], dict[str, list[dict[str, float]]]]:
    """The four rebuild rows (venv and .pyz, unchanged and edited), and where each one's step times go.

    The unchanged rows and the edited rows build from copies of their own,
    into destinations of their own, each built once first.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    copies = {edit: shutil.copytree(PLUGINS_DIR, work / f"bt-plugins-{edit}", ignore=ignore) for edit in (False, True)}
    app = copies[True] / "greet" / "src" / "corehost_greet" / "app.py"
    steps: dict[str, list[dict[str, float]]] = {}

    def rebuild(label: str, flag: str, dest: Path, edit: bool) -> Callable[[], float]:
        builder.build("--plugins-dir", copies[edit], flag, dest)

        def once() -> float:
            if edit:
                app.write_text(app.read_text(encoding="utf-8") + f"# edit {next(_counter)}\n", encoding="utf-8")
            outcome = builder.build("--plugins-dir", copies[edit], flag, dest)
            if outcome.summary["up_to_date"] == edit:
                raise RuntimeError(f"{label}: expected up_to_date {not edit}, got {outcome.summary['up_to_date']}")
            steps.setdefault(label, []).append(outcome.steps)
            return outcome.seconds

        return once

    sides = {
        f"corehost-build {flag}, {what}": rebuild(f"{kind} {what}", flag, work / f"bt-{edit}-{dest}", edit)
        for kind, flag, dest in (("venv", "--venv", "venv"), ("zipapp", "--output", "bundle.pyz"))
        for what, edit in ((UNCHANGED, False), (EDITED, True))
    }
    return sides, steps


def rebuild_summary(samples: dict[str, Sample], steps: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per kind: the edited and unchanged rebuilds' medians (s), their ratio, and the edited one's median steps."""
    summary: dict[str, Any] = {}
    for flag in ("--venv", "--output"):
        edited, unchanged = samples[f"corehost-build {flag}, {EDITED}"], samples[f"corehost-build {flag}, {UNCHANGED}"]
        kind = "venv" if flag == "--venv" else "zipapp"
        recorded = steps.get(f"{kind} {EDITED}", [])
        names = sorted({name for one in recorded for name in one})
        summary[flag] = {
            "edited": edited.median,
            "unchanged": unchanged.median,
            "ratio": edited.median / unchanged.median,
            "edited_steps": {n: statistics.median(one.get(n, 0.0) for one in recorded) for n in names},
        }
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Only the rebuild rows, printed: ``python -m bench.build_time [--runs N]`` from the repo root."""
    parser = argparse.ArgumentParser(prog="python -m bench.build_time", description=main.__doc__)
    parser.add_argument("--runs", type=int, default=7, help="interleaved samples of each row (after one warm-up)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="corehost-bench-rebuild-"))
    try:
        sides, steps = rebuild_sides(work, Builder(work / "build-cache"))
        loads = [os.getloadavg()[0]]
        samples = alternate(sides, args.runs, warmup=1)
        loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for flag, row in rebuild_summary(samples, steps).items():
        lo, hi = samples[f"corehost-build {flag}, {EDITED}"].spread
        print(
            f"{flag:<9} edited {row['edited']:.3f} s ({lo:.3f}-{hi:.3f}), unchanged {row['unchanged']:.3f} s, "
            f"ratio {row['ratio']:.2f}; edited steps: "
            + ", ".join(f"{name} {seconds:.3f}" for name, seconds in row["edited_steps"].items())
        )
    print(f"load average (1 min) before and after: {loads[0]:.2f}, {loads[1]:.2f}; {args.runs} runs per row")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
