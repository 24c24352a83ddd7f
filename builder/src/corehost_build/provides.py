"""What each plugin of a build gives its host, read from the guard report.

``--with NAME`` resolves whatever distribution an index calls NAME. When
that distribution declares no module, namespace, hook implementation or
host, it adds nothing a host can use: almost always a misspelled name, or
an unrelated project that happens to have the name of a plugin. Such an
input fails the build, named with its summary so the user sees what was
picked up, unless it is allowed as a plain dependency on purpose
(``--allow-plain NAME``). A plugin set that adds no module at all builds,
with a warning: a set of namespaces or hooks alone is legitimate but rare.

Which distribution provides what is the runtime's answer (the guard
report's ``distributions`` and registry rows, read in the target
interpreter); only the summary and the host entry points are read here,
from the installed metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from corehost.hostspec import HOSTS_GROUP
from corehost_build.errors import NotAPlugin
from corehost_build.resolve import Pinned

ALLOW_FLAG = "--allow-plain"


def _installed(site: Path) -> dict[str, metadata.Distribution]:
    """The distributions installed in ``site``, by canonical name."""
    return {canonicalize_name(d.metadata["Name"] or ""): d for d in metadata.distributions(path=[str(site)])}


def _what(name: str, dist: metadata.Distribution | None) -> str:
    """``greet 0.3 ("The funniest joke in the world")``: enough to recognise a project that was not meant."""
    if dist is None:
        return name
    summary = (dist.metadata["Summary"] or "").strip()
    described = f'"{summary}"' if summary and summary != "UNKNOWN" else "no summary in its metadata"
    return f"{name} {dist.version} ({described})"


def require_plugins(plugins: Sequence[Pinned], report: dict[str, Any], site: Path, allowed: Sequence[str]) -> None:
    """Fail the build when a plugin input provides its host nothing and was not allowed to."""
    providers = {canonicalize_name(d) for d in report.get("distributions", {})}
    allowed_names = {canonicalize_name(n) for n in allowed}
    suspects = [p for p in plugins if p.name not in providers and p.name not in allowed_names]
    if not suspects:
        return
    installed = _installed(site)
    plain = [
        p for p in suspects if not (p.name in installed and installed[p.name].entry_points.select(group=HOSTS_GROUP))
    ]
    if not plain:
        return
    lines = [
        f"{p.party().words}: distribution {_what(p.name, installed.get(p.name))} provides no module, namespace, "
        "hook implementation or host entry point, so it is not a corehost plugin."
        for p in plain
    ]
    names = " ".join(f"{ALLOW_FLAG} {p.name}" for p in plain)
    listed = ", ".join(f'"{p.name}"' for p in plain)
    advice = (
        "It is most likely a misspelled name, or another project that has the name of the plugin you meant: fix "
        "the name, or give the plugin's project folder or wheel. To keep it as a plain dependency on purpose, "
        f"add {names} (allow-plain = [{listed}] in a build file). Nothing was written to the destination."
    )
    raise NotAPlugin(" ".join(lines) + " " + advice if len(plain) == 1 else "\n".join([*lines, advice]))


def no_module_warning(plugins: Sequence[Pinned], report: dict[str, Any]) -> dict[str, str] | None:
    """A warning (shaped like the guards' own) when the plugins add no module at all, else ``None``."""
    if not plugins:
        return None
    registry = report.get("registry", {})
    rows = [*registry.get("modules", []), *registry.get("generated", [])]
    names = {p.name for p in plugins}
    if any(canonicalize_name(row[2]) in names for row in rows):
        return None
    listed = ", ".join(sorted(names))
    return {
        "severity": "warning",
        "distribution": listed,
        "subject": "the build",
        "message": f"the plugins of this build ({listed}) add no module: the environment holds only what the host "
        "itself provides. Add a plugin that declares modules with --with, or check that the plugins declare their "
        "modules in the host's modules entry-point group.",
    }
