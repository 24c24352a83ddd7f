"""Benchmark 8: foreign hosts, datasette and llm with plugins from the index, built five ways side by side.

Two sets, each a pluggy application (a *foreign* host: not a corehost
host, described by the builder) with plugins from the package index:
datasette with three plugins and llm with two. Each set is built by
``corehost-build build --host NAME --with ...`` into a single ``.pyz`` and
into a venv, by shiv and by pex into single files, and into a plain venv
(``uv venv`` + ``uv pip sync --compile-bytecode`` of the lock corehost-build
wrote, pip's default of compiling at install): the baseline every ratio is
taken against. All five hold the same locked versions: shiv and pex get
every locked package pinned (``name==version``), pip without a
configuration file, as on a user's machine.

Build time: *cold* builds get fresh, empty caches (``COREHOST_BUILD_CACHE``
and ``UV_CACHE_DIR`` for corehost-build and the plain venv, a pip cache for
shiv, ``PEX_ROOT`` for pex), so every package is downloaded; *warm* builds
reuse caches an earlier build of the same set filled, into a destination
deleted first (the second build of the same inputs); corehost-build's
*rebuild* rows build over the destination its last build wrote, with
nothing changed. Start-up: ``--version`` and ``plugins`` of each artifact,
interleaved, the order rotating each round, after unrecorded warm-up runs
(*later runs*), and on a first start (*first run*): each sample gets the
state a first start meets, a fresh extraction cache for the single files
(``COREHOST_CACHE_DIR``, ``SHIV_ROOT``, ``PEX_ROOT``), a fresh copy of the
built venv (it is relocatable), and a plain venv made anew from the warm
uv cache. Every single file is started as a user starts it (``./ds.pyz``),
with the bench interpreter's folder first on ``PATH`` so that the
``python3`` its first line names is that interpreter, never a shim. Sizes
are the files' bytes, the venvs' folders' bytes.

``bench/run --only foreign`` rewrites only this section of RESULTS.md
(between :data:`BEGIN` and :data:`END`), and a full ``bench/run`` carries
the section over as it was: it has its own date, commit and load average.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.build_time import _pip_env
from bench.envs import Builder, base_python, run, tool, tree_size, uv
from bench.report import Verdict
from bench.stats import Command, Sample, alternate, bench_env, commands, fmt, ratio

PYZ, VENV, SHIV, PEX = "corehost-build --output .pyz", "corehost-build --venv", "shiv", "pex"
PLAIN = "plain venv (baseline)"
#: The rebuild rows: corehost-build over its own last build, nothing changed.
REBUILD = "rebuild, nothing changed"
#: Targets: a warm rebuild's seconds, start-up over the plain venv's, the ``.pyz``'s bytes over shiv's.
REBUILD_SECONDS = 1.0
STARTUP_RATIO = 1.1
SIZE_RATIO = 1.0
BEGIN = "<!-- foreign section: `bench/run --only foreign` rewrites from here to the end marker -->"
END = "<!-- end of the foreign section -->"
HEADING = "## 8. Foreign hosts"
#: The tools whose versions the section names (from the machine facts of the run).
TOOLS = ("corehost-build", "shiv", "pex", "uv")

_counter = itertools.count()


@dataclass(frozen=True)
class ForeignSet:
    """A host and the plugins built with it, and what its two timed commands must print."""

    host: str
    plugins: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.host} + {len(self.plugins)} plugins"

    def with_args(self) -> list[str]:
        return [a for p in self.plugins for a in ("--with", p)]


SETS = (
    ForeignSet("datasette", ("datasette-cluster-map", "datasette-json-html", "datasette-vega")),
    # llm-echo is llm's own debug model plugin: light, like llm-jq (a command); both register hooks at start.
    ForeignSet("llm", ("llm-jq", "llm-echo")),
)


@dataclass(frozen=True)
class ForeignPlan:
    """Samples per side; the smoke plan takes one of each and no cold build."""

    cold_builds: int = 2
    warm_builds: int = 4
    later_runs: int = 15
    first_runs: int = 3
    warmup: int = 2


FOREIGN_SMOKE = ForeignPlan(cold_builds=0, warm_builds=1, later_runs=1, first_runs=1, warmup=1)


def _fresh(work: Path, what: str) -> Path:
    path = work / "fresh" / f"{what}-{next(_counter)}"
    path.mkdir(parents=True)
    return path


def _timed(argv: list[str | Path], env: dict[str, str] | None = None) -> float:
    """Wall time of one build; its failure stops the benchmark with the tool's own output."""
    start = time.perf_counter()
    run(argv, env=env)
    return time.perf_counter() - start


