"""The ``corehost`` command line: thin click commands over plain functions.

Built-in commands never import plugin code they do not need. Commands that
plugins add (the ``corehost_add_commands`` hook) are only looked for when a
command name is not built in, or when the command list is shown.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from corehost.errors import CorehostError

F = TypeVar("F", bound=Callable[..., Any])

_HOST_KEY = "corehost.host"


def get_host(ctx: click.Context | None = None) -> Any:
    """The :class:`~corehost.host.Host` of this CLI invocation (made on first use)."""
    from corehost.host import Host

    root = (ctx or click.get_current_context()).find_root()
    host = root.meta.get(_HOST_KEY)
    if host is None:
        host = root.meta[_HOST_KEY] = Host(strict=bool(root.params.get("strict")))
    return host


def pass_host(f: F) -> F:
    """Decorator for plugin commands: pass the host as the first argument."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(get_host(), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class HostGroup(click.Group):
    """A group that asks plugins for commands only when it has to."""

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if not ctx.meta.get("corehost.commands_added"):
            ctx.meta["corehost.commands_added"] = True
            get_host(ctx).plugins.call("corehost_add_commands", cli=self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)


@click.group(cls=HostGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--strict", is_flag=True, help="A plugin that fails to load is an error, not a warning.")
def cli(debug: bool, strict: bool) -> None:
    """corehost: a plugin host in the style of Caddy's modules."""


def _echo_json(data: object) -> None:
    import json

    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


_NOT_CULPRITS = ("corehost", "click", "pluggy", "importlib", "runpy", "contextlib", "functools")


def _culprit(exc: BaseException) -> str:
    """`` in pkg.mod (distribution D)``: the innermost non-host code in the traceback.

    An unexpected error is nearly always a plugin's; naming its package and
    distribution tells the user whom to report it to.
    """
    tb = exc.__traceback__
    module = None
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name.partition(".")[0] not in _NOT_CULPRITS and name not in sys.stdlib_module_names:
            module = name
        tb = tb.tb_next
    if module is None:
        return ""
    from importlib import metadata

    dists = metadata.packages_distributions().get(module.partition(".")[0], [])
    return f" in {module}" + (f" (distribution {', '.join(sorted(set(dists)))})" if dists else "")


@contextmanager
def _naming_file(path: str) -> Iterator[None]:
    """Config errors raised inside name the config file as well as the path in it."""
    from corehost.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        raise exc.in_file(path) from exc.__cause__


def _config(path: str) -> dict[str, Any]:
    from corehost.config import load_config

    return load_config(path)


@cli.command()
@click.option(
    "--config",
    "-c",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Config file (.json or .toml).",
)
def run(config_path: str) -> None:
    """Run a config until an app finishes or SIGINT/SIGTERM arrives."""
    host = get_host()
    with _naming_file(config_path):
        reason = host.run(_config(config_path))
    click.echo(f"corehost: stopped ({reason}); every app stopped and every module cleaned up", err=True)


@cli.command()
@click.option(
    "--config",
    "-c",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Config file (.json or .toml).",
)
def validate(config_path: str) -> None:
    """Build, provision and validate a config without starting it."""
    with _naming_file(config_path):
        get_host().validate(_config(config_path))
    click.echo(f"{config_path}: valid")


@cli.command("list-modules")
@click.option("--versions", is_flag=True, help="Show each module's distribution version.")
@click.option("--packages", is_flag=True, help="Show the distribution that provides each module.")
@click.option("--namespace", "namespace", default=None, help="Only modules directly in this namespace.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_modules(versions: bool, packages: bool, namespace: str | None, as_json: bool) -> None:
    """List the modules this host has, without importing them."""
    host = get_host()
    host.add_generated_modules()
    registry = host.registry
    modules = (
        registry.in_namespace(namespace)
        if namespace is not None
        else sorted(registry.modules.values(), key=lambda m: m.id)
    )
    if as_json:
        _echo_json(
            [
                {
                    "id": m.id,
                    "namespace": m.namespace,
                    "name": m.short_name,
                    "distribution": m.distribution,
                    "version": m.version,
                    "target": m.target,
                }
                for m in modules
            ]
        )
        return
    for m in modules:
        cols = [m.id]
        if packages:
            cols.append(m.distribution)
        if versions:
            cols.append(m.version)
        click.echo("  ".join(cols))


@cli.command("build-info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def build_info(as_json: bool) -> None:
    """Show corehost, Python, and every plugin distribution with its version."""
    from corehost.buildinfo import build_info as collect
    from corehost.buildinfo import render_text

    host = get_host()
    host.add_generated_modules()
    info = collect(host.registry)
    if as_json:
        _echo_json(info)
    else:
        click.echo(render_text(info))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(as_json: bool) -> None:
    """Run the interface guards over every installed plugin."""
    from corehost.guards import check as run_guards
    from corehost.guards import errors

    problems = run_guards(get_host().registry)
    if as_json:
        _echo_json([p.to_json() for p in problems])
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(f"{len(errors(problems))} error(s), {len(problems) - len(errors(problems))} warning(s)")
    if errors(problems):
        sys.exit(1)


@cli.group()
def cache() -> None:
    """Show or clean the cache that bundles with compiled code unpack into."""


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_list(as_json: bool) -> None:
    """List unpacked bundles, their size, and which one is running."""
    from corehost.bundle import cache_entries, cache_root

    entries = cache_entries()
    if as_json:
        _echo_json(entries)
        return
    click.echo(f"cache: {cache_root()}")
    for e in entries:
        flags = " (current)" if e["current"] else " (partial)" if e["partial"] else ""
        click.echo(f"  {e['id']}  {e['bytes'] / 1e6:.1f} MB{flags}")


@cache.command("clean")
@click.option("--all", "everything", is_flag=True, help="Also remove the running bundle's directory.")
def cache_clean(everything: bool) -> None:
    """Remove unpacked bundles other than the running one."""
    from corehost.bundle import clean_cache

    removed = clean_cache(keep_current=not everything)
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{len(removed)} director{'y' if len(removed) == 1 else 'ies'} removed")


@cli.command()
def version() -> None:
    """Print corehost's version."""
    from corehost import __version__

    click.echo(__version__)


def main(args: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and turn every error into one clear paragraph."""
    from corehost.host import Stopped

    argv = list(sys.argv[1:] if args is None else args)
    debug = "--debug" in argv[: next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))]
    try:
        result = cli.main(argv, prog_name="corehost", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("corehost: aborted", err=True)
        return 1
    except CorehostError as exc:
        if debug:
            _print_traceback()
        click.echo(f"corehost: error: {exc.message}", err=True)
        return exc.exit_code
    except Stopped as exc:
        click.echo(f"corehost: {exc} during set-up; everything provisioned was cleaned up", err=True)
        return 128 + exc.signum
    except KeyboardInterrupt:
        click.echo("corehost: interrupted", err=True)
        return 130
    except Exception as exc:
        if debug:
            _print_traceback()
        click.echo(
            f"corehost: error: unexpected {type(exc).__name__}{_culprit(exc)}: {exc} "
            "(run with --debug for the traceback, and report it to the plugin or corehost)",
            err=True,
        )
        return 1


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
