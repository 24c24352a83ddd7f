"""Error types a user can act on.

Every error corehost raises on purpose derives from :class:`CorehostError`
and carries a single paragraph that names what is at fault (plugin,
distribution, module ID, config path) and how to fix it. The CLI prints that
paragraph and exits non-zero; a traceback is only shown with ``--debug``.
"""

from __future__ import annotations

from collections.abc import Iterable


class CorehostError(Exception):
    """Base of every error corehost reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidModuleID(CorehostError):
    """A module ID does not follow the ``label.label`` syntax."""


class UnknownModule(CorehostError):
    """A config or a lookup names a module that no plugin provides."""


class UnknownNamespace(CorehostError):
    """A module was asked for in a namespace that nobody declared."""


class UnknownHost(CorehostError):
    """A host named on the command line (``--host``) is not installed or is broken."""


class ConfigError(CorehostError):
    """The config file or a value in it is wrong; ``path`` says where."""

    exit_code = 2

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)

    def in_file(self, file: str) -> ConfigError:
        """The same error with the config file named in front of the path."""
        if self.path == file or self.path.startswith(f"{file}:"):
            return self
        return ConfigError(f"{file}: {self.path}" if self.path else file, self.detail)


class PluginLoadError(CorehostError):
    """A plugin's code could not be imported or registered."""

    def __init__(self, distribution: str, what: str, message: str) -> None:
        self.distribution = distribution
        self.what = what
        super().__init__(f"{what} (distribution {distribution}): {message}")


class LifecycleError(CorehostError):
    """A module failed in one of its lifecycle steps."""

    def __init__(self, module_id: str, path: str, phase: str, cause: BaseException, distribution: str = "") -> None:
        self.module_id = module_id
        self.path = path
        self.phase = phase
        self.cause = cause
        self.distribution = distribution
        # A module registered from code has no distribution worth naming.
        dist = f" (distribution {distribution})" if distribution not in ("", "__main__") else ""
        where = f" at {path}" if path else ""
        detail = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(f"module {module_id}{dist}{where} failed in {phase}: {detail}")


class CleanupErrors(CorehostError):
    """One or more modules failed while being stopped or cleaned up."""


class GuardError(CorehostError):
    """Interface guards found problems; the message lists every one."""

    def __init__(self, problems: Iterable[object]) -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) found by the interface guards:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or ``""`` when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
