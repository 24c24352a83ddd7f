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
    python: Path, timeout: float = DEFAULT_TIMEOUT, host: str = "corehost", *, bundle: Path | None = None
) -> dict[str, Any]:
    """The probe's report of ``host`` in the environment ``python`` belongs to: problems, registry data.

    With ``bundle`` (a finished ``.pyz``), the guards run inside that file
    instead (:data:`IN_BUNDLE`, ``inspect --frozen``), and report problems
    only: what the bundle will import is then what was checked, whatever it
    left out. Versions are not re-checked there: they need installed
    metadata, which a zip does not serve.
    """
    with tempfile.TemporaryDirectory(prefix="corehost-build-guards-") as cwd:
        if bundle is None:
            argv, env = command(python, "--announce", "inspect", "--host", host), tool_env()
            where = "new environment"
        else:
            argv = [str(python), "-I", "-S", "-c", IN_BUNDLE, str(bundle), "--announce", "inspect", "--frozen"]
            # A bundle with compiled code unpacks: into this run's own folder, not the user's cache.
            env, where = tool_env({"COREHOST_CACHE_DIR": str(Path(cwd) / "unpacked")}), "finished bundle"
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
                _, last = split_announced(err.read())
                culprit = (
                    f"it was importing {last}, which blocks while being imported (a network call, a prompt, a loop "
                    "at module level)"
                    if last
                    else "a plugin probably blocks while being imported (a network call, a prompt, a loop at module "
                    "level)"
                )
                raise GuardRunError(
                    f"the interface guards did not finish within {timeout:g} s in the {where}: {culprit}. "
                    "Move that work out of import time into the module's provision(), or leave the plugin out; "
                    "nothing was written to the destination."
                ) from None
            err.seek(0)
            stderr, last = split_announced(err.read())
    if result.returncode != 0:
        unreadable = missing(stderr, where)
        if unreadable is not None:
            raise unreadable
        tail = "\n".join("  " + line for line in stderr.strip().splitlines()[-20:])
        culprit = f"while importing {last}" if last else "before they could name a plugin"
        raise GuardRunError(
            f"the interface guards crashed in the {where} (exit {result.returncode}) {culprit}; the output "
            f"below shows what failed. Fix or leave out that plugin; nothing was written to the destination:\n{tail}"
        )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise GuardRunError(
            "the interface guards printed something that is not their JSON report; a plugin may write to the "
            "process's stdout file descriptor directly while imported. Output starts: " + result.stdout[:200]
        ) from None
    report = accept(answer, where)
    problems_of(report, where)
    return report


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


def cached_inspect(
    python: Path, timeout: float, host: str, *, lock_text: str, python_version: str
) -> tuple[dict[str, Any], bool]:
    """:func:`inspect_target`, reusing the report of an identical installed set; says whether it was reused.

    The report is a function of the files installed (the lock pins every
    one by hash, the runtime included), the interpreter and the host, so a
    report for the same three is the same report. Only clean reports are
    kept: a set with problems is checked again every time.
    """
    import hashlib

    from corehost_build import __version__
    from corehost_build.atomic import write_atomic
    from corehost_build.cache import cache_dir

    key = hashlib.sha256("\0".join([__version__, host, python_version, lock_text]).encode()).hexdigest()
    path = cache_dir() / "guards" / f"{key}.json"
    try:
        cached = accept(json.loads(path.read_text(encoding="utf-8")), "cache")
        problems_of(cached)
        return cached, True
    except (OSError, ValueError, ProbeError):
        pass
    report = inspect_target(python, timeout, host)
    if not errors_of(report):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json.dumps(report).encode("utf-8"), path)
    return report, False
