"""One build, start to finish: inputs in, a checked environment at the destination out.

The steps, in order: wheels of local projects, the lock (the last one for
these inputs, or a new resolve), then, unless the destination is already
what they make (:mod:`corehost_build.rebuild`), the build itself
(:mod:`corehost_build.pipeline`): install with hashes enforced into a fresh
environment, guards, freeze, commit. This module decides; the pipeline
builds, and is not even imported by an up-to-date rebuild.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corehost_build import bundleformat, rebuild
from corehost_build.atomic import unwritable
from corehost_build.errors import SpecError
from corehost_build.hosts import DescribedHost, foreign_host
from corehost_build.lock import LockedPackage, check_name, digest, export
from corehost_build.outputs import Output, output_of
from corehost_build.progress import Progress
from corehost_build.rebuild import fingerprint
from corehost_build.request import BuildRequest
from corehost_build.resolve import Pinned, pin
from corehost_build.specs import PROJECT, default_host
from corehost_build.target import Target
from corehost_build.wheels import needs_build, project_name

if TYPE_CHECKING:
    from corehost_build.zipapp import Zipapp


@dataclass
class BuildResult:
    """What a build made: for the summary, ``--json`` and the tests."""

    venv: Path | None
    lock: Path | None
    packages: list[LockedPackage]
    plugins: list[str]
    modules: list[str]
    warnings: list[dict[str, str]]
    steps: dict[str, float]
    seconds: float
    wheels_cached: int = 0
    bundle: Zipapp | None = None
    #: Nothing was built: the destination already is what these inputs make (see :mod:`corehost_build.rebuild`).
    up_to_date: bool = False
    #: The bundle file of an up-to-date ``--output`` (a fresh build names it through :attr:`bundle`).
    output: Path | None = None
    #: The bundle's summary as its build reported it, for an up-to-date ``--output``.
    bundle_json: dict[str, Any] | None = None
    #: A foreign host's build: the host, the plugin entry points it loads, the install tools left out.
    foreign: dict[str, Any] | None = None

    @property
    def artifact(self) -> Path:
        """The one thing this build made: the venv or the bundle file."""
        if self.bundle is not None:
            return self.bundle.path
        if self.output is not None:
            return self.output
        assert self.venv is not None
        return self.venv

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "venv": str(self.venv) if self.venv else None,
            "output": str(self.bundle.path) if self.bundle else str(self.output) if self.output else None,
            "bundle": self.bundle.to_json() if self.bundle else self.bundle_json,
            "lock": str(self.lock) if self.lock else None,
            "plugins": self.plugins,
            "modules": self.modules,
            "packages": [p.to_record() for p in self.packages],
            "warnings": self.warnings,
            "steps": self.steps,
            "seconds": self.seconds,
            "wheels_cached": self.wheels_cached,
            "up_to_date": self.up_to_date,
            **({"foreign": self.foreign} if self.foreign is not None else {}),
        }

    def summary(self) -> dict[str, Any]:
        """What an up-to-date rebuild of the same destination reports again, without building."""
        return {
            "plugins": self.plugins,
            "modules": self.modules,
            "warnings": self.warnings,
            "packages": [p.to_record() for p in self.packages],
            "bundle": self.bundle.to_json() if self.bundle else None,
            **({"foreign": self.foreign} if self.foreign is not None else {}),
        }


def _check_request(request: BuildRequest, output: Output, progress: Progress) -> None:
    output.check(request)
    for flag, path in (("--lock", request.lock), ("--from-lock", request.from_lock)):
        unusual = check_name(path, flag) if path is not None else None
        if unusual is not None:
            progress.say(f"warning: {unusual}")
    if request.from_lock is not None:
        if request.plugins or request.replace or (request.host is not None and request.foreign is None):
            raise SpecError(
                f"--from-lock {request.from_lock} rebuilds exactly the locked set, so --with, --host, --replace "
                "and --plugins-dir cannot be added to it; drop them, or build from the inputs with --lock instead."
            )
    elif not request.plugins:
        raise SpecError("nothing to build: name at least one plugin with --with SPEC (or --plugins-dir DIR).")


def build(request: BuildRequest, progress: Progress | None = None) -> BuildResult:
    """Build ``request`` into its destination; raise a :class:`BuildError` and leave it untouched on failure."""
    output = output_of(request)
    try:
        return _build(request, output, progress or Progress(quiet=True))
    except OSError as exc:
        # Everything is written beside the destination, so a filesystem error
        # here (full, read-only, over a limit) is about the destination's disk.
        raise unwritable(output.flag, Path(os.path.abspath(output.dest)), exc) from None


def _pin_all(request: BuildRequest, meanwhile: Callable[[Path], object]) -> list[Pinned]:
    """Every input as a requirement line; local projects built into wheels (cached by their contents).

    ``meanwhile`` is called while a project's backend builds its wheel (see :class:`Meanwhile`).
    """
    host = request.host or default_host()
    pinned = [pin(host, "host", offline=request.offline, while_building=meanwhile)]
    pinned += [pin(s, "plugin", offline=request.offline, while_building=meanwhile) for s in request.plugins]
    pinned += [
        pin(s, "replacement", offline=request.offline, name=n, while_building=meanwhile)
        for n, s in request.replace.items()
    ]
    if foreign_host(request) is None and not any(p.name == "corehost" for p in pinned):
        # A host application builds on a corehost too: the one the builder came with (a foreign host needs none).
        pinned.append(pin(default_host(), "runtime", offline=request.offline, while_building=meanwhile))
    return pinned


class Meanwhile:
    """What the builder does while the first project's backend builds its wheel, in a process of its own.

    A new wheel means a new lock, hence most likely a build: its modules are
    loaded then, and, for a corehost build with a seed, the staging venv is
    made and seeded with everything but the projects whose wheels are to be
    built, its guard process started (:func:`corehost_build.rebuild.stage_ahead`),
    on a core the backend leaves free. :attr:`seeded` is what was staged; whoever made this
    discards it unless the pipeline takes it over.
    """

    def __init__(self, request: BuildRequest, output: Output, python: str) -> None:
        self.request, self.output, self.python = request, output, python
        self.seeded: rebuild.Seeded | None = None
        self._called = False

    def __call__(self, project: Path) -> None:
        if self._called:
            return
        self._called = True
        # The build's modules are loaded now, not by an up-to-date rebuild (which builds no wheel).
        from importlib import import_module

        import_module("corehost_build.pipeline")
        if self.output.single_file:
            import_module("corehost_build.zipapp")
        request = self.request
        if request.host is not None or foreign_host(request) is not None or request.from_lock is not None:
            return
        # Every local project whose wheel is to be built, this one and those pinned after it, is left out.
        projects = [s.path for s in (default_host(), *request.plugins, *request.replace.values()) if s.kind == PROJECT]
        names = [project_name(p) for p in projects if p is not None and (p == project or needs_build(p))]
        if all(names):
            rebuilding = {name for name in names if name}
            self.seeded = rebuild.stage_ahead(
                self.output.dest, self.python, single_file=self.output.single_file, rebuilding=rebuilding
            )

    def discard(self) -> None:
        """Remove what was staged ahead, unless the pipeline took it over (which then discards it itself)."""
        if self.seeded is not None:
            self.seeded.drop()
            self.seeded.staging.discard()
            self.seeded = None


def _fingerprint(request: BuildRequest, output: Output, target: Target, python: str, lock_text: str) -> str:
    """What the finished destination is a function of (see :mod:`corehost_build.rebuild`)."""
    return fingerprint(
        output=output.flag,
        dest=os.path.abspath(output.dest),
        lock=digest(lock_text),
        inputs=request.inputs,
        allow_plain=request.allow_plain,
        interpreter=os.path.realpath(shutil.which(python) or python),
        interpreter_version=target.interpreter_version,
        python_version=target.python_version,
        platform=target.platform,
        compile=request.compile_bytecode,
        # A bundle's timestamps come from it (see corehost_build.zipapp.date_time).
        epoch=os.environ.get("SOURCE_DATE_EPOCH") if output.single_file else None,
        # A bundle of another layout is another file, whatever its inputs (a builder between releases).
        layout=bundleformat.FORMAT if output.single_file else None,
    )


def _already_built(
    request: BuildRequest, output: Output, progress: Progress, print_: str, lock_text: str, local_wheels: list[Path]
) -> BuildResult | None:
    """The result of an up-to-date rebuild, or ``None`` when the destination must be built."""
    summary = rebuild.up_to_date(output.dest, print_)
    if summary is None:
        return None
    progress.release(show=False)
    if request.lock is not None:
        # The lock the user asked for is still written (only if it differs): it is not the destination.
        if not request.lock.exists() or request.lock.read_text(encoding="utf-8") != lock_text:
            export(lock_text, local_wheels, request.lock)
    packages = [LockedPackage(**p) for p in summary.get("packages", [])]
    return BuildResult(
        venv=output.dest if not output.single_file else None,
        lock=request.lock,
        packages=packages,
        plugins=summary.get("plugins", []),
        modules=summary.get("modules", []),
        warnings=summary.get("warnings", []),
        steps=progress.steps,
        seconds=progress.total,
        up_to_date=True,
        output=output.dest if output.single_file else None,
        bundle_json=summary.get("bundle"),
        foreign=summary.get("foreign"),
    )


def _build(request: BuildRequest, output: Output, progress: Progress) -> BuildResult:
    _check_request(request, output, progress)
    python = request.python or sys.executable
    target = Target.of(request, python)
    # Until the destination is known to need a build and is this build's to write, progress is held: an
    # up-to-date rebuild says one line, and a destination that cannot be written is the only thing said.
    progress.hold()
    meanwhile = Meanwhile(request, output, python)
    try:
        known, pinned, key, reused = _lock_of(request, output, progress, target, meanwhile)
        local_wheels = [p.wheel for p in pinned if p.wheel is not None]
        if known is not None:
            print_ = _fingerprint(request, output, target, python, known)
            done = _already_built(request, output, progress, print_, known, local_wheels)
            if done is not None:
                meanwhile.discard()
                return done
    except BaseException:
        meanwhile.discard()
        progress.release(show=False)
        raise
    # The pipeline's modules (guards, the runtime's probe, zipapp: about 20 ms to import) are loaded only
    # once the destination needs building: an up-to-date rebuild is the interpreter's start and a few stats.
    from corehost_build.pipeline import make

    try:
        # From here the pipeline owns what was staged ahead, and discards it on failure.
        result, lock_text = make(request, output, progress, target, python, pinned, reused, meanwhile.seeded)
    except DescribedHost as found:
        # A pluggy host with no description: built again as one, without the corehost runtime it was tried with
        # (the foreign guards step says what was inferred).
        return _build(dataclasses.replace(request, foreign=found.host), output, progress)
    finally:
        progress.release(show=False)  # held lines not shown by then belong to a build that never started
    if key:
        rebuild.keep_lock(key, lock_text)
    rebuild.remember(output.dest, _fingerprint(request, output, target, python, lock_text), result.summary())
    return result


def _lock_of(
    request: BuildRequest, output: Output, progress: Progress, target: Target, meanwhile: Meanwhile
) -> tuple[str | None, list[Pinned], str, tuple[str, str] | None]:
    """The inputs made ready, and what is known of the lock before anything is resolved.

    Returns the portable text of the lock this build will install if it is
    known already (the last lock followed, or ``--from-lock``'s), the pinned
    inputs, the resolution key (empty for ``--from-lock``) and the last lock
    for that key with the current local wheels swapped in, if there is one.
    """
    if request.from_lock is None:
        with progress.step("wheels"):
            pinned = _pin_all(request, meanwhile)
            local = [p for p in pinned if p.wheel is not None]
            progress.note(f"{len(local)} local wheel(s), {sum(p.cached for p in local)} from cache")
        local_wheels = [p.wheel for p in pinned if p.wheel is not None]
        # Two inputs for one distribution are refused by the resolve (compile_lock); a last lock for these
        # requirement lines exists only if they passed it.
        key = rebuild.lock_key(
            [p.line for p in pinned if p.role != "replacement"] + output.requirements(request),
            [p.line for p in pinned if p.role == "replacement"],
            local_wheels,
            find_links=request.find_links,
            interpreter=target.interpreter_version,
            python_version=target.python_version,
            platform=target.platform,
        )
        previous = None if request.upgrade else rebuild.previous_lock(key)
        reused = rebuild.swap(previous, local_wheels) if previous is not None else None
        known = reused[0] if reused is not None and not request.upgrade_packages else None
        return known, pinned, key, reused
    try:
        return request.from_lock.resolve().read_text(encoding="utf-8"), [], "", None
    except (OSError, UnicodeDecodeError):
        return None, [], "", None  # read_lock names what is wrong with it
