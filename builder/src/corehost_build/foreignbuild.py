"""What a build does differently for a foreign host (datasette, llm, pytest): guards, freeze, launcher.

:func:`corehost_build.hosts.foreign_host` chose the host before the
resolve; the pipeline's steps are the same as for corehost, and at each
step that depends on the host they ask this module:

* guards: the install tools the host declares (pip and setuptools, which
  only its own ``install`` needs, and an artifact refuses it) are taken out of the staged
  environment first, unless another distribution needs them, so the
  guards (:func:`corehost_build.foreignprobe.inspect_foreign`) see
  exactly what ships; every ``--with`` must then be a plugin the host
  loads;
* freeze: a venv gets its build record (:data:`corehost.bundle.RECORD_FILE`)
  and a launcher in place of the host's console script; a ``.pyz`` gets
  the same launcher data as its ``__main__`` (:mod:`corehost.bundle`);
* commit: a ``.pyz`` is checked again as shipped (:class:`ForeignShippedCheck`):
  unpacked by its own ``__main__``, the foreign guards run against its files
  alone, in an interpreter that has nothing else.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from corehost.bundle import CHILDREN_DIR, RECORD_FILE, render_main
from corehost.problems import Problem, errors
from corehost_build import __version__
from corehost_build.atomic import write_atomic
from corehost_build.cache import cache_dir
from corehost_build.errors import BuildError, BundleCheckFailure, InstallError, NotAPlugin, SpecError
from corehost_build.foreign import ForeignHost
from corehost_build.foreignprobe import TARGET, ForeignReport, inspect_foreign
from corehost_build.hosts import BuildHost
from corehost_build.resolve import Pinned
from corehost_build.tools import run_uv, tool_env
from corehost_build.venv import launcher_header, venv_python

#: The shell lines that start a venv's launcher with the venv's own interpreter, isolated (``-I``):
#: ``PYTHON*`` variables and the user's site-packages are ignored, as in a ``.pyz``. The interpreter is
#: found beside the script (the venv is relocatable) without starting a program, unless the script was
#: reached through a symbolic link; to Python, the shell lines are the module's docstring.
LAUNCHER_HEADER = launcher_header("-I ")


def why_left_out(host: ForeignHost) -> str:
    """Why the host's install tools are not in its artifact."""
    return (
        f"an install tool of {host.name}: {host.name} needs it only to install things (its "
        f"{'/'.join(host.refuse) or 'install'} command, which a built artifact refuses), and no other distribution "
        "of the build requires it"
    )


@dataclass(frozen=True)
class ForeignChecked:
    """What the guards step found for a foreign host: for the freeze, the record and the summary."""

    build_host: BuildHost
    report: ForeignReport
    #: ``"pip 26.3"`` -> why it is not in the artifact.
    left_out: dict[str, str]

    def summary(self) -> dict[str, Any]:
        """The build summary's ``foreign`` object (``--json``): what the artifact loads, what it leaves out."""
        assert self.build_host.foreign is not None
        return {
            "host": self.build_host.foreign.name,
            "version": self.report.host_version,
            "entry": self.build_host.target,
            "entry_points": self.report.plugins,
            "inferred": list(self.build_host.foreign.inferred),
            "left_out": [{"package": k, "why": v} for k, v in sorted(self.left_out.items())],
        }

    def record(self, base: dict[str, Any]) -> dict[str, Any]:
        """What the build record adds for a foreign host (``corehost build-info``'s fields are the same).

        A build from a lock names no host and no plugins; they are what the guards found.
        """
        assert self.build_host.foreign is not None
        loaded = sorted({f"{p['distribution']} {p['version']}" for p in self.report.plugins})
        return {
            "host": f"{self.build_host.foreign.distribution} {self.report.host_version}",
            "plugins": base["plugins"] or loaded,
            "kind": "foreign",
            "description": self.build_host.foreign.to_json(),
            "entry": self.build_host.target,
            "entry_points": self.report.plugins,
            "left_out": [{"package": k, "why": v} for k, v in sorted(self.left_out.items())],
        }


