"""Start-up of a single-file bundle, and the cache it unpacks into.

``corehost-build --output corehost.pyz`` writes this file's source as the
archive's ``__main__.py``, with :data:`BUNDLE` filled in. It therefore uses
the standard library only, and imports as little as it can: it runs before
anything else in the bundle is importable, on every start.

It runs on older interpreters too (3.8 and later), if only to say that the
bundle needs a newer one.

Every bundle unpacks once into a per-build directory of the user's cache
(named by the bundle's id, a hash of everything it unpacks) and runs from
there, as a venv does: the archive holds this file and one stored entry,
the site (the entry ``BUNDLE["site"]`` names, a zip of its own), so a start reads no zip
directory but that of three entries, and every later start only checks that
the directory exists. The modules' bytecode was compiled at build time into
``__pycache__`` (unchecked, hash-based ``.pyc`` files, PEP 552), where the
ordinary importer loads it without compiling anything; on another version of
Python it compiles the sources into the cache directory instead, so the
bundle runs on every Python its packages support. Unpacking goes to a
temporary directory that is renamed into place, so concurrent first runs are
safe and a later run finds either nothing or a complete directory. The
first start of a rebuilt archive removes the directories of its older
builds that no running process started from (each start holds a lock in
its directory while it runs), and ``corehost cache list`` and ``corehost
cache clean`` show and clean the rest.

The same file starts a built *foreign* host (a pluggy application such as
datasette, llm or pytest, described by the builder rather than changed):
as the ``__main__.py`` of its ``.pyz``, and, with a shell header, as the
console script of its venv (:func:`run_foreign`). There it runs the host's
own console-script entry point, in an interpreter that sees only the built
distributions, refuses the host's plugin-installing commands with the
rebuild command instead, and prints the build record when
:data:`INFO_ENV` is set (a variable, so no flag of the host's own CLI is
taken from it), or lists or cleans the unpack cache when
:data:`CACHE_COMMAND_ENV` is. The host's child interpreters
(``sys.executable``) see exactly the same packages (:func:`child_python`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Filled in by the builder: id, python, requires_python, compiled_for (with compiled code only), rebuild,
#: platform, site (the archive's entry that holds the site), and host (a HostSpec's target) for host apps; a
#: foreign host's artifact has ``foreign`` instead of ``host`` (see :func:`run_foreign`), and its venv launcher
#: ``venv`` too.
BUNDLE: dict[str, Any] = {}

CACHE_ENV = "COREHOST_CACHE_DIR"
#: Set (to anything but empty) to make a foreign host's artifact print its build record instead of running.
INFO_ENV = "COREHOST_BUILD_INFO"
#: ``list``, ``clean`` or ``clean-all``: a foreign host's artifact shows or cleans the cache that bundles unpack
#: into instead of running, as ``corehost cache list``, ``clean`` and ``clean --all`` do (it has no corehost CLI).
CACHE_COMMAND_ENV = "COREHOST_BUNDLE_CACHE"
#: The build record of a foreign host's artifact: at the root of its ``.pyz``, at the top of its venv.
RECORD_FILE = "corehost-build.json"
_TMP_PREFIX = ".tmp-"
#: In each unpacked folder: the absolute path of the archive it was unpacked from, so that the first start of
#: a rebuilt archive removes the folders of its older builds (:func:`_prune`).
_ORIGIN = ".corehost-archive"
#: In each unpacked folder: the file every start running from it holds a lock in (:func:`_hold`).
_LOCK = ".corehost-lock"
_NAMES = {"cpython": "CPython", "pypy": "PyPy"}


class BundleError(Exception):
    """The bundle cannot start here; the message says why and what to do."""


def platform_tag() -> str:
    """``linux-x86_64``: what a bundle with compiled code needs of the machine."""
    return f"{sys.platform}-{os.uname().machine}"


def _within(spans: list[list[Any]], have: tuple[int, ...]) -> bool:
    return any(tuple(low) <= have and (high is None or have < tuple(high)) for low, high in spans)


def check_interpreter(bundle: dict[str, Any], archive: str = "corehost.pyz") -> None:
    """Stop at once on an interpreter the bundle cannot run on, naming the ones it can and a fix that works.

    The builder turned every range into ``[low, high)`` lists of release
    numbers, so this compares tuples and imports nothing. What it checks,
    in order: the implementation (``python``: the build's ``cpython-3.11``);
    what every locked package's Requires-Python admits (``requires_python``),
    which no rebuild can widen, so only another interpreter is suggested;
    with compiled code, the platform, then the versions its extension
    modules load in (``compiled_for``), where a rebuild with this
    interpreter does work.
    """
    implementation = str(bundle.get("python", "")).partition("-")[0]
    name = _NAMES.get(implementation, implementation)
    have = tuple(sys.version_info[:3])
    running = f"{_NAMES.get(sys.implementation.name, sys.implementation.name)} {'.'.join(map(str, have))}"
    running += f" ({sys.executable})"
    if implementation and implementation != sys.implementation.name:
        raise BundleError(f"this bundle runs on {name} only, but this is {running}; run it with {name}.")
    needs = bundle.get("requires_python")
    if needs and not _within(needs["spans"], have):
        raise BundleError(
            f"this bundle runs on {name} {needs['text']} ({needs['why']}), but this is {running}; "
            f"run it with a {name} {needs['text']} interpreter."
        )
    wanted_platform = bundle.get("platform")
    if bundle.get("compiled_for") and wanted_platform and wanted_platform != platform_tag():
        raise BundleError(
            f"this bundle holds compiled code for {wanted_platform} but is running on {platform_tag()}; "
            f"rebuild it with --platform for this machine."
        )
    compiled = bundle.get("compiled_for")
    if compiled and not _within(compiled["spans"], have):
        # Only this refusal quotes a command; every start reads this file.
        import shlex

        inputs = bundle.get("rebuild") or "<the inputs it was built from>"
        output, python = shlex.quote(os.path.abspath(archive)), shlex.quote(sys.executable)
        raise BundleError(
            f"this bundle holds compiled code for {name} {compiled['text']} only ({compiled['why']}), but this is "
            f"{running}; run it with a {name} {compiled['text']} interpreter, or rebuild it for this one "
            f"(from the folder it was built in): corehost-build build {inputs} --output {output} --python {python}"
        )


def cache_root() -> str:
    """Where bundles unpack: $COREHOST_CACHE_DIR, else the XDG cache dir."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "corehost", "bundles")


def _fallback_root() -> str:
    # Only without a home directory; every start reads this file.
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"corehost-{os.getuid()}", "bundles")


