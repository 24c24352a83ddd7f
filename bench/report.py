"""RESULTS.md from the benchmark results: tables of medians, spreads and ratios, and the targets.

Every ratio divides two medians of samples taken interleaved in the same
run; the spread shown is the interquartile range (min–max below 4 samples).
The targets' verdicts are computed here, from the same numbers, so the
document cannot claim more than was measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.stats import Sample, fmt, ratio

CLICK = "python -c 'import click'"
#: Below this, a difference in start-up between two sizes counts as flat (a 2-core shared machine's noise).
FLAT_MS = 2.0
#: A call through the registry's instance counts as overhead-free within this ratio of a direct call.
NO_OVERHEAD = 1.05


@dataclass
class Verdict:
    target: str
    met: bool | None
    detail: str

    def row(self) -> str:
        word = {True: "**met**", False: "**missed**", None: "not measured"}[self.met]
        return f"| {self.target} | {word} | {self.detail} |"


def _table(samples: dict[str, Sample], base: str | None, unit: str = "ms") -> list[str]:
    head = "| side | median (spread) | ratio |" if base else "| side | median (spread) |"
    lines = [head, "| --- | --- | --- |" if base else "| --- | --- |"]
    for name, s in samples.items():
        cell = f"| {name} | {fmt(s, unit)} |"
        if base:
            cell += f" {ratio(s, samples[base]):.2f}x |"
        lines.append(cell)
    return lines


#: Start-up targets (ms over `python -c 'import click'`, worst of the built modes at every count): target, stretch.
STARTUP_TARGETS = {"": 10.0, " (stretch)": 5.0}
#: The built modes those targets hold for: `list-modules` and `run` of a one-module config, .pyz and venv.
BUILT_STARTS = ("zipapp list-modules", "zipapp run", "built venv list-modules", "built venv run")


def startup_verdicts(startup: dict[str, Any]) -> list[Verdict]:
    counts = sorted(startup["extras"])
    verdicts = []
    worst = []
    for count in counts:
        s = startup["extras"][count]
        click = s[CLICK].median
        for name in BUILT_STARTS:
            worst.append(((s[name].median - click) * 1000, name, count))
    over, name, count = max(worst)
    for label, limit in STARTUP_TARGETS.items():
        verdicts.append(
            Verdict(
                f"built bundle start-up (`list-modules`, one-module `run`; venv and .pyz) over `import click` "
                f"< {limit:g} ms{label}",
                over < limit,
                f"worst: {name} at {count} extra dists, {over:+.1f} ms; "
                + ", ".join(f"{n} {o:+.1f} ms" for o, n, c in worst if c == counts[0]),
            )
        )
    if len(counts) > 1:
        lo, hi = startup["extras"][counts[0]], startup["extras"][counts[-1]]
        growth = {
            name: ((hi[name].median - hi[CLICK].median) - (lo[name].median - lo[CLICK].median)) * 1000
            for name in lo
            # A first start is paid once per build and machine (it unpacks); the target is about every start.
            if "python -c" not in name and "first start" not in name
        }
        frozen = {n: g for n, g in growth.items() if not n.startswith("live")}
        flat = all(abs(g) < FLAT_MS for g in frozen.values())
        verdicts.append(
            Verdict(
                f"frozen start-up flat from {counts[0]} to {counts[-1]} extra distributions "
                f"(|growth| < {FLAT_MS:g} ms)",
                flat,
                "growth of overhead over `import click`: " + ", ".join(f"{n} {g:+.1f} ms" for n, g in growth.items()),
            )
        )
    return verdicts


def scale_verdict(scale: dict[str, Any]) -> Verdict:
    sizes = scale["sizes"]
    if 1000 not in sizes or 10 not in sizes:
        n = max(sizes)
        ok = len(sizes[n]["imported"]) == 1
        detail = f"sizes measured: {sorted(sizes)}; 1 of {n} imported {sizes[n]['imported']}"
        return Verdict("`run` 1 of 1000 imports one plugin module, within 1.2x of 1 of 10", None,
                       detail + (" (one)" if ok else " (NOT one)"))  # fmt: skip
    r = ratio(sizes[1000]["run"], sizes[10]["run"])
    one = sizes[1000]["imported"] == ["bench_gen_0000"]
    return Verdict(
        "`run` 1 of 1000 imports one plugin module, within 1.2x of 1 of 10",
        one and r <= 1.2,
        f"imported {sizes[1000]['imported']}; run 1 of 1000 / 1 of 10 = {r:.2f}x "
        f"({fmt(sizes[1000]['run'])} vs {fmt(sizes[10]['run'])})",
    )


#: Rebuild targets (s): an unchanged rebuild of an existing destination, and one after editing one plugin.
REBUILD_TARGETS = {"warm, unchanged (up to date)": 0.2, "warm, one plugin edited": 0.5}


def build_verdicts(bt: dict[str, Any]) -> list[Verdict]:
    warm: dict[str, Sample] = bt["warm"]
    out = []
    for name in ("corehost-build --venv", "corehost-build --output .pyz"):
        s = warm[name]
        others = [o for o in ("shiv", "pex") if o in warm]
        faster = all(s.median < warm[o].median for o in others)
        vs = ", ".join(f"{ratio(s, warm[o]):.2f}x of {o}" for o in others) or "shiv/pex not installed"
        met: bool | None = s.median < 1.0 and faster if others else None
        out.append(Verdict(f"warm build `{name}` (new destination) < 1 s and faster than shiv and pex", met,
                           f"{fmt(s, 's')}; {vs}"))  # fmt: skip
    for name, s in warm.items():
        limit = next((t for suffix, t in REBUILD_TARGETS.items() if name.endswith(suffix)), None)
        if limit is not None:
            out.append(Verdict(f"`{name}` < {limit:g} s", s.median < limit, fmt(s, "s")))
    return out


def _rebuild_table(rebuild: dict[str, Any] | None) -> list[str]:
    """The rebuild rows as the targets state them: seconds, and the edited rebuild over the unchanged one."""
    if not rebuild:
        return []
    out = [
        "",
        "### Rebuilds of an existing destination",
        "",
        "Medians of the warm run above; the ratio is the edited rebuild's median over the unchanged one's, "
        "and the steps are the edited rebuild's median step times (`--json` `steps`, s).",
        "",
        "| artifact | unchanged (up to date) | one plugin edited | edited / unchanged | edited rebuild's steps |",
        "| --- | --- | --- | --- | --- |",
    ]
    for flag, row in rebuild.items():
        steps = ", ".join(f"{name} {seconds:.3f}" for name, seconds in row["edited_steps"].items())
        out.append(f"| `{flag}` | {row['unchanged']:.3f} s | {row['edited']:.3f} s | {row['ratio']:.2f}x | {steps} |")
    return out


def calls_verdict(calls: dict[str, Any]) -> Verdict:
    m = calls["module"]
    r = ratio(m["through the registry's instance"], m["direct call"])
    return Verdict(
        "module calls carry no overhead over a direct call",
        r <= NO_OVERHEAD,
        f"registry instance / direct = {r:.3f}x (the instance IS the plugin's class; "
        f"within {NO_OVERHEAD:g}x counts as none)",
    )


def render(results: dict[str, Any]) -> str:
    """The whole RESULTS.md."""
    m = results["machine"]
    startup, loaders, bt, scale, calls = (results[k] for k in ("startup", "loaders", "build_time", "scale", "calls"))
    verdicts = [*startup_verdicts(startup), scale_verdict(scale), *build_verdicts(bt), calls_verdict(calls)]
    out = [
        "# corehost benchmarks",
        "",
        f"Regenerate with `bench/run` (see bench/README.md); this run took {results['seconds'] / 60:.1f} min"
        + (" in **smoke mode** (one sample of the smallest sizes: not figures to quote)." if results["smoke"] else "."),
        "",
        f"- date: {m['date']}; commit {m['commit']}",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}; load average at start {m['load']}"
        " (other engineers' test suites were running: sides are interleaved, compare ratios)",
        f"- {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "- `PYTHONDONTWRITEBYTECODE` is removed from every timed process (it is set on this machine, and with it "
        "every start would recompile every module); warm-up runs fill the bytecode caches first.",
        "- Spread = interquartile range of the samples (min–max under 4 samples); ratios are of medians.",
        "",
        "## Targets",
        "",
        "| target | verdict | measured |",
        "| --- | --- | --- |",
        *(v.row() for v in verdicts),
        "",
        "## 1. Start-up",
        "",
        "Host + every plugin in the repo's `plugins/`. `run` uses a config with the greet app and ONE greeter "
        "(`greeters.en`). "
        "The bundle runs on a venv's interpreter that has only click installed; the built venv through its "
        "`bin/corehost`; the live venv is a plain `uv pip install` of the same projects (entry-point discovery). "
        "Extra distributions are generated wheels (a package and a console script each) installed with "
        "`uv pip install` into all three environments.",
    ]
    for count, samples in startup["extras"].items():
        out += ["", f"### {count} extra distributions", "", *_table(samples, CLICK)]
        click = samples[CLICK].median
        over = [f"{n} {(s.median - click) * 1000:+.1f} ms" for n, s in samples.items() if "python -c" not in n]
        out += ["", "Overhead over `import click`: " + ", ".join(over)]
    out += [
        "",
        "## 2. Loading 10 plugin modules",
        "",
        "Ten generated distributions, each ONE module that is a corehost module, a pluggy plugin and a "
        "stevedore extension at once, in a venv built by corehost-build (so the frozen registry is there; the "
        "other loaders scan entry points). Time inside a fresh interpreter from before importing the loader "
        "library to the 10 objects in hand; ratio to corehost frozen. stevedore uses its entry-point cache "
        "(its default), kept in the scratch folder.",
    ]
    if loaders["absent"]:
        out += ["", "Not installed in this bench environment, so not measured: " + ", ".join(loaders["absent"])]
    for count, data in loaders["extras"].items():
        out += ["", f"### {count} extra distributions: in-process", "", *_table(data["inproc"], "corehost frozen")]
        out += ["", f"### {count} extra distributions: wall time of the whole process", "",
                *_table(data["wall"], "corehost frozen")]  # fmt: skip
    out += [
        "",
        "## 3. Build time",
        "",
        f"Host + the repo's {len(bt['projects']) - 1} plugins ({', '.join(bt['projects'])}); shiv and pex get the "
        "same folders and the "
        f"locked third-party versions ({', '.join(bt['pins'])}), pip without a configuration file. "
        "**Warm**: every tool's caches were filled by a previous build of the same set. **Cold**: every build "
        "gets a fresh empty `COREHOST_BUILD_CACHE` and `UV_CACHE_DIR` (downloads and local wheel builds, "
        "build backend included), shiv a fresh pip cache, pex a fresh `PEX_ROOT`. corehost-build's plain rows "
        "build into a destination deleted first (every step runs but the resolve: the kept lock is followed); "
        "its rebuild rows build over the last build of the same destination, unchanged (up to date: nothing is "
        "written) or after one plugin's source was edited (its wheel is rebuilt, the lock is followed).",
    ]
    if bt["absent"]:
        out += ["", "Not installed in this bench environment, so not measured: " + ", ".join(bt["absent"])]
    out += ["", "### Warm", "", *_table(bt["warm"], "corehost-build --output .pyz", "s")]
    if bt["cold"]:
        out += ["", "### Cold", "", *_table(bt["cold"], "corehost-build --output .pyz", "s")]
    else:
        out += ["", "### Cold", "", "Not measured in this run (smoke mode)."]
    out += _rebuild_table(bt.get("rebuild"))
    out += ["", "corehost-build's own step times (`--json` `steps`) in the last build of each kind (s):", ""]
    for label, steps in sorted(bt["steps"].items()):
        out.append(f"- {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
                   + f" (sum {sum(steps.values()):.2f})")  # fmt: skip
    out += [
        "",
        "## 4. Scale: generated plugin modules in one bundle",
        "",
        "Each size is N generated distributions of one `greeters` module each plus the greet plugin, built "
        "into a zipapp. Start-up samples of all sizes were interleaved. `imported` is the set of generated "
        "plugin packages in `sys.modules` when a `run` of the one-module config exits.",
        "",
        "| modules | build | guards step | bundle size | list-modules | run 1 of N | run vs 1 of smallest | imported |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    sizes = scale["sizes"]
    first = sizes[min(sizes)]["run"]
    for n, d in sizes.items():
        out.append(
            f"| {n} | {fmt(d['build'], 's')} | {fmt(d['guards'], 's')} | {d['bytes'] / 1e6:.2f} MB | "
            f"{fmt(d['list'])} | {fmt(d['run'])} | {ratio(d['run'], first):.2f}x | {', '.join(d['imported'])} |"
        )
    out += ["", "Builder steps of the largest build (s): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sizes[max(sizes)]["steps"].items())]  # fmt: skip
    out += [
        "",
        "## 5. Call cost (in-process, timeit)",
        "",
        "### A module's method: `greeters.en` `greet('Bob')`",
        "",
        *_table(calls["module"], "direct call", "us"),
    ]
    for impls, samples in calls["hooks"].items():
        out += ["", f"### Hook `corehost_stopping` with {impls} hookimpl(s)", "",
                *_table(samples, "pluggy pm.hook.corehost_stopping()", "us")]  # fmt: skip
    if "http" in results:
        out += ["", *http_section(results)]
    if "isolation" in results:
        out += ["", *isolation_section(results)]
    notes = results.get("notes")
    if notes:
        out += ["", "## Notes", "", notes.strip()]
    return "\n".join(out) + "\n"


#: The http targets: corehost's throughput at least this share of hand-written Starlette's, its p99 at most this.
HTTP_RPS_SHARE = 0.9
HTTP_P99_RATIO = 1.1
HTTP_BEGIN = "<!-- http section: `bench/run --only http` rewrites from here to the end marker -->"
HTTP_END = "<!-- end of the http section -->"


def _lat(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _rps(sample: Sample) -> str:
    lo, hi = sample.spread
    return f"{sample.median:,.0f} ({lo:,.0f}–{hi:,.0f})"


def http_verdicts(http: dict[str, Any]) -> list[Verdict]:
    from bench.http import COREHOST, STARLETTE

    out = []
    for route, sides in http["routes"].items():
        ch, st = sides[COREHOST], sides[STARLETTE]
        r = ratio(ch["rps"], st["rps"])
        out.append(Verdict(f"{route}: corehost requests/s ≥ {HTTP_RPS_SHARE:g}× Starlette's", r >= HTTP_RPS_SHARE,
                           f"{r:.2f}× ({ch['rps'].median:,.0f} vs {st['rps'].median:,.0f} req/s)"))  # fmt: skip
        p = ratio(ch["p99"], st["p99"])
        out.append(Verdict(f"{route}: corehost p99 ≤ {HTTP_P99_RATIO:g}× Starlette's", p <= HTTP_P99_RATIO,
                           f"{p:.2f}× ({_lat(ch['p99'].median)} vs {_lat(st['p99'].median)})"))  # fmt: skip
    reload = http["reload"]
    if not reload["available"]:
        out.append(Verdict("reload under load: zero failed or refused requests, bad config refused, old one serving",
                           None, f"not measured: {reload['reason']}"))  # fmt: skip
    else:
        bad = reload["bad"]
        clean = reload["errors"] == 0 and reload["non_2xx"] == 0
        refused = bad.get("exit", 0) != 0 and bool(bad.get("still_serving"))
        out.append(Verdict(
            f"{reload['reloads']} reloads under load: zero failed or refused requests, the bad config refused "
            "with the old one serving", clean and refused,
            f"{reload['requests']:,} requests, socket errors {reload['errors']}"
            + (f" ({reload['error_kinds']})" if reload["error_kinds"] else "")
            + f", non-2xx {reload['non_2xx']}; "
            f"bad config: exit {bad.get('exit')}, old config serving: {bad.get('still_serving')}",
        ))  # fmt: skip
    return out


def http_section(results: dict[str, Any]) -> list[str]:
    """Section 6 with its own run facts (``--only http`` rewrites it alone), between HTTP_BEGIN and HTTP_END."""
    from bench.http import CADDY, COREHOST, ROUTES, STARLETTE

    http, m = results["http"], results["machine"]
    plan = http["plan"]
    out = [
        "## 6. HTTP serving",
        "",
        HTTP_BEGIN,
        "",
        f"Measured {m['date']}, commit {m['commit']}, in {http['seconds'] / 60:.1f} min"
        + (" in **smoke mode** (not figures to quote)" if results["smoke"] else "")
        + f"; load average {http['load_before']} at the start and {http['load_after']} at the end (the machine "
        "is shared with other engineers' test suites: compare the ratios, taken from interleaved samples).",
        "",
        "The same three routes on every side: `/hello` (a `path` matcher, a `headers` handler setting "
        "`X-Served-By`, a `static_response`), `/files/small.txt` (`file_server`, a 1 KiB file) and `/api/ping` "
        "(`reverse_proxy` to one local upstream: a bare ASGI app on uvicorn with uvloop and httptools, the same "
        "for every side). **corehost http**: the http and http-proxy plugins built by corehost-build into a venv "
        "with the fast path (`--with uvloop --with httptools --allow-plain ...`, docs/http.md), `corehost run`. "
        "**Starlette**: the routes hand-written (`Route`, `StaticFiles`, a streamed httpx proxy). **bare ASGI**: "
        "one ASGI callable, no framework (the floor). Both on `uvicorn --workers 1 --loop uvloop --http httptools "
        "--lifespan off --ws none --no-access-log`, the settings the http app gives uvicorn, with the corehost "
        "build's uvicorn, uvloop, httptools and httpx versions. Every Python side is one process with one worker "
        f"and one event loop; **Caddy** (its JSON config: admin off, automatic HTTPS off, logs discarded) uses "
        f"all {http['cores']} cores. Load: {http['client']}, {plan['seconds']:g} s a sample, {plan['rounds']} "
        "rounds with the order of the sides rotating, after an unrecorded warm-up of each. The load generator "
        "runs on the same machine and takes a core of its own.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in http["versions"].items()) + ".",
    ]
    if http["absent"]:
        out += ["", "Not installed, so not measured: " + ", ".join(http["absent"])
                + (" (the corehost side ran with the stand-in client)" if "wrk" in http["absent"] else "")]  # fmt: skip
    out += ["", "### Targets (http)", "", "| target | verdict | measured |", "| --- | --- | --- |",
            *(v.row() for v in http_verdicts(http))]  # fmt: skip
    if CADDY in next(iter(http["routes"].values())):
        ratios = [f"{route} {ratio(s[COREHOST]['rps'], s[CADDY]['rps']):.2f}×" for route, s in http["routes"].items()]
        out += ["", f"Caddy (not a target; it uses all {http['cores']} cores, the Python sides one): corehost's "
                "requests/s over Caddy's: " + "; ".join(ratios) + "."]  # fmt: skip
    for route, path in ROUTES.items():
        sides = http["routes"][route]
        st = sides[STARLETTE]
        out += [
            "",
            f"### {route}: `GET {path}`",
            "",
            "| side | requests/s (spread) | p50 | p99 | failed | req/s vs Starlette | p99 vs Starlette |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, s in sides.items():
            out.append(
                f"| {name} | {_rps(s['rps'])} | {_lat(s['p50'].median)} | {_lat(s['p99'].median)} | "
                f"{sum(s['failed'].times):.0f} | {ratio(s['rps'], st['rps']):.2f}× | "
                f"{ratio(s['p99'], st['p99']):.2f}× |"
            )
    out += ["", "### Memory (VmRSS)", "",
            "Idle: after start and one request per route. Under load: the peak seen (polled every 0.1 s) during "
            "the recorded samples.", "",
            "| side | idle | under load | vs Starlette under load |", "| --- | --- | --- | --- |"]  # fmt: skip
    mem = http["memory"]
    for name, m_ in mem.items():
        out.append(f"| {name} | {m_['idle_kib'] / 1024:.1f} MiB | {m_['load_kib'] / 1024:.1f} MiB | "
                   f"{m_['load_kib'] / mem[STARLETTE]['load_kib']:.2f}× |")  # fmt: skip
    out += ["", "### Reload under load", ""]
    reload = http["reload"]
    if not reload["available"]:
        out.append(f"Not measured: {reload['reason']}.")
    else:
        base = http["routes"][next(iter(ROUTES))][COREHOST]
        out += [
            f"{reload['reloads']} `corehost reload --config` calls alternating two configs (the `/hello` body "
            "differs; each reload is checked by a request seeing the new body), and one bad config "
            "(`static_response` status 42) halfway, while the load ran on `/hello`.",
            "",
            "| | requests | failed (socket errors + non-2xx) | req/s | p50 | p99 | max |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| during the reloads | {reload['requests']:,} | {reload['errors'] + reload['non_2xx']}"
            + (f" ({reload['error_kinds']})" if reload["error_kinds"] else "")
            + " | "
            f"{reload['rps']:,.0f} | {_lat(reload['p50'])} | {_lat(reload['p99'])} | {_lat(reload['max'])} |",
            f"| no reloads (the table above, median) | | | {base['rps'].median:,.0f} | {_lat(base['p50'].median)} | "
            f"{_lat(base['p99'].median)} | |",
            "",
            f"One `corehost reload` (the whole command): {fmt(reload['reload_seconds'], 's')}. The bad config: exit "
            f"{reload['bad'].get('exit')}, the old config still serving: {reload['bad'].get('still_serving')}; "
            f"its message: `{reload['bad'].get('message', '')}`",
        ]
    return [*out, "", HTTP_END]


def with_http_section(old: str, results: dict[str, Any]) -> str:
    """``old`` (a RESULTS.md) with its http section replaced, or added before the notes (or at the end)."""
    section = "\n".join(http_section(results))
    start, end = old.find("## 6. HTTP serving"), old.find(HTTP_END)
    if start >= 0 and end > start:
        return old[:start] + section + old[end + len(HTTP_END) :]
    notes = old.find("\n## Notes")
    if notes >= 0:
        return old[: notes + 1] + section + "\n\n" + old[notes + 1 :]
    return old.rstrip("\n") + ("\n\n" if old else "") + section + "\n"


#: The isolation targets: a round trip's median on a unix socket and on loopback TCP (µs), and a worker's
#: start-up (spawn to handshake) over `python -c "import <the module's package>"`.
ISOLATION_UNIX_US = 50.0
ISOLATION_TCP_US = 100.0
ISOLATION_STARTUP_RATIO = 1.5
ISOLATION_BEGIN = "<!-- isolation section: `bench/run --only isolation` rewrites from here to the end marker -->"
ISOLATION_END = "<!-- end of the isolation section -->"


def isolation_verdicts(iso: dict[str, Any]) -> list[Verdict]:
    from bench.isolation import BUNDLE_WORKER, IMPORT, IN_PROCESS, TCP, UNIX, VENV_WORKER

    calls, startup = iso["calls"], iso["startup"]
    out = []
    for side, limit in ((UNIX, ISOLATION_UNIX_US), (TCP, ISOLATION_TCP_US)):
        us = calls[side].median * 1e6
        out.append(Verdict(f"round trip `greet('Bob')`, {side}: median < {limit:g} µs", us < limit,
                           f"{us:.1f} µs; {ratio(calls[side], calls[IN_PROCESS]):,.0f}× the in-process call "
                           f"({calls[IN_PROCESS].median * 1e9:.0f} ns)"))  # fmt: skip
    for side in (VENV_WORKER, BUNDLE_WORKER):
        r = ratio(startup[side], startup[IMPORT])
        out.append(Verdict(f"{side} within {ISOLATION_STARTUP_RATIO:g}× of `{IMPORT}`", r <= ISOLATION_STARTUP_RATIO,
                           f"{r:.2f}× ({fmt(startup[side])} vs {fmt(startup[IMPORT])})"))  # fmt: skip
    return out


def isolation_section(results: dict[str, Any]) -> list[str]:
    """Section 7 with its own run facts (``--only isolation`` rewrites it alone), between the markers."""
    from bench.isolation import EACH, IMPORT, IN_PROCESS, SHARED

    iso, m = results["isolation"], results["machine"]
    plan = iso["plan"]
    out = [
        '## 7. Isolated modules (`isolation = "process"`)',
        "",
        ISOLATION_BEGIN,
        "",
        f"Measured {m['date']}, commit {m['commit']}, in {iso['seconds'] / 60:.1f} min"
        + (" in **smoke mode** (not figures to quote)" if results["smoke"] else "")
        + f"; load average {iso['load_before']} at the start and {iso['load_after']} at the end, {iso['cores']} "
        "cores shared with other engineers' test suites: compare the ratios, taken from interleaved samples.",
        "",
        "The module is `greeters.zh` (`greet(name: str) -> str`), made by a `corehost.context.Context` in the "
        'bench process: in-process, and with `isolation = "process"` (a worker on a unix socket) and '
        '`isolation = { network = "tcp" }` (a worker on loopback TCP), each worker started from the bench '
        "environment the way a host starts it. Workers speak `multiprocessing.connection` (HMAC-authenticated, "
        "pickled tuples, docs/isolation.md).",
        "",
        "### Targets (isolation)",
        "",
        "| target | verdict | measured |",
        "| --- | --- | --- |",
        *(v.row() for v in isolation_verdicts(iso)),
        "",
        f"### A round trip: `greet('Bob')`, {plan['call_runs']} samples of {plan['call_number']:,} calls "
        f"(in-process: {plan['call_number'] * 100:,})",
        "",
        *_table(iso["calls"], IN_PROCESS, "us"),
        "",
        f"### Start-up, {plan['startup_runs']} samples each, interleaved, after {plan['warmup']} unrecorded",
        "",
        "A worker is timed from its spawn to its handshake line (`CORE|APP|NETWORK|ADDRESS|ENCODING` on stdout), "
        "with the environment a host gives it (magic cookie, secret, the host's pid); the venv and the bundle "
        "were built by `corehost-build build --plugins-dir plugins --isolate greeters.zh`. The bundle runs on an "
        f"interpreter with nothing installed. The baseline is `{IMPORT}`: a whole interpreter that imports the "
        "module's package and exits. The host's open of an isolated module adds connecting, authenticating, "
        "decoding the config and provisioning the module in the worker, and the first call.",
        "",
        *_table(iso["startup"], IMPORT),
        "",
        f"### Throughput: calls/s with N callers (threads), {plan['throughput_rounds']} samples of "
        f"{plan['throughput_seconds']:g} s each",
        "",
        f"**{SHARED}**: every caller calls the same proxy, whose calls proceed together on its worker's "
        "connections (a thread each in the worker). "
        f"**{EACH}**: N workers, one per caller. **{IN_PROCESS}**: N threads on the module itself (the GIL's "
        "rate).",
        "",
        "| callers | " + " | ".join([SHARED, EACH, IN_PROCESS]) + " |",
        "| --- | --- | --- | --- |",
    ]
    for callers, sides in iso["throughput"].items():
        out.append(f"| {callers} | " + " | ".join(_calls_per_s(sides[s]) for s in (SHARED, EACH, IN_PROCESS)) + " |")
    return [*out, "", ISOLATION_END]


def _calls_per_s(sample: Sample) -> str:
    lo, hi = sample.spread
    return f"{sample.median:,.0f} ({lo:,.0f}–{hi:,.0f})"


def with_isolation_section(old: str, results: dict[str, Any]) -> str:
    """``old`` (a RESULTS.md) with its isolation section replaced, or added before the notes (or at the end)."""
    section = "\n".join(isolation_section(results))
    start, end = old.find("## 7. Isolated modules"), old.find(ISOLATION_END)
    if start >= 0 and end > start:
        return old[:start] + section + old[end + len(ISOLATION_END) :]
    notes = old.find("\n## Notes")
    if notes >= 0:
        return old[: notes + 1] + section + "\n\n" + old[notes + 1 :]
    return old.rstrip("\n") + ("\n\n" if old else "") + section + "\n"
