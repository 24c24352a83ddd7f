"""Module IDs: the one name by which everything in corehost is found.

As in Caddy, an ID is a dotted list of lowercase labels. The last label is
the module's *name*, the rest its *namespace*; an ID with no dot is an *app*
and lives in the root namespace ``""``.
"""

from __future__ import annotations

from corehost.errors import InvalidModuleID

#: What a label is made of; a set, not a regular expression compiled on every start.
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
#: The root namespace, home of apps.
APPS = ""


def id_problem(module_id: str) -> str | None:
    """Why ``module_id`` is not a valid ID, or ``None`` when it is."""
    if not module_id:
        return "the module ID is empty"
    for label in module_id.split("."):
        if not label:
            return f"module ID {module_id!r} has an empty label (two dots, or a dot at an end)"
        if not set(label) <= _LABEL_CHARS:
            return (
                f"module ID {module_id!r} has label {label!r}; labels use only "
                "lowercase letters, digits and '_' (e.g. 'greeters.en')"
            )
    return None


def check_id(module_id: str) -> str:
    """Return ``module_id`` unchanged, or raise :class:`InvalidModuleID`."""
    problem = id_problem(module_id)
    if problem:
        raise InvalidModuleID(problem)
    return module_id


def namespace_of(module_id: str) -> str:
    """``"http.handlers"`` for ``"http.handlers.static"``; ``""`` for an app."""
    return module_id.rpartition(".")[0]


def name_of(module_id: str) -> str:
    """``"static"`` for ``"http.handlers.static"``."""
    return module_id.rpartition(".")[2]


def join(namespace: str, name: str) -> str:
    """The ID of module ``name`` in ``namespace``."""
    return f"{namespace}.{name}" if namespace else name
