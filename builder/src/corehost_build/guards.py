"""Running the runtime's interface guards inside the target environment.

The guards must run where the bundle will run: with the target
interpreter, against exactly the installed set. ``python -m corehost.probe
inspect`` does the guards and collects the registry data in one process
(see :mod:`corehost_build.probe`); it runs under a timeout, so a plugin
whose import hangs fails the build instead of hanging it.

So that a timeout or a crash can name the plugin being imported, the probe
runs with ``--announce``: it names every entry point on stderr before
importing it, and the last announcement before the run died is the culprit.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corehost.errors import did_you_mean
from corehost.probe import ANNOUNCE
from corehost.problems import Problem, errors, warnings
from corehost_build.errors import GuardFailure, GuardRunError, ProbeError, SpecError
from corehost_build.options import DEFAULT_TIMEOUT
from corehost_build.probe import accept, command, missing
from corehost_build.tools import tool_env

#: Enters a finished bundle (argv: the .pyz, then the probe's arguments) the way its own ``__main__``
#: does (interpreter check, unpacking if it has compiled code, its site first on ``sys.path``), then runs
#: the bundle's ``corehost.probe``. The manifest is left as ``__main__.BUNDLE``, where a start finds it.
IN_BUNDLE = """
import runpy, sys
archive = sys.argv[1]
BUNDLE = runpy.run_path(archive, run_name="corehost_bundle")["enter"](archive)
from corehost.probe import main
sys.exit(main(sys.argv[2:]))
"""


def split_announced(stderr: str, announce: str = ANNOUNCE) -> tuple[str, str]:
    """A guard run's own stderr without its ``announce`` lines, and the last thing it began importing.

    corehost's probe and the foreign hosts' target script announce alike, each with its own prefix.
    """
    last, kept = "", []
    for line in stderr.splitlines():
        if line.startswith(announce):
            last = line.removeprefix(announce)
        else:
            kept.append(line)
    return "\n".join(kept), last


def inspect_target(
    python: Path,
    timeout: float = DEFAULT_TIMEOUT,
    host: str = "corehost",
    *,
    bundle: Path | None = None,
    early: EarlyGuards | None = None,
    lay_out: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """The probe's report of ``host`` in the environment ``python`` belongs to: problems, registry data.

    With ``bundle`` (a finished ``.pyz``), the guards run inside that file
    instead (:data:`IN_BUNDLE`, ``inspect --frozen``), and report problems
    only: what the bundle will import is then what was checked, whatever it
    left out. Versions are not re-checked there: they need installed
    metadata, which a zip does not serve. ``lay_out`` makes, in the run's
    own cache folder, the folder the bundle's start unpacks into (so it
    need not inflate what it holds); without it, the start unpacks.

    With ``early`` (started by :func:`start_early` for this very ``python``
    and ``host`` while the install ran), that process is given the go; if
    it finds that the install replaced what it imported early, a fresh
    process runs the guards instead.
    """
    if early is not None:
        report = early.finish(timeout)
        if report is not None:
            return report
    with tempfile.TemporaryDirectory(prefix="corehost-build-guards-") as cwd:
        if bundle is None:
            argv, env = command(python, "--announce", "inspect", "--host", host), tool_env()
            where = "new environment"
        else:
            argv = [str(python), "-I", "-S", "-c", IN_BUNDLE, str(bundle), "--announce", "inspect", "--frozen"]
            # A bundle unpacks: into this run's own folder, not the user's cache.
            unpacked = Path(cwd) / "unpacked"
            if lay_out is not None:
                lay_out(unpacked)
            env, where = tool_env({"COREHOST_CACHE_DIR": str(unpacked)}), "finished bundle"
        # stderr goes to a file: what a killed run wrote so far is then still there to read.
        err_path = Path(cwd) / "stderr"
        with open(err_path, "w+", encoding="utf-8", errors="replace") as err:
            try:
                result = subprocess.run(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    env=env,
                    cwd=cwd,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                err.seek(0)
                raise _timed_out(err.read(), timeout, where) from None
            err.seek(0)
            stderr = err.read()
    return _report(result.returncode, result.stdout, stderr, where)


def _timed_out(stderr: str, timeout: float, where: str) -> GuardRunError:
    """The error of a guard run killed after ``timeout`` seconds, naming what it was importing by then."""
    _, last = split_announced(stderr)
    culprit = (
        f"it was importing {last}, which blocks while being imported (a network call, a prompt, a loop at module level)"
        if last
        else "a plugin probably blocks while being imported (a network call, a prompt, a loop at module level)"
    )
    return GuardRunError(
        f"the interface guards did not finish within {timeout:g} s in the {where}: {culprit}. "
        "Move that work out of import time into the module's provision(), or leave the plugin out; "
        "nothing was written to the destination."
    )


def _report(returncode: int, stdout: str, stderr_text: str, where: str) -> dict[str, Any]:
    """The accepted report of a finished guard run, or the error that names why it has none."""
    stderr, last = split_announced(stderr_text)
    if returncode != 0:
        unreadable = missing(stderr, where)
        if unreadable is not None:
            raise unreadable
        tail = "\n".join("  " + line for line in stderr.strip().splitlines()[-20:])
        culprit = f"while importing {last}" if last else "before they could name a plugin"
        raise GuardRunError(
            f"the interface guards crashed in the {where} (exit {returncode}) {culprit}; the output "
            f"below shows what failed. Fix or leave out that plugin; nothing was written to the destination:\n{tail}"
        )
    try:
        answer = json.loads(stdout)
    except ValueError:
        raise GuardRunError(
            "the interface guards printed something that is not their JSON report; a plugin may write to the "
            "process's stdout file descriptor directly while imported. Output starts: " + stdout[:200]
        ) from None
    report = accept(answer, where)
    problems_of(report, where)
    return report


#: Exit status of an early guard run (:data:`EARLY`) that found the install changed what it had imported.
STALE = 75

#: The guard run started while the staged venv is still being installed (argv: the probe's arguments). It
#: imports the probe and preloads the runtime, from the distributions linked from the last build, then waits
#: for a line on stdin: ``go`` once the install is done (anything else: the build stopped; it exits). Before
#: checking anything it makes sure it is the process a fresh start would be now: every module it took from
#: outside the standard library is still the one the import system (``sys.meta_path``, in order) finds, in
#: the same file (inode, size, mtime), and the venv's start-up hooks (``.pth`` files, ``sitecustomize``,
#: ``usercustomize``) are the ones it started with. If not, it exits with :data:`STALE` and a fresh process
#: runs the guards.
EARLY = (
    f"STALE = {STALE}\n"
    + """