def locked_pins(lock: Path) -> list[str]:
    """``name==version`` of every package of a ``pylock.toml`` (what shiv and pex are given)."""
    packages = tomllib.loads(lock.read_text(encoding="utf-8"))["packages"]
    return sorted(f"{p['name']}=={p['version']}" for p in packages)


class SetBench:
    """The five ways of building one set, their artifacts, and the commands that start them."""

    def __init__(self, work: Path, fset: ForeignSet, builder: Builder) -> None:
        self.fset = fset
        self.work = work / fset.host
        self.work.mkdir()
        self.builder = builder
        self.python = base_python()
        self.shiv, self.pex = tool("shiv"), tool("pex")
        self.absent = [name for name, exe in ((SHIV, self.shiv), (PEX, self.pex)) if exe is None]
        self.lock = self.work / "lock" / "pylock.toml"
        self.lock.parent.mkdir()
        self.steps: dict[str, dict[str, float]] = {}
        # llm keeps keys, logs and aliases in a user folder: a scratch one, the same for every side.
        self.run_env = {"LLM_USER_PATH": str(self.work / "llm-user")}
        self.warm_pip, self.warm_pex = self.work / "warm-pip-cache", self.work / "warm-pex-root"
        self.pins: list[str] = []
        self.artifacts: dict[str, Path] = {}

    # The builds: each returns its wall time in seconds.

    def corehost(self, builder: Builder, flag: str, dest: Path, label: str) -> float:
        start = time.perf_counter()
        outcome = builder.build("--host", self.fset.host, *self.fset.with_args(), flag, dest, cwd=self.work)
        elapsed = time.perf_counter() - start
        self.steps[label] = outcome.steps
        if label.endswith(REBUILD) and not outcome.summary["up_to_date"]:
            raise RuntimeError(f"{label}: the rebuild of an unchanged set was not up to date")
        return elapsed

    def plain_venv(self, dest: Path, uv_cache: Path | None) -> float:
        shutil.rmtree(dest, ignore_errors=True)
        env = {"UV_CACHE_DIR": str(uv_cache)} if uv_cache is not None else None
        made = _timed([uv(), "venv", "-q", "--python", self.python, dest], env)
        sync: list[str | Path] = [uv(), "pip", "sync", "-q", "--preview-features", "pylock", "--compile-bytecode",
                "--python", dest / "bin" / "python", self.lock]  # fmt: skip
        return made + _timed(sync, env)

    def shiv_build(self, dest: Path, pip_cache: Path) -> float:
        assert self.shiv is not None
        argv: list[str | Path] = [self.shiv, "-q", "-c", self.fset.host, "-o", dest, "--reproducible"]
        return _timed([*argv, *self.pins], _pip_env(pip_cache))

    def pex_build(self, dest: Path, root: Path) -> float:
        assert self.pex is not None
        argv: list[str | Path] = [self.pex, "-c", self.fset.host, "-o", dest]
        return _timed([*argv, *self.pins], {**_pip_env(root / "pip"), "PEX_ROOT": str(root)})

    def prepare(self) -> None:
        """The lock every side follows, and one artifact of each side to time and size (not timed)."""
        self.builder.build(
            "--host", self.fset.host, *self.fset.with_args(), "--venv", self.work / "lock-venv", "--lock", self.lock,
            cwd=self.work,
        )  # fmt: skip
        self.pins = locked_pins(self.lock)
        self.artifacts = {PYZ: self.work / f"{self.fset.host}.pyz", VENV: self.work / "venv"}
        self.artifacts[PLAIN] = self.work / "plain"
        self.corehost(self.builder, "--output", self.artifacts[PYZ], "prepare pyz")
        self.corehost(self.builder, "--venv", self.artifacts[VENV], "prepare venv")
        self.plain_venv(self.artifacts[PLAIN], self.builder.uv_cache)
        if self.shiv is not None:
            self.artifacts[SHIV] = self.work / "shiv.pyz"
            self.shiv_build(self.artifacts[SHIV], self.warm_pip)
        if self.pex is not None:
            self.artifacts[PEX] = self.work / "x.pex"
            self.pex_build(self.artifacts[PEX], self.warm_pex)

    def builds(self, plan: ForeignPlan) -> dict[str, Any]:
        """Cold and warm samples of every side, and corehost-build's rebuilds of an unchanged set."""
        work = self.work

        def cold_corehost(flag: str, dest: str) -> Callable[[], float]:
            def once() -> float:
                b = Builder(_fresh(work, "build-cache"), _fresh(work, "uv-cache"))
                shutil.rmtree(work / dest, ignore_errors=True)
                (work / dest).unlink(missing_ok=True)
                return self.corehost(b, flag, work / dest, f"{flag} cold")

            return once

        def warm_corehost(flag: str, dest: str) -> Callable[[], float]:
            def once() -> float:
                shutil.rmtree(work / dest, ignore_errors=True)
                (work / dest).unlink(missing_ok=True)
                return self.corehost(self.builder, flag, work / dest, f"{flag} warm")

            return once

        def rebuild(flag: str) -> Callable[[], float]:
            dest = self.artifacts[PYZ if flag == "--output" else VENV]
            return lambda: self.corehost(self.builder, flag, dest, f"{flag} {REBUILD}")

        cold: dict[str, Callable[[], float]] = {
            PYZ: cold_corehost("--output", "cold.pyz"),
            VENV: cold_corehost("--venv", "cold-venv"),
            PLAIN: lambda: self.plain_venv(work / "cold-plain", _fresh(work, "uv-cache")),
        }
        warm: dict[str, Callable[[], float]] = {
            PYZ: warm_corehost("--output", "warm.pyz"),
            VENV: warm_corehost("--venv", "warm-venv"),
            PLAIN: lambda: self.plain_venv(work / "warm-plain", self.builder.uv_cache),
            f"{PYZ}, {REBUILD}": rebuild("--output"),
            f"{VENV}, {REBUILD}": rebuild("--venv"),
        }
        if self.shiv is not None:
            cold[SHIV] = lambda: self.shiv_build(work / "cold-shiv.pyz", _fresh(work, "pip-cache"))
            warm[SHIV] = lambda: self.shiv_build(work / "warm-shiv.pyz", self.warm_pip)
        if self.pex is not None:
            cold[PEX] = lambda: self.pex_build(work / "cold.pex", _fresh(work, "pex-root"))
            warm[PEX] = lambda: self.pex_build(work / "warm.pex", self.warm_pex)
        return {
            "cold": alternate(cold, plan.cold_builds, warmup=0) if plan.cold_builds else {},
            "warm": alternate(warm, plan.warm_builds, warmup=0),
        }

    # Start-up.

    def command(self, side: str, args: list[str], expect: str, state: Path | None = None) -> Command:
        """How ``side``'s artifact runs ``args``; ``state`` is the first-run folder (cache or venv copy)."""
        artifact = self.artifacts[side]
        env = dict(self.run_env)
        state_env = {PYZ: "COREHOST_CACHE_DIR", SHIV: "SHIV_ROOT", PEX: "PEX_ROOT"}
        if side in state_env:
            env[state_env[side]] = str(state or self.work / f"run-state-{side.split()[0]}")
            # Started as a user starts them (./ds.pyz): their first line finds python3 on PATH, this one.
            env["PATH"] = os.pathsep.join([str(Path(self.python).parent), os.environ.get("PATH", "")])
            return Command([artifact, *args], expect, env)
        folder = state or artifact
        return Command([folder / "bin" / self.fset.host, *args], expect, env)

    def first_start(self, side: str, args: list[str], expect: str) -> Callable[[], float]:
        """One first start of ``side``: a fresh state made (untimed), then the command timed."""

        def once() -> float:
            state = _fresh(self.work, "first")
            if side == VENV:
                state = state / "venv"
                shutil.copytree(self.artifacts[VENV], state, symlinks=True)
            elif side == PLAIN:
                self.plain_venv(state, self.builder.uv_cache)
            return self.command(side, args, expect, state).run()

        return once

    def startup(self, plan: ForeignPlan) -> dict[str, Any]:
        """Later-run and first-run samples of ``--version`` and ``plugins`` for every side."""
        checks = {"--version": "version", "plugins": self.fset.plugins[0]}
        for side in self.artifacts:
            out = subprocess.run([str(a) for a in self.command(side, ["plugins"], "").argv], capture_output=True,
                                 text=True, env=bench_env(self.run_env)).stdout  # fmt: skip
            missing = [p for p in self.fset.plugins if p not in out]
            if missing:
                raise RuntimeError(f"{self.fset.label}, {side}: `plugins` does not list {missing}:\n{out}")
        later, first = {}, {}
        for args, expect in checks.items():
            sides = {side: self.command(side, [args], expect) for side in self.artifacts}
            later[args] = commands(sides, plan.later_runs, warmup=plan.warmup)
            starts = {side: self.first_start(side, [args], expect) for side in self.artifacts}
            first[args] = alternate(starts, plan.first_runs, warmup=0)
        return {"later": later, "first": first}

    def sizes(self) -> dict[str, int]:
        return {side: tree_size(path) for side, path in self.artifacts.items()}

    def locked(self) -> dict[str, str]:
        """The host's and plugins' locked versions, and how many packages the lock holds."""
        packages = tomllib.loads(self.lock.read_text(encoding="utf-8"))["packages"]
        names = {self.fset.host, *self.fset.plugins}
        found = {p["name"]: p["version"] for p in packages if p["name"] in names}
        return {**found, "packages in the lock": str(len(packages))}


