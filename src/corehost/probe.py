"""``python -m corehost.probe``: everything a tool asks of an environment, answered as versioned JSON.

``corehost-build`` is not installed where a bundle or venv will run, so it
asks the target environment's interpreter, and this module is the one thing
it runs there:

``inspect [--host NAME]``
    the interface guards' problems, the registry data a build freezes, and
    the distributions that provide something (every entry point of the
    host's groups, whatever its allow and block lists say: a build is its
    own selection);
``inspect --frozen``
    inside a bundle (entered the way its ``__main__`` enters it), the guards
    over the frozen registry it carries, run as the bundle runs, and the
    import of the CLI every start makes;
``interface NAMESPACE``
    the namespace's owner and versions, and its interface described (what
    ``corehost-build new-plugin`` writes a module class from);
``hosts``
    the hosts declared in ``corehost.hosts``.

Every answer is one JSON object on stdout carrying ``"probe": PROBE`` and
``"corehost": <version>``; a reader refuses a ``probe`` it does not know,
naming the corehost that wrote it. Anything plugins print while imported
goes to stderr. ``--announce`` writes ``corehost.probe: importing ...``
to stderr before each entry point is imported, so a run that hangs or
dies inside a plugin's import can be blamed on that plugin by whoever
started it. An error is one ``<prog>: error: ...`` line on stderr and the
error's exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from corehost import __version__
from corehost.errors import CorehostError

if TYPE_CHECKING:
    import argparse

    from corehost.hostspec import HostSpec
    from corehost.registry import Entry

#: The JSON format's major version: bumped when a reader of the old one would misread the new one.
PROBE = 1

#: Starts each ``--announce`` line on stderr; the rest names the entry being imported.
ANNOUNCE = "corehost.probe: importing "

PROG = "python -m corehost.probe"


def announcement(entry: Entry) -> str:
    """``module 'greeters.slow' (fxr_hang:Slow) of distribution fxr-hang``: an entry as an announcement names it."""
    return f"{entry.kind} {entry.name!r} ({entry.target}) of distribution {entry.distribution}"


def _announce(entry: Entry) -> None:
    # The interpreter's own stderr: a plugin may have replaced sys.stderr by the time it is imported.
    print(ANNOUNCE + announcement(entry), file=sys.__stderr__, flush=True)


def preload() -> None:
    """Import the runtime that :func:`inspect` runs on, before it imports any plugin.

    This module itself loads none of it, so that a tool reading its
    constants (the builder) stays light; a tool that starts the probe ahead
    of time (the builder, while it still installs a venv) calls this first,
    to spend the wait on these imports.
    """
    import importlib.metadata  # noqa: F401  # loaded here rather than as discover() goes: the point of preloading

    # The declared-version checks' parser, which corehost.versions loads only when they run.
    import packaging.requirements  # noqa: F401

    from corehost import bundle, discovery, frozen, guards, hostspec, registry  # noqa: F401


def inspect(host: str | HostSpec | None = None) -> dict[str, Any]:
    """Guard problems, registry data and providing distributions of ``host`` (corehost by default) here."""
    # The runtime on use: PROBE and ANNOUNCE are read without it (see preload).
    from corehost.discovery import Selection, discover
    from corehost.frozen import to_data
    from corehost.guards import check_all
    from corehost.hostspec import COREHOST, find_host

    spec = COREHOST if host is None else find_host(host) if isinstance(host, str) else host
    registry = discover(Selection(core=spec.distribution), spec=spec)
    problems, hooks = check_all(registry)
    return {
        "problems": [p.to_json() for p in problems],
        "registry": to_data(registry, hooks),
        "distributions": registry.distributions(),
    }


def inspect_frozen() -> dict[str, Any]:
    """Guard problems of the bundle this process runs from, against the frozen registry it carries.

    Versions are not checked: they need installed metadata, which a bundle
    run from its zip does not serve.
    """
    # The runtime on use: PROBE and ANNOUNCE are read without it (see preload).
    from corehost.bundle import current
    from corehost.frozen import load_frozen
    from corehost.guards import check_all
    from corehost.hostspec import COREHOST
    from corehost.problems import Problem
    from corehost.registry import import_target

    manifest = current()
    if manifest is None:
        raise CorehostError(
            "inspect --frozen checks the bundle this process runs from, and it runs from none; run it inside a "
            "bundle, or use inspect without --frozen to check this environment."
        )
    spec: HostSpec = import_target(manifest["host"]) if manifest.get("host") else COREHOST
    registry = load_frozen(spec)
    if registry is None:
        problems = [Problem(spec.distribution, "host", spec.name, "the bundle carries no frozen registry for it")]
    else:
        problems, _ = check_all(registry, versions=False)
    try:
        importlib.import_module("corehost.cli")
    except Exception as exc:
        why = f"importing corehost.cli, as every start does, failed: {type(exc).__name__}: {exc}"
        problems.append(Problem("corehost", "startup", "corehost.cli", why))
    return {"problems": [p.to_json() for p in problems]}


def interface(namespace: str) -> dict[str, Any]:
    """The namespace's owner and its version, and its interface described."""
    # The runtime on use: PROBE and ANNOUNCE are read without it (see preload).
    from corehost.discovery import Selection, discover
    from corehost.interface_info import describe_interface

    info = discover(Selection()).namespace(namespace)
    return {
        "namespace": namespace,
        "distribution": info.distribution,
        "version": info.version,
        **describe_interface(info.load()),
    }


