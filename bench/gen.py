"""Generated distributions, written straight as wheels (no build backend involved).

A wheel is a zip file with a ``.dist-info`` folder; writing it directly takes
a millisecond, so 1000 plugins or 500 unrelated distributions cost nothing to
make, and installing them with uv is the same real install a user's
environment went through (RECORD, entry points, console scripts).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

#: Hook specification of the pluggy comparison (project name "bench").
PLUGGY_PROJECT = "bench"
PLUGGY_GROUP = "bench.pluggy"
STEVEDORE_GROUP = "bench.stevedore"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(
    out: Path,
    name: str,
    files: dict[str, str],
    *,
    version: str = "1.0",
    requires: tuple[str, ...] = (),
    entry_points: str = "",
) -> Path:
    """Write ``name-version-py3-none-any.whl`` holding ``files`` into ``out``; return its path."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.11\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    content = dict(files)
    content[f"{info}/METADATA"] = metadata
    wheel_file = "Wheel-Version: 1.0\nGenerator: corehost-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    content[f"{info}/WHEEL"] = wheel_file
    if entry_points:
        content[f"{info}/entry_points.txt"] = entry_points
    record = [_record_line(path, text.encode()) for path, text in sorted(content.items())]
    record.append(f"{info}/RECORD,,")
    content[f"{info}/RECORD"] = "\n".join(record) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(content):
            zf.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), content[path])
    return wheel


def extra_dists(out: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` unrelated distributions, each with a package and a console script (as most have)."""
    wheels = []
    for i in range(start, start + count):
        pkg = f"bench_extra_{i:04d}"
        wheels.append(
            write_wheel(
                out,
                f"bench-extra-{i:04d}",
                {f"{pkg}/__init__.py": "def main() -> None:\n    pass\n"},
                entry_points=f"[console_scripts]\nbench-extra-{i:04d} = {pkg}:main\n",
            )
        )
    return wheels


def plugin_module_source(i: int) -> str:
    """One generated plugin module: a ``greeters`` module, a pluggy hookimpl and a stevedore target at once.

    The pluggy marker is set by hand (the dict ``HookimplMarker`` would set),
    so importing the module imports nothing else and every loader pays for
    exactly the same module code.
    """
    return f'''"""Generated bench plugin {i:04d}."""

from __future__ import annotations


class Greeter:
    """Module greeters.g{i:04d}."""

    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return "g{i:04d} " + name + self.punctuation


def bench_greet(name: str) -> str:
    return "g{i:04d} " + name


bench_greet.{PLUGGY_PROJECT}_impl = {{  # type: ignore[attr-defined]
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}}
'''


def plugin_dists(out: Path, count: int) -> list[Path]:
    """``count`` plugin distributions of one ``greeters`` module each, visible to all four loaders."""
    wheels = []
    for i in range(count):
        pkg = f"bench_gen_{i:04d}"
        entry_points = (
            f"[corehost.modules]\ngreeters.g{i:04d} = {pkg}:Greeter\n\n"
            f"[{PLUGGY_GROUP}]\ng{i:04d} = {pkg}\n\n"
            f"[{STEVEDORE_GROUP}]\ng{i:04d} = {pkg}:Greeter\n"
        )
        wheels.append(
            write_wheel(
                out,
                f"bench-gen-{i:04d}",
                {f"{pkg}/__init__.py": plugin_module_source(i)},
                requires=("corehost-greet>=0.1,<0.2",),
                entry_points=entry_points,
            )
        )
    return wheels


def plugin_package(i: int) -> str:
    """Import name of generated plugin ``i``."""
    return f"bench_gen_{i:04d}"
