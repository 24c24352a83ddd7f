"""Which host a build is for: corehost, or an application that is a host of its own.

``--host SPEC`` names the host's distribution (corehost by default). An
application that is a corehost-based host declares itself in the
``corehost.hosts`` entry-point group; after the install, the builder asks
the target environment which host that distribution declares (``python -m
corehost.probe hosts``), so the guards read that host's entry-point groups
and a bundle starts that host's CLI.

A *foreign* host (datasette, llm, pytest: a pluggy application that is no
corehost host) is chosen here too, once, before anything is resolved:
``--host NAME`` of a host the builder ships a description of, or a build
file's ``[host]`` table. Such a build takes no corehost runtime, runs the
foreign guards (:mod:`corehost_build.foreignprobe`) instead of the probe's,
and its artifact starts the host's own console script
(:mod:`corehost_build.foreignbuild`); every other step is the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from corehost_build.atomic import write_atomic
from corehost_build.errors import SpecError
from corehost_build.foreign import ForeignHost, shipped_host

if TYPE_CHECKING:
    from corehost_build.request import BuildRequest

COREHOST = "corehost"
#: Where corehost's own HostSpec lives.
COREHOST_SPEC = "corehost.hostspec:COREHOST"


@dataclass(frozen=True)
class BuildHost:
    """The host a build is for: its name, and where its :class:`~corehost.hostspec.HostSpec` lives."""

    name: str
    #: A HostSpec's target; for a foreign host, its console script's entry point (``datasette.cli:cli``).
    target: str
    #: The description of a foreign host; ``None`` for corehost and its host applications.
    foreign: ForeignHost | None = None

    @property
    def is_corehost(self) -> bool:
        return self.name == COREHOST


class NoHostDeclared(SpecError):
    """``--host`` names a distribution that declares no corehost host: perhaps a pluggy host to describe."""


class DescribedHost(Exception):
    """The ``--host`` distribution turned out to be a pluggy host, described from its metadata: build it as one.

    Not an error: it carries the description the build starts again with, and keeps it for later builds.
    """

    def __init__(self, host: ForeignHost, spec: str) -> None:
        super().__init__(host.name)
        self.host = host
        _described(spec).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json.dumps(host.to_json(), sort_keys=True).encode(), _described(spec))


def _described(spec: str) -> Path:
    """Where the description of ``--host SPEC`` is kept once inferred, so a rebuild takes the foreign path at once."""
    from corehost_build.cache import cache_dir

    return cache_dir() / "described" / f"{hashlib.sha256(spec.encode()).hexdigest()}.json"


def foreign_host(request: BuildRequest) -> ForeignHost | None:
    """The foreign host ``request`` builds, or ``None`` for corehost or a corehost host application.

    Decided from the request alone, before the resolve: a foreign build's lock
    takes no corehost runtime. A build file's ``[host]`` table describes
    one; ``--host NAME`` names one when the builder ships its description,
    or when an earlier build described that ``--host`` from its metadata
    (:class:`DescribedHost`).
    """
    if request.foreign is not None:
        return request.foreign
    if request.host is None:
        return None
    shipped = shipped_host(request.host.requirement.name) if request.host.requirement is not None else None
    if shipped is not None:
        return shipped
    try:
        return ForeignHost.from_json(json.loads(_described(request.host.text).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def foreign_in_lock(names: Iterable[str]) -> ForeignHost | None:
    """The foreign host of a lock (``--from-lock``): one without corehost, holding exactly one shipped host."""
    canonical = {canonicalize_name(n) for n in names}
    if COREHOST in canonical:
        return None
    found = [host for host in map(shipped_host, sorted(canonical)) if host is not None]
    return found[0] if len(found) == 1 else None


def declared_host(python: Path, distribution: str | None) -> BuildHost:
    """The host that ``distribution`` declares in the environment of ``python``.

    ``None`` (a build from a lock) means: the one host other than corehost
    if exactly one is installed, else corehost.
    """
    if distribution is not None and canonicalize_name(distribution) == COREHOST:
        return BuildHost(COREHOST, COREHOST_SPEC)
    # Imported here: the probe pulls in the runtime, which choosing a host before a build (all an
    # up-to-date rebuild does) never needs.
    from corehost_build.probe import ask

    declared = ask(python, "hosts", where="new environment", timeout=60)["hosts"]
    others = [BuildHost(h["name"], h["target"]) for h in declared if h["name"] != COREHOST]
    if distribution is None:
        return others[0] if len(others) == 1 else BuildHost(COREHOST, COREHOST_SPEC)
    wanted = canonicalize_name(distribution)
    mine = [BuildHost(h["name"], h["target"]) for h in declared if canonicalize_name(h["distribution"]) == wanted]
    if len(mine) != 1:
        what = "declares no host" if not mine else f"declares {len(mine)} hosts"
        raise (NoHostDeclared if not mine else SpecError)(
            f"--host {distribution}: that distribution {what} in the 'corehost.hosts' entry-point group. A host "
            "application declares exactly one (name = 'package.module:SPEC', a corehost.HostSpec); see docs/hosts.md."
        )
    return mine[0]
