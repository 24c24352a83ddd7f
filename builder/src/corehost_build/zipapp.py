"""Writing a checked environment as ONE reproducible file: ``corehost.pyz``.

The archive holds ``__main__.py`` (the runtime's :mod:`corehost.bundle`
with the bundle's manifest filled in) and, under ``site/``, the packages of
the staged environment that the guards passed, plus the frozen registry.

Start-up: a pure-Python bundle runs from the archive itself. zipimport
never reads ``__pycache__``, so each module's bytecode is stored as a
legacy ``.pyc`` beside its source, hash-based and unchecked (PEP 552) so
nothing is compiled or stat'ed at run time. A bundle with compiled
extension modules, which zipimport cannot load, is unpacked once into a
per-build cache directory; its bytecode is stored in ``__pycache__`` where
the ordinary importer looks for it.

Reproducible to the byte: entries sorted, one timestamp for all
(``SOURCE_DATE_EPOCH``, else 1980-01-01), fixed permissions, fixed
compression, code compiled with archive-relative file names, and nothing
that records the build path, the clock or the installer (``RECORD``,
``INSTALLER``, ``direct_url.json`` and ``bin/`` are left out).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corehost.bundle import render_main
from corehost.frozen import FROZEN_MODULE, render
from corehost_build.errors import BuildError
from corehost_build.verify import MANIFEST, manifest_of

SITE = "site"
#: Distributions that only install things: never needed to run.
INSTALL_ONLY = frozenset({"pip", "setuptools", "wheel", "uv", "corehost-build", "corehost_build"})
#: Files in a .dist-info that record the install, not the package.
_INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "uv_cache.json", "WHEEL"})
_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
_TEST_DIRS = frozenset({"tests", "test", "testing"})


@dataclass(frozen=True)
class Zipapp:
    """What was written: for the build summary and the tests."""

    path: Path
    bundle_id: str
    extract: bool
    files: int
    size: int
    left_out: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "id": self.bundle_id,
            "extract": self.extract,
            "files": self.files,
            "bytes": self.size,
            "left_out": list(self.left_out),
        }


def date_time() -> tuple[int, int, int, int, int, int]:
    """One timestamp for every entry: ``SOURCE_DATE_EPOCH`` if set, else the zip epoch."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return (1980, 1, 1, 0, 0, 0)
    stamp = time.gmtime(max(int(epoch), 315532800))
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min, stamp.tm_sec)


def _dist_name(dist_info: str) -> str:
    """``corehost-greet`` for ``corehost_greet-0.1.0.dist-info``."""
    return dist_info.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-").replace(".", "-")


def _owners(site_packages: Path) -> dict[str, str]:
    """Top-level name -> normalised distribution name, from each distribution's RECORD."""
    owners: dict[str, str] = {}
    for info in site_packages.glob("*.dist-info"):
        record = info / "RECORD"
        if not record.exists():
            continue
        for line in record.read_text(encoding="utf-8").splitlines():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and not top.endswith(".dist-info") and top != "..":
                owners.setdefault(top, _dist_name(info.name))
    return owners


def collect(site_packages: Path, keep_tests: frozenset[str]) -> tuple[dict[str, Path], list[str]]:
    """The files that run, by archive-relative name, and what was left out (for the docs' promise).

    ``keep_tests`` names distributions whose ``tests`` folders stay in (the
    host's and the plugins': they are what the user built).
    """
    owners = _owners(site_packages)
    keep = {name.lower().replace("_", "-") for name in keep_tests}
    skip_top: set[str] = set()
    for info in site_packages.glob("*.dist-info"):
        if _dist_name(info.name) in INSTALL_ONLY:
            skip_top.add(info.name)
            top = info / "top_level.txt"
            names = top.read_text().split() if top.exists() else [_dist_name(info.name).replace("-", "_")]
            skip_top.update(names)
            skip_top.update(f"{n}.py" for n in names)
    files: dict[str, Path] = {}
    left_out: list[str] = sorted(skip_top)
    for path in sorted(site_packages.rglob("*")):
        rel = path.relative_to(site_packages)
        parts = rel.parts
        if path.is_dir() or parts[0] in skip_top or parts[0] == "bin" or "__pycache__" in parts:
            continue
        if parts[0].startswith("_virtualenv") or rel.suffix in (".pyc", ".pth"):
            left_out.append(str(rel))
            continue
        if parts[0].endswith(".dist-info") and rel.name in _INSTALL_RECORDS:
            continue
        if len(parts) > 2 and parts[1] in _TEST_DIRS and owners.get(parts[0]) not in keep:
            left_out.append(f"{parts[0]}/{parts[1]}/")
            continue
        files[rel.as_posix()] = path
    return files, sorted(set(left_out))


