"""The host's spec: everything that makes hostapp a host of its own."""

from __future__ import annotations

from corehost.hostspec import HostSpec

SPEC = HostSpec(
    name="hostapp",
    distribution="example-hostapp",
    hookspecs=("example_hostapp.hookspecs",),
    namespaces={"tasks": "example_hostapp.interfaces:Task"},
    description="hostapp: runs a text through a pipeline of task modules (an example corehost-based host).",
)
