"""Resolving host + plugins + dependencies into a PEP 751 lock with uv.

Each input becomes one requirement line: a wheel (given, or built from a
local project) as ``name @ file:///...whl``, so uv locks it with its path
and hash and never confuses it with a release of the same name on an
index; anything else stays the requirement the user wrote. ``--replace``
becomes an override, which swaps a dependency wherever it is required
without making it a plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from corehost_build.conflicts import Party, explain
from corehost_build.errors import ResolutionError, SpecError
from corehost_build.specs import PROJECT, WHEEL, Spec
from corehost_build.tools import run_uv
from corehost_build.wheels import build_project, wheel_identity


@dataclass(frozen=True)
class Pinned:
    """An input made ready for the resolver."""

    spec: Spec
    role: str  # "host", "plugin", "replacement", or "runtime" (the corehost under a host application)
    name: str
    version: str  # known for wheels and projects, "" for requirements
    line: str
    wheel: Path | None = None
    cached: bool = False

    def party(self) -> Party:
        words = {"host": "--host", "plugin": "--with", "replacement": "--replace", "runtime": "the builder's corehost"}
        return Party(self.role, self.name, self.version, self.spec.given_as or f"{words[self.role]} {self.spec.text}")


def pin(
    spec: Spec,
    role: str,
    *,
    offline: bool = False,
    name: str | None = None,
    while_building: Callable[[Path], object] | None = None,
) -> Pinned:
    """Turn one input into a requirement line, building a local project into a wheel.

    ``while_building`` is :func:`~corehost_build.wheels.build_project`'s: called while a wheel is being built.
    """
    if spec.kind in (PROJECT, WHEEL):
        assert spec.path is not None
        wheel, cached = (
            build_project(spec.path, offline=offline, while_building=while_building)
            if spec.kind == PROJECT
            else (spec.path, False)
        )
        dist, version = wheel_identity(wheel)
        if name is not None and canonicalize_name(name) != dist:
            raise SpecError(
                f"--replace {name}={spec.text}: that project builds distribution {dist}, not {name}; "
                f"write --replace {dist}={spec.text}, or point at the fork of {name}."
            )
        return Pinned(spec, role, dist, version, f"{dist} @ {wheel.as_uri()}", wheel, cached)
    assert spec.requirement is not None
    return Pinned(spec, role, canonicalize_name(spec.requirement.name), "", str(spec.requirement))


def check_unique(pinned: Sequence[Pinned]) -> None:
    """Two inputs for one distribution is ambiguous; say which two."""
    seen: dict[str, Pinned] = {}
    for p in pinned:
        if p.role == "replacement":
            continue
        other = seen.get(p.name)
        if other is not None:
            raise SpecError(
                f"distribution {p.name} is given twice, as {other.party().words} and as {p.party().words}; "
                "keep one of them (use --replace to swap a dependency for a local fork)."
            )
        seen[p.name] = p


def compile_lock(
    pinned: Sequence[Pinned],
    workdir: Path,
    *,
    python: str,
    find_links: Sequence[Path] = (),
    offline: bool = False,
    extra: Sequence[str] = (),
    python_version: str | None = None,
    python_platform: str | None = None,
    previous: str | None = None,
    upgrade_packages: Sequence[str] = (),
) -> Path:
    """Resolve everything into ``workdir/pylock.toml`` (hashes for every file).

    ``previous`` (a lock's text, local wheels at their paths) is written
    where the lock goes first: uv takes an existing output file as its
    preferences, so with ``upgrade_packages`` only those move.
    """
    check_unique(pinned)
    requirements = workdir / "requirements.in"
    overrides = workdir / "overrides.txt"
    requirements.write_text(
        "".join(f"{p.line}\n" for p in pinned if p.role != "replacement") + "".join(f"{x}\n" for x in extra),
        encoding="utf-8",
    )
    lock = workdir / "pylock.toml"
    if previous is not None:
        lock.write_text(previous, encoding="utf-8")
    args = [
        "pip", "compile", "--quiet", "--format", "pylock.toml", "--generate-hashes", "--no-annotate",
        "--custom-compile-command", "corehost-build build",
        "--python", python, "--output-file", str(lock), str(requirements),
    ]  # fmt: skip
    replacements = [p for p in pinned if p.role == "replacement"]
    if replacements:
        overrides.write_text("".join(f"{p.line}\n" for p in replacements), encoding="utf-8")
        args += ["--overrides", str(overrides)]
    for folder in find_links:
        args += ["--find-links", str(folder)]
    for name in upgrade_packages:
        args += ["--upgrade-package", name]
    if offline:
        args.append("--offline")
    if python_version:
        args += ["--python-version", python_version]
    if python_platform:
        args += ["--python-platform", python_platform]
    result = run_uv(args, cwd=workdir)
    if result.returncode != 0:
        message, found = explain(result.stderr, {p.name: p.party() for p in pinned}, offline=offline)
        raise ResolutionError(message, found)
    return lock