def unpacked(archive: str, bundle: dict[str, Any]) -> str:
    """The directory holding this bundle's site-packages, unpacking it on first use; held for this process's life.

    Without :data:`CACHE_ENV`, a cache that cannot be written makes the
    first start unpack into a temporary root instead, with a warning; later
    starts find that folder there and say nothing more.
    """
    root = cache_root()
    found = _held(root, bundle)
    if found is not None:
        return found
    fallback = None if os.environ.get(CACHE_ENV) else _fallback_root()
    if fallback is not None:
        found = _held(fallback, bundle)
        if found is not None:
            return found
    try:
        return _unpack(archive, bundle, root)
    except OSError as exc:
        if fallback is None:
            raise BundleError(
                f"cannot unpack the bundle into {root} ({exc.strerror or exc}); "
                f"point {CACHE_ENV} at a writable directory"
            ) from None
        print(
            f"corehost: warning: cache directory {root} is not writable ({exc.strerror or exc}); "
            f"unpacking into {fallback} instead (set {CACHE_ENV} to choose)",
            file=sys.stderr,
        )
        try:
            return _unpack(archive, bundle, fallback)
        except OSError as exc2:
            raise BundleError(
                f"cannot unpack the bundle into {root} nor {fallback} ({exc2.strerror or exc2}); "
                f"point {CACHE_ENV} at a writable directory"
            ) from None


