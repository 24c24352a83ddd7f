"""``bench/run --smoke``: every benchmark runs at its smallest size, so none of them can rot.

This is not a timing test (no figure is compared with anything): it runs the
same code path as the real ``bench/run``, one sample each, in a throw-away
bench environment without the comparison tools (shiv, pex and stevedore
would cost more to install and run than everything else), and checks that
every corehost side produced a sample and that every comparison side either
produced one or is listed as absent, never silently dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import report
from bench.stats import Sample
from tests.conftest import ROOT, clean_env, uv


def timed(sample: dict[str, Any]) -> bool:
    return len(sample["times"]) >= 1 and all(t > 0 for t in sample["times"])


def samples_of(data: Any) -> Any:
    """JSON results with their samples made :class:`Sample` again, as report.py takes them."""
    if isinstance(data, dict):
        if set(data) == {"name", "median", "spread", "times"}:
            return Sample(data["name"], data["times"])
        return {k: samples_of(v) for k, v in data.items()}
    return data


def test_bench_run_smoke(tmp_path: Path) -> None:
    out, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    env = clean_env(
        {"BENCH_VENV": str(tmp_path / "venv"), "BENCH_COMPARE": "0", "UV": uv(), "BENCH_PYTHON": sys.executable}
    )
    result = subprocess.run(
        ["bash", str(ROOT / "bench" / "run"), "--smoke", "--out", str(out), "--json", str(raw)],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(raw.read_text())
    assert data["smoke"] is True

    for count, sides in data["startup"]["extras"].items():
        for mode in ("zipapp", "built venv", "live venv"):
            for command in ("list-modules", "run"):
                assert timed(sides[f"{mode} {command}"]), (count, mode, command)
        assert timed(sides["python -c 'import click'"])
        assert timed(sides["zipapp list-modules, first start"]), "a bundle's first start (it unpacks) is measured"
    assert len(data["startup"]["extras"]) == 2, "the smoke run also adds extra distributions"

    loaders = data["loaders"]
    for sides in loaders["extras"].values():
        for name in ("corehost frozen", "corehost live", "pluggy load_setuptools_entrypoints"):
            assert timed(sides["inproc"][name]) and timed(sides["wall"][name]), name
        assert "stevedore ExtensionManager" in sides["inproc"] or "stevedore ExtensionManager" in loaders["absent"]

    build = data["build_time"]
    for name in ("corehost-build --venv", "corehost-build --output .pyz", "uv venv + uv pip sync of the lock (floor)"):
        assert timed(build["warm"][name]), name
    for tool in ("shiv", "pex"):
        assert tool in build["warm"] or tool in build["absent"], tool
    assert "guards" in build["steps"]["zipapp warm"]

    (size,) = data["scale"]["sizes"].values()
    assert size["imported"] == ["bench_gen_0000"], "a run of a one-module config imported other plugins"
    assert timed(size["build"]) and timed(size["run"]) and size["bytes"] > 0

    calls = data["calls"]
    assert timed(calls["module"]["through the registry's instance"]) and timed(calls["module"]["direct call"])
    for impls in ("1", "10"):
        assert timed(calls["hooks"][impls]["host.hooks.corehost_stopping()"]), impls

    http = data["http"]
    for route, sides in http["routes"].items():
        for side in ("corehost http", "Starlette (hand-written)", "bare ASGI (floor)"):
            assert timed(sides[side]["rps"]) and sides[side]["failed"]["times"] == [0.0], (route, side)
        assert "Caddy" in sides or "caddy" in http["absent"], route
    assert len(http["routes"]) == 3
    assert http["memory"]["corehost http"]["idle_kib"] > 0 and http["memory"]["corehost http"]["load_kib"] > 0
    reload = http["reload"]
    if reload["available"]:
        assert reload["requests"] > 0 and reload["bad"]["exit"] != 0 and reload["bad"]["still_serving"], reload
    else:
        assert reload["reason"] == "corehost reload is not available in this build"

    iso = data["isolation"]
    assert all(timed(iso["calls"][side]) for side in ("in-process", "isolated, unix socket", "isolated, loopback TCP"))
    assert len(iso["startup"]) == 5 and all(timed(side) for side in iso["startup"].values())
    assert list(iso["throughput"]) == ["1", "2"]
    assert all(timed(side) for sides in iso["throughput"].values() for side in sides.values())

    text = out.read_text()
    assert "smoke mode" in text and "## Targets" in text and "## 5. Call cost" in text
    assert "## 6. HTTP serving" in text and "### Memory (VmRSS)" in text
    assert "## 7. Isolated modules" in text and "### Throughput" in text

    # `--only http` rewrites that section alone: in place, or before the notes of a report that has none.
    fresh = {"smoke": True, "machine": data["machine"] | {"date": "REWRITTEN"}, "http": samples_of(http)}
    start, end = text.index("## 6. HTTP serving"), text.index(report.HTTP_END) + len(report.HTTP_END)
    rewritten = report.with_http_section(text, fresh)
    assert rewritten[:start] == text[:start] and rewritten.endswith(text[end:]) and "Measured REWRITTEN" in rewritten
    older = text[:start] + "## Notes\n\nkept\n"
    assert report.with_http_section(older, fresh) == text[:start] + "\n".join(report.http_section(fresh)) + (
        "\n\n## Notes\n\nkept\n"
    )

    # `--only isolation` rewrites its section alone, in place.
    start, end = text.index("## 7. Isolated modules"), text.index(report.ISOLATION_END) + len(report.ISOLATION_END)
    rewritten = report.with_isolation_section(text, {**fresh, "isolation": samples_of(iso)})
    assert rewritten[:start] == text[:start] and rewritten.endswith(text[end:]) and "Measured REWRITTEN" in rewritten
