"""Hookimpls of the greet plugin: the ``corehost greet`` command."""

from __future__ import annotations

import click

from corehost import Host, hookimpl, pass_host


@hookimpl
def corehost_add_commands(cli: click.Group) -> None:
    @cli.command()
    @click.argument("name")
    @click.option("--lang", default="en", show_default=True, help="Greeter module: greeters.<lang>.")
    @pass_host
    def greet(host: Host, name: str, lang: str) -> None:
        """Greet NAME with the greeter module greeters.<lang>."""
        with host.context() as ctx:
            greeter = ctx.load(f"greeters.{lang}", {}, "--lang")
            click.echo(greeter.greet(name))