import importlib, os, sys
STDLIB = os.path.dirname(os.__file__) + os.sep
def hooks():
    found = {}
    for folder in sys.path:
        if not folder.startswith(sys.prefix + os.sep) or not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name.endswith(".pth") or name.partition(".")[0] in ("sitecustomize", "usercustomize"):
                st = os.stat(os.path.join(folder, name))
                found[os.path.join(folder, name)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found
def imported():
    found = {}
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if spec is None or not spec.has_location or spec.origin.startswith(STDLIB):
            continue
        st = os.stat(spec.origin)
        found[name] = (spec.origin, st.st_ino, st.st_size, st.st_mtime_ns)
    return found
def find(name):
    parent = name.rpartition(".")[0]
    path = sys.modules[parent].__path__ if parent else None
    for finder in sys.meta_path:
        spec = finder.find_spec(name, path) if hasattr(finder, "find_spec") else None
        if spec is not None:
            return spec
def unchanged(modules):
    for name, (origin, *st) in modules.items():
        spec = find(name)
        if spec is None or spec.origin != origin:
            return False
        now = os.stat(origin)
        if [now.st_ino, now.st_size, now.st_mtime_ns] != st:
            return False
    return True
started = hooks()
try:
    from corehost import probe
    # A corehost older than preload() imports the runtime with the probe itself.
    getattr(probe, "preload", lambda: None)()
    main = probe.main
except BaseException:
    main = None
modules = imported()
if sys.stdin.readline().strip() != "go":
    sys.exit(0)
importlib.invalidate_caches()
try:
    fresh = main is not None and hooks() == started and unchanged(modules)
except OSError:
    fresh = False
if not fresh:
    sys.exit(STALE)
sys.exit(main(sys.argv[1:]))
"""
)


class EarlyGuards:
    """The guards' process of a staged venv, started before its install finished (see :data:`EARLY`).

    The probe's imports (the runtime, its dependencies: about 0.1 s) then
    overlap the install instead of following it. It is a context manager:
    leaving it ends a process that was never given the go.
    """

    def __init__(self, python: Path, host: str) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="corehost-build-guards-")
        self._err = open(Path(self._folder.name) / "stderr", "w+", encoding="utf-8", errors="replace")
        self.process = subprocess.Popen(
            [str(python), "-I", "-c", EARLY, "--announce", "inspect", "--host", host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=tool_env(),
            cwd=self._folder.name,
        )
        #: Whether the last :meth:`finish` found the early process stale (and so reported nothing).
        self.stale = False

    def finish(self, timeout: float) -> dict[str, Any] | None:
        """Give the go and wait for the report; ``None`` when the process found itself stale."""
        try:
            stdout, _ = self.process.communicate("go\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            self._err.seek(0)
            raise _timed_out(self._err.read(), timeout, "new environment") from None
        if self.process.returncode == STALE:
            self.stale = True
            return None
        self._err.seek(0)
        return _report(self.process.returncode, stdout, self._err.read(), "new environment")

    def __enter__(self) -> EarlyGuards:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.returncode is None:
            # Never given the go: end of stdin tells it to exit; one that is still importing is killed.
            try:
                self.process.communicate("", timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        self._err.close()
        self._folder.cleanup()


def problems_of(report: dict[str, Any], where: str = "new environment") -> list[Problem]:
    """The report's problems, as the runtime made them."""
    try:
        return [Problem.from_json(p) for p in report.get("problems", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ProbeError(
            f"the guard report of the {where} has a problem this corehost-build cannot read: {exc}."
        ) from None


def errors_of(report: dict[str, Any]) -> list[Problem]:
    """The report's errors: each one fails the build."""
    return errors(problems_of(report))


def warnings_of(report: dict[str, Any]) -> list[dict[str, str]]:
    """The report's warnings, as the build's summary and ``--json`` show them."""
    return [p.to_json() for p in warnings(problems_of(report))]


def modules_of(report: dict[str, Any]) -> list[str]:
    """Every module ID the guards passed, by ID: those of entry points and those plugins generate.

    The frozen registry keeps the generated ones apart (a bundle lists them
    without running their hook), but to a user they are modules like any
    other: the build's summary and its ``--json`` count them all.
    """
    registry = report["registry"]
    return sorted(row[0] for row in [*registry["modules"], *registry.get("generated", [])])


def require_clean(report: dict[str, Any]) -> None:
    """Fail the build, naming every culprit, when any guard reported an error."""
    problems = errors_of(report)
    if problems:
        raise GuardFailure(problems)


def require_crossable(report: dict[str, Any], isolate: list[str]) -> None:
    """Fail the build for each ``--isolate`` module whose interface calls cannot cross a process boundary.

    The guards record, for every module they checked, why its calls cannot
    cross (:mod:`corehost.crossing`; the runtime's answer, in the report's
    registry data). A module built to be isolated must have no such reason,
    so its worker cannot be refused later for something the build could
    see. An ID that names no module is the user's input at fault.
    """
    registry = report["registry"]
    rows = {row[0]: row for row in [*registry["modules"], *registry.get("generated", [])]}
    crossing: dict[str, list[str]] = registry.get("crossing", {})
    problems = []
    for module in isolate:
        if module not in rows:
            raise SpecError(
                f"--isolate {module}: no module of that ID is in the build{did_you_mean(module, rows)}. Give the ID "
                "of a module a plugin of the build provides (corehost list-modules shows them)."
            )
        name, target, distribution, _ = rows[module][:4]
        if module not in crossing:
            why = (
                f"is built to be isolated (--isolate {module}), but its namespace has no interface the guards "
                "could load, so no call of it can be forwarded to a worker; fix the namespace, or build without "
                "--isolate"
            )
            problems.append(Problem(distribution, "module", name, why, target=target))
        elif crossing[module]:
            why = (
                f"is built to be isolated (--isolate {module}), but not every call of its interface can reach a "
                f"worker: {'; '.join(crossing[module])}. Change those types, or build without --isolate "
                "to run it in the host's process."
            )
            problems.append(Problem(distribution, "module", name, why, target=target))
    if problems:
        raise GuardFailure(problems)


def _cache_path(host: str, python_version: str, lock_text: str) -> Path:
    import hashlib

    from corehost_build import __version__
    from corehost_build.cache import cache_dir

    key = hashlib.sha256("\0".join([__version__, host, python_version, lock_text]).encode()).hexdigest()
    return cache_dir() / "guards" / f"{key}.json"


def cached_report(host: str, *, lock_text: str, python_version: str) -> dict[str, Any] | None:
    """The kept report of an identical installed set (see :func:`cached_inspect`), if there is one."""
    try:
        cached = accept(json.loads(_cache_path(host, python_version, lock_text).read_text(encoding="utf-8")), "cache")
        problems_of(cached)
    except (OSError, ValueError, ProbeError):
        return None
    return cached


def cached_inspect(
    python: Path,
    timeout: float,
    host: str,
    *,
    lock_text: str,
    python_version: str,
    early: EarlyGuards | None = None,
) -> tuple[dict[str, Any], bool]:
    """:func:`inspect_target`, reusing the report of an identical installed set; says whether it was reused.

    The report is a function of the files installed (the lock pins every
    one by hash, the runtime included), the interpreter and the host, so a
    report for the same three is the same report. Only clean reports are
    kept: a set with problems is checked again every time.
    """
    from corehost_build.atomic import write_atomic

    cached = cached_report(host, lock_text=lock_text, python_version=python_version)
    if cached is not None:
        return cached, True
    report = inspect_target(python, timeout, host, early=early)
    if not errors_of(report):
        path = _cache_path(host, python_version, lock_text)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json.dumps(report).encode("utf-8"), path)
    return report, False
