"""Declared compatibility: each plugin's version ranges on its host and on the namespaces it uses.

One of the interface guards (:func:`corehost.guards.check_all` runs it
unless asked not to): it reads installed metadata, which a bundle run from
its zip does not serve, so a bundle's own check leaves it out.
"""

from __future__ import annotations

from corehost.discovery import normalize
from corehost.problems import WARNING, Problem
from corehost.registry import Registry


def check_versions(registry: Registry) -> list[Problem]:
    """Each plugin's declared ranges on the host (corehost, or the host app) and on the namespaces' owners.

    The go-plugin "Incompatible API version" check, done the packaging way
    and before anything runs: a distribution installed with ``--no-deps``
    next to a corehost its range excludes is named with both versions.
    """
    # Only version checks read installed metadata (and packaging, tens of ms): a bundle's check skips them.
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    core = registry.spec.distribution
    owners: dict[str, str] = {ns.name: ns.distribution for ns in registry.namespaces.values()}
    uses: dict[str, set[str]] = {}
    for info in registry.modules.values():
        uses.setdefault(info.distribution, set()).add(owners.get(info.namespace, ""))
    out: list[Problem] = []
    for dist, version in sorted(registry.distributions().items()):
        if normalize(dist) == normalize(core):
            continue
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        owners_used = {normalize(o) for o in uses.get(dist, set()) if o}
        needed = ({normalize(core)} | owners_used) - {normalize(dist)}
        declared: set[str] = set()
        for line in requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            name = normalize(req.name)
            if name not in needed or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
                continue
            declared.add(name)
            try:
                installed = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                out.append(
                    Problem(
                        dist,
                        "distribution",
                        dist,
                        f"requires {req} but {req.name} is not installed; install it.",
                        version=version,
                    )
                )
                continue
            if req.specifier and not req.specifier.contains(installed, prereleases=True):
                out.append(
                    Problem(
                        dist,
                        "distribution",
                        dist,
                        f"is incompatible: it requires {req.name}{req.specifier}, but {req.name} {installed} is "
                        f"installed. Install a release of {dist} made for {req.name} {installed}, or a "
                        f"{req.name} within {req.specifier}.",
                        version=version,
                    )
                )
        for name in sorted(needed - declared):
            out.append(
                Problem(
                    dist,
                    "distribution",
                    dist,
                    f"declares no dependency on {name}; add a version range for it to the "
                    "plugin's dependencies so incompatible versions are caught.",
                    WARNING,
                    version=version,
                )
            )
    return out
