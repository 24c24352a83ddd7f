"""Which host a build is for: corehost, or an application that is a host of its own.

``--host SPEC`` names the host's distribution (corehost by default). An
application that is a corehost-based host declares itself in the
``corehost.hosts`` entry-point group; after the install, the builder asks
the target environment which host that distribution declares (``python -m
corehost.probe hosts``), so the guards read that host's entry-point groups
and a bundle starts that host's CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from corehost_build.errors import SpecError
from corehost_build.probe import ask

COREHOST = "corehost"


@dataclass(frozen=True)
class BuildHost:
    """The host a build is for: its name, and where its :class:`~corehost.hostspec.HostSpec` lives."""

    name: str
    target: str

    @property
    def is_corehost(self) -> bool:
        return self.name == COREHOST


def declared_host(python: Path, distribution: str | None) -> BuildHost:
    """The host that ``distribution`` declares in the environment of ``python``.

    ``None`` (a build from a lock) means: the one host other than corehost
    if exactly one is installed, else corehost.
    """
    if distribution is not None and canonicalize_name(distribution) == COREHOST:
        return BuildHost(COREHOST, "corehost.hostspec:COREHOST")
    declared = ask(python, "hosts", where="new environment", timeout=60)["hosts"]
    others = [BuildHost(h["name"], h["target"]) for h in declared if h["name"] != COREHOST]
    if distribution is None:
        return others[0] if len(others) == 1 else BuildHost(COREHOST, "corehost.hostspec:COREHOST")
    wanted = canonicalize_name(distribution)
    mine = [BuildHost(h["name"], h["target"]) for h in declared if canonicalize_name(h["distribution"]) == wanted]
    if len(mine) != 1:
        what = "declares no host" if not mine else f"declares {len(mine)} hosts"
        raise SpecError(
            f"--host {distribution}: that distribution {what} in the 'corehost.hosts' entry-point group. A host "
            "application declares exactly one (name = 'package.module:SPEC', a corehost.HostSpec); see docs/hosts.md."
        )
    return mine[0]