def _held(root: str, bundle: dict[str, Any]) -> str | None:
    """This bundle's folder in ``root``, held for this process (:func:`_hold`), if it is there."""
    target = os.path.join(root, bundle["id"])
    return target if os.path.isdir(target) and _hold(target) else None


def _lock(folder: str) -> int | None:
    """Lock this process's own byte of ``folder``'s lock file, for as long as the process runs.

    A shared lock made of exclusive ones, with the ``os`` module alone
    (importing ``fcntl`` for ``flock`` would cost a start about 0.3 ms): a
    start locks the byte at its process id (``lockf``), which no other
    process locks, and a pruner locks the whole file, which it gets only
    while no start holds any byte of it. The descriptor is never closed (the
    lock ends with the process) and is not inherited by child processes.
    """
    try:
        fd = os.open(os.path.join(folder, _LOCK), os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        os.lseek(fd, os.getpid(), os.SEEK_SET)
        os.lockf(fd, os.F_LOCK, 1)
    except OSError:
        os.close(fd)
        return None
    return fd


def _hold(target: str) -> bool:
    """Mark ``target`` in use by this process; False if a pruner removed it meanwhile (it is then unpacked again).

    A folder whose lock file cannot be opened (a read-only cache) runs unheld.
    """
    _lock(target)
    return os.path.isdir(target)


def _prune(root: str, keep: str, origin: str) -> None:
    """Remove the folders of ``root`` unpacked from the archive at ``origin`` other than ``keep``, unless in use."""
    # Only the first start of a new build prunes; every start reads this file.
    import shutil

    for name in os.listdir(root):
        folder = os.path.join(root, name)
        if folder == keep or name.startswith(_TMP_PREFIX):
            continue
        try:
            with open(os.path.join(folder, _ORIGIN), encoding="utf-8") as f:
                if f.read() != origin:
                    continue
        except OSError:
            continue
        doomed = _take(folder)
        if doomed is not None:
            shutil.rmtree(doomed, ignore_errors=True)


def _take(folder: str) -> str | None:
    """Move ``folder`` out of the way for deletion; ``None`` while a running process holds it.

    A folder whose lock file cannot be opened is not taken: nothing can
    tell whether it is in use.
    """
    try:
        fd = os.open(os.path.join(folder, _LOCK), os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return None
    root, name = os.path.split(folder)
    doomed = os.path.join(root, f"{_TMP_PREFIX}{name}-{os.getpid()}")
    try:
        # From byte 0 to the end of the file and beyond: refused while any start holds its byte. A
        # process's own locks never refuse it, so ``cache clean --all`` takes the running bundle's folder.
        os.lockf(fd, os.F_TLOCK, 0)
        # Renamed away before the lock is let go: a start that waited for it then finds no folder.
        os.rename(folder, doomed)
    except OSError:
        return None
    finally:
        os.close(fd)
    return doomed


class _Window:
    """The bytes of one stored entry of an open archive, as a seekable file of their own.

    The site is a zip stored (not compressed) inside the archive; zipfile
    reads it through this without copying it, and without the backward
    seeks of a member file, which re-read the member from its start.
    """

    def __init__(self, file: Any, start: int, size: int) -> None:
        self.file, self.start, self.size, self.pos = file, start, size, 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset + (self.pos if whence == 1 else self.size if whence == 2 else 0)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        self.file.seek(self.start + self.pos)
        data: bytes = self.file.read(n)
        self.pos += len(data)
        return data


def _unpack(archive: str, bundle: dict[str, Any], root: str) -> str:
    # Only the first start of a build unpacks it; every start reads this file.
    import shutil
    import tempfile
    import zipfile

    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, bundle["id"])
    tmp = tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{bundle['id'][:16]}-", dir=root)
    try:
        with open(archive, "rb") as f, zipfile.ZipFile(f) as outer:
            info = outer.getinfo(bundle["site"])
            f.seek(info.header_offset + 26)
            lengths = f.read(4)
            start = (
                info.header_offset + 30 + int.from_bytes(lengths[:2], "little") + int.from_bytes(lengths[2:], "little")
            )
            made = {tmp}
            with zipfile.ZipFile(_Window(f, start, info.file_size)) as site:
                for entry in site.infolist():
                    if entry.is_dir():
                        continue
                    dest = os.path.join(tmp, entry.filename)
                    folder = os.path.dirname(dest)
                    if folder not in made:
                        # Once per folder: a failing mkdir of an existing one costs as much as making it.
                        os.makedirs(folder, exist_ok=True)
                        made.add(folder)
                    with site.open(entry) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    mode = (entry.external_attr >> 16) & 0o777
                    if mode:
                        os.chmod(dest, mode)
        origin = os.path.abspath(archive)
        with open(os.path.join(tmp, _ORIGIN), "w", encoding="utf-8") as record:
            record.write(origin)
        open(os.path.join(tmp, _LOCK), "wb").close()
        # Held before it is in place, so that no pruner can take it between the rename and the start.
        fd = _lock(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            # Another process finished first: its directory is complete, use it.
            if fd is not None:
                os.close(fd)
            if not os.path.isdir(target) or not _hold(target):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, target, origin)
    return target


def current() -> dict[str, Any] | None:
    """The manifest of the bundle this process runs from, if any."""
    main = sys.modules.get("__main__")
    bundle = getattr(main, "BUNDLE", None)
    return bundle if isinstance(bundle, dict) and bundle.get("id") else None


def cache_entries() -> list[dict[str, Any]]:
    """Every unpacked bundle (and abandoned partial unpack) in the cache."""
    root = cache_root()
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    now_id = (current() or {}).get("id")
    out = []
    for name in names:
        path = os.path.join(root, name)
        if not os.path.isdir(path):
            continue
        # lstat: a foreign bundle's child interpreter is a symbolic link to the interpreter, not its size.
        size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(path) for f in files)
        out.append(
            {
                "id": name,
                "path": path,
                "bytes": size,
                "mtime": os.path.getmtime(path),
                "current": name == now_id,
                "partial": name.startswith(_TMP_PREFIX),
            }
        )
    return out


