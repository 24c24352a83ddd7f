"""What a build emits, behind one seam: a locked virtualenv or a single-file bundle.

The pipeline (:func:`corehost_build.build.build`) is the same for every
kind of artifact: wheels, lock, install into a staged venv, guards, build
record. What differs is asked of an :class:`Output`: the requirements it
adds to the lock, which request options it refuses, where its packages
are, what it writes while freezing, and how it puts the result in place.
A new kind of artifact (a foreign host's environment, an isolated worker)
is one more class with these methods, not one more branch in the pipeline.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from corehost_build.cache import cache_dir
from corehost_build.errors import SpecError
from corehost_build.hosts import foreign_host
from corehost_build.progress import Progress
from corehost_build.request import BuildRequest
from corehost_build.target import Target
from corehost_build.venv import python_version, site_packages, venv_python

if TYPE_CHECKING:
    from corehost_build.atomic import Staging
    from corehost_build.hosts import BuildHost
    from corehost_build.zipapp import Zipapp


@dataclass(frozen=True)
class Staged:
    """What the pipeline made in the staging folder and decided about it: all an output needs to commit."""

    staging: Staging
    target: Target
    build_host: BuildHost
    registry: dict[str, Any]
    record: dict[str, Any]
    guard_timeout: float
    #: ``--compile``: a foreign host's bundle ships its packages' bytecode too (a corehost bundle always does).
    compile_bytecode: bool = False


@dataclass(frozen=True)
class Made:
    """What an output put in place: the venv folder, or the bundle file and what it holds."""

    venv: Path | None = None
    bundle: Zipapp | None = None


class Output(Protocol):
    """One kind of artifact a build emits."""

    @property
    def flag(self) -> str:
        """The option that names the destination, for messages (``--venv``, ``--output``)."""

    @property
    def dest(self) -> Path:
        """Where the artifact goes."""

    @property
    def single_file(self) -> bool:
        """The destination is one file the output writes atomically itself (else a folder :class:`Staging` swaps)."""

    def check(self, request: BuildRequest) -> None:
        """Raise a :class:`SpecError` for a request option this artifact cannot honour."""

    def requirements(self, request: BuildRequest) -> list[str]:
        """Requirements this artifact adds to the plugin set's lock."""

    def site(self, staged: Staged) -> Path:
        """The folder whose packages the artifact carries."""

    def freeze(self, staged: Staged) -> None:
        """Write the frozen registry and build record where this artifact keeps them, before committing."""

    def write_ahead(self, staged: Staged) -> Zipapp | None:
        """Write and check the artifact inside the staging folder, for :meth:`commit` to move into place.

        The pipeline calls it while the staged venv's guards run, with the
        registry of the last build; ``None`` when there is nothing to write
        ahead (a venv is its staged folder).
        """

    def commit(self, staged: Staged, progress: Progress, written: Zipapp | None = None) -> Made:
        """Put the checked result at :attr:`dest`; until this returns, an existing destination is untouched.

        ``written`` is what :meth:`write_ahead` made of this very ``staged``: it is moved into place, not written again.
        """


@dataclass(frozen=True)
class VenvOutput:
    """``--venv DIR``: the staged virtualenv itself, swapped into place as a whole folder."""

    dest: Path
    flag: str = "--venv"
    single_file: bool = False

    def check(self, request: BuildRequest) -> None:
        if request.python_version or request.platform:
            raise SpecError(
                "--python-version and --platform are for bundles (--output FILE.pyz); a --venv is made with the "
                "interpreter given by --python."
            )

    def requirements(self, request: BuildRequest) -> list[str]:
        # A venv is a place people install more into; a bundle has no installer to run, nor has a foreign
        # host's venv, whose plugins are exactly the built ones.
        return ["pip"] if request.pip and foreign_host(request) is None else []

    def site(self, staged: Staged) -> Path:
        return site_packages(staged.staging.venv)

    def freeze(self, staged: Staged) -> None:
        # Imported here, like the writers below: choosing an output (all an up-to-date rebuild does) needs none.
        if staged.build_host.foreign is not None:
            from corehost_build.foreignbuild import freeze_venv

            freeze_venv(staged.staging.venv, self.site(staged), staged.build_host, staged.record)
            return
        from corehost_build.freeze import write_frozen
        from corehost_build.venv import direct_launchers

        write_frozen(staged.staging.venv, staged.registry, staged.record)
        direct_launchers(staged.staging.venv)

    def write_ahead(self, staged: Staged) -> Zipapp | None:
        return None

    def commit(self, staged: Staged, progress: Progress, written: Zipapp | None = None) -> Made:
        staged.staging.commit()
        return Made(venv=staged.staging.dest)


