"""Rebuilds follow the lock, and an unchanged rebuild is a no-op.

Like ``uv sync`` and every lock-based tool, a build resolves only when its
inputs ask for something the last lock cannot give. Two things are kept in
the builder's cache (:func:`corehost_build.cache.cache_dir`):

* ``locks/KEY.toml``: the last lock resolved for a *resolution key*, a
  hash of everything the resolver reads: the requirement lines, the
  ``--replace`` overrides, the requirements the output adds (``pip``),
  ``--find-links`` folders, the interpreter and the target platform, and
  the builder's version. A local project enters the key by its wheel's
  name, version and ``METADATA`` (its dependencies), not by its code, so
  editing a plugin's source keeps the key: the last lock is reused with
  only that wheel's hash swapped (:func:`swap`), and nothing is resolved.
  Editing its dependencies, adding a ``--with`` or changing any flag the
  resolver sees makes a new key, hence a new resolve. ``--upgrade``
  resolves again from scratch; ``--upgrade-package NAME`` resolves with the
  last lock as uv's preferences, so only NAME (and what it needs) moves.
  A requirement without ``==`` therefore stays at its locked release until
  the user asks for an upgrade, as in every lock-based tool.

* ``built/DEST.json``: for each destination this machine built, the
  *fingerprint* of what it was built from (the lock's digest, which names
  every file by hash, local wheels included; the recorded inputs; the
  builder's version; the interpreter and its full version; the target;
  ``--compile``; ``SOURCE_DATE_EPOCH`` for a bundle) and a *stamp* of the
  destination as committed. A rebuild whose fingerprint is the same, of a
  destination whose stamp is the same, is up to date: nothing is written.

The lock lives in the cache, not only in the destination, because a
destination carries its lock as a digest (the build record) rather than as
text, because a bundle and a venv of the same plugins share nothing a
resolver could read, and because a destination that was deleted or damaged
must still rebuild from the same lock. The destination's stamp is what
makes "up to date" trustworthy: a ``.pyz`` is stamped by the sha256 of its
bytes (a few milliseconds for a few megabytes); a venv by the path, size,
modification time and inode of every file outside ``__pycache__`` (what
``git status`` trusts: any write, added or removed file changes it), 9 ms
for the 764 files of the repo's greeter venv, where hashing their contents
(``corehost-build verify``) would cost more than the rest of the check.
Bytecode an interpreter writes while running the venv is left out, as
``verify`` leaves it out.

A rebuild that is not up to date still starts from the last build of the
same destination, its *seed*: the new staging venv is made fresh (``uv
venv``), then every distribution whose lock entry (name, version, file
hash) is unchanged is hardlinked into it from the seed, with the bytecode
compiled for it (:func:`corehost_build.venv.link_installed`); ``uv pip
sync`` then installs only what changed, hashes enforced. For an edited
plugin that is one wheel instead of the whole set, and the guards import
every other package from bytecode instead of compiling it. A venv's seed
is the destination itself; a bundle's is the venv its guards ran in, kept
in ``seeds/DEST`` (renamed there, not copied) with its stamp and packages
in ``seeds/DEST.json``. A seed is used only while its stamp is the one
recorded when it was made, so a destination written to since (a ``pip
install`` into it, an edited or deleted file) or a damaged cache entry is
ignored and everything is installed; a seed made by another interpreter or
uv (its ``pyvenv.cfg`` differs) is ignored too. Its files are the very
inodes uv hardlinked from its own cache, which a cold install links again
without re-hashing, so linking them trusts nothing a cold build does not.
Nothing writes into a linked file: installers, the interpreter's bytecode
and the builder's own files replace files by renaming.

An edited plugin's rebuild does not wait for its wheel to stage: while
the project's backend builds it, in a process of its own, the staging
venv is made and seeded with every distribution of the seed but that
project, and the guards' process is started on the linked runtime
(:func:`stage_ahead`); every project whose wheel is to be built is left
out. Once the lock is known, a project whose wheel came out the same (a
file outside it was edited) is linked too, and the venv is kept if it
then links exactly what the lock would have it link
(:meth:`Seeded.complete`), else it is staged again; if every wheel came
out the same, the build is up to date and the staging is removed.

What a commit replaces (the old venv, the last seed) is not deleted while
the user waits: the staging folder holding it is renamed into ``trash/``
and a process of its own deletes it (:func:`clear_later`); ``trash/`` is
swept whole each time, so a deletion that was killed is finished by the
next one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corehost_build import __version__
from corehost_build.atomic import Staging, write_atomic
from corehost_build.cache import cache_dir
from corehost_build.errors import BuildError
from corehost_build.lock import WHEELS_DIR, LockedPackage
from corehost_build.venv import create_venv, link_installed, venv_python

if TYPE_CHECKING:
    from corehost_build.guards import EarlyGuards
    from corehost_build.progress import Progress


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_metadata(wheel: Path) -> str:
    """sha256 of a wheel's ``METADATA``: its name, version and dependencies, what a resolver reads of it."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        data = zf.read(names[0]) if len(names) == 1 else b""
    return hashlib.sha256(data).hexdigest()


