"""Benchmark 7: what isolating a module costs (``isolation = "process"``), beside the same module in-process.

Three measures, each side by side with its in-process (or bare-interpreter)
baseline in the same run:

- a round trip: ``greeters.zh``'s ``greet("Bob")`` through the proxy a config
  with ``isolation = "process"`` gets, over a unix socket and over loopback TCP,
  against the same call on the module made in-process (timeit, sides
  interleaved);
- a worker's start-up, spawn to handshake line, from a venv and from a
  bundle built by ``corehost-build build --isolate greeters.zh``, against
  ``python -c "import corehost_greeter_zh"`` in the same venv (a whole
  interpreter that imports the module's package), and the host's whole open
  of an isolated module (spawn, handshake, connect, decode and provision in
  the worker, first call answered);
- throughput with N concurrent callers (threads): all on one isolated module
  (its calls proceed together on its worker's connections), each on a module
  of its own (N workers), and N threads on the in-process module.

The round trips and throughput run in this process (the bench environment,
where corehost and the repo's plugins are installed), whose workers import
from the same environment, as a host's do (``corehost.remote.worker_command``).
The start-up of a built venv's and a bundle's worker times the command their
own hosts start it with, asked of each artifact (:func:`worker_argv`).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.envs import PLUGINS_DIR, Builder, make_venv
from bench.stats import Command, Sample, alternate, bench_env

MODULE = "greeters.zh"
GREETING = "你好, Bob!"
IN_PROCESS, UNIX, TCP = "in-process", "isolated, unix socket", "isolated, loopback TCP"
IMPORT = "python -c 'import corehost_greeter_zh' (venv)"
VENV_WORKER, BUNDLE_WORKER = "worker from the built venv: spawn → handshake", "worker from the .pyz: spawn → handshake"
SHARED, EACH = "all on one isolated module", "an isolated module each (one worker per caller)"
OPEN = "host opens an isolated greeters.zh: spawn → first greet answered"
ISOLATION_CONFIG: dict[str, Any] = {IN_PROCESS: {}, UNIX: {"isolation": "process"},
                                    TCP: {"isolation": {"network": "tcp"}}}  # fmt: skip


@dataclass(frozen=True)
class IsolationPlan:
    """Samples and sizes; smoke mode takes one short sample of each."""

    call_runs: int = 9
    #: Calls per round-trip sample: the in-process side makes this many times 100 (it is ~1000x faster).
    call_number: int = 3000
    startup_runs: int = 15
    callers: tuple[int, ...] = (1, 4, 16)
    throughput_seconds: float = 1.0
    throughput_rounds: int = 3
    warmup: int = 2


ISOLATION_SMOKE = IsolationPlan(call_runs=1, call_number=100, startup_runs=1, callers=(1, 2), throughput_seconds=0.2,
                                throughput_rounds=1, warmup=1)  # fmt: skip


def run_isolation(work: Path, builder: Builder, plan: IsolationPlan) -> dict[str, Any]:
    """Every isolation measure; the figures RESULTS.md section 7 is made of."""
    started = time.perf_counter()
    results: dict[str, Any] = {"plan": plan.__dict__, "load_before": _load()}
    results["calls"] = round_trips(plan)
    results["startup"] = startups(work, builder, plan)
    results["throughput"] = throughput(plan)
    results["load_after"] = _load()
    results["cores"] = os.cpu_count() or 1
    results["seconds"] = time.perf_counter() - started
    return results


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _greeters(configs: dict[str, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """A context, and greeters.zh loaded in it once per config (isolated ones each in a worker of their own)."""
    from corehost.context import Context
    from corehost.discovery import discover

    ctx = Context(discover())
    made = {name: ctx.load(MODULE, config, f"bench.{name}") for name, config in configs.items()}
    for name, greeter in made.items():
        isolated = bool(configs[name])
        if type(greeter).__name__.startswith("Isolated") != isolated or greeter.greet("Bob") != GREETING:
            raise AssertionError(f"{name}: got {greeter!r}, which greets {greeter.greet('Bob')!r}")
    return ctx, made


def _per_call(call: Callable[[], object], number: int) -> Callable[[], float]:
    timer = timeit.Timer(call)
    return lambda: timer.timeit(number) / number


def round_trips(plan: IsolationPlan) -> dict[str, Sample]:
    """Per-call time of ``greet("Bob")``: in-process, through a unix-socket worker, through a TCP worker."""
    ctx, greeters = _greeters(ISOLATION_CONFIG)
    try:
        sides = {
            name: _per_call(lambda g=g: g.greet("Bob"), plan.call_number * (100 if name == IN_PROCESS else 1))
            for name, g in greeters.items()
        }
        return alternate(sides, plan.call_runs, plan.warmup)
    finally:
        ctx.cleanup()


def _worker_env() -> dict[str, str]:
    """What a host gives the worker it starts (the cookie, a secret, its pid), without bytecode suppression."""
    from corehost import wire

    return bench_env(
        {wire.COOKIE_KEY: wire.COOKIE_VALUE, wire.SECRET_ENV: secrets.token_hex(32), wire.PARENT_ENV: str(os.getpid())}
    )


def _handshake(argv: Sequence[str | Path]) -> Callable[[], float]:
    """Spawn a worker, time it to its handshake line, then close its pipe (the host going away) and reap it."""
    from corehost import wire

    def once() -> float:
        env = _worker_env()
        start = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)  # fmt: skip
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline().decode()
        elapsed = time.perf_counter() - start
        proc.stdin.close()
        proc.wait(30)
        err = proc.stderr.read() if proc.stderr is not None else b""
        proc.stdout.close()
        if wire.parse_handshake(line) is None:
            raise RuntimeError(f"{argv} printed {line!r}, not a handshake; exit {proc.returncode}\n{err.decode()}")
        return elapsed

    return once


def _open_and_call() -> float:
    from corehost.context import Context
    from corehost.discovery import discover

    ctx = Context(discover())
    start = time.perf_counter()
    greeter = ctx.load(MODULE, {"isolation": "process"}, "bench")
    greeting = greeter.greet("Bob")
    elapsed = time.perf_counter() - start
    ctx.cleanup()
    if greeting != GREETING:
        raise AssertionError(f"the isolated greeter said {greeting!r}")
    return elapsed


#: Run by an artifact's interpreter: the command its host starts a worker of MODULE with (JSON), after what
#: a bundle's launcher does (its packages on the path) when the artifact is a bundle.
_COMMAND_PROBE = """
import json, runpy, sys
if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
    runpy.run_path(sys.argv[1], run_name="corehost_launcher")["enter"](sys.argv[1])
