"""Write docs/cli.md from the click commands themselves, so the reference cannot drift.

Run: ``python docs/gen_cli.py`` (a test fails when docs/cli.md is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corehost.cli import cli

HEADER = """# `corehost` command reference

Generated from the click commands by `python docs/gen_cli.py`; do not edit by hand.
Plugins add commands of their own (the greet plugin adds `corehost greet`); `corehost --help` lists them.
"""


def render() -> str:
    parts = [HEADER]
    with click.Context(cli, info_name="corehost", terminal_width=100, **cli.context_settings) as ctx:
        # Built-in commands only, whatever plugins are installed here.
        ctx.meta["corehost.commands_added"] = True
        parts.append(f"## corehost\n\n```text\n{cli.get_help(ctx)}\n```\n")
        for name in sorted(cli.commands):
            command = cli.commands[name]
            with click.Context(command, info_name=name, parent=ctx, terminal_width=100) as sub:
                parts.append(f"## corehost {name}\n\n```text\n{command.get_help(sub)}\n```\n")
    return "\n".join(parts)


def main() -> None:
    target = Path(__file__).with_name("cli.md")
    target.write_text(render())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
