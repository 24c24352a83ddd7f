"""What the interface guards find: one :class:`Problem` per thing wrong with one plugin.

A problem is data first: what it is about (``kind`` and ``name``, and the
hookimpl's plugin, the distribution's version or the entry point's target
where they apply), which distribution is at fault, what is wrong and how to
fix it. The one-line text a user reads (``error: module 'greeters.en'
(distribution greeter-en): ...``) is derived from those fields, so code
branches on ``kind``, never on the wording.

Problems cross process boundaries as JSON (``corehost check --json``, the
builder's ``python -m corehost.probe``): :meth:`Problem.to_json` and
:meth:`Problem.from_json` are the one definition of that form. This module
imports nothing else of corehost, so every layer can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

#: What a problem is about. ``module``, ``namespace`` and ``plugin`` are entry points; ``hook`` is a
#: hook as a whole, ``hookimpl`` one plugin's implementation of it; ``host`` is the host itself;
#: ``distribution`` is a distribution's declared dependencies; ``startup`` is a bundle's own start-up.
Kind = Literal["module", "namespace", "plugin", "hook", "hookimpl", "host", "distribution", "startup"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
_SEVERITIES: frozenset[str] = frozenset(get_args(Severity))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one plugin: what it is about, whose fault, what to do."""

    distribution: str
    kind: Kind
    #: The module ID, namespace, plugin, hook or host name, or the distribution's name.
    name: str
    message: str
    severity: Severity = ERROR
    #: For a ``hookimpl``: the plugin that implements the hook.
    plugin: str = ""
    #: For a ``distribution``: its installed version.
    version: str = ""
    #: For an entry point: where it points (``package.module:Object``).
    target: str = ""

    @property
    def subject(self) -> str:
        """What the problem is about, as the one-line text names it (``module 'greeters.en'``)."""
        if self.kind == "hookimpl":
            return f"hookimpl {self.name!r} of plugin {self.plugin!r}"
        if self.kind == "distribution":
            return f"distribution {self.name} {self.version}"
        if self.kind == "startup":
            return "the bundle's start-up"
        return f"{self.kind} {self.name!r}"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        return f"{self.severity}: {self.subject} (distribution {self.distribution}): {self.message}"

    def to_json(self) -> dict[str, str]:
        """The problem as JSON data: its fields (empty ones left out) and the ``subject`` they make."""
        data = {
            "severity": self.severity,
            "distribution": self.distribution,
            "subject": self.subject,
            "message": self.message,
            "kind": self.kind,
            "name": self.name,
        }
        data.update((key, value) for key, value in self._optional().items() if value)
        return data

    def _optional(self) -> dict[str, str]:
        return {"plugin": self.plugin, "version": self.version, "target": self.target}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        """The problem :meth:`to_json` wrote; a field of the wrong kind raises ``ValueError`` naming it."""
        kind, severity = data.get("kind"), data.get("severity", ERROR)
        if kind not in KINDS:
            raise ValueError(f"problem kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
        if severity not in _SEVERITIES:
            raise ValueError(f"problem severity {severity!r} is not one of {', '.join(sorted(_SEVERITIES))}")
        fields = {key: data.get(key, "") for key in ("distribution", "name", "message", "plugin", "version", "target")}
        wrong = sorted(key for key, value in fields.items() if not isinstance(value, str))
        if wrong:
            raise ValueError(f"problem field(s) {', '.join(wrong)} must be strings")
        return cls(kind=cast(Kind, kind), severity=cast(Severity, severity), **fields)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that are errors (a warning never fails a check or a build)."""
    return [p for p in problems if p.is_error]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that are warnings."""
    return [p for p in problems if not p.is_error]