from corehost.remote import worker_command
print(json.dumps(worker_command(%r, None)))
"""


def worker_argv(python: Path, pyz: Path | None = None) -> list[str]:
    """The command a host in a built venv (or a bundle run by ``python``) starts its worker with."""
    argv = [str(python), "-c", _COMMAND_PROBE % MODULE, *([str(pyz)] if pyz is not None else [])]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=bench_env(None)).stdout
    command: list[str] = json.loads(out)
    return command


def startups(work: Path, builder: Builder, plan: IsolationPlan) -> dict[str, Sample]:
    """Spawn → handshake of a worker from a built venv and from a bundle, and their baselines, interleaved."""
    venv, pyz = work / "isolation-venv", work / "isolation.pyz"
    for dest in (("--venv", venv), ("--output", pyz)):
        builder.build("--plugins-dir", PLUGINS_DIR, "--isolate", MODULE, *dest)
    # The bundle runs on an interpreter with nothing installed: its own archive is all it imports from.
    base = make_venv(work / "isolation-base")
    python = venv / "bin" / "python"
    sides: dict[str, Callable[[], float]] = {
        "python -c pass (venv)": Command([python, "-c", "pass"]).run,
        IMPORT: Command([python, "-c", "import corehost_greeter_zh"]).run,
        # The commands the venv's host and the bundle's start their worker with.
        VENV_WORKER: _handshake(worker_argv(python)),
        BUNDLE_WORKER: _handshake(worker_argv(base.python, pyz)),
        OPEN: _open_and_call,
    }
    return alternate(sides, plan.startup_runs, plan.warmup)


def _rate(greeters: list[Any], callers: int, seconds: float) -> float:
    """Calls per second made by ``callers`` threads, the i-th calling ``greeters[i % len(greeters)]``."""
    stop = threading.Event()
    counts = [0] * callers
    go = threading.Barrier(callers + 1)

    def caller(i: int) -> None:
        greet = greeters[i % len(greeters)].greet
        go.wait()
        n = 0
        while not stop.is_set():
            greet("Bob")
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    go.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def throughput(plan: IsolationPlan) -> dict[int, dict[str, Sample]]:
    """Calls/s with N callers: sharing one isolated module, one isolated module each, and in-process."""
    out: dict[int, dict[str, Sample]] = {}
    for callers in plan.callers:
        configs = {f"own {i}": {"isolation": "process"} for i in range(callers)}
        ctx, greeters = _greeters({IN_PROCESS: {}, **configs})
        try:
            own = [g for name, g in greeters.items() if name != IN_PROCESS]
            sides = {
                SHARED: partial(_rate, own[:1], callers, plan.throughput_seconds),
                EACH: partial(_rate, own, callers, plan.throughput_seconds),
                IN_PROCESS: partial(_rate, [greeters[IN_PROCESS]], callers, plan.throughput_seconds),
            }
            out[callers] = alternate(sides, plan.throughput_rounds, 1)
        finally:
            ctx.cleanup()
    return out
