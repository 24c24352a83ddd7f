"""The build itself, once :func:`corehost_build.build.build` found that the destination needs one.

Install the locked set with hashes enforced into a fresh environment
beside the destination, run the guards in it, freeze the registry and the
build record, then commit. What is emitted (a venv, a bundle) is the
:class:`~corehost_build.outputs.Output`'s business; the steps are the same
for all. Any failure before the commit discards the staging folder, so the
destination is either the old artifact or the new one, never a mix.
"""

from __future__ import annotations

import platform
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from corehost_build import __version__
from corehost_build.atomic import Staging
from corehost_build.build import BuildResult
from corehost_build.errors import SpecError
from corehost_build.guards import (
    EarlyGuards,
    cached_inspect,
    cached_report,
    modules_of,
    require_clean,
    require_crossable,
    warnings_of,
)
from corehost_build.hosts import (
    COREHOST,
    COREHOST_SPEC,
    BuildHost,
    DescribedHost,
    NoHostDeclared,
    declared_host,
    foreign_host,
    foreign_in_lock,
)
from corehost_build.lock import LockedPackage, check_python, digest, export, installable, portable, read_lock
from corehost_build.outputs import Output, Staged
from corehost_build.progress import Progress
from corehost_build.provides import no_module_warning, require_plugins
from corehost_build.rebuild import Seeded, clear_later, keep_staged, last_registry, stage_venv
from corehost_build.request import BuildRequest
from corehost_build.resolve import Pinned, compile_lock
from corehost_build.target import Target, install_target
from corehost_build.venv import install_lock, python_version, site_packages, venv_python

if TYPE_CHECKING:
    from corehost_build.atomic import Staging
    from corehost_build.zipapp import Zipapp


def make(
    request: BuildRequest,
    output: Output,
    progress: Progress,
    target: Target,
    python: str,
    pinned: list[Pinned],
    reused: tuple[str, str] | None,
    seeded: Seeded | None = None,
) -> tuple[BuildResult, str]:
    """Build into ``output``'s destination: the result, and the lock's portable text.

    ``reused`` is the last lock for these inputs (portable, installable), followed unless
    ``--upgrade-package`` asks for a resolve that prefers it; ``None`` resolves from scratch.
    ``seeded`` is a staging folder whose venv was seeded while a wheel was built
    (:func:`corehost_build.rebuild.stage_ahead`): this build's own, its venv kept if it fits the lock.
    """
    local_wheels = [p.wheel for p in pinned if p.wheel is not None]
    made_staging = seeded.staging if seeded is not None else Staging(output.dest, file=output.single_file)
    with made_staging as staging, ExitStack() as running:
        if seeded is not None and seeded.early is not None:
            running.enter_context(seeded.early)
        progress.release()
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
        early: EarlyGuards | None = None
        with progress.step("install"):
            if seeded is not None and seeded.complete(packages):
                early = seeded.early
                if early is None and _start_early(request, pinned, seeded.linked, staging, lock_file):
                    early = running.enter_context(EarlyGuards(venv_python(staging.venv), COREHOST))
                progress.note(
                    f"{len(seeded.linked)} of {len(packages)} packages kept from the last build (linked while the "
                    "wheels were built), the rest installed"
                )
            else:
                if seeded is not None:
                    seeded.drop()
                linked = stage_venv(staging, python, packages, progress)
                if _start_early(request, pinned, linked, staging, lock_file):
                    early = running.enter_context(EarlyGuards(venv_python(staging.venv), COREHOST))
            install_lock(install_from, staging.venv, offline=request.offline, compile_bytecode=request.compile_bytecode)
            if target.cross:
                install_target(install_from, staging.root / "site", target, offline=request.offline)
        plugins = [p for p in pinned if p.role == "plugin"]
        foreign = foreign_host(request) or (foreign_in_lock(p.name for p in packages) if request.from_lock else None)
        ahead: Staged | None = None
        writing: Future[Zipapp | None] | None = None
        with progress.step("guards"):
            if foreign is not None:
                from corehost_build.foreignbuild import guard_foreign

                if foreign.inferred:
                    progress.say(f"{foreign.name}: described from its own metadata: {foreign.inferred_summary()}")
                checked = guard_foreign(
                    staging.venv,
                    site_packages(staging.venv),
                    foreign,
                    plugins,
                    request.allow_plain,
                    request.guard_timeout,
                    lock_file.read_text(encoding="utf-8"),
                    staging.root / "site" if target.cross else None,
                    request.isolate,
                )
                build_host, registry = checked.build_host, {}
                warnings: list[dict[str, str]] = []
                modules: list[str] = []
                found = sorted({str(p["distribution"]) for p in checked.report.plugins})
                dropped = {name.partition(" ")[0] for name in checked.left_out}
                packages = [p for p in packages if p.name not in dropped]
                progress.note(
                    f"{len(checked.report.plugins)} {foreign.name} plugin entry point(s)"
                    + (f"; left out {', '.join(checked.left_out)}" if checked.left_out else "")
                )
            else:
                ahead = _ahead(request, pinned, output, staging, target, packages, lock_text)
                with ThreadPoolExecutor(max_workers=1) as pool:
                    # The bundle is written and checked inside while the staged venv's guards run; a
                    # guard failure is raised once that finishes, and the bundle is discarded with the staging.
                    writing = pool.submit(output.write_ahead, ahead) if ahead is not None else None
                    build_host, report, modules, warnings = _guards(
                        request, pinned, plugins, staging, lock_file, progress, early
                    )
                registry, found = report["registry"], sorted(report.get("distributions", {}))
        with progress.step("freeze"):
            plugin_names = [p.name for p in plugins]
            record = _record(request, pinned, packages, lock_text, staging.venv, target)
            if foreign is not None:
                record.update(checked.record(record))
            staged = Staged(
                staging, target, build_host, registry, record, request.guard_timeout, request.compile_bytecode
            )
            output.freeze(staged)
        with progress.step("commit"):
            # Written ahead from the same inputs, the bundle is this build's bundle byte for byte: it is kept
            # (with what its own check inside it raised); else it is written again now.
            written = writing.result() if writing is not None and ahead == staged else None
            made = output.commit(staged, progress, written)
            keep_staged(staging, packages, registry)
            if request.lock is not None:
                export(lock_text, local_wheels, request.lock)
        clear_later(staging)
    result = BuildResult(
        venv=made.venv,
        lock=request.lock,
        packages=packages,
        plugins=plugin_names or found,
        modules=modules,
        warnings=warnings,
        steps=progress.steps,
        seconds=progress.total,
        wheels_cached=sum(p.cached for p in pinned),
        bundle=made.bundle,
        foreign=checked.summary() if foreign is not None else None,
    )
    return result, lock_text


