"""Making the target environment and installing the locked set into it.

The venv is created *relocatable* (uv writes ``#!/bin/sh`` trampolines
that find the interpreter next to the script, and a relative-friendly
``pyvenv.cfg``): it is built beside the destination and renamed into place
at the end, and ordinary venvs would keep the staging path in every script.
The build then gives the scripts a header that finds the interpreter
without running ``dirname`` and ``realpath`` (:func:`direct_launchers`).
Installing goes through ``uv pip sync`` of the lock, which never resolves,
verifies every hash, and removes anything the lock does not list.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name, canonicalize_version

from corehost_build.errors import InstallError
from corehost_build.tools import run_uv

#: The first lines uv writes into a relocatable venv's console scripts: the shell runs ``dirname`` and
#: ``realpath`` (two programs) to find the interpreter beside the script, on every start.
UV_TRAMPOLINE = """#!/bin/sh
'''exec' "$(dirname -- "$(realpath -- "$0")")"/'python' "$0" "$@"
' '''
"""


def launcher_header(flags: str = "") -> str:
    """Shell lines that start a console script with the interpreter beside it, running no other program.

    ``${0%/*}`` is the script's folder, found by the shell itself; only a
    script reached through a symbolic link, or started without a folder in
    its name (``sh corehost``), runs ``realpath`` to find where it is. To
    Python, the lines are the module's docstring. ``flags`` go to the
    interpreter (a foreign host's launcher passes ``-I``).
    """
    return f"""#!/bin/sh
'''test' -L "$0" || case "$0" in */*) exec "${{0%/*}}/python" {flags}"$0" "$@";; esac
exec "$(dirname -- "$(realpath -- "$0")")"/'python' {flags}"$0" "$@"
' '''
"""


def direct_launchers(venv: Path) -> int:
    """Give the venv's console scripts :func:`launcher_header` in place of uv's trampoline; return how many.

    The venv stays relocatable (the header finds the interpreter beside the
    script wherever the folder is), and a start skips two programs. The
    owning distribution's ``RECORD`` gets the new file's hash and size, as an
    installer records the script it wrote, so ``corehost-build verify`` and
    uninstallers see a consistent install. Every file is replaced by a new
    one, never written in place: a rebuild's staging venv shares its
    unchanged files with the last build by hard link.
    """
    header = launcher_header().encode()
    trampoline = UV_TRAMPOLINE.encode()
    rewritten: dict[str, bytes] = {}
    for script in sorted((venv / "bin").iterdir()):
        if script.is_symlink() or not script.is_file():
            continue
        with open(script, "rb") as f:
            if f.read(len(trampoline)) != trampoline:
                continue
            data = header + f.read()
        _replace(script, data, os.stat(script).st_mode & 0o7777)
        rewritten[os.path.realpath(script)] = data
    if rewritten:
        _record_rewritten(site_packages(venv), rewritten)
    return len(rewritten)


def _replace(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _record_rewritten(site: Path, rewritten: dict[str, bytes]) -> None:
    """Point the ``RECORD`` rows of the rewritten files at their new contents."""
    for record in sorted(site.glob("*.dist-info/RECORD")):
        with open(record, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        changed = False
        for row in rows:
            data = rewritten.get(os.path.realpath(site / row[0])) if row else None
            if data is not None:
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                row[1:3] = [f"sha256={digest}", str(len(data))]
                changed = True
        if changed:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            _replace(record, out.getvalue().encode("utf-8"), os.stat(record).st_mode & 0o7777)


def create_venv(path: Path, python: str) -> None:
    """A fresh, empty, relocatable virtualenv at ``path`` for interpreter ``python``."""
    result = run_uv(["venv", "--quiet", "--relocatable", "--python", python, str(path)])
    if result.returncode != 0:
        raise InstallError(
            f"creating a virtualenv with Python {python} failed: {result.stderr.strip()}. "
            "Pass --python with the path of an installed Python 3.11+ interpreter."
        )


def venv_python(path: Path) -> Path:
    """The interpreter of the venv at ``path``."""
    return path / "bin" / "python"


def install_lock(lock: Path, venv: Path, *, offline: bool = False, compile_bytecode: bool = False) -> None:
    """Install exactly the locked set into ``venv``, hashes enforced, nothing resolved."""
    args = ["pip", "sync", "--quiet", "--preview-features", "pylock", "--python", str(venv_python(venv))]
    if offline:
        args.append("--offline")
    if compile_bytecode:
        args.append("--compile-bytecode")
    result = run_uv([*args, str(lock)])
    if result.returncode != 0:
        text = result.stderr.strip()
        if "No space left on device" in text or "Disk quota exceeded" in text or "File too large" in text:
            why = (
                "the disk the destination is on ran out of space while installing into the staging folder beside "
                "it; the staging folder was removed and an existing destination is intact. Free space there (or "
                "build somewhere else) and retry."
            )
        elif "Read-only file system" in text:
            why = "the destination's folder is read-only; nothing was changed there. Build somewhere writable."
        elif "Hash mismatch" in text:
            why = (
                "a file does not match the hash recorded in the lock, so the install was refused: the lock or "
                "the file was changed after locking. Rebuild the lock from the plugins, or restore the original file."
            )
        elif "not found" in text.lower() or "no such file" in text.lower():
            why = (
                "a file the lock names is missing (a wheel of a --find-links folder that was moved or deleted?); "
                "put it back where the lock says, or rebuild the lock from the plugins."
            )
        else:
            why = "fix what uv names below (no network with --offline, a damaged file), or rebuild the lock."
        raise InstallError(f"installing the locked set from {lock} failed; {why}\n" + _indent(text))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def site_packages(venv: Path) -> Path:
    """The venv's purelib folder, where the frozen registry module goes."""
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise InstallError(f"the new environment {venv} has no site-packages folder; is --python a CPython 3.11+?")
    return found[0]