def clean_cache(keep_current: bool = True) -> tuple[list[str], list[str]]:
    """Remove unpacked bundles other than the running one; return what was removed and what is in use.

    A folder that another running process started from is kept (removing
    it would break that process's next import); so is a partial unpack
    younger than a minute, which a first start may still be writing. A
    folder with no lock file (unpacked by an older corehost) is removed.
    """
    # ``cache clean`` only; every start reads this file.
    import shutil
    import time

    removed, in_use = [], []
    for entry in cache_entries():
        if entry["current"] and keep_current:
            continue
        doomed: str | None = entry["path"]
        if entry["partial"]:
            if time.time() - entry["mtime"] < 60:
                in_use.append(entry["path"])
                continue
        elif os.path.exists(os.path.join(entry["path"], _LOCK)):
            doomed = _take(entry["path"])
        if doomed is None:
            in_use.append(entry["path"])
            continue
        shutil.rmtree(doomed, ignore_errors=True)
        removed.append(entry["path"])
    return removed, in_use


def clean_report(removed: list[str], in_use: list[str]) -> str:
    """What ``corehost cache clean`` prints."""
    lines = [f"removed {path}" for path in removed]
    lines += [f"kept {path} (a running process uses it)" for path in in_use]
    lines.append(f"{len(removed)} director{'y' if len(removed) == 1 else 'ies'} removed")
    return "\n".join(lines) + "\n"


