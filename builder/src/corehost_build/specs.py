"""What a user may write after ``--with``, ``--host`` and ``--replace``.

A spec is whatever a user would type: ``name``, ``name==1.2.0``,
``name>=1,<2``, a local project directory, or a wheel file. Deciding which
it is happens here, once, so that the rest of the builder handles three
plain cases and every mistake is reported with the text the user wrote.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from corehost_build.errors import SpecError

REQUIREMENT = "requirement"
PROJECT = "project"
WHEEL = "wheel"
HOST = "corehost"


@dataclass(frozen=True)
class Spec:
    """One input of a build, as the user wrote it and as the builder understands it."""

    text: str
    kind: str
    requirement: Requirement | None = None
    path: Path | None = None
    #: How the user named this input, when that is not ``--with TEXT``: messages quote the user's own words.
    given_as: str = ""

    def __str__(self) -> str:
        return self.text


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~")) or os.sep in text or text.endswith((".whl", ".tar.gz", ".zip"))


def parse_spec(text: str, base: Path, what: str = "--with") -> Spec:
    """Classify ``text`` (relative paths are taken from ``base``)."""
    text = text.strip()
    if not text:
        raise SpecError(f"{what} was given an empty value; write a name, name==VERSION, a project folder or a wheel.")
    candidate = (base / os.path.expanduser(text)).resolve()
    if candidate.is_file() and candidate.name.endswith(".whl"):
        return Spec(text, WHEEL, path=candidate)
    if candidate.is_dir():
        if (candidate / "pyproject.toml").exists() or (candidate / "setup.py").exists():
            return Spec(text, PROJECT, path=candidate)
        raise SpecError(
            f"{what} {text}: folder {candidate} has no pyproject.toml (nor setup.py), so it is not a Python "
            "project; point at the plugin's project folder, or give its name or a wheel."
        )
    if _looks_like_path(text):
        raise SpecError(
            f"{what} {text}: no such project folder or wheel file ({candidate}); fix the path, or give a "
            "distribution name such as 'corehost-greet' or 'corehost-greet==0.1.0'."
        )
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise SpecError(
            f"{what} {text!r} is not a requirement ({exc}), nor an existing project folder or wheel; "
            "write e.g. 'name', 'name==1.2.0', 'name>=1,<2', './path/to/project' or 'dist/x.whl'."
        ) from None
    return Spec(text, REQUIREMENT, requirement=req)


def parse_host(text: str, base: Path) -> Spec:
    """``--host``: a version (``0.1.0``), a range (``>=0.1``), a requirement, a project or a wheel."""
    stripped = text.strip()
    try:
        Version(stripped)
    except InvalidVersion:
        pass
    else:
        return Spec(text, REQUIREMENT, requirement=Requirement(f"{HOST}=={stripped}"))
    if re.match(r"^\s*(==|>=|<=|~=|!=|<|>)", stripped):
        return parse_spec(f"{HOST}{stripped}", base, "--host")
    return parse_spec(stripped, base, "--host")


def parse_replace(text: str, base: Path) -> tuple[str, Spec]:
    """``--replace NAME=PATH``: swap dependency NAME for a local fork (project or wheel)."""
    name, sep, target = text.partition("=")
    if not sep or not name.strip() or not target.strip():
        raise SpecError(f"--replace {text!r}: write NAME=PATH, e.g. --replace corehost-greet=../greet-fork.")
    spec = parse_spec(target, base, f"--replace {name.strip()}=")
    if spec.kind == REQUIREMENT:
        raise SpecError(
            f"--replace {text}: {target!r} is not a local project folder or wheel file; --replace swaps a "
            "dependency for a local fork, so the part after '=' must be a path."
        )
    return name.strip(), spec


def default_host() -> Spec:
    """The corehost the builder itself was installed with.

    A local project (editable or not) or a wheel file that still exists is
    used as such, so a development checkout builds bundles of its own
    runtime; otherwise the same version is asked for by name.
    """
    dist = metadata.distribution(HOST)
    raw = dist.read_text("direct_url.json")
    if raw:
        try:
            info = json.loads(raw)
        except ValueError:
            info = {}
        url = str(info.get("url", ""))
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.is_dir() and (path / "pyproject.toml").exists():
                return Spec(str(path), PROJECT, path=path)
            if path.is_file() and path.name.endswith(".whl"):
                return Spec(str(path), WHEEL, path=path)
    version = dist.version
    return Spec(f"{HOST}=={version}", REQUIREMENT, requirement=Requirement(f"{HOST}=={version}"))