def lock_key(
    lines: Sequence[str],
    overrides: Sequence[str],
    local_wheels: Sequence[Path],
    *,
    find_links: Sequence[Path],
    interpreter: str,
    python_version: str | None,
    platform: str | None,
) -> str:
    """The resolution key: equal keys resolve to the same lock (on the same index), up to local wheels' code.

    ``lines`` and ``overrides`` are the requirement lines given to uv, in
    which a local wheel appears by its path; each such path is replaced by
    the wheel's name and ``METADATA`` digest, so a rebuilt wheel of the same
    project with the same dependencies keeps the key.
    """
    by_path = {w.as_uri(): f"{w.name}#{wheel_metadata(w)}" for w in local_wheels}

    def stable(line: str) -> str:
        for uri, name in by_path.items():
            line = line.replace(uri, name)
        return line

    data = {
        "builder": __version__,
        "requirements": sorted(stable(line) for line in lines),
        "overrides": sorted(stable(line) for line in overrides),
        "find_links": sorted(map(str, find_links)),
        "interpreter": interpreter,
        "python_version": python_version,
        "platform": platform,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _lock_path(key: str) -> Path:
    return cache_dir() / "locks" / f"{key}.toml"


def previous_lock(key: str) -> str | None:
    """The portable lock (see :func:`corehost_build.lock.portable`) last resolved for ``key``, if any."""
    try:
        return _lock_path(key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def keep_lock(key: str, portable_text: str) -> None:
    """Keep ``portable_text`` as the lock for ``key``, for the next build with the same resolution inputs."""
    write_atomic(portable_text.encode("utf-8"), _lock_path(key))


def swap(portable_text: str, local_wheels: Sequence[Path]) -> tuple[str, str] | None:
    """The last lock with each local wheel's hash replaced by the current file's: (portable, installable).

    The portable text names each local wheel ``pylock-wheels/NAME.whl``
    (what the build record's digest is of, so the result is the very text
    a fresh resolve would give); the installable text names the wheel's
    path on this machine, for ``uv pip sync``. ``None`` when a wheel is not
    locked exactly once in the last lock, which then cannot be reused.
    """
    portable_new = install = portable_text
    for wheel in local_wheels:
        pattern = re.compile(
            r'path = "' + re.escape(f"{WHEELS_DIR}/{wheel.name}") + r'", hashes = \{ sha256 = "[0-9a-f]{64}" \}'
        )
        if len(pattern.findall(portable_new)) != 1:
            return None
        sha = _sha256_file(wheel)
        portable_new = pattern.sub(f'path = "{WHEELS_DIR}/{wheel.name}", hashes = {{ sha256 = "{sha}" }}', portable_new)
        install = pattern.sub(f'path = {json.dumps(str(wheel))}, hashes = {{ sha256 = "{sha}" }}', install)
    return portable_new, install


def fingerprint(**parts: Any) -> str:
    """A hash of everything a finished destination is a function of (see the module docstring)."""
    return hashlib.sha256(json.dumps({"builder": __version__, **parts}, sort_keys=True).encode()).hexdigest()


def stamp(dest: Path) -> str | None:
    """What the destination is now: a ``.pyz``'s sha256, or a venv's file metadata; ``None`` if it is missing."""
    try:
        if dest.is_file():
            return "file:" + _sha256_file(dest)
        if not dest.is_dir():
            return None
        digest = hashlib.sha256()
        _stamp_tree(str(dest), len(str(dest)) + 1, digest)
        return "tree:" + digest.hexdigest()
    except OSError:
        return None


def _stamp_tree(folder: str, cut: int, digest: Any) -> None:
    """Add ``folder``'s files (path, size, mtime, inode), then its subfolders' names, then each subfolder's.

    The order is ``os.walk``'s, top down and sorted; one ``scandir`` per
    folder and relative paths by slicing keep it to a stat per file (a
    folder that cannot be read is an error here, where ``os.walk`` would
    skip it). A symlink to a folder counts by its name and is not followed.
    """
    with os.scandir(folder) as found:
        entries = sorted(found, key=lambda entry: entry.name)
    folders = []
    for entry in entries:
        if entry.is_dir():
            if entry.name != "__pycache__":
                folders.append(entry)
            continue
        st = entry.stat(follow_symlinks=False)
        digest.update(f"{entry.path[cut:]}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0".encode())
    for entry in folders:
        # A folder's own presence counts too (an empty package folder dropped in is a change).
        digest.update(f"{entry.path[cut:]}/\0".encode())
    for entry in folders:
        if not entry.is_symlink():
            _stamp_tree(entry.path, cut, digest)


def _dest_key(dest: Path) -> str:
    return hashlib.sha256(os.path.abspath(dest).encode()).hexdigest()[:32]


def _built_path(dest: Path) -> Path:
    return cache_dir() / "built" / (_dest_key(dest) + ".json")


def up_to_date(dest: Path, print_: str) -> dict[str, Any] | None:
    """The summary of the last build of ``dest`` if it had fingerprint ``print_`` and ``dest`` is unchanged since."""
    try:
        built = json.loads(_built_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(built, dict) or built.get("fingerprint") != print_:
        return None
    if built.get("stamp") is None or built.get("stamp") != stamp(dest):
        return None
    summary = built.get("summary")
    return summary if isinstance(summary, dict) else None


def remember(dest: Path, print_: str, summary: dict[str, Any]) -> None:
    """Record that ``dest``, as it is now, was built with fingerprint ``print_`` (and what the build said)."""
    now = stamp(dest)
    if now is None:
        return
    data = {"dest": str(dest), "fingerprint": print_, "stamp": now, "summary": summary}
    write_atomic(json.dumps(data, sort_keys=True).encode("utf-8"), _built_path(dest))


@dataclass(frozen=True)
class Seed:
    """A venv a rebuild may link unchanged distributions from, and the lock entries it was installed from."""

    venv: Path
    #: (normalised name, normalised version, hash) of every package installed in it.
    packages: frozenset[tuple[str, str, str]]


def _identity(package: dict[str, Any] | LockedPackage) -> tuple[str, str, str]:
    from packaging.utils import canonicalize_name, canonicalize_version

    fields = package.to_record() if isinstance(package, LockedPackage) else package
    return canonicalize_name(str(fields["name"])), canonicalize_version(str(fields["version"])), str(fields["hash"])


def _seed_path(dest: Path) -> Path:
    return cache_dir() / "seeds" / _dest_key(dest)


def seed_of(dest: Path, *, single_file: bool) -> Seed | None:
    """The last build's venv for ``dest`` if it is still exactly as that build left it, else ``None``."""
    venv = _seed_path(dest) if single_file else dest
    record = venv.with_suffix(".json") if single_file else _built_path(dest)
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        packages = data["packages"] if single_file else data["summary"]["packages"]
        identities = frozenset(_identity(p) for p in packages)
        kept = data["stamp"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(kept, str) or not kept.startswith("tree:") or stamp(venv) != kept:
        return None
    return Seed(venv, identities)


def stage_venv(staging: Staging, python: str, packages: Sequence[LockedPackage], progress: Progress) -> set[str]:
    """A fresh venv at ``staging.venv`` holding the unchanged distributions of the destination's seed.

    Returns the normalised names of the distributions linked. Without a
    usable seed (a first build, a changed destination, another interpreter)
    the venv is left empty, and the install puts everything in.
    """
    create_venv(staging.venv, python)
    seed = seed_of(staging.dest, single_file=staging.flag == "--output")
    if seed is None:
        return set()
    unchanged = {(name, version) for name, version, _ in seed.packages & {_identity(p) for p in packages}}
    try:
        if (seed.venv / "pyvenv.cfg").read_bytes() != (staging.venv / "pyvenv.cfg").read_bytes():
            return set()
        linked = link_installed(seed.venv, staging.venv, lambda name, version: (name, version) in unchanged)
    except OSError:
        # A seed that cannot be linked whole is not used at all: the venv starts over empty.
        shutil.rmtree(staging.venv)
        create_venv(staging.venv, python)
        return set()
    progress.note(f"{len(linked)} of {len(packages)} packages kept from the last build, the rest installed")
    return linked


@dataclass
class Seeded:
    """A staging venv seeded while local projects' wheels were still being built (see :func:`stage_ahead`)."""

    staging: Staging
    seed: Seed
    #: (normalised name, normalised version) of every distribution linked from the seed.
    kept: set[tuple[str, str]]
    #: Their normalised names.
    linked: set[str]
    #: The guards' process, started on the linked runtime (see :class:`corehost_build.guards.EarlyGuards`).
    early: EarlyGuards | None = None

    def complete(self, packages: Sequence[LockedPackage]) -> bool:
        """Make this venv hold exactly what :func:`stage_venv` would link for the lock ``packages``, if it can.

        A project rebuilt into the very wheel it was (a file outside the
        wheel was edited) was left out while it was being built; it is linked
        now. A distribution linked that the lock does not keep as it was
        cannot be taken back: ``False``, and the venv is staged again.
        """
        wanted = {(name, version) for name, version, _ in self.seed.packages & {_identity(p) for p in packages}}
        if not self.kept <= wanted:
            return False
        missing = wanted - self.kept
        if missing:
            try:
                self.linked |= link_installed(self.seed.venv, self.staging.venv, lambda n, v: (n, v) in missing)
            except OSError:
                return False
            self.kept |= missing
        return True

    def drop(self) -> None:
        """Give up the venv (the staging folder stays, for :func:`stage_venv` to fill afresh)."""
        if self.early is not None:
            self.early.__exit__(None, None, None)
            self.early = None
        shutil.rmtree(self.staging.venv, ignore_errors=True)


def stage_ahead(dest: Path, python: str, *, single_file: bool, rebuilding: set[str]) -> Seeded | None:
    """Stage and seed the venv of a build while the wheels of the projects ``rebuilding`` are being built.

    A new wheel is the usual start of a rebuild after an edit, and the lock
    it leads to is mostly the last one: every distribution of the seed but
    those projects is linked now, and the runtime's guard process is
    started on it, instead of after the wheels and the lock. The pipeline
    keeps this venv only if it can make it link exactly what the lock would
    have it link (:meth:`Seeded.complete`), else it stages again. ``None``
    when there is no seed, or anything fails: the build then stages as it
    goes, and reports whatever went wrong in its own words.
    """
    seed = seed_of(dest, single_file=single_file)
    if seed is None:
        return None
    try:
        staging = Staging(dest, file=single_file)
    except (OSError, BuildError):
        return None
    kept = {(name, version) for name, version, _ in seed.packages if name not in rebuilding}
    try:
        create_venv(staging.venv, python)
        if (seed.venv / "pyvenv.cfg").read_bytes() != (staging.venv / "pyvenv.cfg").read_bytes():
            staging.discard()
            return None
        linked = link_installed(seed.venv, staging.venv, lambda name, version: (name, version) in kept)
    except (OSError, BuildError):
        staging.discard()
        return None
    seeded = Seeded(staging, seed, kept, linked)
    if "corehost" in linked:
        # Imported here: the guards' module is the build's, which an up-to-date rebuild never loads.
        from corehost_build.guards import EarlyGuards

        try:
            seeded.early = EarlyGuards(venv_python(staging.venv), "corehost")
        except OSError:
            pass  # the interpreter did not start: the guards start it again after the install, and report why
    return seeded


def keep_staged(staging: Staging, packages: Sequence[LockedPackage], registry: dict[str, Any]) -> None:
    """After a bundle's commit, keep the venv its guards ran in as the seed of its next rebuild.

    A venv destination is its own seed (its stamp is kept by :func:`remember`). The
    previous seed is moved into the staging folder, which is deleted with it. The
    registry the guards found is kept beside it (see :func:`last_registry`).
    """
    if staging.flag != "--output" or not staging.venv.is_dir():
        return
    slot = _seed_path(staging.dest)
    record = slot.with_suffix(".json")
    record.unlink(missing_ok=True)
    try:
        slot.parent.mkdir(parents=True, exist_ok=True)
        if slot.exists():
            os.rename(slot, staging.root / "last-seed")
        os.rename(staging.venv, slot)
    except OSError:
        # The cache is on another filesystem (or the old seed is stuck): the next rebuild installs everything.
        shutil.rmtree(slot, ignore_errors=True)
        return
    now = stamp(slot)
    if now is not None:
        data = {
            "dest": str(staging.dest),
            "stamp": now,
            "packages": [p.to_record() for p in packages],
            "registry": registry,
        }
        write_atomic(json.dumps(data, sort_keys=True).encode("utf-8"), record)


def last_registry(dest: Path) -> dict[str, Any] | None:
    """The registry the last build of the bundle ``dest`` froze, if its seed record has one.

    Only a guess to write the next bundle ahead with, while its own guards
    run: the pipeline keeps that bundle only if the guards find this very
    registry again, so a stale or damaged record costs time, never a wrong bundle.
    """
    try:
        registry = json.loads(_seed_path(dest).with_suffix(".json").read_text(encoding="utf-8"))["registry"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return registry if isinstance(registry, dict) else None


#: Deletes every entry of the trash folder (argv[1]); each one is a staging folder renamed there whole. It runs
#: at the lowest priority: nothing waits for it, and the next build (a rebuild right after, as an edit loop or a
#: benchmark makes) should not wait behind it for the CPU.
SWEEP = """
import os, shutil, sys
os.nice(19)
for name in os.listdir(sys.argv[1]):
    shutil.rmtree(os.path.join(sys.argv[1], name), ignore_errors=True)
"""


def clear_later(staging: Staging) -> None:
    """Move the committed build's staging folder into the cache's trash, deleted there by a process of its own.

    Deleting a replaced venv is thousands of unlinks (a quarter of a second
    on a busy disk) that nothing waits for: the destination is already in
    place. When the cache is on another filesystem the folder stays, and
    :class:`~corehost_build.atomic.Staging` deletes it in place as it exits.
    """
    trash = cache_dir() / "trash"
    thrown = trash / staging.root.name
    try:
        trash.mkdir(exist_ok=True)
        os.rename(staging.root, thrown)
    except OSError:
        return
    try:
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", SWEEP, str(trash)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(thrown, ignore_errors=True)  # no interpreter to start: deleted here after all
