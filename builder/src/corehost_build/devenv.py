"""Development environments for ``run`` and ``list-modules``, cached by their inputs.

``corehost-build run --with ./my-plugin -- greet Bob`` is the plugin
author's inner loop (``xcaddy run``): it must not rebuild when nothing
changed. The environment's key hashes every input, with local projects and
wheels by content, so editing the plugin makes a new environment and
running again without edits reuses the last one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from corehost.frozen import FROZEN_MODULE
from corehost_build import __version__
from corehost_build.build import build
from corehost_build.cache import cache_dir
from corehost_build.progress import Progress
from corehost_build.request import BuildRequest
from corehost_build.specs import PROJECT, WHEEL, Spec, default_host
from corehost_build.venv import site_packages
from corehost_build.wheels import project_digest


def _spec_key(spec: Spec) -> list[str]:
    if spec.kind == PROJECT and spec.path is not None:
        return [spec.kind, str(spec.path), project_digest(spec.path)]
    if spec.kind == WHEEL and spec.path is not None:
        return [spec.kind, str(spec.path), hashlib.sha256(spec.path.read_bytes()).hexdigest()]
    return [spec.kind, spec.text]


def env_key(request: BuildRequest) -> str:
    """A hash of everything that decides what the environment contains."""
    data = {
        "builder": __version__,
        "host": _spec_key(request.host or default_host()),
        "plugins": sorted(_spec_key(s) for s in request.plugins),
        "replace": sorted([n, *_spec_key(s)] for n, s in request.replace.items()),
        "find_links": sorted(map(str, request.find_links)),
        "python": request.python or sys.executable,
        "pip": request.pip,
        # A plugin let through as a plain dependency is a different outcome of the guards: an environment
        # built with it allowed must not stand in for one where it fails the build.
        "allow_plain": sorted(request.allow_plain),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def _complete(venv: Path) -> bool:
    try:
        return (venv / "bin" / "corehost").exists() and (site_packages(venv) / f"{FROZEN_MODULE}.py").exists()
    except Exception:
        return False


def dev_environment(request: BuildRequest, progress: Progress) -> tuple[Path, bool]:
    """The cached environment for ``request`` (built if missing) and whether it was reused."""
    request.venv = cache_dir() / "envs" / env_key(request)
    if _complete(request.venv):
        progress.say(f"reusing {request.venv}")
        return request.venv, True
    build(request, progress)
    return request.venv, False
