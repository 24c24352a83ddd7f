"""One build, start to finish: inputs in, a checked environment at the destination out.

The steps, in order: wheels of local projects, resolve and lock, install
with hashes enforced into a fresh environment, run the guards in it, freeze
the registry and the build record, then commit. What is emitted (a venv, a
bundle) is the :class:`~corehost_build.outputs.Output`'s business; the steps
are the same for all. Any failure before the commit discards the staging
folder, so the destination is either the old artifact or the new one, never
a mix.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corehost_build import __version__, rebuild
from corehost_build.atomic import Staging, unwritable
from corehost_build.errors import SpecError
from corehost_build.guards import cached_inspect, modules_of, require_clean, warnings_of
from corehost_build.hosts import host_of
from corehost_build.lock import (
    LockedPackage,
    check_name,
    check_python,
    digest,
    export,
    installable,
    portable,
    read_lock,
)
from corehost_build.outputs import Output, Staged, output_of
from corehost_build.progress import Progress
from corehost_build.provides import no_module_warning, require_plugins
from corehost_build.rebuild import fingerprint
from corehost_build.request import BuildRequest
from corehost_build.resolve import Pinned, check_unique, compile_lock, pin
from corehost_build.specs import default_host
from corehost_build.target import Target, install_target
from corehost_build.venv import create_venv, install_lock, python_version, site_packages, venv_python
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
        }

    def summary(self) -> dict[str, Any]:
        """What an up-to-date rebuild of the same destination reports again, without building."""
        return {
            "plugins": self.plugins,
            "modules": self.modules,
            "warnings": self.warnings,
            "packages": [p.to_record() for p in self.packages],
            "bundle": self.bundle.to_json() if self.bundle else None,
        }


def _check_request(request: BuildRequest, output: Output, progress: Progress) -> None:
    output.check(request)
    for flag, path in (("--lock", request.lock), ("--from-lock", request.from_lock)):
        unusual = check_name(path, flag) if path is not None else None
        if unusual is not None:
            progress.say(f"warning: {unusual}")
    if request.from_lock is not None:
        if request.plugins or request.replace or request.host is not None:
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


def _pin_all(request: BuildRequest) -> list[Pinned]:
    """Every input as a requirement line; local projects built into wheels (cached by their contents)."""
    host = request.host or default_host()
    pinned = [pin(host, "host", offline=request.offline)]
    pinned += [pin(s, "plugin", offline=request.offline) for s in request.plugins]
    pinned += [pin(s, "replacement", offline=request.offline, name=n) for n, s in request.replace.items()]
    if not any(p.name == "corehost" for p in pinned):
        # A host application builds on a corehost too: the one the builder came with.
        pinned.append(pin(default_host(), "runtime", offline=request.offline))
    return pinned


def _fingerprint(request: BuildRequest, output: Output, target: Target, python: str, lock_text: str) -> str:
    """What the finished destination is a function of (see :mod:`corehost_build.rebuild`)."""
    return fingerprint(
        output=output.flag,
        dest=str(output.dest),
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
    )


def _build(request: BuildRequest, output: Output, progress: Progress) -> BuildResult:
    _check_request(request, output, progress)
    python = request.python or sys.executable
    target = Target.of(request, python)
    pinned: list[Pinned] = []
    local_wheels: list[Path] = []
    key = ""
    reused: tuple[str, str] | None = None
    # Until the destination is known to need a build, progress is held: an up-to-date rebuild says one line.
    progress.hold()
    if request.from_lock is None:
        with progress.step("wheels"):
            pinned = _pin_all(request)
            local = [p for p in pinned if p.wheel is not None]
            progress.note(f"{len(local)} local wheel(s), {sum(p.cached for p in local)} from cache")
        local_wheels = [p.wheel for p in pinned if p.wheel is not None]
        check_unique(pinned)
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
        if previous is not None:
            reused = rebuild.swap(previous, local_wheels)
        known = reused[0] if reused is not None and not request.upgrade_packages else None
    else:
        try:
            known = request.from_lock.resolve().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            known = None  # read_lock names what is wrong with it
    if known is not None:
        print_ = _fingerprint(request, output, target, python, known)
        done = _already_built(request, output, progress, print_, known, local_wheels)
        if done is not None:
            return done
    progress.release()
    with Staging(output.dest, file=output.single_file) as staging:
        if request.from_lock is not None:
            lock_file = request.from_lock.resolve()
            with progress.step("lock"):
                packages = read_lock(lock_file)
                # Refused here, before a venv exists: uv would only notice while installing.
                check_python(lock_file, target.python_version or target.interpreter_version, "--from-lock")
                install_from = installable(lock_file, request.find_links, staging.root)
                progress.note(f"{len(packages)} packages from {request.from_lock}")
        elif reused is not None and not request.upgrade_packages:
            with progress.step("lock"):
                lock_file = staging.root / "pylock.toml"
                lock_file.write_text(reused[1], encoding="utf-8")
                packages = read_lock(lock_file, "the last lock")
                install_from = lock_file
                progress.note(f"{len(packages)} packages from the last lock, nothing resolved (--upgrade resolves)")
        else:
            with progress.step("resolve"):
                lock_file = compile_lock(
                    pinned,
                    staging.root,
                    python=python,
                    find_links=request.find_links,
                    offline=request.offline,
                    extra=output.requirements(request),
                    python_version=target.python_version,
                    python_platform=target.platform,
                    previous=reused[1] if reused is not None else None,
                    upgrade_packages=request.upgrade_packages,
                )
                packages = read_lock(lock_file, "the new lock")
                install_from = lock_file
                progress.note(f"{len(packages)} packages locked")
        # The lock as it would be exported: local wheels by name, not by this machine's cache path,
        # so the build record (and a bundle's bytes) do not depend on where the cache is.
        lock_text = portable(lock_file, local_wheels)
        with progress.step("install"):
            create_venv(staging.venv, python)
            install_lock(install_from, staging.venv, offline=request.offline, compile_bytecode=request.compile_bytecode)
            if target.cross:
                install_target(install_from, staging.root / "site", target, offline=request.offline)
        with progress.step("guards"):
            host_pin = next((p for p in pinned if p.role == "host"), None)
            host_app = host_of(venv_python(staging.venv), host_pin.name if host_pin else None)
            report, reused_report = cached_inspect(
                venv_python(staging.venv),
                request.guard_timeout,
                host_app.name,
                lock_text=lock_file.read_text(encoding="utf-8"),
                python_version=python_version(staging.venv),
            )
            require_clean(report)
            plugins = [p for p in pinned if p.role == "plugin"]
            require_plugins(plugins, report, site_packages(staging.venv), request.allow_plain)
            warnings = warnings_of(report)
            for w in warnings:
                progress.say(f"warning: {w['subject']} (distribution {w['distribution']}): {w['message']}")
            barren = no_module_warning(plugins, report)
            if barren is not None:
                warnings.append(barren)
                progress.say(f"warning: {barren['message']}")
            modules = modules_of(report)
            progress.note(
                f"{len(modules)} modules, {len(warnings)} warning(s)"
                + (" (same set as a checked build)" if reused_report else "")
            )
        with progress.step("freeze"):
            plugin_names = [p.name for p in plugins]
            record = _record(request, pinned, packages, lock_text, staging.venv, target)
            staged = Staged(staging, target, host_app, report["registry"], record, request.guard_timeout)
            output.freeze(staged)
        with progress.step("commit"):
            made = output.commit(staged, progress)
            if request.lock is not None:
                export(lock_text, local_wheels, request.lock)
    result = BuildResult(
        venv=made.venv,
        lock=request.lock,
        packages=packages,
        plugins=plugin_names or sorted(report.get("distributions", {})),
        modules=modules,
        warnings=warnings,
        steps=progress.steps,
        seconds=progress.total,
        wheels_cached=sum(p.cached for p in pinned),
        bundle=made.bundle,
    )
    if key:
        rebuild.keep_lock(key, lock_text)
    rebuild.remember(output.dest, _fingerprint(request, output, target, python, lock_text), result.summary())
    return result


def _record(
    request: BuildRequest,
    pinned: list[Pinned],
    packages: list[LockedPackage],
    lock_text: str,
    venv: Path,
    target: Target,
) -> dict[str, Any]:
    """The build record ``corehost build-info`` shows: deterministic, no clock, no temp paths."""
    host = next((p for p in pinned if p.role == "host"), None)
    versions = {p.name: p.version for p in packages}
    return {
        "builder": f"corehost-build {__version__}",
        "inputs": list(request.inputs),
        "host": f"{host.name} {versions.get(host.name, host.version)}" if host else "(from lock)",
        "plugins": [f"{p.name} {versions.get(p.name, p.version)}" for p in pinned if p.role == "plugin"],
        "replaced": [f"{p.name} {versions.get(p.name, p.version)}" for p in pinned if p.role == "replacement"],
        "packages": [{"name": p.name, "version": p.version, "hash": p.hash} for p in packages],
        "lock": digest(lock_text),
        "python": target.python_version or python_version(venv),
        "platform": target.platform or platform.platform(),
    }
