"""From what the user wrote (flags, a build file) to one :class:`BuildRequest`.

Flags and build-file keys mean the same things (both are made from
:data:`~corehost_build.options.OPTIONS`); relative paths are taken from
where they were written (the current folder for flags, the build file's
folder for its keys), so a build file kept in version control works from
any folder.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from packaging.utils import canonicalize_name

from corehost_build.errors import SpecError
from corehost_build.foreign import ForeignHost, host_from_table
from corehost_build.options import BY_NAME, DEFAULT_TIMEOUT, OPTIONS, Placed
from corehost_build.specs import Spec, parse_host, parse_replace, parse_spec


@dataclass
class BuildRequest:
    """Everything a build takes; the CLI and build files both produce one."""

    venv: Path | None = None
    #: A single-file bundle (``--output x.pyz``) instead of a venv.
    output: Path | None = None
    plugins: list[Spec] = field(default_factory=list)
    #: Plugins (canonical names) allowed to provide nothing to the host: plain dependencies on purpose.
    allow_plain: list[str] = field(default_factory=list)
    host: Spec | None = None
    #: A foreign host described by a build file's ``[host]`` table (``host`` then names its distribution).
    foreign: ForeignHost | None = None
    lock: Path | None = None
    from_lock: Path | None = None
    replace: dict[str, Spec] = field(default_factory=dict)
    find_links: list[Path] = field(default_factory=list)
    offline: bool = False
    python: str | None = None
    pip: bool = True
    compile_bytecode: bool = False
    guard_timeout: float = DEFAULT_TIMEOUT
    #: Module IDs built to run in their own process: the build fails if a call of theirs cannot cross.
    isolate: list[str] = field(default_factory=list)
    #: Target of a bundle built for another interpreter version / platform (uv's names).
    python_version: str | None = None
    platform: str | None = None
    #: Resolve again instead of following the last lock (everything, or only these distributions).
    upgrade: bool = False
    upgrade_packages: list[str] = field(default_factory=list)
    #: The inputs in the user's words, for the build record.
    inputs: list[str] = field(default_factory=list)


@dataclass
class RawInputs:
    """Inputs as written, before they are checked: only the options that were given, by option name.

    A value is what :meth:`~corehost_build.options.Option.from_flag` or
    :meth:`~corehost_build.options.Option.from_file` made of it; an option
    that was not given is absent, so its default can never be mistaken for
    a value the user chose.
    """

    given: dict[str, Any] = field(default_factory=dict)
    #: The words used, for the build record.
    words: list[str] = field(default_factory=list)

    @classmethod
    def from_command_line(cls, given: dict[str, Any]) -> RawInputs:
        """Options typed on the command line; the recorded ones are kept in the user's words."""
        words = [w for o in OPTIONS if o.recorded and o.name in given for w in o.words(given[o.name])]
        return cls(dict(given), words)

    def merge(self, other: RawInputs) -> RawInputs:
        """``other`` (the command line) on top of ``self`` (a build file): lists add up, single values win."""
        given = dict(self.given)
        for name, value in other.given.items():
            given[name] = [*given.get(name, []), *value] if BY_NAME[name].repeatable else value
        return RawInputs(given, self.words + other.words)

    def value(self, name: str) -> Any:
        """The option's value: as given, else its default."""
        option = BY_NAME[name]
        return self.given.get(name, [] if option.repeatable else option.default)

    def placed(self, name: str) -> list[Placed]:
        return cast("list[Placed]", self.value(name))

    def one(self, name: str) -> Placed | None:
        return cast("Placed | None", self.value(name))


def _path(placed: Placed) -> Path:
    value, base = placed
    return Path(os.path.abspath(base / os.path.expanduser(value)))


def _optional_path(placed: Placed | None) -> Path | None:
    return _path(placed) if placed is not None else None


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
    return [
        dataclasses.replace(
            parse_spec(str(p), folder, "--plugins-dir"),
            given_as=f"--plugins-dir {placed[0]}, its {'wheel' if p.suffix == '.whl' else 'project'} {p.name}",
        )
        for p in found
    ]


def to_request(raw: RawInputs, *, venv: Path | None = None) -> BuildRequest:
    """Check every input and make the :class:`BuildRequest` (``venv`` overrides the destination)."""
    plugins = [parse_spec(text, base) for text, base in raw.placed("with_")]
    for placed in raw.placed("plugins_dirs"):
        plugins += discover_dir(placed)
    replace = dict(parse_replace(text, base) for text, base in raw.placed("replace"))
    output = None
    if venv is None:
        if raw.one("venv") is None and raw.one("output") is None:
            raise SpecError(
                "where should the build go? Give --venv DIR for a virtualenv or --output FILE.pyz for a "
                "single-file bundle (or 'venv' / 'output' in the build file)."
            )
        venv = _optional_path(raw.one("venv"))
        output = _optional_path(raw.one("output"))
    find_links = []
    for placed in raw.placed("find_links"):
        folder = _path(placed)
        if not folder.is_dir():
            raise SpecError(f"--find-links {placed[0]}: {folder} is not a folder of wheels; fix the path.")
        find_links.append(folder)
    host: Placed | dict[str, Any] | None = raw.value("host")
    foreign = None
    if isinstance(host, dict):
        foreign = host_from_table(
            host, next((f"build file {w[3:]}" for w in raw.words if w[:3] == "-c "), "build file")
        )
        host = (foreign.distribution, Path.cwd())
    return BuildRequest(
        venv=venv,
        output=output,
        plugins=plugins,
        allow_plain=sorted({canonicalize_name(n) for n in raw.value("allow_plain")}),
        host=parse_host(*host) if host else None,
        foreign=foreign,
        lock=_optional_path(raw.one("lock")),
        from_lock=_optional_path(raw.one("from_lock")),
        replace=replace,
        find_links=find_links,
        offline=raw.value("offline"),
        python=raw.value("python"),
        pip=raw.value("pip"),
        compile_bytecode=raw.value("compile_bytecode"),
        guard_timeout=raw.value("guard_timeout"),
        isolate=sorted(set(raw.value("isolate"))),
        python_version=raw.value("python_version"),
        platform=raw.value("platform"),
        upgrade=raw.value("upgrade"),
        upgrade_packages=sorted({canonicalize_name(n) for n in raw.value("upgrade_packages")}),
        inputs=list(raw.words),
    )