#: Sources by name in, bytecode by name out (see :func:`corehost_build.bytecode.compile_all`).
Compiler = Callable[[dict[str, bytes]], dict[str, bytes]]


def _entries(
    files: dict[str, Path],
    frozen_source: bytes,
    extract: bool,
    compiled: Compiler,
) -> Iterator[tuple[str, bytes]]:
    sources = {name: path.read_bytes() for name, path in files.items()}
    sources[f"{FROZEN_MODULE}.py"] = frozen_source
    pycs = compiled({n: data for n, data in sources.items() if n.endswith(".py")})
    tag = sys.implementation.cache_tag
    for name in sorted(sources):
        yield f"{SITE}/{name}", sources[name]
        pyc = pycs.get(name)
        if pyc is None:
            continue
        if extract:
            folder, _, base = name.rpartition("/")
            pyc_name = f"{folder + '/' if folder else ''}__pycache__/{base[:-3]}.{tag}.pyc"
        else:
            pyc_name = name[:-3] + ".pyc"
        yield f"{SITE}/{pyc_name}", pyc


def write_zipapp(
    site_packages: Path,
    dest: Path,
    *,
    registry_data: dict[str, Any],
    record: dict[str, Any],
    python_tag: str,
    platform_tag: str,
    keep_tests: frozenset[str] = frozenset(),
    shebang: str = "/usr/bin/env python3",
    compile_code: bool = True,
    host: str | None = None,
    compiler: Compiler | None = None,
) -> Zipapp:
    """Write the bundle for ``site_packages`` to ``dest`` atomically (temp file beside it, then rename)."""
    files, left_out = collect(site_packages, keep_tests)
    extract = any(name.endswith(_COMPILED_SUFFIXES) or ".so." in name for name in files)
    frozen_source = render(registry_data, record).encode("utf-8")
    compiled = compiler if compiler is not None and compile_code else (lambda sources: {})
    entries = list(_entries(files, frozen_source, extract, compiled))
    digest = hashlib.sha256()
    for name, data in entries:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    bundle_id = digest.hexdigest()[:32]
    manifest = {
        "id": bundle_id,
        "python": python_tag,
        "platform": platform_tag,
        "extract": extract,
        "site": SITE,
    }
    if host is not None:
        # A host application's bundle starts that host's CLI (its HostSpec, imported directly).
        manifest["host"] = host
    main_source = render_main(manifest).encode("utf-8")
    entries.append(("__main__.py", main_source))
    if compile_code:
        entries += [("__main__.pyc", pyc) for pyc in compiled({"__main__.py": main_source}).values()]
    # Last, over every other entry: what `corehost-build verify` re-checks (deterministic, so reproducible).
    entries.append((MANIFEST, manifest_of(entries)))
    when = date_time()
    dest = Path(os.path.abspath(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(f"#!{shebang}\n".encode())
            with zipfile.ZipFile(out, "w") as zf:
                for name, data in sorted(entries):
                    info = zipfile.ZipInfo(name, when)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (0o100755 if name.endswith(_COMPILED_SUFFIXES) else 0o100644) << 16
                    info.create_system = 3
                    zf.writestr(info, data, compresslevel=6)
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise BuildError(
            f"writing the bundle {dest} failed: {exc.strerror or exc}; the old file (if any) is intact."
        ) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Zipapp(dest, bundle_id, extract, len(entries), dest.stat().st_size, tuple(left_out))
