"""``corehost-build verify BUNDLE``: does a built bundle still hold exactly what was built?

A bundle is checked against what it recorded about itself at build time:

* a venv: every file each installed distribution lists in its ``RECORD``
  (written by the installer, with a sha256 per file) must be there with
  that hash; the distributions must be exactly the build record's package
  list (name and version); and no file in ``site-packages`` may be owned by
  no distribution: a ``.pth`` or ``sitecustomize.py`` dropped in later runs
  code in every start, so it counts as a difference too.
* a ``.pyz``: every entry, and every entry of the site zip it holds
  (``site.zip``), must match the sha256 in the bundle's manifest
  (``corehost-manifest.json``, written last at build time), with no entry
  missing or added; and the distributions in it must be exactly the build
  record's packages (name and version), so a package the build left out
  of the file is found. What is checked is what the zip holds: the build
  ran its guards inside this same file before writing it, so a bundle that
  verifies is one that passed them as shipped.
* a foreign host's artifact (datasette, llm, pytest) the same way; its
  record is the JSON file :data:`corehost.bundle.RECORD_FILE` (at the top
  of the venv, at the root of the ``.pyz``) instead of a frozen registry.

The record is read with :func:`ast.literal_eval`, never imported, so a
tampered bundle runs no code while being verified. What this finds is any
change made after the build; an attacker who also rewrites the records is
caught only by comparing the bundle with a checksum kept elsewhere (the
``.pyz``'s sha256, or the lock's hash in ``corehost build-info``).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from corehost.bundle import RECORD_FILE
from corehost.frozen import FROZEN_MODULE
from corehost_build.bundleformat import FORMAT, MANIFEST, SITE
from corehost_build.errors import BuildError


class VerifyError(BuildError):
    """The bundle differs from its build record (or has none); the message lists every difference."""


@dataclass(frozen=True)
class Verified:
    """A bundle that matched its record: how much was checked."""

    bundle: Path
    kind: str  # "venv" or "pyz"
    files: int
    packages: int


def verify(bundle: Path) -> Verified:
    """Check ``bundle`` (a venv folder or a ``.pyz``) against its build record; raise :class:`VerifyError`."""
    if bundle.is_dir():
        return _verify_venv(bundle)
    if bundle.is_file():
        return _verify_pyz(bundle)
    raise VerifyError(f"{bundle}: no such bundle; give the --venv folder or the --output .pyz file of a build.")


def _fail(bundle: Path, problems: list[str]) -> VerifyError:
    shown = problems[:50]
    more = [f"  ... and {len(problems) - len(shown)} more"] if len(problems) > len(shown) else []
    return VerifyError(
        "\n".join(
            [
                f"{bundle} differs from its build record in {len(problems)} place(s): it was changed after it was "
                "built. Rebuild it (corehost-build build ...), or restore it from the build's output:",
                *(f"  - {p}" for p in shown),
                *more,
            ]
        )
    )


def _record_of(source: str, where: str) -> dict[str, Any]:
    """The ``BUILD`` dict of a frozen module's source, without running it."""
    try:
        tree = ast.parse(source)
        for node in tree.body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["BUILD"]:
                value = ast.literal_eval(node.value)
                if isinstance(value, dict):
                    return value
    except (SyntaxError, ValueError):
        pass
    raise VerifyError(f"{where}: the build record cannot be read (it was edited or damaged); rebuild the bundle.")


def _sha256_b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _json_record(data: bytes, where: str) -> dict[str, Any]:
    """A foreign host's build record (:data:`corehost.bundle.RECORD_FILE`): JSON, read as data."""
    try:
        record = json.loads(data)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise VerifyError(f"{where}: the build record cannot be read (it was edited or damaged); rebuild the bundle.")
    return record


