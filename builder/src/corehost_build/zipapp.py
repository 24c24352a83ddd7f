"""Writing a checked environment as ONE reproducible file: ``corehost.pyz``.

The archive holds ``__main__.py`` (the runtime's :mod:`corehost.bundle`
with the bundle's manifest filled in) and its bytecode, the manifest, a
foreign host's build record, and one stored entry, ``site.zip``
(:data:`corehost_build.bundleformat.SITE`): a zip of the packages of the
staged environment that the guards passed, plus the frozen registry.

Start-up: every bundle unpacks ``site.zip`` once into a per-build cache
directory and imports from there, as from a venv: zipimport is pure Python,
slower per module than the filesystem importer, and parses the whole
directory of the zip it imports from, which for the outer archive is only
its few entries. Each module's bytecode is stored in ``__pycache__``, where
the ordinary importer looks for it, hash-based and unchecked (PEP 552), so
the files' extraction times do not matter and nothing is compiled at run
time.

Reproducible to the byte: entries sorted, one timestamp for all
(``SOURCE_DATE_EPOCH``, else 1980-01-01), fixed permissions, fixed
compression, code compiled with archive-relative file names, and nothing
that records the build path, the clock or the installer (``RECORD``,
``INSTALLER``, ``direct_url.json`` and ``bin/`` are left out).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from corehost.bundle import RECORD_FILE, render_main
from corehost.frozen import FROZEN_MODULE, render
from corehost_build import __version__
from corehost_build.atomic import atomic_file, write_atomic
from corehost_build.bundleformat import MANIFEST, SITE, manifest_of
from corehost_build.cache import cache_dir
from corehost_build.deflate import write_deflated
from corehost_build.errors import BuildError, BundleCheckFailure
from corehost_build.foreignbuild import launcher_data, record_bytes
from corehost_build.guards import errors_of, inspect_target
from corehost_build.target import reach

if TYPE_CHECKING:
    from corehost_build.hosts import BuildHost

#: Files in a .dist-info that record the install, not the package.
_INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "uv_cache.json", "WHEEL"})
_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")


@dataclass(frozen=True)
class Zipapp:
    """What was written: for the build summary and the tests."""

    path: Path
    bundle_id: str
    #: It holds compiled extension modules (so it runs on one platform and the Pythons they load in).
    compiled: bool
    files: int
    size: int
    #: Path (relative to site-packages) -> why it is not in the bundle.
    left_out: dict[str, str]
    #: The import check ran from this very file (not reused from an identical earlier bundle).
    checked: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "id": self.bundle_id,
            "compiled": self.compiled,
            "files": self.files,
            "bytes": self.size,
            "left_out": [{"path": k, "why": v} for k, v in sorted(self.left_out.items())],
        }


def date_time() -> tuple[int, int, int, int, int, int]:
    """One timestamp for every entry: ``SOURCE_DATE_EPOCH`` if set, else the zip epoch."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return (1980, 1, 1, 0, 0, 0)
    stamp = time.gmtime(max(int(epoch), 315532800))
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min, stamp.tm_sec)


#: Why each kind of file that is in site-packages but not in a bundle is left out (docs/bundles.md lists them).
WHY_PTH = (
    "a .pth file: a bundle does not process them, as its folder is put on sys.path, not made a site directory; "
    "the build checked the bundle without it"
)
#: A foreign host's bundle runs without the site module (``-S``), which is what reads them.
WHY_PTH_FOREIGN = (
    "a .pth file: a bundle does not process them, as it runs without the site module (python -S) so that nothing "
    "outside it is loaded; the build checked the bundle without it"
)
WHY_SCRIPTS = "console scripts: the bundle is its own entry point"


