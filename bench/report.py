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
            if "python -c" not in name
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
    notes = results.get("notes")
    if notes:
        out += ["", "## Notes", "", notes.strip()]
    return "\n".join(out) + "\n"
