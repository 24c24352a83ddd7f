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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corehost_build import __version__
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
from corehost_build.request import BuildRequest
from corehost_build.resolve import Pinned, compile_lock, pin
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

    @property
    def artifact(self) -> Path:
        """The one thing this build made: the venv or the bundle file."""
        if self.bundle is not None:
            return self.bundle.path
        assert self.venv is not None
        return self.venv

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "venv": str(self.venv) if self.venv else None,
            "output": str(self.bundle.path) if self.bundle else None,
            "bundle": self.bundle.to_json() if self.bundle else None,
            "lock": str(self.lock) if self.lock else None,
            "plugins": self.plugins,
            "modules": self.modules,
            "packages": [p.to_record() for p in self.packages],
            "warnings": self.warnings,
            "steps": self.steps,
            "seconds": self.seconds,
            "wheels_cached": self.wheels_cached,
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


def _build(request: BuildRequest, output: Output, progress: Progress) -> BuildResult:
    _check_request(request, output, progress)
    python = request.python or sys.executable
    target = Target.of(request, python)
    pinned: list[Pinned] = []
    with Staging(output.dest, file=output.single_file) as staging:
        if request.from_lock is not None:
            lock_file = request.from_lock.resolve()
            with progress.step("lock"):
                packages = read_lock(lock_file)
                # Refused here, before a venv exists: uv would only notice while installing.
                check_python(lock_file, target.python_version or target.interpreter_version, "--from-lock")
                install_from = installable(lock_file, request.find_links, staging.root)
                progress.note(f"{len(packages)} packages from {request.from_lock}")
        else:
            with progress.step("wheels"):
                host = request.host or default_host()
                pinned.append(pin(host, "host", offline=request.offline))
                pinned += [pin(s, "plugin", offline=request.offline) for s in request.plugins]
                pinned += [pin(s, "replacement", offline=request.offline, name=n) for n, s in request.replace.items()]
                if not any(p.name == "corehost" for p in pinned):
                    # A host application builds on a corehost too: the one the builder came with.
                    pinned.append(pin(default_host(), "runtime", offline=request.offline))
                local = [p for p in pinned if p.wheel is not None]
                progress.note(f"{len(local)} local wheel(s), {sum(p.cached for p in local)} from cache")
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
                )
                packages = read_lock(lock_file, "the new lock")
                install_from = lock_file
                progress.note(f"{len(packages)} packages locked")
        local_wheels = [p.wheel for p in pinned if p.wheel is not None]
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
            report, reused = cached_inspect(
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
                + (" (same set as a checked build)" if reused else "")
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
    return BuildResult(
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