def cache_command(command: str) -> str:
    """What :data:`CACHE_COMMAND_ENV` prints: the output of ``corehost cache list``, ``clean`` or ``clean --all``."""
    if command == "list":
        lines = [f"cache: {cache_root()}"]
        entries = cache_entries()
        if not entries:
            lines.append("  empty: nothing is unpacked")
        for e in entries:
            flags = " (current)" if e["current"] else " (partial)" if e["partial"] else ""
            lines.append(f"  {e['id']}  {e['bytes'] / 1e6:.1f} MB{flags}")
        return "\n".join(lines) + "\n"
    if command in ("clean", "clean-all"):
        return clean_report(*clean_cache(keep_current=command == "clean"))
    raise BundleError(
        f"{CACHE_COMMAND_ENV}={command!r} names no cache command; set it to list (the unpacked bundles in "
        f"{cache_root()}, their size, and which one is this), clean (remove all but this one) or clean-all "
        "(this one too), or unset it to run the host."
    )


def render_main(bundle: dict[str, Any], header: str = "") -> str:
    """This file's source with :data:`BUNDLE` filled in: the archive's ``__main__.py``.

    ``header`` replaces the module docstring: a venv's console script starts
    with the shell lines that find its interpreter, and a docstring after
    them would no longer be the first statement, which ``__future__``
    imports must follow.
    """
    # The builder's only; every start reads this file.
    import pprint

    with open(__file__, encoding="utf-8") as f:
        source = f.read()
    if header:
        source = header + source[source.index('"""', 3) + 4 :]
    placeholder = "BUNDLE: dict[str, Any] = {}\n"
    filled = f"BUNDLE: dict[str, Any] = {pprint.pformat(bundle, width=100, sort_dicts=True)}\n"
    return source.replace(placeholder, filled, 1)


def enter(archive: str) -> dict[str, Any]:
    """Check this interpreter and put the bundle's unpacked packages first on ``sys.path``; return :data:`BUNDLE`.

    Every start does this before importing anything of the bundle, and so
    does the builder's check of a finished bundle (``python -m
    corehost.probe inspect --frozen`` run inside it), so that it imports
    what a start imports. The archive itself leaves ``sys.path``: nothing
    is imported from it, so no import searches its directory.
    """
    check_interpreter(BUNDLE, archive)
    site = unpacked(archive, BUNDLE)
    sys.path[:] = [site, *(p for p in sys.path if p != archive)]
    return BUNDLE


def _artifact(archive: str) -> str:
    """How the user named this artifact: the ``.pyz`` as started, or the venv's folder."""
    if BUNDLE.get("venv"):
        return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return sys.argv[0] or archive


def _record(archive: str) -> str:
    """The build record's JSON text, read from the artifact only when asked for."""
    if BUNDLE.get("venv"):
        with open(os.path.join(_artifact(archive), RECORD_FILE), encoding="utf-8") as f:
            return f.read()
    # Only COREHOST_BUILD_INFO reads the archive's record; every start reads this file.
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        return zf.read(RECORD_FILE).decode("utf-8")


def _command(args: list[str]) -> str:
    """The subcommand of a click-style command line: its first word that is not an option."""
    return next((a for a in args if not a.startswith("-")), "")


def _name_of(spec: str) -> str:
    """The distribution a ``--with`` value names (``Datasette_Vega>=0.6`` -> ``datasette-vega``)."""
    for i, char in enumerate(spec):
        if char in "=<>!~[;( ":
            spec = spec[:i]
            break
    return spec.lower().replace("_", "-").replace(".", "-")


def _rebuild_words(foreign: dict[str, Any]) -> list[str]:
    """The build's inputs as words; a build from a lock (which takes no --with) becomes its host and plugins."""
    words = str(BUNDLE.get("rebuild", "")).split()
    if "--from-lock" not in words:
        return words
    lock = words[words.index("--from-lock") + 1]
    pinned = [p.replace(" ", "==") for p in [foreign["host"], *foreign["plugins"]]]
    return ["--host", pinned[0], *(w for p in pinned[1:] for w in ("--with", p)), "--lock", lock]