@dataclass(frozen=True)
class BundleOutput:
    """``--output FILE.pyz``: the staged packages written as one reproducible, checked zipapp."""

    dest: Path
    flag: str = "--output"
    single_file: bool = True

    def check(self, request: BuildRequest) -> None:
        """Every request option applies to a bundle."""

    def requirements(self, request: BuildRequest) -> list[str]:
        return []

    def site(self, staged: Staged) -> Path:
        # A bundle for another platform carries that platform's install, made beside the venv that ran the guards.
        return staged.staging.root / "site" if staged.target.cross else site_packages(staged.staging.venv)

    def freeze(self, staged: Staged) -> None:
        """The registry and record go into the archive as it is written (:meth:`commit`)."""

    def write_ahead(self, staged: Staged) -> Zipapp | None:
        return self._write(staged, staged.staging.root / self.dest.name)

    def commit(self, staged: Staged, progress: Progress, written: Zipapp | None = None) -> Made:
        if written is None:
            bundle = self._write(staged, self.dest)
        else:
            os.replace(written.path, self.dest)
            bundle = dataclasses.replace(written, path=self.dest)
        progress.note(
            f"{bundle.size / 1e6:.1f} MB, unpacks once on first start, "
            + ("guards passed inside it" if bundle.checked else "same bundle as a checked build")
            + (", written while the staged venv's guards ran" if written is not None else "")
        )
        return Made(bundle=bundle)

    def _write(self, staged: Staged, where: Path) -> Zipapp:
        """The bundle of ``staged``, checked inside, written atomically at ``where``."""
        from corehost_build.bytecode import compile_all
        from corehost_build.foreignbuild import ForeignShippedCheck
        from corehost_build.zipapp import ShippedCheck, write_zipapp

        venv, target, build_host = staged.staging.venv, staged.target, staged.build_host
        check: ShippedCheck | ForeignShippedCheck | None = None
        if target.cross:
            # A bundle for another platform cannot start here; the staged venv's guards stand for it.
            check = None
        elif build_host.foreign is not None:
            check = ForeignShippedCheck(
                venv_python(venv), staged.guard_timeout, build_host.foreign, python_version(venv)
            )
        else:
            check = ShippedCheck(venv_python(venv), staged.guard_timeout, build_host.name, python_version(venv))
        return write_zipapp(
            self.site(staged),
            where,
            registry_data=staged.registry,
            record=staged.record,
            python_tag=target.python_tag,
            host=None if build_host.is_corehost or build_host.foreign else build_host.target,
            foreign=build_host if build_host.foreign is not None else None,
            # A foreign bundle's sources get their bytecode where they unpack, as they are first imported, as
            # in a venv: shipping it would double the file for a faster first start only.
            compile_site=build_host.foreign is None or staged.compile_bytecode,
            compiler=partial(compile_all, venv_python(venv), python_version(venv), cache=cache_dir() / "pyc"),
            platform_tag=target.platform_tag,
            check=check,
        )


def output_of(request: BuildRequest) -> Output:
    """The one artifact ``request`` asks for."""
    if request.output is not None and request.venv is None:
        return BundleOutput(request.output)
    if request.venv is not None and request.output is None:
        return VenvOutput(request.venv)
    raise SpecError(
        "a build emits one artifact: give either --venv DIR (a locked virtualenv) or --output FILE.pyz "
        "(a single-file bundle), not both and not neither."
    )