def _ahead(
    request: BuildRequest,
    pinned: list[Pinned],
    output: Output,
    staging: Staging,
    target: Target,
    packages: list[LockedPackage],
    lock_text: str,
) -> Staged | None:
    """What the artifact is likely to be made of, to write it while the guards run; ``None`` if not worth it.

    A bundle of corehost (its host known without asking the venv), checkable
    here (not for another platform), whose last build left its registry: an
    edited plugin's rebuild mostly finds the same modules again.
    """
    host = next((p for p in pinned if p.role == "host"), None)
    if not output.single_file or target.cross or host is None or canonicalize_name(host.name) != COREHOST:
        return None
    registry = last_registry(staging.dest)
    if registry is None:
        return None
    record = _record(request, pinned, packages, lock_text, staging.venv, target)
    build_host = BuildHost(COREHOST, COREHOST_SPEC)
    return Staged(staging, target, build_host, registry, record, request.guard_timeout, request.compile_bytecode)


def _start_early(
    request: BuildRequest, pinned: list[Pinned], linked: set[str], staging: Staging, lock_file: Path
) -> bool:
    """Whether to start the guards' process before the install (see :class:`~corehost_build.guards.EarlyGuards`).

    Only for corehost's own guards (a foreign host's run another script),
    when the runtime was linked from the last build (else there is nothing
    to import early) and no kept report makes the run needless.
    """
    host = next((p for p in pinned if p.role == "host"), None)
    if host is None or canonicalize_name(host.name) != COREHOST or COREHOST not in linked:
        return False
    if foreign_host(request) is not None:
        return False
    lock_text = lock_file.read_text(encoding="utf-8")
    return cached_report(COREHOST, lock_text=lock_text, python_version=python_version(staging.venv)) is None


def _guards(
    request: BuildRequest,
    pinned: list[Pinned],
    plugins: list[Pinned],
    staging: Staging,
    lock_file: Path,
    progress: Progress,
    early: EarlyGuards | None = None,
) -> tuple[BuildHost, dict[str, Any], list[str], list[dict[str, str]]]:
    """The corehost guards in the staged venv: the host it declares, the probe's report, its modules and warnings."""
    host_pin = next((p for p in pinned if p.role == "host"), None)
    try:
        build_host = declared_host(venv_python(staging.venv), host_pin.name if host_pin else None)
    except NoHostDeclared as none:
        if host_pin is None:
            raise
        # No corehost host: a pluggy application, if it can be described (else both say what to do).
        from corehost_build.foreignprobe import describe_foreign

        try:
            described = describe_foreign(venv_python(staging.venv), host_pin.name, timeout=request.guard_timeout)
        except SpecError as neither:
            raise SpecError(f"{none.message} Nor is it a pluggy application to describe: {neither.message}") from None
        raise DescribedHost(described, host_pin.spec.text) from None
    report, reused_report = cached_inspect(
        venv_python(staging.venv),
        request.guard_timeout,
        build_host.name,
        lock_text=lock_file.read_text(encoding="utf-8"),
        python_version=python_version(staging.venv),
        early=early if build_host.name == COREHOST else None,
    )
    require_clean(report)
    require_crossable(report, request.isolate)
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
        + (", runtime imported while installing" if early is not None and not early.stale and not reused_report else "")
    )
    return build_host, report, modules, warnings


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