def python_version(venv: Path) -> str:
    """The target's Python version, as uv recorded it in ``pyvenv.cfg``."""
    for line in (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            return value.strip()
    return ""


def link_installed(seed: Path, venv: Path, wanted: Callable[[str, str], bool]) -> set[str]:
    """Hardlink into ``venv`` each distribution installed in ``seed`` that ``wanted(name, version)`` accepts.

    A distribution is exactly the files its ``RECORD`` lists (scripts in
    ``bin/`` included) plus the bytecode already compiled for them, so the
    result is what installing it again would make, with the interpreter's
    work kept. Nothing else of ``seed`` comes along (files no installer
    wrote, the frozen registry). ``uv pip sync`` then sees them installed
    and installs only the rest. Names and versions are compared normalised.
    Returns the normalised names of the distributions linked; any ``OSError`` (a file
    missing, another filesystem, links refused) leaves ``venv`` partly
    filled, and the caller starts over without the seed.
    """
    # Real paths on both sides, so that a folder reached through a symlink is not taken for a way out.
    seed_site, site = os.path.realpath(site_packages(seed)), os.path.realpath(site_packages(venv))
    seed_root, root = os.path.realpath(seed), os.path.realpath(venv)
    made: set[str] = set()
    linked: set[str] = set()

    def link(rel: str) -> None:
        source = os.path.normpath(os.path.join(seed_site, rel))
        target = os.path.normpath(os.path.join(site, rel))
        if not source.startswith(seed_root + os.sep) or not target.startswith(root + os.sep):
            raise OSError(f"{rel} is outside the environment")
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        try:
            os.link(source, target)
        except FileExistsError:
            if not os.path.samefile(source, target):  # two distributions claim one path: not a copy to trust
                raise

    for info in sorted(Path(seed_site).glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        name = canonicalize_name(name)
        if not wanted(name, canonicalize_version(version)):
            continue
        with open(info / "RECORD", encoding="utf-8", newline="") as f:
            files = {row[0] for row in csv.reader(f) if row and "__pycache__" not in row[0]}
        sources: dict[str, set[str]] = {}
        for rel in sorted(files):
            link(rel)
            folder, _, base = rel.rpartition("/")
            if base.endswith(".py"):
                sources.setdefault(folder, set()).add(base[:-3])
        for folder, stems in sources.items():
            cache = os.path.join(seed_site, folder, "__pycache__")
            try:
                compiled = os.listdir(cache)
            except FileNotFoundError:
                continue
            for pyc in compiled:
                if pyc.endswith(".pyc") and pyc.partition(".")[0] in stems:
                    link(f"{folder}/__pycache__/{pyc}" if folder else f"__pycache__/{pyc}")
        linked.add(name)
    return linked
