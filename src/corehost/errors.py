"""Error types a user can act on.

Every error corehost raises on purpose derives from :class:`CorehostError`
and carries a single paragraph that names what is at fault (plugin,
distribution, module ID, config path) and how to fix it. The CLI prints that
paragraph and exits non-zero; a traceback is only shown with ``--debug``.
"""

from __future__ import annotations

from corehost import TYPE_CHECKING

if TYPE_CHECKING:
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


class OrderError(CorehostError):
    """The before/after declarations of an ordered namespace's modules admit no chain order.

    ``modules`` are the module IDs involved (a cycle's members, or the module
    whose declaration names a module that is not there, first). ``detail`` is
    the message without the module it is about, for a guard problem, which
    names its module itself.
    """

    def __init__(self, message: str, modules: tuple[str, ...], detail: str = "") -> None:
        super().__init__(message)
        self.modules = modules
        self.detail = detail or message


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


class ConfigErrors(ConfigError):
    """Several config errors found in one pass, each with its own path.

    A user fixing a config should see every wrong field at once, as the
    interface guards list every problem, not one per run.
    """

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        self.path = self.errors[0].path
        self.detail = "\n".join([f"{len(self.errors)} errors in the config:", *(f"  - {e}" for e in self.errors)])
        CorehostError.__init__(self, self.detail)

    def in_file(self, file: str) -> ConfigError:
        return ConfigErrors(e.in_file(file) for e in self.errors)


def config_errors(errors: Iterable[ConfigError]) -> ConfigError | None:
    """One error for all of ``errors``: ``None``, the only one, or a :class:`ConfigErrors`.

    Nested groups are flattened, so that each line names one field.
    """
    flat = [leaf for e in errors for leaf in (e.errors if isinstance(e, ConfigErrors) else [e])]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else ConfigErrors(flat)


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


class AdminError(CorehostError):
    """The admin endpoint cannot listen, cannot be reached, or refused what it was asked."""


class GuardError(CorehostError):
    """Interface guards found problems; the message lists every one."""

    def __init__(self, problems: Iterable[object]) -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) found by the interface guards:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class Stopped(BaseException):
    """Raised in the main thread when a signal arrives before the apps run.

    A BaseException so that module code catching ``Exception`` during
    provisioning cannot swallow the user's Ctrl-C.
    """

    def __init__(self, signum: int) -> None:
        # Only a stopped run names its signal: a start that lists modules never loads the signal module.
        import signal

        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


#: How alike (difflib's ratio) a word and a suggestion must be: 0.7 still
#: catches one wrong, missing or extra letter in a word of four or more.
SIMILARITY = 0.7


def similarity(word: str, candidate: str) -> float:
    """How alike two names are, from 0 to 1, not counting the dotted labels they share in front.

    ``greeters.pirate`` and ``greeters.fr`` share only their namespace:
    counted whole they looked alike (0.77), and 'fr' was offered for 'pirate'.
    """
    # Only an error suggests a name: a start that succeeds never loads difflib.
    import difflib

    while "." in word and "." in candidate and word.split(".", 1)[0] == candidate.split(".", 1)[0]:
        word, candidate = word.split(".", 1)[1], candidate.split(".", 1)[1]
    return difflib.SequenceMatcher(None, word, candidate).ratio()


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word``, or ``None`` when none is alike enough to suggest."""
    scored = [(similarity(word, c), c) for c in candidates if c != word]
    best = max(scored, key=lambda sc: sc[0], default=None)
    return best[1] if best is not None and best[0] >= SIMILARITY else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or ``""`` when nothing is close."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match is not None else ""


class WorkerError(CorehostError):
    """An isolated module's worker process (or the worker it was reattached to) failed.

    ``module_id`` and ``distribution`` name the module; the message says
    what happened, what was last written to the worker's stderr, and what
    the host does next.
    """

    def __init__(self, module_id: str, distribution: str, message: str) -> None:
        self.module_id = module_id
        self.distribution = distribution
        super().__init__(message)


class WorkerStartFailed(WorkerError):
    """A worker could not be started, did not hand-shake, or could not be reached."""


class WorkerCrashed(WorkerError):
    """A worker died (a signal, an exit code, out of memory) or dropped its connection."""


class WorkerTimeout(WorkerError):
    """A call into a worker did not answer within its timeout; the worker was killed."""


class ProtocolMismatch(WorkerError):
    """A worker speaks another core protocol, or another version of its namespace's interface."""