def _dists(site: Path) -> dict[str, Path]:
    """Canonical name -> ``.dist-info`` folder of every distribution in ``site``."""
    out: dict[str, Path] = {}
    for info in sorted(site.glob("*.dist-info")):
        out[canonicalize_name(info.name.removesuffix(".dist-info").rpartition("-")[0])] = info
    return out


def _requires(info: Path) -> set[str]:
    """The distributions ``info``'s METADATA requires here (markers evaluated; extras not taken)."""
    try:
        meta = Metadata.from_email((info / "METADATA").read_bytes(), validate=False)
    except OSError:
        return set()
    out: set[str] = set()
    for req in meta.requires_dist or []:
        if not isinstance(req, Requirement):
            req = Requirement(str(req))
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.add(canonicalize_name(req.name))
    return out


def leave_out_tools(venv: Path, site: Path, host: ForeignHost, cross: Path | None = None) -> dict[str, str]:
    """Uninstall the host's install tools from the staged venv (and ``cross``, a bundle's other-platform site).

    Returns what was left out, with why. A tool another distribution (not
    the host, not another tool) requires stays: a plugin that runs pip at
    run time gets it.
    """
    dists = _dists(site)
    tools = {canonicalize_name(t) for t in host.install_tools} & set(dists)
    needed: set[str] = set()
    for name, info in dists.items():
        if name not in tools and name != canonicalize_name(host.distribution):
            needed |= _requires(info)
    out = sorted(tools - needed)
    if not out:
        return {}
    for where in [["--python", str(venv_python(venv))], *([["--target", str(cross)]] if cross else [])]:
        result = run_uv(["pip", "uninstall", "--quiet", *where, *out])
        if result.returncode != 0:
            raise InstallError(f"leaving out {', '.join(out)} (install tools of {host.name}) failed: {result.stderr}")
    version = {n: info.name.removesuffix(".dist-info").rpartition("-")[2] for n, info in dists.items()}
    return {f"{n} {version[n]}": why_left_out(host) for n in out}


def console_entry(site: Path, host: ForeignHost) -> str:
    """The entry point of ``host``'s console script (``datasette.cli:cli``), read from its installed metadata."""
    info = _dists(site).get(canonicalize_name(host.distribution))
    if info is None:
        raise SpecError(
            f"--host {host.name}: distribution {host.distribution} is not in the built set; name the host's "
            "distribution in the [host] table's 'distribution' key."
        )
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(info / "entry_points.txt", encoding="utf-8")
    scripts = dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}
    if host.script not in scripts:
        found = ", ".join(sorted(scripts)) or "none"
        raise SpecError(
            f"--host {host.name}: distribution {info.name.removesuffix('.dist-info')} has no console script "
            f"{host.script!r} (it has: {found}); set the [host] table's 'script' key to the command the artifact "
            "should start."
        )
    return scripts[host.script].split("[")[0].strip()