def run_foreign(work: Path, plan: ForeignPlan) -> dict[str, Any]:
    """Every set's builds, sizes and start-up; one builder cache for the warm builds of both sets."""
    started = time.perf_counter()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    builder = Builder(work / "foreign-build-cache", work / "foreign-uv-cache")
    sets: dict[str, Any] = {}
    absent: list[str] = []
    for fset in SETS:
        bench = SetBench(work, fset, builder)
        bench.prepare()
        absent = bench.absent
        result: dict[str, Any] = {"host": fset.host, "plugins": list(fset.plugins), "locked": bench.locked()}
        result["build"] = bench.builds(plan)
        result["steps"] = bench.steps
        result["sizes"] = bench.sizes()
        result["startup"] = bench.startup(plan)
        sets[fset.label] = result
    return {
        "sets": sets,
        "absent": absent,
        "plan": plan.__dict__,
        "python": base_python(),
        "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds": time.perf_counter() - started,
    }


# The report: RESULTS.md's section 8.


def verdicts(label: str, data: dict[str, Any]) -> list[Verdict]:
    """The issue's three targets for one set, from this run's medians."""
    out = []
    warm: dict[str, Sample] = data["build"]["warm"]
    for side in (PYZ, VENV):
        s = warm[f"{side}, {REBUILD}"]
        out.append(Verdict(f"{label}: `{side}` warm rebuild (nothing changed) < {REBUILD_SECONDS:g} s",
                           s.median < REBUILD_SECONDS, fmt(s, "s")))  # fmt: skip
        s = warm[side]
        out.append(Verdict(f"{label}: `{side}` second build of the same inputs (new destination) "
                           f"< {REBUILD_SECONDS:g} s", s.median < REBUILD_SECONDS, fmt(s, "s")))  # fmt: skip
    for args, samples in data["startup"]["later"].items():
        for side in (PYZ, VENV):
            r = ratio(samples[side], samples[PLAIN])
            out.append(Verdict(
                f"{label}: `{args}` start-up (later runs) of `{side}` ≤ {STARTUP_RATIO:g}× the plain venv's",
                r <= STARTUP_RATIO, f"{r:.2f}× ({fmt(samples[side])} vs {fmt(samples[PLAIN])})",
            ))  # fmt: skip
    sizes = data["sizes"]
    if SHIV in sizes:
        r = sizes[PYZ] / sizes[SHIV]
        out.append(Verdict(f"{label}: `.pyz` size ≤ shiv's", r <= SIZE_RATIO,
                           f"{sizes[PYZ] / 1e6:.2f} MB vs {sizes[SHIV] / 1e6:.2f} MB ({r:.2f}×)"))  # fmt: skip
    else:
        out.append(Verdict(f"{label}: `.pyz` size ≤ shiv's", None, "shiv not installed"))
    return out