def refusal(foreign: dict[str, Any], artifact: str, args: list[str]) -> str:
    """Why a plugin-installing command is refused, with the rebuild command that does what it asked."""
    # Only a refused command quotes one; every start reads this file.
    import shlex

    command = _command(args)
    names = [a for a in args[args.index(command) + 1 :] if not a.startswith("-")]
    words = _rebuild_words(foreign)
    if command == "uninstall" and names:
        dropped = {_name_of(n) for n in names}
        kept = []
        for i in range(0, len(words) - 1, 2):
            if not (words[i] == "--with" and _name_of(words[i + 1]) in dropped):
                kept += words[i : i + 2]
        words, wanted = kept, f"To leave out {', '.join(names)}"
    else:
        words += [w for n in names for w in ("--with", shlex.quote(n))]
        wanted = f"To add {', '.join(names)}" if names else "To change its plugins"
    plugins = ", ".join(foreign["plugins"]) or "none"
    return (
        f"'{foreign['script']} {command}' is refused: {artifact} is a built bundle of {foreign['host']} with exactly "
        f"the plugins it was built with ({plugins}); nothing is installed into it or removed from it. {wanted}, "
        f"rebuild it (from the folder it was built in): {_rebuild_command(words, artifact)}"
    )


def _rebuild_command(words: list[str], artifact: str) -> str:
    """``corehost-build build`` with the build's inputs and this artifact as its destination, ready to run."""
    # Only a refusal quotes a path; every start reads this file.
    import shlex

    destination = "--venv" if BUNDLE.get("venv") else "--output"
    return f"corehost-build build {' '.join(words)} {destination} {shlex.quote(os.path.abspath(artifact))}"


def _added(site: str, dists: list[str]) -> list[str]:
    """Distributions in ``site`` that the build did not put there."""
    built = set(dists)
    return sorted(n[: -len(".dist-info")] for n in os.listdir(site) if n.endswith(".dist-info") and n not in built)


def _venv_site() -> str:
    # Under -I a venv's path is the standard library, then its own site-packages.
    return [p for p in sys.path if p.endswith("site-packages")][-1]


#: The folder of an unpacked foreign bundle that holds the interpreters its host's child processes start (a dot:
#: no module can be named so, and it is no distribution's).
CHILDREN_DIR = ".python"


def child_python(folder: str, paths: list[str]) -> str | None:
    """An interpreter that sees exactly ``paths``, isolated: what ``sys.executable`` names for the host's children.

    Hosts and plugins start helpers as ``sys.executable -c CODE`` or ``-m
    MODULE`` with interpreter flags of their own (pytest-xdist's workers
    through execnet, multiprocessing, hupper's reloader, pytester); this
    interpreter, started ``-I -S``, would give them none of the artifact's
    packages (or, without ``-I``, whatever the system has). CPython 3.11 and
    later read a ``._pth`` file beside the executable that starts them: its
    lines are ``sys.path``, exactly, and it implies ``-I -S`` whatever the
    child's flags and environment. A symbolic link to this interpreter with
    that file beside it is therefore the child interpreter, and its own
    children start it again. A ``.pyz`` makes it once, in ``folder`` (in the
    folder it unpacks into), under a name that depends on the interpreter
    and the paths, by rename (concurrent starts are safe); a venv's build
    makes its own (:func:`corehost_build.foreignbuild.freeze_venv`).
    ``None`` where it cannot be made (an older Python, a path a ``._pth``
    line cannot hold, an unwritable folder): children then get this
    interpreter, as started.
    """
    if sys.version_info < (3, 11) or not sys.executable:
        return None
    # Absolute: the child may start in another folder (a relative $COREHOST_CACHE_DIR gives a relative site).
    paths = [os.path.abspath(p) for p in paths]
    if any("#" in p or "\n" in p or p != p.strip() for p in paths):
        return None
    # Only the start that names a child interpreter computes its key; crc32 imports nothing else.
    import binascii

    real = os.path.realpath(sys.executable)
    lines = "".join(p + "\n" for p in paths)
    key = binascii.crc32((real + "\n" + lines).encode("utf-8"))
    place = os.path.join(folder, f"{key:08x}")
    python = os.path.join(place, "python")
    if os.path.isdir(place):
        return python
    try:
        os.makedirs(folder, exist_ok=True)
        # Only the first start that needs one makes it; every start reads this file.
        import tempfile

        tmp = tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=folder)
        os.symlink(real, os.path.join(tmp, "python"))
        with open(os.path.join(tmp, "python._pth"), "w", encoding="utf-8") as f:
            f.write(lines)
        try:
            os.rename(tmp, place)
        except OSError:
            # Another start made it first: its folder is complete, use it.
            for name in ("python", "python._pth"):
                os.remove(os.path.join(tmp, name))
            os.rmdir(tmp)
            if not os.path.isdir(place):
                raise
    except OSError:
        return None
    return python


