"""PEP 751 ``pylock.toml`` files: what the builder reads from them and how it writes them.

uv writes the lock and installs from it; the builder only checks the
promise it makes to users (every file has a hash, so an install can verify
everything) and reads the package list for the build record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corehost_build.atomic import write_atomic
from corehost_build.errors import LockError

if TYPE_CHECKING:
    from packaging.tags import Tag

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


def check_name(path: Path, flag: str) -> str | None:
    """A warning when ``path`` is not named as PEP 751 names locks (``pylock.toml``, ``pylock.NAME.toml``).

    Any path the user gives is used: the builder reads and writes the file
    whatever its name. Only other tools care, and they may not recognise the
    file as a lock, so a non-standard name is worth a warning, not a refusal.
    """
    if _NAME.match(path.name):
        return None
    words = [w for w in path.name.removesuffix(".toml").split(".") if w and w not in ("pylock", "lock")]
    stem = "-".join(words) or "NAME"
    return (
        f"{flag} {path}: PEP 751 names lock files pylock.toml or pylock.NAME.toml (NAME without dots), and other "
        f"tools may not recognise this file as a lock; the builder uses it anyway. To follow the standard, call it "
        f"e.g. {path.with_name(f'pylock.{stem}.toml')}."
    )


def _file_hash(entry: dict[str, object]) -> str:
    hashes = entry.get("hashes")
    if isinstance(hashes, dict) and hashes:
        algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
        return f"{algo}:{hashes[algo]}"
    return ""


def _where(entry: dict[str, object]) -> str:
    return str(entry.get("path") or entry.get("url") or entry.get("name") or "")


@functools.cache
def _tag_rank() -> dict[Tag, int]:
    """This machine's wheel tags, best first: listed once per run (about a thousand), not once per package."""
    from packaging.tags import sys_tags

    return {tag: i for i, tag in enumerate(sys_tags())}


def _installable(files: list[dict[str, object]]) -> dict[str, object]:
    """The file an installer on this machine picks: the best-matching wheel, else the first file."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    rank = _tag_rank()
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


#: Where a lock names the wheels of local projects, relative to the lock's folder (PEP 751 paths are).
WHEELS_DIR = "pylock-wheels"


def portable(lock_file: Path, local_wheels: list[Path]) -> str:
    """The lock's text with local wheels referred to as ``pylock-wheels/NAME.whl``.

    uv locks a local wheel by its absolute path in the builder's cache,
    which means nothing on another machine (and would make a bundle's bytes
    depend on where the cache is). The lock names each by file name and
    hash instead; :func:`installable` finds the file again when the lock is
    installed, so the lock alone is enough on this machine, and a folder of
    wheels (beside it, or ``--find-links``) carries it to another.
    """
    text = lock_file.read_text(encoding="utf-8")
    for wheel in local_wheels:
        pattern = re.compile(r'path = "[^"]*?' + re.escape(wheel.name) + '"')
        text = pattern.sub(f'path = "{WHEELS_DIR}/{wheel.name}"'.replace("\\", "\\\\"), text)
    return text


def export(text: str, local_wheels: list[Path], dest: Path) -> None:
    """Write the lock to ``dest``, only that file, as a file to share (mode 0644 under the usual umask).

    Its local wheels stay where :func:`installable` looks for them: a wheel
    built from a project is in the builder's cache already, and a wheel file
    the user gave is copied there (by its hash), so the lock installs on
    this machine even if that file moves.
    """
    from corehost_build.cache import cache_dir

    root = cache_dir() / "wheels"
    for wheel in local_wheels:
        if root in wheel.parents:
            continue
        kept = root / f"locked-{_sha256(wheel)[:32]}" / wheel.name
        if not kept.exists():
            write_atomic(wheel.read_bytes(), kept)
    write_atomic(text.encode("utf-8"), dest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidates(name: str, find_links: list[Path]) -> list[Path]:
    """Files called ``name`` in the ``--find-links`` folders, then in the builder's cache of local wheels."""
    from corehost_build.cache import cache_dir

    found = [folder / name for folder in find_links if (folder / name).is_file()]
    return found + sorted((cache_dir() / "wheels").glob(f"*/{glob_escape(name)}"))


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def installable(lock_file: Path, find_links: list[Path], workdir: Path) -> Path:
    """The lock to install: ``lock_file`` itself, or a copy in ``workdir`` named ``pylock.toml``.

    A copy is made when the lock is not named as PEP 751 names locks (which
    ``--lock`` accepts with a warning, and uv refuses to install), or when it
    must name where its local wheels are.

    A local project's wheel is locked by file name and hash (see
    :func:`portable`). When it is not at that path beside the lock, it is
    looked up by name in the ``--find-links`` folders and then in this
    machine's builder cache, and taken only if its sha256 is the locked
    one; the copy names the file found. The lock's own text (and so the
    build record) is unchanged.
    """
    original = lock_file.read_text(encoding="utf-8")
    text = original
    doc = tomllib.loads(text)
    # uv installs only a file named as PEP 751 names locks; any other name is installed from a copy.
    copied = not _NAME.match(lock_file.name)
    missing: list[str] = []
    for pkg in doc.get("packages", []):
        archive = pkg.get("archive")
        if not isinstance(archive, dict) or not isinstance(archive.get("path"), str):
            continue
        written: str = archive["path"]
        beside = lock_file.parent / written
        if beside.exists():
            if copied:
                # The copy is elsewhere: a path relative to the lock must not become relative to the copy.
                text = text.replace(f'path = "{written}"', f"path = {json.dumps(str(beside.resolve()))}")
            continue
        wanted = str(archive.get("hashes", {}).get("sha256", ""))
        name = Path(written).name
        found = next((c for c in _candidates(name, find_links) if _sha256(c) == wanted), None)
        if found is None:
            missing.append(f"{pkg.get('name')} {pkg.get('version')} ({name})")
            continue
        text = text.replace(f'path = "{written}"', f"path = {json.dumps(str(found))}")
    if missing:
        links = "".join(f", nor in --find-links {folder}" for folder in find_links)
        raise LockError(
            f"--from-lock {lock_file}: {len(missing)} locked wheel(s) of local projects are neither beside the lock "
            f"({lock_file.parent / WHEELS_DIR}){links}, nor in this machine's builder cache (looked up by file name "
            f"and locked hash): {', '.join(missing)}. Nothing was installed. Build them where the lock is used "
            "(corehost-build wheels PROJECT... -o DIR, then --find-links DIR), copy them into "
            f"{WHEELS_DIR}/ beside the lock, or make a new lock from the plugins (--with ... --lock)."
        )
    if text == original and not copied:
        return lock_file
    staged = workdir / "pylock.toml"
    staged.write_text(text, encoding="utf-8")
    return staged