def hosts() -> dict[str, Any]:
    """Every host declared in ``corehost.hosts``: name, where its spec lives, which distribution declares it."""
    # Metadata on use: PROBE and ANNOUNCE are read without it (see preload).
    from importlib.metadata import entry_points

    from corehost.hostspec import HOSTS_GROUP

    declared = [
        {"name": ep.name, "target": ep.value, "distribution": ep.dist.name if ep.dist else ""}
        for ep in entry_points(group=HOSTS_GROUP)
    ]
    return {"hosts": sorted(declared, key=lambda h: (h["name"], h["distribution"]))}


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The probe's command line: a global ``--announce``, then one command."""
    # On use: a tool reading PROBE and ANNOUNCE parses no command line.
    import argparse

    from corehost.hostspec import COREHOST

    root = argparse.ArgumentParser(prog=prog, description="Answer a tool's questions about this environment as JSON.")
    root.add_argument("--announce", action="store_true", help="name each entry point on stderr before importing it")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    inspect_cmd = commands.add_parser("inspect", help="guard problems and registry data of a host")
    which = inspect_cmd.add_mutually_exclusive_group()
    which.add_argument("--host", default=COREHOST.name, help="the host to inspect (default: corehost)")
    which.add_argument("--frozen", action="store_true", help="check the bundle this runs from, as it runs")
    interface_cmd = commands.add_parser("interface", help="a namespace's interface, owner and versions")
    interface_cmd.add_argument("namespace", metavar="NAMESPACE")
    commands.add_parser("hosts", help="the hosts declared in corehost.hosts")
    return root


def answer(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object for parsed ``args``, headed by the format and corehost versions."""
    if args.command == "inspect":
        body = inspect_frozen() if args.frozen else inspect(args.host)
    elif args.command == "interface":
        body = interface(args.namespace)
    else:
        body = hosts()
    return {"probe": PROBE, "corehost": __version__, **body}


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Parse ``argv``, print the answer on stdout; an error is one line on stderr and its exit code."""
    # The runtime on use: PROBE and ANNOUNCE are read without it (see preload).
    from corehost.registry import on_import

    args = parser(prog).parse_args(argv)
    if args.announce:
        on_import(_announce)
    try:
        # What plugins print while imported must not corrupt the one JSON object on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            report = answer(args)
    except CorehostError as exc:
        print(f"{prog.rpartition(' ')[2]}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    finally:
        on_import(None)
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