def _table(samples: dict[str, Sample], unit: str) -> list[str]:
    base = samples.get(PLAIN)
    lines = ["| side | median (spread) | vs plain venv |", "| --- | --- | --- |"]
    for name, s in samples.items():
        lines.append(f"| {name} | {fmt(s, unit)} | {f'{ratio(s, base):.2f}×' if base else ''} |")
    return lines


def section(foreign: dict[str, Any], machine: dict[str, Any], smoke: bool, command: str) -> str:
    """Section 8 between :data:`BEGIN` and :data:`END`, with its own run facts."""
    plan = foreign["plan"]
    versions = machine["versions"]
    out = [
        HEADING,
        "",
        BEGIN,
        "",
        f"Measured {machine['date']}, commit {machine['commit']}, with `{command}` in "
        f"{foreign['seconds'] / 60:.1f} min"
        + (" in **smoke mode** (not figures to quote)" if smoke else "")
        + f"; load average {foreign['load_before']} at the start and {foreign['load_after']} at the end (the "
        "machine is shared with other engineers' test suites: compare the ratios, taken from interleaved samples).",
        "",
        "Each set is built five ways: `corehost-build build --host NAME --with PLUGIN ...` with `--output` (a "
        "`.pyz`) and with `--venv`; shiv (`-c NAME --reproducible`) and pex (`-c NAME`) given every package of "
        "corehost-build's lock pinned, pip without a configuration file; and the baseline, a **plain venv**: "
        "`uv venv` + `uv pip sync --compile-bytecode` of the same lock (compiling at install is pip's default). "
        f"**Cold**: fresh empty caches for every build ({plan['cold_builds']} each); **warm**: the caches an "
        f"earlier build of the same set filled, a destination deleted first ({plan['warm_builds']} each); "
        "**rebuild**: corehost-build over its own last build, nothing changed. Start-up: "
        f"{plan['later_runs']} interleaved runs of each side after {plan['warmup']} unrecorded ones (later "
        f"runs), and {plan['first_runs']} first starts each (a fresh extraction cache for the single files: "
        "`COREHOST_CACHE_DIR`, `SHIV_ROOT`, `PEX_ROOT`; a fresh copy of the corehost-build venv; a plain venv "
        f"made anew). Every single file is started as `./FILE`, its first line finding `python3` in "
        f"`{Path(foreign['python']).parent}` (first on `PATH`); "
        "`PYTHONDONTWRITEBYTECODE` is unset. Sizes: the file, or the venv folder.",
        "",
        "Versions: " + ", ".join(f"{k} {versions.get(k, '?')}" for k in TOOLS) + ".",
    ]
    if foreign["absent"]:
        out += ["", "Not installed in this bench environment, so not measured: " + ", ".join(foreign["absent"])]
    rows = [v for label, data in foreign["sets"].items() for v in verdicts(label, data)]
    out += ["", "### Targets (foreign hosts)", "", "| target | verdict | measured |", "| --- | --- | --- |",
            *(v.row() for v in rows)]  # fmt: skip
    for label, data in foreign["sets"].items():
        locked = ", ".join(f"{k} {v}" for k, v in data["locked"].items())
        out += ["", f"### {label}", "", f"Locked: {locked}.", "", "Build time, warm:", "",
                *_table(data["build"]["warm"], "s")]  # fmt: skip
        if data["build"]["cold"]:
            out += ["", "Build time, cold:", "", *_table(data["build"]["cold"], "s")]
        else:
            out += ["", "Build time, cold: not measured in this run."]
        plain = data["sizes"][PLAIN]
        out += ["", "| side | size | vs plain venv |", "| --- | --- | --- |"]
        out += [f"| {side} | {size / 1e6:.2f} MB | {size / plain:.2f}× |" for side, size in data["sizes"].items()]
        for kind in ("later", "first"):
            for args, samples in data["startup"][kind].items():
                out += ["", f"`{args}`, {kind} run{'s' if kind == 'later' else ''}:", "", *_table(samples, "ms")]
        out += ["", "corehost-build's own step times (`--json` `steps`) in the last build of each kind (s):", ""]
        for kind, steps in sorted(data["steps"].items()):
            if not kind.startswith("prepare"):
                out.append(f"- {kind}: " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    return "\n".join([*out, "", END])


def with_section(old: str, text: str) -> str:
    """``old`` (a RESULTS.md) with its foreign section replaced, or added before the notes (or at the end)."""
    start, end = old.find(HEADING), old.find(END)
    if start >= 0 and end > start:
        return old[:start] + text + old[end + len(END) :]
    notes = old.find("\n## Notes")
    if notes >= 0:
        return old[: notes + 1] + text + "\n\n" + old[notes + 1 :]
    return old.rstrip("\n") + ("\n\n" if old else "") + text + "\n"


def carry_over(old: str, new: str) -> str:
    """A fully regenerated RESULTS.md (``new``) with the foreign section ``old`` had, if it had one."""
    start, end = old.find(HEADING), old.find(END)
    if start < 0 or end < start:
        return new
    return with_section(new, old[start : end + len(END)])