def _verify_venv(venv: Path) -> Verified:
    sites = sorted(venv.glob("lib/python3*/site-packages"))
    frozen = sites[0] / f"{FROZEN_MODULE}.py" if sites else None
    foreign = venv / RECORD_FILE
    if sites and foreign.is_file():
        # A foreign host's venv: the record sits at its top, beside the launcher's bin/, not in site-packages.
        record = _json_record(foreign.read_bytes(), str(foreign))
    elif frozen is None or not frozen.exists():
        raise VerifyError(
            f"{venv} is not a bundle built by corehost-build: it has no {FROZEN_MODULE}.py in site-packages, so "
            "there is no build record to check it against. Give the --venv folder of a build."
        )
    else:
        record = _record_of(frozen.read_text(encoding="utf-8", errors="replace"), str(frozen))
    site = sites[0]
    expected = _expected(record)
    problems: list[str] = []
    owned: set[Path] = {frozen} if frozen is not None else set()
    installed: dict[str, str] = {}
    checked = 0
    for info in sorted(site.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        dist: str = canonicalize_name(name)
        installed[dist] = version
        rows = info / "RECORD"
        if not rows.exists():
            problems.append(f"distribution {dist} {version}: its RECORD file is missing")
            continue
        for line in rows.read_text(encoding="utf-8", errors="replace").splitlines():
            rel, _, rest = line.partition(",")
            hash_, _, _size = rest.partition(",")
            if not rel:
                continue
            path = (site / rel).resolve() if ".." in Path(rel).parts else site / rel
            owned.add(path)
            if not hash_.startswith("sha256="):
                continue  # RECORD itself and installer-written bytecode carry no hash
            checked += 1
            try:
                actual = _sha256_b64(path.read_bytes())
            except FileNotFoundError:
                problems.append(f"file {rel} of distribution {dist} {version} is missing")
                continue
            except OSError as exc:
                problems.append(f"file {rel} of distribution {dist} {version} cannot be read ({exc.strerror})")
                continue
            if actual != hash_.removeprefix("sha256="):
                problems.append(f"file {rel} of distribution {dist} {version} was changed (its sha256 differs)")
    problems += _compare(expected, installed, "installed")
    for path in sorted(site.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path in owned:
            continue
        problems.append(f"file {path.relative_to(site)} belongs to no distribution of the build (added later)")
    if problems:
        raise _fail(venv, problems)
    return Verified(venv, "venv", checked, len(installed))


def _verify_pyz(pyz: Path) -> Verified:
    try:
        with zipfile.ZipFile(pyz) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            if MANIFEST not in names:
                raise VerifyError(
                    f"{pyz} has no {MANIFEST}: it is not a bundle built by corehost-build (or was built by a release "
                    "before verify existed). Rebuild it with corehost-build build --output."
                )
            try:
                manifest = json.loads(zf.read(MANIFEST))
                files: dict[str, str] = manifest["files"]
                layout = manifest["format"]
            except (ValueError, KeyError, TypeError):
                raise VerifyError(f"{pyz}: its {MANIFEST} cannot be read (edited or damaged); rebuild it.") from None
            if layout != FORMAT:
                raise VerifyError(
                    f"{pyz} has the layout of another corehost-build release (format {layout}, this one reads "
                    f"{FORMAT}); rebuild it with this corehost-build (corehost-build build --output)."
                )
            problems: list[str] = []
            inner: zipfile.ZipFile | None = None
            if SITE in names:
                try:
                    inner = zipfile.ZipFile(io.BytesIO(zf.read(SITE)))
                except (zipfile.BadZipFile, OSError) as exc:
                    problems.append(f"entry {SITE} (the packages) cannot be read ({exc})")
            outer = [n for n in names if n not in (MANIFEST, SITE)]
            site = [i.filename for i in inner.infolist() if not i.is_dir()] if inner is not None else []
            contents = outer + [f"{SITE}/{n}" for n in site]

            def read(name: str) -> bytes:
                if inner is not None and name.startswith(f"{SITE}/"):
                    return inner.read(name[len(SITE) + 1 :])
                return zf.read(name)

            for name in sorted(contents):
                if name not in files:
                    problems.append(f"entry {name} was added after the build")
                    continue
                try:
                    data = read(name)
                except (zipfile.BadZipFile, OSError) as exc:
                    problems.append(f"entry {name} cannot be read ({exc})")
                    continue
                if "sha256:" + hashlib.sha256(data).hexdigest() != files[name]:
                    problems.append(f"entry {name}{_package_of(name)} was changed (its sha256 differs)")
            problems += [f"entry {n}{_package_of(n)} is missing" for n in sorted(set(files) - set(contents))]
            packages = _shipped(contents)
            frozen = f"{SITE}/{FROZEN_MODULE}.py"
            if RECORD_FILE in files:
                # A foreign host's bundle: its record is an entry of its own, checked against the manifest above.
                record = _json_record(zf.read(RECORD_FILE), f"{pyz}: {RECORD_FILE}") if RECORD_FILE in names else {}
                problems += _compare(_expected(record), packages, "in the bundle") if record else []
            elif frozen not in contents:
                problems.append(f"entry {frozen} (the build record) is missing")
            else:
                record = _record_of(read(frozen).decode("utf-8", "replace"), f"{pyz}: {frozen}")
                problems += _compare(_expected(record), packages, "in the bundle")
    except zipfile.BadZipFile as exc:
        raise VerifyError(f"{pyz} is not a readable zip archive ({exc}); rebuild it.") from None
    if problems:
        raise _fail(pyz, problems)
    return Verified(pyz, "pyz", len(files), len(packages))


def _shipped(names: list[str]) -> dict[str, str]:
    """Distribution -> version of every ``.dist-info`` folder in the bundle's site."""
    out: dict[str, str] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == SITE and parts[1].endswith(".dist-info") and parts[2] == "METADATA":
            dist, _, version = parts[1].removesuffix(".dist-info").rpartition("-")
            out[canonicalize_name(dist)] = version
    return out


def _expected(record: dict[str, Any]) -> dict[str, str]:
    """Distribution -> version of every package the build record lists."""
    return {canonicalize_name(str(p["name"])): str(p["version"]) for p in record.get("packages", [])}


def _compare(expected: dict[str, str], installed: dict[str, str], where: str) -> list[str]:
    """The differences between the build record's packages and the distributions found ``where``."""
    problems = []
    for dist, version in sorted(installed.items()):
        if dist not in expected:
            problems.append(f"distribution {dist} {version} is {where} but was not part of the build")
        elif expected[dist] != version:
            problems.append(f"distribution {dist} {where} is version {version}, but the build has {expected[dist]}")
    for dist, version in sorted(expected.items()):
        if dist not in installed:
            problems.append(f"distribution {dist} {version} of the build is not {where}")
    return problems


def _package_of(entry: str) -> str:
    """`` (package corehost_greet)`` for an entry under the bundle's site folder."""
    parts = entry.split("/")
    return f" (package {parts[1]})" if len(parts) > 2 else ""
