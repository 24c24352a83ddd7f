"""Running the runtime's interface guards inside the target environment.

The guards must run where the bundle will run: with the target
interpreter, against exactly the installed set. ``python -m corehost.frozen``
does the guards and collects the registry data in one process; it runs
isolated (``-I``: no current folder on ``sys.path``, no ``PYTHON*``
variables) and under a timeout, so a plugin whose import hangs fails the
build instead of hanging it.

So that a timeout or a crash can name the plugin being imported, the guard
run is started through a few lines (:data:`BOOTSTRAP`) that announce every
entry point on stderr before it is imported; the last announcement before
the run died is the culprit.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from corehost_build.errors import GuardFailure, GuardRunError
from corehost_build.tools import tool_env

DEFAULT_TIMEOUT = 120.0

#: Marks the guard run's progress lines on stderr (never shown to the user as such).
PROGRESS = "corehost-build-guards: importing "

#: Makes every entry-point import announce itself (kind, name, target, distribution) on stderr first.
#: If the runtime's ``Entry.load`` ever moves, the guards still run, unnamed.
_ANNOUNCE = f"""
try:
    from corehost.registry import Entry
    _load = Entry.load
    def _announced(self):
        if self.obj is None:
            what = f"{{self.kind}} {{self.name!r}} ({{self.target}}) of distribution {{self.distribution}}"
            print({PROGRESS!r} + what, file=sys.__stderr__, flush=True)
        return _load(self)
    Entry.load = _announced
except Exception:
    pass
"""

#: Runs ``corehost.frozen`` as ``-m`` would, with every entry-point import announced.
BOOTSTRAP = f"""
import runpy, sys
{_ANNOUNCE}
sys.argv[0] = "corehost.frozen"
runpy.run_module("corehost.frozen", run_name="__main__", alter_sys=True)
"""

#: Runs the guards inside a finished bundle (argv: the .pyz, the host's name), as it will run: started
#: by its own ``__main__`` code (interpreter check, unpacking if it has compiled code, its site first
#: on ``sys.path``) in an interpreter that sees nothing else (``-I -S``), against the frozen registry
#: it carries. Versions are not re-checked: they need installed metadata, which a zip does not serve.
IN_BUNDLE = f"""
import json, os, runpy, sys
archive, host = sys.argv[1], sys.argv[2]
main = runpy.run_path(archive, run_name="corehost_bundle")
bundle = main["BUNDLE"]
main["check_interpreter"](bundle)
site = main["unpacked"](archive, bundle) if bundle.get("extract") else os.path.join(archive, bundle["site"])
sys.path.insert(0, site)
{_ANNOUNCE}
from corehost.frozen import load_frozen
from corehost.guards import Problem, check_all
from corehost.hostspec import COREHOST
from corehost.registry import import_target
spec = import_target(bundle["host"]) if bundle.get("host") else COREHOST
registry = load_frozen(spec)
if registry is None:
    problems = [Problem(spec.distribution, f"host {{host!r}}", "the bundle carries no frozen registry for it")]
else:
    problems, _ = check_all(registry, versions=False)
try:
    from corehost.cli import entry
except Exception as exc:
    why = f"importing corehost.cli, as every start does, failed: {{type(exc).__name__}}: {{exc}}"
    problems.append(Problem("corehost", "the bundle's start-up", why))
json.dump({{"problems": [p.to_json() for p in problems]}}, sys.stdout)
"""


def _split(stderr: str) -> tuple[str, str]:
    """The guard run's own stderr without the progress lines, and the last thing it began importing."""
    last, kept = "", []
    for line in stderr.splitlines():
        if line.startswith(PROGRESS):
            last = line.removeprefix(PROGRESS)
        else:
            kept.append(line)
    return "\n".join(kept), last


def inspect_target(
    python: Path, timeout: float = DEFAULT_TIMEOUT, host: str = "corehost", *, bundle: Path | None = None
) -> dict[str, Any]:
    """Guard problems and registry data of ``host`` in the environment ``python`` belongs to.

    With ``bundle`` (a finished ``.pyz``), the guards run inside that file
    instead (:data:`IN_BUNDLE`), and report problems only: what the bundle
    will import is then what was checked, whatever it left out.
    """
    with tempfile.TemporaryDirectory(prefix="corehost-build-guards-") as cwd:
        if bundle is None:
            argv, env, where = [str(python), "-I", "-c", BOOTSTRAP, "--host", host], tool_env(), "new environment"
        else:
            argv = [str(python), "-I", "-S", "-c", IN_BUNDLE, str(bundle), host]
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
                _, last = _split(err.read())
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
            stderr, last = _split(err.read())
    if result.returncode != 0:
        tail = "\n".join("  " + line for line in stderr.strip().splitlines()[-20:])
        culprit = f"while importing {last}" if last else "before they could name a plugin"
        raise GuardRunError(
            f"the interface guards crashed in the {where} (exit {result.returncode}) {culprit}; the output "
            f"below shows what failed. Fix or leave out that plugin; nothing was written to the destination:\n{tail}"
        )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise GuardRunError(
            "the interface guards printed something that is not their JSON report; a plugin may write to the "
            "process's stdout file descriptor directly while imported. Output starts: " + result.stdout[:200]
        ) from None
    return report


def errors_of(report: dict[str, Any]) -> list[dict[str, str]]:
    return [p for p in report.get("problems", []) if p.get("severity") == "error"]


def warnings_of(report: dict[str, Any]) -> list[dict[str, str]]:
    return [p for p in report.get("problems", []) if p.get("severity") != "error"]


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
    from corehost_build.cache import cache_dir

    key = hashlib.sha256("\0".join([__version__, host, python_version, lock_text]).encode()).hexdigest()
    path = cache_dir() / "guards" / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")), True
    except (OSError, ValueError):
        pass
    report = inspect_target(python, timeout, host)
    if not errors_of(report):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(report), encoding="utf-8")
        os.replace(tmp, path)
    return report, False
