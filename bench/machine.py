"""What the figures were measured on: machine, versions, date and load, for RESULTS.md's header.

Absolute times mean nothing without these; ratios travel better, but a
reader still needs to know it was a busy 2-core box and which tool versions
were compared.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata

from bench.envs import ROOT, tool

PACKAGES = ("corehost", "corehost-build", "click", "pluggy", "packaging", "stevedore", "shiv", "pex", "uv")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "builder", "plugins"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    note = " (with uncommitted changes in src/builder/plugins)" if dirty else ""
    return (result.stdout.strip() or "unknown") + note


def describe() -> dict[str, object]:
    """Machine and versions, as data."""
    uv_exe = tool("uv")
    uv_version = subprocess.run([uv_exe, "--version"], capture_output=True, text=True).stdout.strip() if uv_exe else ""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "memory": _memory(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": {name: _version(name) for name in PACKAGES} | ({"uv (binary)": uv_version} if uv_version else {}),
    }
