"""Timing with the house rules: sides alternate, several runs each, median and spread.

Every comparison in RESULTS.md is a ratio of two medians taken in the same
run, because on a shared 2-core machine absolute times drift by tens of
percent between minutes while the ratio of interleaved samples stays put.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Where a ``.pyz`` unpacks (see :func:`corehost.bundle.cache_root`): the one ``COREHOST_*`` variable a timed
#: subprocess keeps.
BUNDLE_CACHE_ENV = "COREHOST_CACHE_DIR"


@dataclass
class Sample:
    """The timings of one side, in seconds."""

    name: str
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> tuple[float, float]:
        """Lower and upper quartile (min and max below four samples): what "±" means in RESULTS.md."""
        if len(self.times) < 4:
            return min(self.times), max(self.times)
        q = statistics.quantiles(self.times, n=4)
        return q[0], q[2]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "median": self.median, "spread": self.spread, "times": self.times}


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for timed subprocesses.

    ``PYTHONDONTWRITEBYTECODE`` is removed (with it every start would
    recompile every module, which no user pays), and so is anything that
    would point an interpreter or uv somewhere else; but for where bundles
    unpack (:data:`BUNDLE_CACHE_ENV`), which ``bench/run`` points into its
    scratch folder.
    """
    drop = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "COREHOST_", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) or k == BUNDLE_CACHE_ENV}
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Command:
    """One side of a startup comparison: a command line and what it must print to count."""

    argv: Sequence[str | Path]
    expect: str = ""
    env: Mapping[str, str] | None = None
    cwd: Path | None = None

    def run(self) -> float:
        """Run once and return the wall time; a wrong exit or output fails the whole benchmark."""
        argv = [str(a) for a in self.argv]
        start = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, env=bench_env(self.env), cwd=self.cwd)
        elapsed = time.perf_counter() - start
        if result.returncode != 0 or self.expect not in result.stdout:
            raise RuntimeError(
                f"{argv} exited {result.returncode} (expected {self.expect!r} in stdout)\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
            )
        return elapsed


def alternate(sides: Mapping[str, Callable[[], float]], runs: int, warmup: int = 1) -> dict[str, Sample]:
    """Run every side ``runs`` times, interleaved, rotating the order each round.

    Warm-up rounds (not recorded) let bytecode caches and the page cache fill,
    so the figures are those of the second and later starts a user sees.
    """
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    samples = {name: Sample(name) for name in names}
    for round_ in range(runs):
        k = round_ % len(names)
        for name in names[k:] + names[:k]:
            samples[name].times.append(sides[name]())
    return samples


def commands(sides: Mapping[str, Command], runs: int, warmup: int = 1) -> dict[str, Sample]:
    """:func:`alternate` over command lines."""
    return alternate({name: cmd.run for name, cmd in sides.items()}, runs, warmup)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def fmt(sample: Sample, unit: str = "ms") -> str:
    """``12.3 ms (11.9–13.0)``: median and spread."""
    lo, hi = sample.spread
    if unit == "s":
        return f"{sample.median:.2f} s ({lo:.2f}–{hi:.2f})"
    if unit == "us":
        return f"{sample.median * 1e6:.2f} µs ({lo * 1e6:.2f}–{hi * 1e6:.2f})"
    return f"{sample.median * 1000:.1f} ms ({lo * 1000:.1f}–{hi * 1000:.1f})"


def ratio(a: Sample, b: Sample) -> float:
    """``a`` over ``b``, medians."""
    return a.median / b.median
