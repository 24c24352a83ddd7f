"""What a bundle is built for: the interpreters it runs on and a platform.

The guards run in the build's interpreter (``--python``), so
``--python-version`` has to match it. That interpreter also compiles the
bundle's bytecode, but a pure-Python bundle is not tied to it: it keeps
every source beside its ``.pyc`` and zipimport falls back to the source when
a ``.pyc``'s magic number is another interpreter's, so the bundle runs on
every Python its locked packages' ``Requires-Python`` admit together. A
compiled extension module is tied to the interpreter it was built for (its
file name says which), so a bundle with compiled code runs only where
every one of them loads. :func:`reach` works both out at build time as
plain ranges of versions, so the bundle's start-up compares tuples and
imports nothing to do it.

``--platform`` may name another machine: the set is then resolved and
installed for that platform into the bundle, while the guards run against
the same locked versions installed for this machine (same code, this
machine's compiled parts).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from corehost.bundle import platform_tag as running_platform
from corehost_build.errors import InstallError, SpecError
from corehost_build.request import BuildRequest
from corehost_build.tools import run_uv, tool_env

_OS = (("manylinux", "linux"), ("musllinux", "linux"), ("linux", "linux"), ("apple", "darwin"),
       ("macos", "darwin"), ("darwin", "darwin"), ("windows", "win32"))  # fmt: skip
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64", "i686": "i686"}


def platform_tag(uv_platform: str | None) -> str:
    """``linux-x86_64`` style tag (what :func:`corehost.bundle.platform_tag` reports) for a uv platform name.

    ``None`` (no ``--platform``) is the machine the build runs on, named by the runtime's own function so
    that the builder and a starting bundle can never disagree about it.
    """
    if uv_platform is None:
        return running_platform()
    text = uv_platform.lower()
    system = next((name for key, name in _OS if key in text), "unknown")
    arch = next((a for key, a in _ARCH.items() if text.startswith(key) or f"-{key}" in text or f"_{key}" in text), "")
    if system == "darwin" and arch == "aarch64":
        arch = "arm64"
    return f"{system}-{arch or 'any'}"


def _interpreter_version(python: str) -> str:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return f"{sys.version_info[0]}.{sys.version_info[1]}"
    result = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SpecError(f"--python {python} does not run ({result.stderr.strip()}); give the path of a Python 3.11+.")
    return result.stdout.strip()


def _full_version(python: str) -> str:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return ".".join(map(str, sys.version_info[:3]))
    result = subprocess.run(
        [python, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return result.stdout.strip()


@dataclass(frozen=True)
class Target:
    python_version: str | None
    platform: str | None
    python_tag: str
    platform_tag: str
    #: The bundle's files come from an install for another platform.
    cross: bool
    #: The build interpreter's full version (``3.11.7``), which a lock's requires-python must admit.
    interpreter_version: str = ""

    @classmethod
    def of(cls, request: BuildRequest, python: str) -> Target:
        have = _interpreter_version(python)
        wanted = request.python_version
        if wanted is not None and wanted != have:
            raise SpecError(
                f"--python-version {wanted}: the interface guards must run in a Python {wanted}, but the build's "
                f"interpreter ({python}) is Python {have}. Pass --python with the path of a Python {wanted} "
                "(that alone is enough: --python-version only double-checks it)."
            )
        tag = platform_tag(request.platform)
        return cls(
            python_version=wanted,
            platform=request.platform,
            python_tag=f"{sys.implementation.name}-{have}",
            platform_tag=tag,
            cross=request.platform is not None and tag != platform_tag(None),
            interpreter_version=_full_version(python),
        )


def install_target(lock: Path, folder: Path, target: Target, *, offline: bool = False) -> None:
    """Install the locked set for ``target``'s platform into ``folder`` (a bundle's site)."""
    args = ["pip", "sync", "--quiet", "--preview-features", "pylock", "--target", str(folder)]
    if target.platform:
        args += ["--python-platform", target.platform]
    if target.python_version:
        args += ["--python-version", target.python_version]
    if offline:
        args.append("--offline")
    result = run_uv([*args, str(lock)])
    if result.returncode != 0:
        raise InstallError(
            f"installing the locked set for platform {target.platform} failed: some package has no wheel for it. "
            f"Choose a platform every dependency publishes wheels for, or drop --platform.\n  "
            + result.stderr.strip().replace("\n", "\n  ")
        )


#: A Python release padded to three parts (``(3, 11, 0)``), as ``sys.version_info[:3]`` compares with it.
Release = tuple[int, ...]
#: Releases from the first (included) up to the second (excluded; ``None``: no end).
Span = tuple[Release, Release | None]
_EVERY: tuple[Span, ...] = (((0, 0, 0), None),)
#: ``.cpython-311-x86_64-linux-gnu.so``, ``.cp311-win_amd64.pyd``: built for exactly that minor version.
_TAGGED = re.compile(r"\.(?:cpython-|cp)(\d)(\d+)")


def _padded(release: tuple[int, ...]) -> Release:
    """Three parts at least, trailing zeros past the third dropped (``3.11.0.0`` is ``3.11.0``)."""
    parts = [*release, 0, 0]
    while len(parts) > 3 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _after(release: Release) -> Release:
    """The first interpreter release (always three parts) above ``release``."""
    return (release[0], release[1], release[2] + 1)


def _prefix_end(prefix: tuple[int, ...]) -> Release:
    """The first release past every ``prefix.*`` (``3.11`` -> ``3.12.0``)."""
    return _padded((*prefix[:-1], prefix[-1] + 1))


def _spans(spec: Specifier) -> tuple[Span, ...]:
    """The interpreter releases one PEP 440 clause admits (a pre-release counts as its release, as pip does)."""
    op, text = spec.operator, spec.version
    if text.endswith(".*"):
        prefix = Version(text[:-2]).release
        low, high = _padded(prefix), _prefix_end(prefix)
    else:
        low = _padded(Version(text).release)
        high = _after(low)
    if op == "!=":
        return (((0, 0, 0), low), (high, None))
    if op == ">=":
        return ((low, None),)
    if op == ">":
        return ((high, None),)
    if op == "<=":
        return (((0, 0, 0), high),)
    if op == "<":
        return (((0, 0, 0), low),)
    if op == "~=":  # at least this release, within its prefix: ~=3.11 is >=3.11, ==3.*
        return ((low, _prefix_end(Version(text).release[:-1])),)
    return ((low, high),)  # == and ===


def _intersect(a: Iterable[Span], b: Iterable[Span]) -> tuple[Span, ...]:
    """The releases in both, as sorted spans that neither overlap nor touch."""
    out: list[Span] = []
    for low_a, high_a in a:
        for low_b, high_b in b:
            low = max(low_a, low_b)
            high = high_a if high_b is None else high_b if high_a is None else min(high_a, high_b)
            if high is None or low < high:
                out.append((low, high))
    merged: list[Span] = []
    for low, high in sorted(out, key=lambda span: span[0]):
        last = merged[-1] if merged else None
        if last is not None and (last[1] is None or low <= last[1]):
            merged[-1] = (last[0], None if last[1] is None or high is None else max(last[1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _version_text(release: Release) -> str:
    return ".".join(map(str, release[:2] if release[2:] == (0,) else release))


def spans_text(spans: Iterable[Span]) -> str:
    """``>=3.11``, ``3.11`` (that minor version only), ``any version``, ``>=3.11.2, <3.13``; ``no version`` for none."""
    words = []
    for low, high in spans:
        if high is None:
            words.append(f">={_version_text(low)}" if low > (0, 0, 0) else "any version")
        elif low[2:] == (0,) and high == (low[0], low[1] + 1, 0):
            words.append(_version_text(low))
        elif low == (0, 0, 0):
            words.append(f"<{_version_text(high)}")
        else:
            words.append(f">={_version_text(low)}, <{_version_text(high)}")
    return " or ".join(words) or "no version"


def _header(metadata: str, field: str) -> str:
    prefix = field.lower() + ":"
    for line in metadata.split("\n\n", 1)[0].splitlines():
        if line.lower().startswith(prefix):
            return line.split(":", 1)[1].strip()
    return ""


def requires_python(metadata: Iterable[str]) -> tuple[tuple[Span, ...], list[str]]:
    """What the distributions' ``Requires-Python`` (from their METADATA) admit together, and who says exactly that.

    A specifier that does not parse is left out, as installers leave it
    out: uv has already installed that distribution for this interpreter.
    """
    admitted, own = _EVERY, {}
    for text in metadata:
        spans = _EVERY
        try:
            for spec in SpecifierSet(_header(text, "Requires-Python")):
                spans = _intersect(spans, _spans(spec))
        except (InvalidSpecifier, InvalidVersion):
            continue
        own[_header(text, "Name")] = spans
        admitted = _intersect(admitted, spans)
    return admitted, sorted(name for name, spans in own.items() if spans == admitted and spans != _EVERY)


def compiled_for(names: Iterable[str], built: Release) -> tuple[tuple[Span, ...], list[str]]:
    """The interpreters every compiled extension module among ``names`` loads in, and the files that decide it.

    A module tagged for one version (``.cpython-311-...so``) loads only in
    that minor version; a stable-ABI one (``.abi3.so``) in the one it was
    installed for and later (the earliest its wheel supports is not in its
    name, so the build's interpreter stands for it); an untagged one only in
    the build's minor version. Shared libraries that extension modules link
    (``lib*.so*``, ``*.dylib``, a ``pkg.libs/`` folder) are no interpreter's.
    """
    admitted, own = _EVERY, []
    for name in sorted(names):
        base = name.rsplit("/", 1)[-1]
        if base.startswith("lib") or base.endswith(".dylib") or ".so." in base or name.split("/")[0].endswith(".libs"):
            continue
        tagged = _TAGGED.search(base)
        major, minor = (int(tagged.group(1)), int(tagged.group(2))) if tagged else built[:2]
        span: Span = ((major, minor, 0), None if ".abi3." in base else (major, minor + 1, 0))
        own.append((name, span))
        admitted = _intersect(admitted, (span,))
    # Named: the files that alone allow no more than the whole does; else every file that narrows it.
    deciding = [name for name, span in own if (span,) == admitted] or [n for n, s in own if (s,) != _EVERY]
    return admitted, deciding


def _manifest_range(spans: tuple[Span, ...], why: str) -> dict[str, Any]:
    listed = [[list(low), None if high is None else list(high)] for low, high in spans]
    return {"spans": listed, "text": spans_text(spans), "why": why}


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def reach(
    files: Iterable[str], read: Callable[[str], str], python_tag: str, extensions: Iterable[str]
) -> dict[str, Any]:
    """The interpreters a bundle runs on, as its manifest records them for :func:`corehost.bundle.check_interpreter`.

    ``files`` are the names in the bundle's site, ``read`` gives one's text,
    ``extensions`` are its compiled files and ``python_tag`` is the build
    interpreter's (``cpython-3.11``). ``requires_python`` is what the
    packages admit (a rebuild can target any of it); ``compiled_for``, only
    with compiled code, what this build's compiled files narrow that to.
    """
    metadata = [read(n) for n in sorted(files) if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    spans, binding = requires_python(metadata)
    why = f"the Requires-Python of {_some(binding)}" if binding else "its packages' Requires-Python, together"
    out = {"requires_python": _manifest_range(spans, why)}
    compiled = sorted(extensions)
    if compiled:
        admitted, deciding = compiled_for(compiled, _padded(Version(python_tag.partition("-")[2]).release))
        out["compiled_for"] = _manifest_range(_intersect(spans, admitted), _some(deciding or compiled))
    return out
