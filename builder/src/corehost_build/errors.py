"""Error types of the builder: each one is a paragraph a user can act on.

They derive from :class:`corehost.errors.CorehostError`, so the builder's
command line prints them the way ``corehost`` prints its own: the message,
no traceback, a non-zero exit. Every message says which input (plugin,
project, lock, build file) is at fault and what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from corehost.errors import CorehostError, GuardError
from corehost.problems import Problem


class BuildError(CorehostError):
    """Base of everything ``corehost-build`` reports to a user."""


class SpecError(BuildError):
    """A ``--with``/``--host``/``--replace`` value is neither a requirement, a project nor a wheel."""

    exit_code = 2


class BuildFileError(BuildError):
    """The build file (``-c build.toml``) cannot be read or has a wrong key or value."""

    exit_code = 2


class ToolMissing(BuildError):
    """uv, which does the resolving and installing, cannot be found."""


class ProjectBuildError(BuildError):
    """A local project could not be built into a wheel."""


class ResolutionError(BuildError):
    """No set of versions satisfies the host and every plugin together."""

    def __init__(self, message: str, collisions: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.collisions = list(collisions)


class NotAPlugin(BuildError):
    """A ``--with`` input provides its host nothing (no module, namespace, hook or host) and was not allowed to."""

    exit_code = 2


class LockError(BuildError):
    """A lock file is missing, misnamed, or not a PEP 751 lock the builder can use."""


class InstallError(BuildError):
    """Installing the locked set failed (a hash mismatch, a missing file, a download)."""


class ProbeError(BuildError):
    """The target environment's corehost cannot answer the builder (no ``corehost.probe``, or another format)."""


class GuardRunError(BuildError):
    """The interface guards could not run in the new environment (crash or timeout)."""


def _problem_lines(error: GuardError) -> list[str]:
    return [f"  - {p.subject} (distribution {p.distribution}): {p.message}" for p in _problems(error)]


def _problems(error: GuardError) -> list[Problem]:
    # A GuardError made by the builder holds only the Problems it was given.
    return cast("list[Problem]", error.problems)


class GuardFailure(BuildError):
    """The interface guards found errors; the message lists every one of them.

    It wraps the runtime's :class:`~corehost.errors.GuardError` of those
    problems (:attr:`error`), so a caller reads the same
    :class:`~corehost.problems.Problem` objects ``corehost check`` reports.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.error = GuardError(problems)
        self.problems = _problems(self.error)
        culprits = sorted({p.distribution for p in self.problems})
        lines = [
            f"the interface guards found {len(self.problems)} error(s) in plugin(s) {', '.join(culprits)}; "
            "nothing was written to the destination. Fix each plugin below (or leave it out of the build):"
        ]
        super().__init__("\n".join(lines + _problem_lines(self.error)))


class BundleCheckFailure(BuildError):
    """The finished ``.pyz`` fails guards the installed set passed: a plugin needs what the bundle cannot give.

    Like :class:`GuardFailure`, it wraps the runtime's ``GuardError`` (:attr:`error`).
    """

    def __init__(self, problems: Sequence[Problem], left_out: Mapping[str, str]) -> None:
        self.error = GuardError(problems)
        self.problems = _problems(self.error)
        culprits = sorted({p.distribution for p in self.problems})
        shown = sorted(left_out.items())[:10]
        more = f"; and {len(left_out) - len(shown)} more" if len(left_out) > len(shown) else ""
        lines = [
            f"the finished bundle fails the interface guards in plugin(s) {', '.join(culprits)}, which passed in the "
            "installed set: run from the bundle, as it will run, they need something it does not give (a file it "
            "leaves out). The bundle was not written. Fix each plugin below, or build a --venv instead."
            + (f" The bundle leaves out: {'; '.join(f'{k} ({v})' for k, v in shown)}{more}." if shown else "")
        ]
        super().__init__("\n".join(lines + _problem_lines(self.error)))
