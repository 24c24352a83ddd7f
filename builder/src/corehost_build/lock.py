"""PEP 751 ``pylock.toml`` files: what the builder reads from them and how it writes them.

uv writes the lock and installs from it; the builder only checks the
promise it makes to users (every file has a hash, so an install can verify
everything) and reads the package list for the build record.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from corehost_build.errors import LockError

_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")


@dataclass(frozen=True)
class LockedPackage:
    """One package of a lock: what the build record lists for it."""

    name: str
    version: str
    hash: str
    source: str

    def to_record(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.hash, "source": self.source}


def check_name(path: Path, flag: str) -> None:
    """PEP 751 names locks ``pylock.toml`` or ``pylock.NAME.toml``; installers refuse other names."""
    if not _NAME.match(path.name):
        raise LockError(
            f"{flag} {path}: a PEP 751 lock file must be named pylock.toml or pylock.NAME.toml (NAME without dots), "
            f"and installers refuse other names; use e.g. {path.with_name('pylock.toml')}."
        )


def _file_hash(entry: dict[str, object]) -> str:
    hashes = entry.get("hashes")
    if isinstance(hashes, dict) and hashes:
        algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
        return f"{algo}:{hashes[algo]}"
    return ""


def _where(entry: dict[str, object]) -> str:
    return str(entry.get("path") or entry.get("url") or entry.get("name") or "")


def _installable(files: list[dict[str, object]]) -> dict[str, object]:
    """The file an installer on this machine picks: the best-matching wheel, else the first file."""
    from packaging.tags import sys_tags
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    rank = {tag: i for i, tag in enumerate(sys_tags())}
    best: tuple[int, dict[str, object]] | None = None
    for f in files:
        filename = Path(_where(f)).name
        if not filename.endswith(".whl"):
            continue
        try:
            tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            continue
        score = min((rank[t] for t in tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, f)
    return best[1] if best else files[0]


def read_lock(path: Path, flag: str = "--from-lock") -> list[LockedPackage]:
    """Every package of the lock, with the hash of the file an install will use.

    A package whose files carry no hash is refused: an install could not
    verify it, and the build record could not name it exactly.
    """
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockError(f"{flag} {path}: no such lock file; build with --lock {path} first.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"{flag} {path}: cannot read it as a PEP 751 lock ({exc}); regenerate it.") from None
    if not str(doc.get("lock-version", "")).startswith("1."):
        raise LockError(
            f"{flag} {path}: lock-version {doc.get('lock-version')!r} is not a PEP 751 version 1 lock; regenerate it."
        )
    out = []
    for pkg in doc.get("packages", []):
        name, version = str(pkg.get("name", "?")), str(pkg.get("version", ""))
        files: list[dict[str, object]] = [*pkg.get("wheels", [])]
        for kind in ("archive", "sdist"):
            if isinstance(pkg.get(kind), dict):
                files.append(pkg[kind])
        if not files:
            raise LockError(
                f"{flag} {path}: package {name} {version} is locked as a {', '.join(sorted(pkg)) or 'bare entry'} "
                "with no file, so it has no hash to verify; lock local projects as wheels (corehost-build does)."
            )
        unhashed = [_where(f) for f in files if not _file_hash(f)]
        if unhashed:
            raise LockError(
                f"{flag} {path}: package {name} {version} has file(s) without a hash ({', '.join(unhashed)}); "
                "every locked file needs one. Regenerate the lock with corehost-build build --lock."
            )
        chosen = _installable(files)
        out.append(LockedPackage(name, version, _file_hash(chosen), _where(chosen)))
    return out


def check_python(path: Path, version: str, flag: str = "--from-lock") -> None:
    """Refuse a lock made for other Pythons (its ``requires-python``) before anything is installed."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        wanted = str(tomllib.loads(path.read_text(encoding="utf-8")).get("requires-python", ""))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # read_lock has already reported an unreadable lock
    if not wanted or not version:
        return
    try:
        admitted = SpecifierSet(wanted).contains(version, prereleases=True)
    except InvalidSpecifier:
        raise LockError(
            f"{flag} {path}: requires-python {wanted!r} is not a version specifier; regenerate the lock."
        ) from None
    if not admitted:
        raise LockError(
            f"{flag} {path} was locked for Python {wanted}, but this build's interpreter is Python {version}, so "
            "nothing was installed. Build with a matching interpreter (--python PATH), or make a new lock with this "
            "one (corehost-build build --with ... --lock pylock.toml)."
        )


def digest(text: str) -> str:
    """sha256 of a lock's text, recorded so a bundle names the exact lock it came from."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Folder beside an exported lock that holds the wheels of local projects.
WHEELS_DIR = "pylock-wheels"


def portable(lock_file: Path, local_wheels: list[Path]) -> str:
    """The lock's text with local wheels referred to as ``pylock-wheels/NAME.whl``.

    uv locks a local wheel by its absolute path in the builder's cache,
    which means nothing on another machine. PEP 751 paths are relative to
    the lock's folder, so the exported lock names the copies that
    :func:`export` puts beside it: lock and wheels can be committed together.
    """
    text = lock_file.read_text(encoding="utf-8")
    for wheel in local_wheels:
        pattern = re.compile(r'path = "[^"]*?' + re.escape(wheel.name) + '"')
        text = pattern.sub(f'path = "{WHEELS_DIR}/{wheel.name}"'.replace("\\", "\\\\"), text)
    return text


def export(text: str, local_wheels: list[Path], dest: Path) -> None:
    """Write the lock to ``dest`` and its local wheels beside it, each through a file beside its final name."""
    folder = dest.parent / WHEELS_DIR
    for wheel in local_wheels:
        target = folder / wheel.name
        data = wheel.read_bytes()
        if not (target.exists() and target.read_bytes() == data):
            write_atomic(data, target)
    write_atomic(text.encode("utf-8"), dest)


def write_atomic(data: bytes, dest: Path) -> None:
    """Write ``data`` to ``dest`` through a file beside it, so ``dest`` is never half written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