def collect(site_packages: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """The files that go into the bundle, by archive-relative name, and what is left out, with why.

    Every file of every locked distribution goes in, whatever its folder is
    called: a ``testing`` or ``tests`` package is importable (``numpy.testing``
    is public API), and leaving out anything importable breaks whoever
    imports it. What stays out cannot be imported: install records, the
    installer's bytecode (the build compiles its own), scripts, and ``.pth``
    files, which nothing in a bundle reads (the build's import check from
    the finished file proves that no plugin needs one).
    """
    files: dict[str, Path] = {}
    left_out: dict[str, str] = {}
    for path in sorted(site_packages.rglob("*")):
        rel = path.relative_to(site_packages)
        parts = rel.parts
        if path.is_dir() or "__pycache__" in parts:
            continue
        if rel.suffix == ".pyc" and path.with_suffix(".py").exists():
            continue  # the build compiles its own from the source; a .pyc without one is a module and ships
        if parts[0].endswith(".dist-info") and rel.name in _INSTALL_RECORDS:
            continue
        if parts[0] == "bin":
            left_out["bin/"] = WHY_SCRIPTS
        elif rel.suffix == ".pth":
            left_out[rel.as_posix()] = WHY_PTH
        else:
            files[rel.as_posix()] = path
    return files, left_out


#: What a foreign host's bundle starts with: a shell that starts Python isolated and without site-packages
#: (``-I -S``, see :func:`corehost.bundle.run_foreign`) in one step; a ``#!/usr/bin/env python3`` line would
#: start an interpreter with site-packages only for the bundle to start itself again. A zip may begin with
#: anything, so ``python3 ds.pyz`` works as well (and starts itself again isolated).
FOREIGN_PREFIX = b'#!/bin/sh\nexec python3 -I -S "$0" "$@"\n'

#: Sources by name in, bytecode by name out (see :func:`corehost_build.bytecode.compile_all`).
Compiler = Callable[[dict[str, bytes]], dict[str, bytes]]


#: Lays out, in the cache folder it is given, the folder a start of the bundle unpacks into.
LayOut = Callable[[Path], None]


class Check(Protocol):
    """A check of the finished bundle file, before it replaces anything (:class:`ShippedCheck`, a foreign one)."""

    def run(self, pyz: Path, manifest: bytes, left_out: dict[str, str], lay_out: LayOut | None = None) -> bool:
        """Raise if the bundle at ``pyz`` fails; say whether the check ran (else an identical one passed).

        ``lay_out`` makes the folder the bundle's start would unpack into,
        from the very files the bundle holds, faster than unpacking them.
        """


@dataclass(frozen=True)
class ShippedCheck:
    """The interface guards, run inside the finished bundle file before it replaces anything.

    The guards that chose the registry ran in the staged venv, which has
    every installed file; this run sees only what the bundle holds, loaded
    the way the bundle loads it (unpacked by its own start), so a plugin
    that needs something the bundle left out fails the build by name
    instead of failing at its first import.
    A bundle is a function of its manifest (every entry's hash), so a
    manifest that passed before with the same interpreter passes again: a
    warm rebuild does not run it twice.
    """

    python: Path
    timeout: float
    host: str
    python_version: str

    def run(self, pyz: Path, manifest: bytes, left_out: dict[str, str], lay_out: LayOut | None = None) -> bool:
        """Raise :class:`BundleCheckFailure` if the bundle at ``pyz`` fails; say whether the check ran."""
        key = hashlib.sha256("\0".join([__version__, self.host, self.python_version]).encode() + manifest)
        passed = cache_dir() / "shipped" / key.hexdigest()
        if passed.exists():
            return False
        problems = errors_of(inspect_target(self.python, self.timeout, self.host, bundle=pyz, lay_out=lay_out))
        if problems:
            raise BundleCheckFailure(problems, left_out)
        passed.parent.mkdir(parents=True, exist_ok=True)
        passed.touch()
        return True


def _cache_tag(python_tag: str) -> str:
    """The ``__pycache__`` tag of the build's interpreter (``cpython-3.11`` -> ``cpython-311``)."""
    implementation, _, version = python_tag.partition("-")
    if implementation == "cpython":
        return f"cpython-{version.replace('.', '')}"
    return sys.implementation.cache_tag or implementation


def _entries(
    files: dict[str, Path],
    frozen_source: bytes | None,
    tag: str,
    compiled: Compiler,
) -> Iterator[tuple[str, bytes]]:
    """The site's files by name, each module followed by its bytecode where the filesystem importer reads it."""
    sources = {name: path.read_bytes() for name, path in files.items()}
    if frozen_source is not None:
        sources[f"{FROZEN_MODULE}.py"] = frozen_source
    pycs = compiled({n: data for n, data in sources.items() if n.endswith(".py")})
    for name in sorted(sources):
        yield name, sources[name]
        pyc = pycs.get(name)
        if pyc is not None:
            folder, _, base = name.rpartition("/")
            yield f"{folder + '/' if folder else ''}__pycache__/{base[:-3]}.{tag}.pyc", pyc


def _lay_out(folder: Path, site: list[tuple[str, bytes]], files: dict[str, Path]) -> None:
    """The files of ``site`` in ``folder``, as a start unpacks them, each a hard link to a file of those bytes.

    The shipped check runs the bundle from this folder: the same bytes as
    ``site.zip`` holds, without inflating them again. Creating a file costs
    far more than linking one (about 0.6 ms against 0.02 ms on the test
    machine), so each entry is linked: to the staged file it was read from,
    else (bytecode, the frozen registry) to a copy kept in the builder's
    cache by content, written the first time those bytes are seen. The
    folder is deleted after the check; its files are only read.
    """
    blobs = cache_dir() / "blobs"
    made: set[Path] = set()
    for name, data in site:
        dest = folder / name
        if dest.parent not in made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            made.add(dest.parent)
        source = files.get(name)
        if source is None or name == f"{FROZEN_MODULE}.py" or source.stat().st_size != len(data):
            digest = hashlib.sha256(data).hexdigest()
            source = blobs / digest[:2] / digest
            if not source.exists():
                write_atomic(data, source)
        try:
            os.link(source, dest)
        except OSError:
            dest.write_bytes(data)


def _zip(entries: list[tuple[str, bytes]], out: IO[bytes], stored: frozenset[str] = frozenset()) -> None:
    """``entries`` as a reproducible zip, deflated (each stream from the builder's cache) but for ``stored``."""
    when = date_time()
    deflated = cache_dir() / "deflate"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, when)
            info.external_attr = (0o100755 if name.endswith(_COMPILED_SUFFIXES) else 0o100644) << 16
            info.create_system = 3
            if name in stored:
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, data)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                write_deflated(zf, info, data, deflated)


