"""From what the user wrote (flags, a build file) to one :class:`BuildRequest`.

Flags and build-file keys mean the same things; relative paths are taken
from where they were written (the current folder for flags, the build
file's folder for its keys), so a build file kept in version control works
from any folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from corehost_build.build import BuildRequest
from corehost_build.errors import SpecError
from corehost_build.guards import DEFAULT_TIMEOUT
from corehost_build.specs import Spec, parse_host, parse_replace, parse_spec

Placed = tuple[str, Path]  # a value and the folder it is relative to


@dataclass
class RawInputs:
    """Inputs as written, before they are checked."""

    with_: list[Placed] = field(default_factory=list)
    plugins_dirs: list[Placed] = field(default_factory=list)
    host: Placed | None = None
    venv: Placed | None = None
    output: Placed | None = None
    lock: Placed | None = None
    from_lock: Placed | None = None
    replace: list[Placed] = field(default_factory=list)
    find_links: list[Placed] = field(default_factory=list)
    offline: bool = False
    python: str | None = None
    pip: bool = True
    compile_bytecode: bool = False
    guard_timeout: float = DEFAULT_TIMEOUT
    python_version: str | None = None
    platform: str | None = None
    #: The words used, for the build record.
    words: list[str] = field(default_factory=list)

    def merge(self, other: RawInputs) -> RawInputs:
        """``other`` (flags) on top of ``self`` (a build file): lists add up, single values win."""
        return RawInputs(
            with_=self.with_ + other.with_,
            plugins_dirs=self.plugins_dirs + other.plugins_dirs,
            host=other.host or self.host,
            venv=other.venv or self.venv,
            output=other.output or self.output,
            lock=other.lock or self.lock,
            from_lock=other.from_lock or self.from_lock,
            replace=self.replace + other.replace,
            find_links=self.find_links + other.find_links,
            offline=self.offline or other.offline,
            python=other.python or self.python,
            pip=self.pip and other.pip,
            compile_bytecode=self.compile_bytecode or other.compile_bytecode,
            guard_timeout=min(self.guard_timeout, other.guard_timeout),
            python_version=other.python_version or self.python_version,
            platform=other.platform or self.platform,
            words=self.words + other.words,
        )


def _path(placed: Placed) -> Path:
    value, base = placed
    return Path(os.path.abspath(base / os.path.expanduser(value)))


def discover_dir(placed: Placed) -> list[Spec]:
    """Every plugin project (a folder with pyproject.toml) and wheel directly inside a folder."""
    folder = _path(placed)
    if not folder.is_dir():
        raise SpecError(f"--plugins-dir {placed[0]}: {folder} is not a folder; fix the path.")
    found = sorted(
        p for p in folder.iterdir() if (p.is_dir() and (p / "pyproject.toml").exists()) or p.suffix == ".whl"
    )
    if not found:
        raise SpecError(
            f"--plugins-dir {placed[0]}: {folder} holds no plugin project (a folder with a pyproject.toml) and no "
            "wheel; point at the folder that contains them."
        )
    return [parse_spec(str(p), folder, "--plugins-dir") for p in found]


def to_request(raw: RawInputs, *, venv: Path | None = None) -> BuildRequest:
    """Check every input and make the :class:`BuildRequest` (``venv`` overrides the destination)."""
    plugins = [parse_spec(text, base) for text, base in raw.with_]
    for placed in raw.plugins_dirs:
        plugins += discover_dir(placed)
    replace = dict(parse_replace(text, base) for text, base in raw.replace)
    output = None
    if venv is None:
        if raw.venv is None and raw.output is None:
            raise SpecError(
                "where should the build go? Give --venv DIR for a virtualenv or --output FILE.pyz for a "
                "single-file bundle (or 'venv' / 'output' in the build file)."
            )
        venv = _path(raw.venv) if raw.venv else None
        output = _path(raw.output) if raw.output else None
    find_links = []
    for placed in raw.find_links:
        folder = _path(placed)
        if not folder.is_dir():
            raise SpecError(f"--find-links {placed[0]}: {folder} is not a folder of wheels; fix the path.")
        find_links.append(folder)
    return BuildRequest(
        venv=venv,
        output=output,
        plugins=plugins,
        host=parse_host(*raw.host) if raw.host else None,
        lock=_path(raw.lock) if raw.lock else None,
        from_lock=_path(raw.from_lock) if raw.from_lock else None,
        replace=replace,
        find_links=find_links,
        offline=raw.offline,
        python=raw.python,
        pip=raw.pip,
        compile_bytecode=raw.compile_bytecode,
        guard_timeout=raw.guard_timeout,
        python_version=raw.python_version,
        platform=raw.platform,
        inputs=list(raw.words),
    )