def run_foreign(archive: str) -> None:
    """Run a foreign host's console script from its artifact; never returns.

    The interpreter must run with ``-I -S``, so that no user or system
    site-packages, ``.pth`` file or ``PYTHON*`` variable adds a distribution
    the host would then load as a plugin. A ``.pyz``'s shell prefix passes
    them; started as ``python ds.pyz``, it starts itself again with them. A
    venv's launcher passes ``-I`` (its venv has no system site-packages).
    ``sys.executable`` then names an interpreter that sees exactly the same
    packages, isolated (:func:`child_python`), for the host's children.
    """
    foreign: dict[str, Any] = BUNDLE["foreign"]
    if not BUNDLE.get("venv") and not (sys.flags.isolated and sys.flags.no_site) and sys.executable:
        os.execv(sys.executable, [sys.executable, "-I", "-S", sys.argv[0] or archive, *sys.argv[1:]])
    artifact = _artifact(archive)
    args = sys.argv[1:]
    if os.environ.get(INFO_ENV):
        sys.stdout.write(_record(archive))
        sys.exit(0)
    try:
        if os.environ.get(CACHE_COMMAND_ENV):
            sys.stdout.write(cache_command(os.environ[CACHE_COMMAND_ENV]))
            sys.exit(0)
        if _command(args) in foreign["refuse"]:
            raise BundleError(refusal(foreign, artifact, args))
        if BUNDLE.get("venv"):
            site = _venv_site()
        else:
            enter(archive)
            site = sys.path[0]
        added = _added(site, foreign["dists"])
        if added:
            raise BundleError(
                f"{artifact} holds distribution(s) its build did not put there: {', '.join(added)}; the host would "
                f"load them as plugins. Remove them, or rebuild it (from the folder it was built in): "
                f"{_rebuild_command(_rebuild_words(foreign), artifact)}"
            )
        # Before the host imports multiprocessing, which reads it once. A venv's was made by its build.
        if not BUNDLE.get("venv"):
            sys.executable = child_python(os.path.join(site, CHILDREN_DIR), sys.path) or sys.executable
        elif sys.version_info >= (3, 11) and os.path.exists(os.path.join(artifact, "bin", CHILDREN_DIR, "python._pth")):
            sys.executable = os.path.join(artifact, "bin", CHILDREN_DIR, "python")
    except BundleError as exc:
        print(f"{foreign['script']}: error: {exc}", file=sys.stderr)
        sys.exit(1)
    # The host's console script is imported by name only here, once the artifact's packages are on sys.path.
    import importlib

    module, _, attribute = foreign["entry"].partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    sys.exit(target())


def main() -> None:
    """Run corehost from the archive this file is the ``__main__`` of."""
    # The archive path exactly as the interpreter put it on sys.path: zipimport caches an archive's
    # directory by that string, and an absolute spelling would make it read the directory again.
    archive = os.path.dirname(__file__)
    if BUNDLE.get("foreign"):
        run_foreign(archive)
    try:
        enter(archive)
    except BundleError as exc:
        print(f"corehost: error: {exc}", file=sys.stderr)
        sys.exit(1)
    # The launcher is the one file above the CLI, and corehost is importable only once enter() put it on sys.path.
    from corehost.cli import entry
    from corehost.registry import import_target

    if BUNDLE.get("host"):
        entry(import_target(BUNDLE["host"]))
    else:
        entry()


if __name__ == "__main__":
    main()
