"""Hookimpls: generated greeters, and the ``corehost languages`` command."""

from __future__ import annotations

import click

from corehost import Host, Registry, hookimpl, pass_host

#: Greeters made from a table rather than written one class each.
SALUTATIONS = {"es": "Hola", "de": "Hallo"}


def make_greeter(salutation: str) -> type:
    """A greeter class for ``salutation``, with a ``punctuation`` field."""

    def greet(self: object, name: str) -> str:
        return f"{salutation}, {name}{getattr(self, 'punctuation', '!')}"

    return type(
        f"Greeter_{salutation}",
        (),
        {"__annotations__": {"punctuation": str}, "punctuation": "!", "greet": greet, "__module__": __name__},
    )


@hookimpl
def corehost_register_modules(registry: Registry) -> None:
    for lang, salutation in SALUTATIONS.items():
        registry.add_module(
            f"greeters.{lang}", make_greeter(salutation), distribution="corehost-polyglot", version="0.1.0"
        )


@hookimpl
def corehost_add_commands(cli: click.Group) -> None:
    @cli.command()
    @pass_host
    def languages(host: Host) -> None:
        """List every greeter and what it says to 'World'."""
        host.add_generated_modules()
        with host.context() as ctx:
            for info in host.registry.in_namespace("greeters"):
                click.echo(f"{info.short_name}: {ctx.load(info.id, {}, info.id).greet('World')}")
