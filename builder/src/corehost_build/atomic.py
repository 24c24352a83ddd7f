"""Building beside the destination, then moving into place in one step.

A failed build must leave an existing destination exactly as it was, and
a reader must never see half an environment. So everything is built in a
staging folder next to the destination (same filesystem, so ``rename`` is
atomic), and only a finished, checked environment replaces it: the old one
is moved aside, the new one renamed in, the old one deleted.

Two builds of one destination at once would each swap in their own result
and could interleave the swaps, so a build holds an exclusive lock on a
file beside the destination for its whole run; a second build fails at
once, naming the first one's process, instead of waiting or mixing.

Single files (a lock, a bundle, the frozen registry, a wheel in a
wheelhouse) go through :func:`atomic_file`: written beside their final name,
then renamed. The temp file ``mkstemp`` makes is private (0600), which must
not leak into what the user shares, so the finished file gets the mode a
plain ``open(..., "w")`` would have given it (0666, or 0777 for an
executable, less the umask). A new folder that must appear whole (a cache
entry, a scaffolded project) goes through :func:`atomic_dir`. This module
is the only place the builder writes beside a destination and renames.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from corehost_build.errors import BuildError


class Staging:
    """A staging folder beside ``dest``; ``commit()`` swaps its venv in, leaving it always discards.

    With ``file=True`` the destination is a single file (a bundle) that its
    writer replaces atomically itself; the staging folder is only the workspace.
    """

    def __init__(self, dest: Path, *, file: bool = False) -> None:
        self.dest = Path(os.path.abspath(dest))
        self.flag = "--output" if file else "--venv"
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unwritable(self.flag, self.dest, exc) from None
        if file and self.dest.is_dir():
            raise BuildError(f"--output {dest} is a folder; name the bundle file, e.g. {dest}/corehost.pyz.")
        if not file and self.dest.exists() and not self.dest.is_dir():
            raise BuildError(f"--venv {dest} exists and is not a folder; choose another destination or remove it.")
        self.lock_path = self.dest.parent / f".{self.dest.name}.corehost-build.lock"
        self._lock_fd = self._acquire()
        try:
            self.root = Path(tempfile.mkdtemp(prefix=f"{self.dest.name}.tmp-", dir=self.dest.parent))
        except OSError as exc:
            self._release()
            raise unwritable(self.flag, self.dest, exc) from None
        self.venv = self.root / "venv"

    def _acquire(self) -> int:
        """Hold the destination's lock file, or fail naming the build that holds it."""
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise unwritable(self.flag, self.dest, exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise BuildError(
                    f"another corehost-build (process {holder}) is writing {self.flag} {self.dest} right now, so "
                    "this build stopped before touching it. Wait for that build to finish (or give this one another "
                    "destination)."
                ) from None
            # The holder before us deletes the file as it finishes; a lock on
            # that deleted file guards nothing, so take the current file instead.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                return fd
            os.close(fd)

    def _release(self) -> None:
        if self._lock_fd < 0:
            return
        # Unlink while still holding the lock, so no one can lock the old file after we let go.
        self.lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = -1

    def commit(self) -> None:
        """Put the staged venv at ``dest``; an existing ``dest`` is replaced only now."""
        old = self.root / "old"
        if self.dest.exists() or self.dest.is_symlink():
            os.rename(self.dest, old)
        try:
            os.rename(self.venv, self.dest)
        except OSError:
            if old.exists():
                os.rename(old, self.dest)
            raise

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._release()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.discard()


def unwritable(flag: str, dest: Path, exc: OSError) -> BuildError:
    """The error for a destination whose folder cannot be written (read-only, full, no permission)."""
    why = {
        errno.EROFS: "its folder is on a read-only filesystem",
        errno.EACCES: "this user may not write to its folder",
        errno.EPERM: "this user may not write to its folder",
        errno.ENOSPC: "the disk it is on is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file grew beyond the size limit of this process (ulimit -f)",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return BuildError(
        f"cannot build {flag} {dest}: {why} ({exc.strerror or exc}: {exc.filename or dest.parent}). Nothing was "
        "changed there and an existing destination is intact; build somewhere writable, or free space and retry."
    )


def umask() -> int:
    """The process's umask (only readable by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(dest: Path, *, executable: bool = False) -> Iterator[BinaryIO]:
    """A file to write ``dest``'s bytes into; renamed over ``dest`` only if the block ends without error.

    The result has the mode a normal file write gives (0666 less the umask;
    0777 less the umask if ``executable``), not the temp file's 0600. The
    file's ``name`` is the temp file's path, so the finished bytes can be
    checked (after a flush) before they replace ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with open(tmp, "wb") as out:
            yield out
        os.chmod(tmp, (0o777 if executable else 0o666) & ~umask())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(data: bytes, dest: Path) -> None:
    """Write ``data`` to ``dest`` through :func:`atomic_file`: ``dest`` is never half written."""
    with atomic_file(dest) as out:
        out.write(data)


def copy_atomic(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` through :func:`atomic_file`: a reader never sees half a file."""
    with atomic_file(dest) as out, open(source, "rb") as data:
        shutil.copyfileobj(data, out)


@contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """A new folder to fill beside ``dest``; renamed to ``dest`` only if the block ends without error.

    ``dest`` must not exist: a folder is never renamed over another one. If
    another writer made ``dest`` first, :class:`FileExistsError` is raised
    and this folder is deleted, so the caller decides whether the other
    writer's result will do. On any error nothing is left beside ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        # mkdtemp's private 0700 is for the filling; the folder lands with the mode mkdir gives.
        os.chmod(tmp, 0o777 & ~umask())
        try:
            os.rename(tmp, dest)
        except OSError as exc:
            if dest.exists():
                raise FileExistsError(errno.EEXIST, "already made by another writer", str(dest)) from exc
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
