"""Write docs/cli.md from the click commands themselves, so the reference cannot drift.

Run: ``python docs/gen_cli.py`` (a test fails when docs/cli.md is stale). It
covers ``corehost`` (built-in commands only, whatever plugins are installed)
and ``corehost-build``, read from ``builder/src`` so the builder need not be
installed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]

HEADER = """# Command reference: `corehost` and `corehost-build`

Generated from the click commands by `python docs/gen_cli.py`; do not edit by hand.
Plugins add commands of their own to `corehost` (the greet plugin adds `corehost greet`);
`corehost --help` lists them.
"""


def _sections(command: click.Command, ctx: click.Context, path: str) -> Iterator[str]:
    yield f"## {path}\n\n```text\n{command.get_help(ctx)}\n```\n"
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            with click.Context(sub, info_name=name, parent=ctx, terminal_width=100) as sub_ctx:
                yield from _sections(sub, sub_ctx, f"{path} {name}")


def render() -> str:
    from corehost.cli import cli

    sys.path.insert(0, str(ROOT / "builder" / "src"))
    from corehost_build.cli import cli as build_cli

    parts = [HEADER]
    for group, prog in ((cli, "corehost"), (build_cli, "corehost-build")):
        with click.Context(group, info_name=prog, terminal_width=100, **group.context_settings) as ctx:
            # corehost's built-in commands only: no plugin's commands, whatever is installed here.
            ctx.meta["corehost.commands_added"] = True
            parts.extend(_sections(group, ctx, prog))
    return "\n".join(parts)


def main() -> None:
    target = Path(__file__).with_name("cli.md")
    target.write_text(render())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
