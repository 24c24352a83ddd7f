"""Turning uv's resolver failure into a sentence in the user's words.

uv explains a failed resolution as a derivation ("Because plug-a==1.0
depends on plug-b>=2 and ..."), which is exact but speaks of packages, not
of the plugins the user asked for. Here the facts are pulled out of that
text (who depends on what, in which range) and joined with what the
builder knows about its inputs, to say: on package P, plugin A asks for
this range and plugin B for that one. uv's own explanation follows, so
nothing is lost when the summary is incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
# A version never ends in ".", so a sentence's full stop is not taken into the range.
_SPEC = r"(?:(?:==|>=|<=|!=|~=|<|>)[^\s,]*[^\s,.])"
_DEPENDS = re.compile(
    rf"(?:all versions of |only )?(?P<who>{_NAME})(?P<wv>{_SPEC})? depends? on "
    rf"(?P<dep>{_NAME})(?P<ds>{_SPEC}(?:,{_SPEC})*)?"
)
_NOT_FOUND = re.compile(rf"(?P<name>{_NAME}) was not found in the (?P<where>[\w ]+?)(?: and|,|\.|$)")
_NO_VERSION = re.compile(rf"there is no version of (?P<name>{_NAME})(?P<spec>{_SPEC}(?:,{_SPEC})*)")
_ONLY = re.compile(rf"only (?P<name>{_NAME})(?P<spec>{_SPEC}) is available")


@dataclass(frozen=True)
class Party:
    """An input of the build as the user named it: role, distribution, version, words used."""

    role: str
    name: str
    version: str
    words: str

    def describe(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"{self.role} {self.name}{version} ({self.words})"


@dataclass(frozen=True)
class Collision:
    """Two or more parties whose ranges on ``package`` cannot all hold."""

    package: str
    claims: tuple[tuple[str, str], ...]  # (who, range)


def _facts(text: str) -> list[tuple[str, str, str]]:
    """(requirer, package, range) facts stated in uv's explanation."""
    flat = " ".join(text.split())
    out: list[tuple[str, str, str]] = []
    for m in _DEPENDS.finditer(flat):
        out.append((canonicalize_name(m["who"]), canonicalize_name(m["dep"]), m["ds"] or "(any version)"))
    return out


def collisions(text: str, parties: dict[str, Party]) -> list[Collision]:
    """Packages on which several inputs (or their dependencies) disagree."""
    claims: dict[str, dict[str, str]] = {}
    for who, dep, spec in _facts(text):
        claims.setdefault(dep, {})[who] = spec
    for dep, by in claims.items():
        party = parties.get(dep)
        if party is not None and dep not in by and party.version:
            by[dep] = f"=={party.version}"
    return [
        Collision(dep, tuple(sorted(by.items())))
        for dep, by in sorted(claims.items())
        if len(by) >= 2 or (dep in parties and by)
    ]


def _who(name: str, parties: dict[str, Party]) -> str:
    party = parties.get(name)
    return party.describe() if party else name


def explain(text: str, parties: dict[str, Party], *, offline: bool = False) -> tuple[str, list[Collision]]:
    """One paragraph naming the inputs, packages and ranges that collide, then uv's words.

    ``offline`` says whether uv was kept off the network: only then is
    going online a fix worth suggesting.
    """
    found = collisions(text, parties)
    detail = "\n".join("  " + line for line in text.strip().splitlines())
    if found:
        parts = []
        for c in found:
            claims = [
                f"{_who(who, parties)} is {spec.lstrip('=')}"
                if who == c.package
                else f"{_who(who, parties)} requires {c.package}{' ' if spec.startswith('(') else ''}{spec}"
                for who, spec in c.claims
            ]
            parts.append(f"On {c.package}: " + "; ".join(claims))
        involved = sorted({who for c in found for who, _ in c.claims if who in parties})
        named = ", ".join(involved) if involved else "the inputs"
        head = (
            f"the requirements of {named} collide, so no set of versions satisfies them together. "
            + ". ".join(parts)
            + ". Change one of these ranges (or pin another release with --with NAME==VERSION), "
            "swap a dependency for a fixed fork with --replace NAME=PATH, or leave one plugin out."
        )
        return f"{head}\nuv's explanation:\n{detail}", found
    flat = " ".join(text.split())
    missing = _NOT_FOUND.search(flat)
    if missing:
        name = canonicalize_name(missing["name"])
        cached = (
            " With --offline uv reads only its cache: build once without --offline if it was never downloaded."
            if offline
            else ""
        )
        return (
            f"no distribution named {name} could be found (uv looked in the {missing['where']}), but "
            f"{_needers(name, text, parties)}. Check the spelling; if {name} is a plugin or project that is not "
            "published on an index, give its project folder or wheel with --with PATH, or the folder holding its "
            f"wheel with --find-links DIR.{cached}\nuv's explanation:\n{detail}",
            [],
        )
    no_version = _NO_VERSION.search(flat)
    if no_version:
        name = canonicalize_name(no_version["name"])
        return (
            f"no release of {name} matches {no_version['spec']}, but {_needers(name, text, parties)}. "
            f"Pick a version that exists.\nuv's explanation:\n{detail}",
            [],
        )
    wanted = {dep: spec for _, dep, spec in _facts(text)}
    for only in _ONLY.finditer(flat):
        name = canonicalize_name(only["name"])
        if name in wanted:
            return (
                f"no release of {name} matches {wanted[name]} (only {name}{only['spec']} is available), but "
                f"{_needers(name, text, parties)}. Change that range, or make a release that matches it available "
                f"with --find-links DIR.\nuv's explanation:\n{detail}",
                [],
            )
    return (
        "resolving the host and plugins failed; uv's explanation below names the package at fault. "
        f"Fix that input's name or version range and build again.\n{detail}",
        [],
    )


def _needers(name: str, text: str, parties: dict[str, Party]) -> str:
    """Who needs ``name``, in the user's words: the inputs that depend on it, or the input that names it."""
    needs = sorted({(who, spec) for who, dep, spec in _facts(text) if dep == name})
    if needs:
        return "; ".join(
            f"{_who(who, parties)} requires {name}{' ' if spec.startswith('(') else ''}{spec}" for who, spec in needs
        )
    party = parties.get(name)
    return f"{party.describe()} asks for it" if party else "the build asks for it"
