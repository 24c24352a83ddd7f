"""``corehost.testing``: pytest fixtures for plugin and host authors.

Registered through the ``pytest11`` entry point, so installing corehost is
enough; but it is inert until a test asks for one of its fixtures: importing
it imports nothing of corehost's runtime (no registry, no click, no pluggy),
so it costs every other project's test run nothing.

- ``corehost_module(module_id, config)`` builds a module from a config dict
  and runs ``provision`` and ``validate`` on it, exactly as a config run
  would; every module built is cleaned up at teardown (a failing ``cleanup``
  fails the test's teardown).
- ``corehost_problems(distribution)`` runs the interface guards (what
  ``corehost check`` runs) and returns the problems of one distribution.
- ``corehost_cli(*args)`` runs a command of the real CLI in-process with
  click's ``CliRunner`` and returns its exit code, stdout and stderr, as a
  user would see them.

They use corehost's own host; a host's plugin authors override
``corehost_spec`` in their ``conftest.py`` to get their host's groups,
hookspecs and CLI. Overriding ``corehost_host`` (e.g. with
``Host.from_objects``) builds modules from objects instead of entry points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from corehost.host import Host
    from corehost.hostspec import HostSpec
    from corehost.problems import Problem


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def corehost_spec() -> HostSpec:
    """The host the other fixtures use: corehost's own; override it for a host of your own."""
    # The pytest plugin loads in every session of an environment with corehost: the rest loads with the fixture.
    from corehost.hostspec import COREHOST

    return COREHOST


@pytest.fixture
def corehost_host(corehost_spec: HostSpec) -> Host:
    """A host over this environment's installed plugins, as the CLI would make it."""
    # The pytest plugin loads in every session of an environment with corehost: the rest loads with the fixture.
    from corehost.host import Host

    return Host(spec=corehost_spec)


@pytest.fixture
def corehost_module(corehost_host: Host) -> Iterator[Callable[..., Any]]:
    """``corehost_module(module_id, config=None)``: a provisioned, validated module.

    The config path in errors is the module ID, so a decoding error reads
    ``greeters.en.punctuation: ...``.
    """
    with corehost_host.context() as ctx:

        def build(module_id: str, config: Mapping[str, Any] | None = None) -> Any:
            return ctx.load(module_id, dict(config or {}), module_id)

        yield build


@pytest.fixture
def corehost_problems(corehost_spec: HostSpec) -> Callable[[str], list[Problem]]:
    """``corehost_problems(distribution)``: the guards' problems (errors and warnings) of one distribution.

    Every installed plugin of the host is checked, whatever the allow and
    block lists say, since a plugin's problems can come from another (a
    clashing module ID, a namespace it needs); only ``distribution``'s are
    returned.
    """

    def problems(distribution: str) -> list[Problem]:
        # The pytest plugin loads in every session of an environment with corehost: the rest loads with the fixture.
        from corehost.discovery import Selection, discover, normalize
        from corehost.guards import check

        registry = discover(Selection(core=corehost_spec.distribution), spec=corehost_spec)
        return [p for p in check(registry) if normalize(p.distribution) == normalize(distribution)]

    return problems


@pytest.fixture
def corehost_cli(corehost_spec: HostSpec) -> Callable[..., CommandResult]:
    """``corehost_cli("list-modules", "--json", env={...})``: run a command in-process."""

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> CommandResult:
        # The pytest plugin loads in every session of an environment with corehost: the rest loads with the fixture.
        from click.testing import CliRunner

        from corehost.cli import main

        with CliRunner().isolation(env=env) as (stdout, stderr, _):
            try:
                code = main(list(args), spec=corehost_spec)
            except SystemExit as exc:  # a command that exits itself (``check`` with errors)
                code = exc.code if isinstance(exc.code, int) else 1
        return CommandResult(code, stdout.getvalue().decode(), stderr.getvalue().decode())

    return invoke
