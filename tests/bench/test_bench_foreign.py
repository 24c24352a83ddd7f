"""RESULTS.md's foreign-hosts section: written from a run's samples, rewritten alone, kept by a full run.

The benchmark itself (bench/foreign.py) builds datasette and llm from the
package index with five tools and takes minutes even in smoke mode, so it
is run by hand (``bench/run --only foreign``); what a test can hold still
is the report: the verdicts computed from the medians, and a section that
``--only foreign`` replaces in place and a full regeneration carries over,
so neither loses the other's figures.
"""

from __future__ import annotations

from typing import Any

from bench import foreign
from bench.foreign import PEX, PLAIN, PYZ, REBUILD, SHIV, VENV
from bench.stats import Sample

MACHINE = {"date": "2026-11-29 20:00 UTC", "commit": "abc1234", "versions": {"shiv": "1.0.8", "pex": "2.105.2"}}


def samples(times: dict[str, float]) -> dict[str, Sample]:
    return {name: Sample(name, [t, t]) for name, t in times.items()}


def one_set(pyz_version: float) -> dict[str, Any]:
    """A set's results: the .pyz starts ``pyz_version`` s for ``--version``, the plain venv 0.40 s."""
    start = {PYZ: pyz_version, VENV: 0.41, PLAIN: 0.40, SHIV: 0.55, PEX: 1.0}
    return {
        "locked": {"datasette": "0.65.5", "packages in the lock": "32"},
        "build": {
            "cold": samples({PYZ: 9.0, VENV: 8.0, PLAIN: 5.0, SHIV: 12.0, PEX: 14.0}),
            "warm": samples({PYZ: 3.0, VENV: 2.0, PLAIN: 1.5, f"{PYZ}, {REBUILD}": 0.4, f"{VENV}, {REBUILD}": 0.5}),
        },
        "steps": {"--output warm": {"guards": 1.0}},
        "sizes": {PYZ: 7_000_000, VENV: 20_000_000, PLAIN: 40_000_000, SHIV: 7_350_000, PEX: 8_600_000},
        "startup": {
            "later": {"--version": samples(start), "plugins": samples(start)},
            "first": {"--version": samples(start), "plugins": samples(start)},
        },
    }


def results(pyz_version: float) -> dict[str, Any]:
    plan = {"cold_builds": 2, "warm_builds": 5, "later_runs": 11, "first_runs": 3, "warmup": 2}
    return {
        "sets": {"datasette + 3 plugins": one_set(pyz_version)},
        "absent": [],
        "plan": plan,
        "python": "/usr/bin/python3",
        "load_before": "1.00",
        "load_after": "1.10",
        "seconds": 600.0,
    }


def test_verdicts_follow_the_medians() -> None:
    rows = {v.target: v for v in foreign.verdicts("ds", one_set(pyz_version=0.45))}
    assert rows[f"ds: `{PYZ}` warm rebuild (nothing changed) < 1 s"].met is True
    assert rows[f"ds: `{PYZ}` second build of the same inputs (new destination) < 1 s"].met is False
    assert rows[f"ds: `--version` start-up (later runs) of `{PYZ}` ≤ 1.1× the plain venv's"].met is False
    assert rows[f"ds: `--version` start-up (later runs) of `{VENV}` ≤ 1.1× the plain venv's"].met is True
    assert rows["ds: `.pyz` size ≤ shiv's"].met is True
    assert "1.12×" in rows[f"ds: `--version` start-up (later runs) of `{PYZ}` ≤ 1.1× the plain venv's"].detail


def test_only_foreign_rewrites_its_section_alone_and_a_full_run_keeps_it() -> None:
    first = foreign.section(results(0.45), MACHINE, False, "bench/run --only foreign")
    assert first.startswith(foreign.HEADING) and first.endswith(foreign.END)
    assert "| datasette + 3 plugins: `.pyz` size ≤ shiv's | **met** |" in first
    head = "# corehost benchmarks\n\n## 7. Isolated modules\n\nfigures\n<!-- end of the isolation section -->\n"
    notes = "\n## Notes\n\nkept\n"
    placed = foreign.with_section(head + notes, first)
    assert placed == head + "\n" + first + "\n\n## Notes\n\nkept\n"

    second = foreign.section(results(0.40), MACHINE, False, "bench/run --only foreign")
    replaced = foreign.with_section(placed, second)
    assert replaced == head + "\n" + second + "\n\n## Notes\n\nkept\n" and first not in replaced

    regenerated = head + "\n## 7. more\n" + notes
    kept = foreign.carry_over(replaced, regenerated)
    assert second in kept and kept.endswith(notes) and kept.startswith(head)
    assert foreign.carry_over(head + notes, regenerated) == regenerated