def cached_inspect_foreign(python: Path, host: ForeignHost, *, timeout: float, lock_text: str) -> ForeignReport:
    """:func:`inspect_foreign`, reusing the report of an identical installed set (a warm rebuild runs no guards).

    The report is a function of the installed files (the lock pins each by
    hash; the install tools left out follow from it), the description, the
    interpreter and the guard script itself. Only reports without errors are
    kept: a set with problems is checked again every time.
    """
    parts = [__version__, json.dumps(host.to_json(), sort_keys=True), os.path.realpath(python), lock_text]
    key = hashlib.sha256("\0".join(parts).encode() + TARGET.read_bytes()).hexdigest()
    path = cache_dir() / "foreign-guards" / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ForeignReport(
            problems=[Problem.from_json(p) for p in data["problems"]],
            plugins=data["plugins"],
            host_version=data["host_version"],
            pluggy_version=data["pluggy_version"],
            requirements=data["requirements"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    report = inspect_foreign(python, host, timeout=timeout)
    if not report.errors:
        data = {
            "problems": [p.to_json() for p in report.problems],
            "plugins": report.plugins,
            "host_version": report.host_version,
            "pluggy_version": report.pluggy_version,
            "requirements": report.requirements,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json.dumps(data).encode("utf-8"), path)
    return report


def guard_foreign(
    venv: Path,
    site: Path,
    host: ForeignHost,
    plugins: list[Pinned],
    allow_plain: list[str],
    timeout: float,
    lock_text: str,
    cross: Path | None = None,
    isolate: list[str] | None = None,
) -> ForeignChecked:
    """Leave out the install tools, run the foreign guards in the staged venv, check every ``--with``.

    ``--isolate`` is refused first: it runs a corehost module in a worker
    process of its own, and a foreign host has no corehost modules (its
    plugins are pluggy plugins, called in its own process).
    """
    if isolate:
        raise SpecError(
            f"--isolate {isolate[0]}: {host.name} is a foreign host (a pluggy application, built as it is), so it has "
            "no corehost modules to run in a process of their own, and its plugins always run in its process; "
            "nothing was written to the destination. Drop --isolate (it is for the modules of corehost hosts, see "
            "docs/isolation.md)."
        )
    left_out = leave_out_tools(venv, site, host, cross)
    report = cached_inspect_foreign(venv_python(venv), host, timeout=timeout, lock_text=lock_text)
    report.require_clean()
    loaded = {canonicalize_name(str(p["distribution"])) for p in report.plugins}
    for pin in plugins:
        if pin.name in loaded or pin.name in allow_plain:
            continue
        groups = ", ".join(repr(g) for g in host.groups)
        raise NotAPlugin(
            f"--with {pin.spec.text}: distribution {pin.name} has no entry point in {host.name}'s plugin group(s) "
            f"{groups}, so {host.name} would never load it; nothing was written to the destination. Check the name "
            f"(or that it is a {host.name} plugin), or pass --allow-plain {pin.name} if the artifact should carry "
            "it as a plain dependency."
        )
    target = console_entry(site, host)
    return ForeignChecked(BuildHost(host.name, target, host), report, left_out)


def launcher_data(build_host: BuildHost, record: dict[str, Any], site: Path | None, names: list[str]) -> dict[str, Any]:
    """``BUNDLE["foreign"]`` of the artifact's launcher (see :func:`corehost.bundle.run_foreign`).

    ``dists`` is the frozen set: the ``.dist-info`` folders it was built with,
    from ``site`` (a venv) or the archive's file ``names`` (a bundle).
    """
    assert build_host.foreign is not None
    if site is not None:
        dists = sorted(p.name for p in site.glob("*.dist-info"))
    else:
        dists = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
    return {
        "host": record["host"],
        "script": build_host.foreign.script,
        "entry": build_host.target,
        "refuse": list(build_host.foreign.refuse),
        "plugins": list(record["plugins"]),
        "dists": dists,
    }


def rebuild_words(record: dict[str, Any]) -> str:
    """The build's inputs as a command line, for the refusal's rebuild command (``--python-version`` left out)."""
    return " ".join(w for w in record.get("inputs", ()) if not w.startswith("--python-version "))


def freeze_venv(venv: Path, site: Path, build_host: BuildHost, record: dict[str, Any]) -> None:
    """The build record at the top of the venv, and the launcher in place of the host's console script."""
    assert build_host.foreign is not None
    write_atomic(record_bytes(record), venv / RECORD_FILE)
    bundle = {
        "foreign": launcher_data(build_host, record, site, []),
        "venv": True,
        "rebuild": rebuild_words(record),
    }
    script = venv / "bin" / build_host.foreign.script
    launcher = render_main(bundle, header=LAUNCHER_HEADER).encode()
    write_atomic(launcher, script)
    script.chmod(0o755)
    _record_launcher(site, script, launcher)
    _child_python(venv)


#: What the launcher's own interpreter imports from (``-I``: the standard library, then the venv's site-packages).
_PATHS = "import json, sys; print(json.dumps([sys.version_info >= (3, 11), sys.path]))"


def _child_python(venv: Path) -> None:
    """``bin/.python/python``: the interpreter the launcher names as ``sys.executable`` for the host's children.

    The venv's counterpart of :func:`corehost.bundle.child_python`, made
    here so that running the venv writes nothing into it (its stamp, which
    an up-to-date rebuild compares, stays as built): a symbolic link to the
    venv's interpreter with a ``python._pth`` beside it naming exactly the
    launcher's ``sys.path``, the venv's own folders relative to it so that
    the venv stays relocatable. Not made for an interpreter before 3.11,
    which would ignore the file (and see its system site-packages).
    """
    python = venv_python(venv)
    done = subprocess.run(
        [str(python), "-I", "-c", _PATHS], capture_output=True, text=True, env=tool_env(), timeout=60, check=False
    )
    if done.returncode != 0:
        raise BuildError(f"{python} could not say its import path, so the venv's child interpreter was not made: "
                         f"{done.stderr.strip()}")  # fmt: skip
    supported, paths = json.loads(done.stdout)
    if not supported:
        return
    folder = venv / "bin" / CHILDREN_DIR
    folder.mkdir(exist_ok=True)
    inside = os.path.realpath(venv) + os.sep
    lines = [os.path.relpath(p, folder) if os.path.realpath(p).startswith(inside) else p for p in paths]
    write_atomic("".join(f"{line}\n" for line in lines).encode(), folder / "python._pth")
    link = folder / "python"
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.join(os.pardir, python.name))


def _record_launcher(site: Path, script: Path, launcher: bytes) -> None:
    """Put the launcher's hash in the ``RECORD`` row of the script it replaced, so ``verify`` checks it too."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(launcher).digest()).rstrip(b"=").decode("ascii")
    for rows in site.glob("*.dist-info/RECORD"):
        lines = rows.read_text(encoding="utf-8").splitlines()
        changed = False
        for i, line in enumerate(lines):
            path = line.rpartition(",")[0].rpartition(",")[0]
            if path and os.path.normpath(site / path) == str(script):
                lines[i] = f"{path},sha256={digest},{len(launcher)}"
                changed = True
        if changed:
            write_atomic(("\n".join(lines) + "\n").encode(), rows)


def record_bytes(record: dict[str, Any]) -> bytes:
    """The build record as the artifact keeps it (:data:`corehost.bundle.RECORD_FILE`): deterministic JSON."""
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()


#: Unpacks a finished bundle the way a start does (its own ``__main__``'s ``enter``) and prints its site folder.
_ENTER = """
import runpy, sys
archive = sys.argv[1]
runpy.run_path(archive, run_name="corehost_bundle")["enter"](archive)
print(sys.path[0])
"""


@dataclass(frozen=True)
class ForeignShippedCheck:
    """The foreign guards, run against exactly the files of the finished ``.pyz`` before it replaces anything.

    The bundle's own ``__main__`` unpacks it (into a folder of this check);
    the guards then run with the build's interpreter, isolated and without
    site-packages (``-I -S``), with only that folder and the standard library
    importable: nothing the bundle leaves out can be found elsewhere. Like :class:`corehost_build.zipapp.ShippedCheck`,
    a manifest that passed before with the same interpreter is not checked again.
    """

    python: Path
    timeout: float
    host: ForeignHost
    python_version: str

    def run(
        self, pyz: Path, manifest: bytes, left_out: dict[str, str], lay_out: Callable[[Path], None] | None = None
    ) -> bool:
        """Raise :class:`BundleCheckFailure` if the bundle at ``pyz`` fails; say whether the check ran.

        The bundle unpacks itself (``lay_out`` is not used): its start also makes the host's child
        interpreter in the folder, and that is checked too.
        """
        described = json.dumps(self.host.to_json(), sort_keys=True)
        key = hashlib.sha256(
            "\0".join([__version__, described, self.python_version]).encode() + TARGET.read_bytes() + manifest
        )
        passed = cache_dir() / "shipped" / key.hexdigest()
        if passed.exists():
            return False
        with tempfile.TemporaryDirectory(prefix="corehost-build-shipped-") as tmp:
            env = tool_env({"COREHOST_CACHE_DIR": os.path.join(tmp, "unpacked")})
            done = subprocess.run(
                [str(self.python), "-I", "-S", "-c", _ENTER, str(pyz)],
                capture_output=True,
                text=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
            if done.returncode != 0:
                raise BuildError(
                    "the finished bundle could not be unpacked to check it, so it was not written: "
                    + done.stderr.strip()
                )
            report = inspect_foreign(self.python, self.host, timeout=self.timeout, path=[done.stdout.strip()])
        problems = errors(report.problems)
        if problems:
            raise BundleCheckFailure(problems, left_out)
        passed.parent.mkdir(parents=True, exist_ok=True)
        passed.touch()
        return True
