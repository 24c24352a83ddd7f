"""``corehost-build wheels``: a folder of wheels that pip and the builder can use with ``--find-links``.

None of this project's distributions (corehost, its plugins) is on a public
index, so a plugin written outside a clone of the repository could not
install its dependencies nor be built into a bundle. One folder of their
wheels fixes both: ``pip install --find-links DIR`` and ``corehost-build
build --find-links DIR`` take them from there, and everything else from the
index. The wheels come from the same cache as a build's (an unchanged
project is never rebuilt), and the corehost the builder runs with is added
unless asked not to, because every plugin depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corehost_build.atomic import copy_atomic
from corehost_build.errors import BuildError, SpecError
from corehost_build.progress import Progress
from corehost_build.specs import PROJECT, WHEEL, default_host
from corehost_build.wheels import build_project, wheel_identity


@dataclass(frozen=True)
class Source:
    """One input of a wheelhouse: a project folder to build or a wheel to copy."""

    path: Path
    is_project: bool


def source(text: str, base: Path) -> Source:
    """Classify one PATH argument, refusing anything that gives no wheel."""
    path = (base / os.path.expanduser(text)).resolve()
    if path.is_dir():
        if (path / "pyproject.toml").exists() or (path / "setup.py").exists():
            return Source(path, True)
        raise SpecError(
            f"wheels {text}: the folder {path} is not a Python project (it has no pyproject.toml or setup.py); "
            "give plugin project folders such as ./plugins/greet, or wheel files."
        )
    if path.is_file() and path.name.endswith(".whl"):
        wheel_identity(path)
        return Source(path, False)
    if path.exists():
        raise SpecError(f"wheels {text}: {path} is neither a project folder nor a .whl file; leave it out.")
    raise SpecError(
        f"wheels {text}: no such project folder or wheel file ({path}); fix the path (a shell pattern such as "
        "./plugins/* that matched nothing is passed on as written)."
    )


def _host_source() -> Source | None:
    """The builder's own corehost, when it came from a project folder or a wheel that is still there."""
    host = default_host()
    if host.kind in (PROJECT, WHEEL) and host.path is not None:
        return Source(host.path, host.kind == PROJECT)
    return None


def _place(wheel: Path, out: Path) -> Path:
    """Copy ``wheel`` into ``out`` under its own name, atomically (a reader never sees half a wheel)."""
    final = out / wheel.name
    copy_atomic(wheel, final)
    return final


def build_wheelhouse(
    paths: Sequence[str],
    out: Path,
    *,
    base: Path,
    include_host: bool = True,
    offline: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Build or copy every PATH (and the builder's corehost) into ``out``; the wheels placed there.

    Every PATH is checked before anything is built, so a typo in the last
    one does not cost the builds of the others. A wheel already in ``out``
    with the same file name is replaced: it is a wheel of the same
    distribution and version, and the new one is built from the files as
    they are now.
    """
    progress = progress or Progress(quiet=True)
    sources = [source(text, base) for text in paths]
    if include_host:
        host = _host_source()
        if host is None:
            progress.say(
                "the corehost this builder runs with was installed from an index or from a wheel that is gone, "
                "so it is not in the wheelhouse; pass its project folder or wheel as one more PATH"
            )
        elif host.path not in {s.path for s in sources}:
            sources.insert(0, host)
    if out.exists() and not out.is_dir():
        raise BuildError(f"wheels -o {out}: that is a file, not a folder; give a folder for the wheels.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"wheels -o {out}: cannot create the folder ({exc.strerror}); choose another.") from None
    placed: list[Path] = []
    with progress.step("wheels"):
        built = 0
        for item in sources:
            wheel = item.path
            if item.is_project:
                wheel, cached = build_project(item.path, offline=offline)
                built += not cached
            placed.append(_place(wheel, out))
        progress.note(f"{len(placed)} wheels in {out} ({built} built now)")
    return placed