def write_zipapp(
    site_packages: Path,
    dest: Path,
    *,
    registry_data: dict[str, Any],
    record: dict[str, Any],
    python_tag: str,
    platform_tag: str,
    shebang: str = "/usr/bin/env python3",
    compile_code: bool = True,
    compile_site: bool = True,
    host: str | None = None,
    foreign: BuildHost | None = None,
    compiler: Compiler | None = None,
    check: Check | None = None,
) -> Zipapp:
    """Write the bundle for ``site_packages`` to ``dest`` atomically (temp file beside it, then rename).

    ``check`` runs on the finished temp file before the rename (see :class:`ShippedCheck`); what it
    raises leaves ``dest`` as it was. A ``foreign`` host's bundle carries no frozen registry: its
    build record is a file of the archive (:data:`corehost.bundle.RECORD_FILE`). ``compile_site=False``
    ships the packages' sources alone (their bytecode is then written where they unpack, on first
    import); ``__main__`` is compiled all the same.
    """
    files, left_out = collect(site_packages)
    if foreign is not None:
        left_out = {path: WHY_PTH_FOREIGN if why == WHY_PTH else why for path, why in left_out.items()}
    extensions = [name for name in files if name.endswith(_COMPILED_SUFFIXES) or ".so." in name]
    frozen_source = None if foreign is not None else render(registry_data, record).encode("utf-8")
    compiled = compiler if compiler is not None and compile_code else (lambda sources: {})
    site = list(_entries(files, frozen_source, _cache_tag(python_tag), compiled if compile_site else (lambda s: {})))
    # The id names the folder a start unpacks into: a hash of every file unpacked (their modes follow their names).
    digest = hashlib.sha256()
    for name, data in sorted(site):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    bundle_id = digest.hexdigest()[:32]
    manifest = {
        "id": bundle_id,
        "python": python_tag,
        "platform": platform_tag,
        "site": SITE,
        # The interpreters it starts on, and the build's inputs for a rebuild on another (--python-version
        # is left out: a rebuild names its interpreter with --python).
        **reach(files, lambda name: files[name].read_text(encoding="utf-8", errors="replace"), python_tag, extensions),
        "rebuild": " ".join(w for w in record.get("inputs", ()) if not w.startswith("--python-version ")),
    }
    if host is not None:
        # A host application's bundle starts that host's CLI (its HostSpec, imported directly).
        manifest["host"] = host
    entries: list[tuple[str, bytes]] = []
    if foreign is not None:
        manifest["foreign"] = launcher_data(foreign, record, None, list(files))
        entries.append((RECORD_FILE, record_bytes(record)))
        left_out.update({f"{e['package']} (distribution)": e["why"] for e in record.get("left_out", [])})
    main_source = render_main(manifest).encode("utf-8")
    entries.append(("__main__.py", main_source))
    if compile_code:
        entries += [("__main__.pyc", pyc) for pyc in compiled({"__main__.py": main_source}).values()]
    # Over every other entry and every file of the site: what `corehost-build verify` re-checks.
    listed = manifest_of(entries + [(f"{SITE}/{name}", data) for name, data in site])
    entries.append((MANIFEST, listed))
    inner = io.BytesIO()
    _zip(site, inner)
    entries.append((SITE, inner.getvalue()))
    dest = Path(os.path.abspath(dest))
    checked = False
    try:
        with atomic_file(dest, executable=True) as out:
            out.write(FOREIGN_PREFIX if foreign is not None else f"#!{shebang}\n".encode())
            # Stored, not deflated: every start reads __main__, and inflating it would import zlib for it alone.
            _zip(entries, out, stored=frozenset({SITE, "__main__.py", "__main__.pyc"}))
            out.flush()
            if check is not None:
                # The finished bytes, before they replace anything: a bundle that fails here is never shipped.
                checked = check.run(
                    Path(out.name), listed, left_out, lambda root: _lay_out(root / bundle_id, site, files)
                )
    except OSError as exc:
        raise BuildError(
            f"writing the bundle {dest} failed: {exc.strerror or exc}; the old file (if any) is intact."
        ) from exc
    return Zipapp(
        dest, bundle_id, bool(extensions), len(entries) - 1 + len(site), dest.stat().st_size, left_out, checked
    )
