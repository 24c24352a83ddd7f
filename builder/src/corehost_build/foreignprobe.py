"""Asking a target environment about a foreign (pluggy) host: its guard problems, its plugins, its description.

The questions are answered by :mod:`corehost_build.foreign_target`, run by
path in the target interpreter (``python -I``: the target has no corehost
and no corehost-build). Its answer is versioned JSON; problems come back in
:class:`corehost.problems.Problem`'s JSON form, so the build reports them
exactly as it reports a corehost host's. The version guard needs
``packaging``, which the target lacks: the target returns the requirement
strings and its marker environment, and this side compares.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from corehost.problems import Problem, errors
from corehost_build.errors import GuardFailure, GuardRunError, ProbeError, SpecError
from corehost_build.foreign import ForeignHost, table_example
from corehost_build.foreign_target import ANNOUNCE, FORMAT
from corehost_build.guards import split_announced
from corehost_build.tools import tool_env

#: The script run in the target interpreter.
TARGET = Path(__file__).with_name("foreign_target.py")


@dataclass(frozen=True)
class ForeignReport:
    """What the guards found in a foreign host's installed set: every problem, and the plugins that load."""

    #: All problems at once (errors and warnings); no error means the guards passed.
    problems: list[Problem]
    #: One row per entry point of the host's groups, sorted: distribution, version, entry_point, group, value, hooks.
    plugins: list[dict[str, Any]]
    #: The host distribution's installed version.
    host_version: str
    #: The pluggy the target runs.
    pluggy_version: str = ""
    #: The requirement strings on the host that the version guard read, by distribution.
    requirements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail the build."""
        return errors(self.problems)

    def require_clean(self) -> None:
        """Fail the build, naming every culprit, when any guard reported an error."""
        if self.errors:
            raise GuardFailure(self.errors)


def _run(python: Path, args: Sequence[str], *, timeout: float, path: Sequence[str], what: str) -> dict[str, Any]:
    """The target script's answer to ``args``; a hang, a crash or a foreign answer is an error naming ``what``."""
    # -S with a path: exactly `path` and the standard library are importable, as in the artifact that ships.
    argv = [str(python), "-I", *(["-S"] if path else []), str(TARGET), *args, *(f"--path={p}" for p in path)]
    with tempfile.TemporaryDirectory(prefix="corehost-build-foreign-") as cwd:
        # stderr goes to a file: what a killed run wrote so far is then still there to read.
        err_path = Path(cwd) / "stderr"
        with open(err_path, "w+", encoding="utf-8", errors="replace") as err:
            try:
                result = subprocess.run(
                    argv, stdout=subprocess.PIPE, stderr=err, text=True, env=tool_env(), cwd=cwd, timeout=timeout,
                    check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                err.seek(0)
                _, last = split_announced(err.read(), ANNOUNCE)
                culprit = f"it was importing {last}" if last else "it had not begun importing a plugin"
                raise GuardRunError(
                    f"{what} did not finish within {timeout:g} s: {culprit}, which blocks while being imported (a "
                    "network call, a prompt, a loop at module level). Leave out what blocks, or raise "
                    "--guard-timeout if it is only slow; nothing was written to the destination."
                ) from None
            err.seek(0)
            stderr, last = split_announced(err.read(), ANNOUNCE)
    if result.returncode != 0:
        tail = "\n".join("  " + line for line in stderr.strip().splitlines()[-20:])
        culprit = f"while importing {last}" if last else "before it imported any plugin"
        raise GuardRunError(
            f"{what} crashed in {python} (exit {result.returncode}) {culprit}; the output below shows what failed. "
            f"Fix or leave out that plugin; nothing was written to the destination:\n{tail}"
        )
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise GuardRunError(f"{what} printed something that is not its JSON answer: {result.stdout[:200]!r}") from None
    if not isinstance(answer, dict) or answer.get("foreign") != FORMAT:
        raise ProbeError(f"{what} answered in a format this corehost-build does not read: {result.stdout[:200]!r}")
    return answer


def _version_problems(answer: Mapping[str, Any], host: ForeignHost, extras: Mapping[str, Collection[str]],
                      plugins: Sequence[Mapping[str, Any]]) -> list[Problem]:  # fmt: skip
    """A problem for each distribution whose declared range on the host excludes the installed host version.

    Markers are evaluated for the target interpreter (the environment it
    reported); a requirement under an extra counts only when that extra
    of the distribution was asked for (``extras``).
    """
    try:
        installed = Version(answer["host_version"])
    except InvalidVersion:
        return []
    environment = dict(answer["environment"])
    wanted = {canonicalize_name(k): set(v) for k, v in extras.items()}
    entry_points: dict[str, list[str]] = {}
    for row in plugins:
        entry_points.setdefault(canonicalize_name(row["distribution"]), []).append(
            f"'{row['entry_point']} = {row['value']}' in group '{row['group']}'"
        )
    problems = []
    for entry in answer["requirements"]:
        name = canonicalize_name(entry["distribution"])
        for text in entry["requirements"]:
            try:
                requirement = Requirement(text)
                applies = requirement.marker is None or any(
                    requirement.marker.evaluate({**environment, "extra": extra})
                    for extra in ("", *sorted(wanted.get(name, ())))
                )
            except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                continue
            if not applies or requirement.specifier.contains(installed, prereleases=True):
                continue
            where = f", entry point {', '.join(entry_points[name])}" if name in entry_points else ""
            problems.append(
                Problem(
                    distribution=entry["distribution"],
                    kind="distribution",
                    name=entry["distribution"],
                    version=entry["version"],
                    message=(
                        f"{entry['distribution']} {entry['version']}{where}: it declares {text!r}, which excludes "
                        f"the installed {host.distribution} {installed}, the version the artifact would run it "
                        f"with. Choose a version of {entry['distribution']} made for {host.distribution} "
                        f"{installed}, pin the host to the range it declares, or leave it out."
                    ),
                )
            )
    return problems


def inspect_foreign(
    python: Path,
    host: ForeignHost,
    *,
    timeout: float,
    path: Sequence[str] = (),
    extras: Mapping[str, Collection[str]] | None = None,
) -> ForeignReport:
    """Run the foreign host's guards in the interpreter ``python``: every problem at once, and the plugin listing.

    With ``path`` (an unpacked artifact's folders), only those folders and
    the standard library are importable, so the guards check exactly the
    files that ship. ``extras`` maps a distribution to the extras the build
    asked for, whose requirements on the host the version guard then reads.
    """
    what = f"the guards of {host.name}"
    answer = _run(python, ["inspect", json.dumps(host.to_json())], timeout=timeout, path=path, what=what)
    if "error" in answer:
        raise ProbeError(f"{what} cannot run in {python}: {answer['error']}.")
    try:
        problems = [Problem.from_json(p) for p in answer["problems"]]
        plugins = list(answer["plugins"])
        problems += _version_problems(answer, host, extras or {}, plugins)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProbeError(f"{what} answered something this corehost-build cannot read: {exc!r}.") from None
    return ForeignReport(
        problems=problems,
        plugins=plugins,
        host_version=str(answer["host_version"]),
        pluggy_version=str(answer.get("pluggy", "")),
        requirements=list(answer["requirements"]),
    )


#: The fields :func:`describe_foreign` infers, in :class:`ForeignHost`'s order.
INFERRED = ("project", "hookspecs", "groups", "script", "builtins", "install_tools", "refuse")


def describe_foreign(python: Path, distribution: str, *, timeout: float) -> ForeignHost:
    """A description of the pluggy host ``distribution`` installed for ``python``, inferred from the host itself.

    The host's console scripts are imported (its plugins are not loaded):
    the ``PluginManager`` they make gives the project name and the hookspec
    modules, its ``load_setuptools_entrypoints`` calls the groups (else the
    project name, pluggy's convention). What cannot be found is a
    :class:`SpecError` showing the ``[host]`` table to write instead.
    """
    what = f"describing the host {distribution}"
    answer = _run(python, ["describe", distribution], timeout=timeout, path=(), what=what)
    if "error" in answer:
        raise SpecError(
            f"--host {distribution}: {answer['error']}, so it cannot be described. Name an installed pluggy "
            "application (it is installed with the plugins before it is described)."
        )
    if answer["missing"]:
        found = ForeignHost(
            name=canonicalize_name(distribution),
            distribution=answer["distribution"],
            project=answer.get("project", "PROJECT"),
            hookspecs=tuple(answer.get("hookspecs") or ("PACKAGE.hookspecs",)),
            groups=tuple(answer.get("groups") or ("GROUP",)),
            script=answer.get("script") or (answer["scripts"] or ["SCRIPT"])[0],
        )
        notes = "".join(f" Also: {note}." for note in answer["notes"])
        raise SpecError(
            f"--host {distribution}: {distribution} {answer['version']} is no corehost host and has no description "
            f"shipped with corehost-build, and it could not be described from its metadata: "
            f"{'; '.join(answer['missing'])}.{notes} Describe it in the build file (-c build.toml) with a [host] "
            f"table (see docs/foreign-hosts.md), for example:\n{table_example(found)}"
        )
    return ForeignHost(
        name=canonicalize_name(distribution),
        distribution=answer["distribution"],
        project=answer["project"],
        hookspecs=tuple(answer["hookspecs"]),
        groups=tuple(answer["groups"]),
        script=answer["script"],
        builtins=tuple(answer["builtins"]),
        install_tools=tuple(answer["install_tools"]),
        refuse=tuple(answer["refuse"]),
        inferred=INFERRED,
    )
