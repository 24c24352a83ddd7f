"""The ``corehost`` command line: thin click commands over plain functions.

Built-in commands never import plugin code they do not need. Commands that
plugins add (the ``corehost_add_commands`` hook) are only looked for when a
command name is not built in, or when the command list is shown.

A host of its own gets the same CLI under its own name: :func:`make_cli`
builds the group with the built-in commands for a
:class:`~corehost.hostspec.HostSpec`, and ``main(spec=...)`` /
``entry(spec)`` run it, so the application's console script is one line.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from corehost.discovery import environment_registry
from corehost.errors import AdminError, ConfigError, CorehostError, Stopped, UnknownNamespace, did_you_mean
from corehost.hostspec import COREHOST, HostSpec
from corehost.registry import NamespaceInfo, Registry

if TYPE_CHECKING:
    from corehost.host import Host

F = TypeVar("F", bound=Callable[..., Any])

#: SIGINT's number on every platform Python runs on; written out so that a start that lists modules
#: does not load the signal module (``run`` reads it from the host, which has loaded it).
_SIGINT = 2
#: The exit code of a command stopped by Ctrl-C: 128 + SIGINT, as shells report it.
_INTERRUPTED = 128 + _SIGINT

_HOST_KEY = "corehost.host"
_REGISTRY_KEY = "corehost.registry"


def spec_of(ctx: click.Context | None = None) -> HostSpec:
    """The spec of the host whose CLI is running (corehost's own outside a host group)."""
    command = (ctx or click.get_current_context()).find_root().command
    return command.spec if isinstance(command, HostGroup) else COREHOST


def get_registry(ctx: click.Context | None = None) -> Registry:
    """This environment's registry for the running host (read on first use, shared with :func:`get_host`)."""
    root = (ctx or click.get_current_context()).find_root()
    registry: Registry | None = root.meta.get(_REGISTRY_KEY)
    if registry is None:
        registry = root.meta[_REGISTRY_KEY] = environment_registry(spec=spec_of(root))
    return registry


def get_host(ctx: click.Context | None = None) -> Host:
    """The :class:`~corehost.host.Host` of this CLI invocation (made on first use)."""
    # The host (lifecycle, context, conformance) is for commands that load modules: listing never does.
    from corehost.host import Host

    root = (ctx or click.get_current_context()).find_root()
    host: Host | None = root.meta.get(_HOST_KEY)
    if host is None:
        registry = get_registry(root)
        host = root.meta[_HOST_KEY] = Host(registry, strict=bool(root.params.get("strict")), spec=registry.spec)
    return host


def complete_registry(ctx: click.Context | None = None) -> Registry:
    """The registry with generated modules included, for listing.

    A frozen registry lists them as its build recorded them; a live one
    has them only once the plugins' ``corehost_register_modules`` hook has
    run, which takes the host.
    """
    registry = get_registry(ctx)
    if not registry.frozen:
        get_host(ctx).list_modules()
    return registry


def pass_host(f: F) -> F:
    """Decorator for plugin commands: pass the host as the first argument."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(get_host(), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Failure(click.ClickException):
    """An error on its way out of the CLI: one paragraph on stderr, after the traceback with ``--debug``."""

    def __init__(self, host: str, text: str, exit_code: int, *, traceback: bool = False) -> None:
        super().__init__(text)
        # click declares exit_code per class but reads it from the instance; here it is the error's own code.
        self.exit_code = exit_code  # type: ignore[misc]
        self.host = host
        self.traceback = traceback

    def show(self, file: IO[Any] | None = None) -> None:
        if self.traceback:
            # Only --debug prints a traceback.
            import traceback

            traceback.print_exception(self.__cause__)
        click.echo(f"{self.host}: {self.message}", err=True)


def _failure(ctx: click.Context, exc: BaseException) -> Failure:
    """What the CLI prints and how it exits for ``exc``, raised while ``ctx``'s command parsed or ran."""
    name = spec_of(ctx).name
    debug = bool(ctx.find_root().params.get("debug"))
    if isinstance(exc, EOFError) or (
        isinstance(exc, click.exceptions.Abort) and not isinstance(exc.__cause__, KeyboardInterrupt)
    ):
        # A prompt that got end-of-file, or a confirmation answered no.
        return Failure(name, "aborted", 1)
    if isinstance(exc, (KeyboardInterrupt, click.exceptions.Abort)):
        # click turns a KeyboardInterrupt (Ctrl-C outside a run's own handling) into Abort.
        return Failure(name, "interrupted", _INTERRUPTED)
    if isinstance(exc, Stopped):
        return Failure(name, f"{exc} during set-up; everything provisioned was cleaned up", 128 + exc.signum)
    if isinstance(exc, CorehostError):
        return Failure(name, f"error: {exc.message}", exc.exit_code, traceback=debug)
    return Failure(
        name,
        f"error: unexpected {type(exc).__name__}{_culprit(exc)}: {exc} "
        "(run with --debug for the traceback, and report it to the plugin or corehost)",
        1,
        traceback=debug,
    )


@contextmanager
def _boundary(ctx: click.Context) -> Iterator[None]:
    """Turn every error but click's own into a :class:`Failure` (click's own exceptions pass through)."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit):
        raise
    except (Exception, KeyboardInterrupt, Stopped) as exc:
        raise _failure(ctx, exc) from exc


class HostGroup(click.Group):
    """A host's root group: knows its spec, asks plugins for commands only when it has to.

    Its :meth:`invoke` is the CLI's one error boundary: every error a
    command raises leaves as a :class:`Failure` that click prints and exits
    with, and a command returning an int exits with it.
    """

    def __init__(self, *args: Any, spec: HostSpec = COREHOST, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # ``--help`` lists commands while parsing, which asks the plugins for theirs.
        with _boundary(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _boundary(ctx):
            result = super().invoke(ctx)
        if isinstance(result, int) and result:
            ctx.exit(result)
        return result

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if not ctx.meta.get("corehost.commands_added"):
            ctx.meta["corehost.commands_added"] = True
            get_host(ctx).hooks.corehost_add_commands(cli=self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)


def _echo_json(data: object) -> None:
    # Only --json output needs the json module.
    import json

    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


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
    # Reading every distribution's files is worth it only for an error.
    from importlib import metadata

    dists = metadata.packages_distributions().get(module.partition(".")[0], [])
    return f" in {module}" + (f" (distribution {', '.join(sorted(set(dists)))})" if dists else "")


@contextmanager
def _naming_file(path: str) -> Iterator[None]:
    """Config errors raised inside name the config file as well as the path in it."""
    try:
        yield
    except ConfigError as exc:
        raise exc.in_file(path) from exc.__cause__


#: ``--config/-c FILE``, shared by the commands that take a config.
config_option = click.option(
    "--config",
    "-c",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Config file (.json or .toml).",
)


def _config(path: str) -> dict[str, Any]:
    # The config reader (and tomllib) only for the commands that take a config.
    from corehost.config import load_config

    return load_config(path)


@click.command(options_metavar="--config FILE")
@config_option
def run(config_path: str) -> None:
    """Run a config until an app finishes or SIGINT/SIGTERM arrives.

    --config is required. Every app is stopped and every module cleaned up
    before it exits; stopped by Ctrl-C (SIGINT) it exits 130, as an
    interrupted command does, and stopped because a module failed (an
    isolated module's worker down for good) it exits 1. SIGHUP reads
    --config again and reloads it; a config with admin = {listen =
    "127.0.0.1:2019"} (or "unix:/path") also serves the admin endpoint that
    `reload` and `stop` talk to.

    \b
    Example:
      corehost run --config examples/greet.toml
    """
    host = get_host()

    def reread() -> dict[str, Any]:
        # SIGHUP: the file again, its errors naming it as a start's do.
        with _naming_file(config_path):
            return _config(config_path)

    with _naming_file(config_path):
        reason = host.run(_config(config_path), reread=reread)
    click.echo(f"{host.spec.name}: stopped ({reason}); every app stopped and every module cleaned up", err=True)
    failed = host.stop_error.exit_code if host.stop_error is not None else 0
    click.get_current_context().exit(_INTERRUPTED if host.stop_signal == _SIGINT else failed)


@click.command(options_metavar="--config FILE")
@config_option
def validate(config_path: str) -> None:
    """Build, provision and validate a config without starting it.

    --config is required. Every error in the config is reported at once.

    \b
    Example:
      corehost validate --config examples/greet.toml
    """
    with _naming_file(config_path):
        get_host().validate(_config(config_path))
    click.echo(f"{config_path}: valid")


def _admin_address(config: dict[str, Any], config_path: str) -> str:
    """The address of the admin endpoint ``config`` names (the one its host listens on)."""
    # The admin endpoint's module only for the commands that talk to it.
    from corehost.admin import settings

    if "admin" not in config:
        raise AdminError(
            f"{config_path} names no admin endpoint, so the host's address is not known: give --address, "
            'or add admin = {listen = "127.0.0.1:2019"} to the config (a host runs one only when its config names it)'
        )
    with _naming_file(config_path):
        return settings(config["admin"]).listen


_address_option = click.option(
    "--address",
    default=None,
    metavar="ADDR",
    help="The host's admin endpoint (host:port or unix:/path); default: admin.listen of --config.",
)


@click.command("reload", options_metavar="--config FILE [--force] [--address ADDR]")
@config_option
@click.option("--force", is_flag=True, help="Reload even when the host runs this config already.")
@_address_option
def reload_config(config_path: str, force: bool, address: str | None) -> None:
    """Replace a running host's config with --config's, through its admin endpoint.

    --config is required. The host starts the new config before it stops the
    old one; if any part of the new one fails, the old one keeps running and
    this exits 1 with the host's error. An identical config is left alone
    unless --force is given.

    \b
    Example:
      corehost reload --config examples/site.toml
    """
    # The admin endpoint's client and json only for the commands that talk to it.
    import json

    from corehost.admin import call

    with _naming_file(config_path):
        config = _config(config_path)
    address = address or _admin_address(config, config_path)
    if config_path.endswith(".toml"):
        with open(config_path, "rb") as f:
            body, content_type = f.read(), "application/toml"
    else:
        body, content_type = json.dumps(config).encode(), "application/json"
    status, answer = call(address, "POST", "/load?force=1" if force else "/load", body, content_type)
    if status != 200:
        raise AdminError(f"{config_path} was not loaded; the running config keeps serving: {answer.get('error')}")
    if answer.get("loaded"):
        click.echo(f"{config_path}: loaded")
    else:
        click.echo(f"{config_path}: the host runs this config already; nothing reloaded (--force reloads it)")


@click.command("stop", options_metavar="--address ADDR | --config FILE")
@_address_option
@click.option("--config", "-c", "config_path", default=None, type=click.Path(dir_okay=False),
              help="Find the admin endpoint in this config's admin.listen.")  # fmt: skip
def stop(address: str | None, config_path: str | None) -> None:
    """Stop a running host through its admin endpoint (POST /stop).

    --address or --config is required. The host stops every app and cleans
    up every module before it exits, as on SIGTERM.

    \b
    Example:
      corehost stop --address 127.0.0.1:2019
    """
    # The admin endpoint's client only for the commands that talk to it.
    from corehost.admin import call

    if address is None:
        if config_path is None:
            raise click.UsageError("give --address ADDR, or --config FILE whose admin.listen names it")
        with _naming_file(config_path):
            address = _admin_address(_config(config_path), config_path)
    status, answer = call(address, "POST", "/stop")
    if status != 200:
        raise AdminError(f"the host at {address} did not stop: {answer.get('error')}")
    click.echo(f"{address}: stopping")


@click.command("list-modules")
@click.option("--versions", is_flag=True, help="Show each module's distribution version.")
@click.option("--packages", is_flag=True, help="Show the distribution that provides each module.")
@click.option(
    "--namespace",
    "namespace",
    default=None,
    help="Only modules directly in this namespace (an ordered namespace in its chain order).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_modules(versions: bool, packages: bool, namespace: str | None, as_json: bool) -> None:
    """List the modules this host has, without importing them.

    No option is required.

    \b
    Example:
      corehost list-modules --namespace greeters --packages --versions
    """
    registry = complete_registry()
    if namespace is None:
        modules = sorted(registry.modules.values(), key=lambda m: m.id)
    else:
        if not registry.in_namespace(namespace) and namespace not in registry.namespaces:
            raise _unknown_namespace(registry, namespace)
        # An ordered namespace is listed in its chain order, the order a map of its modules runs in.
        modules = registry.order(namespace)
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


def _unknown_namespace(registry: Registry, namespace: str) -> UnknownNamespace:
    """The error for ``--namespace`` naming no namespace: a typo, or one the allow/block lists leave out."""
    for entry, why in registry.excluded:
        if isinstance(entry, NamespaceInfo) and entry.name == namespace:
            return UnknownNamespace(
                f"namespace {namespace!r} is installed (distribution {entry.distribution}) but {why}."
            )
    known = sorted({*registry.namespaces, *(m.namespace for m in registry.modules.values())} - {""})
    return UnknownNamespace(
        f"unknown namespace {namespace!r}{did_you_mean(namespace, known)}. "
        f"Namespaces: {', '.join(known) or 'none installed'} (and '' for apps)."
    )


@click.command("build-info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def build_info(as_json: bool) -> None:
    """Show corehost, Python, and every plugin distribution with its version.

    No option is required.

    \b
    Example:
      corehost build-info --json
    """
    # Reading every distribution's metadata is for this command alone.
    from corehost.buildinfo import build_info as collect
    from corehost.buildinfo import render_text

    info = collect(complete_registry())
    if as_json:
        _echo_json(info)
    else:
        click.echo(render_text(info))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(as_json: bool) -> None:
    """Run the interface guards over every installed plugin.

    No option is required; it exits 1 when a guard finds an error.

    \b
    Example:
      corehost check
    """
    # The guards import every plugin and pluggy: for this command alone.
    from corehost.guards import check as run_guards
    from corehost.guards import errors

    problems = run_guards(get_registry())
    if as_json:
        _echo_json([p.to_json() for p in problems])
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(f"{len(errors(problems))} error(s), {len(problems) - len(errors(problems))} warning(s)")
    if errors(problems):
        click.get_current_context().exit(1)


@click.group()
def cache() -> None:
    """Show or clean the cache that bundles unpack into on their first start.

    \b
    Examples:
      corehost cache list
      corehost cache clean
    """


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_list(as_json: bool) -> None:
    """List unpacked bundles, their size, and which one is running.

    No option is required.

    \b
    Example:
      corehost cache list
    """
    # The cache commands only: every other start leaves the bundle launcher's module alone.
    from corehost.bundle import cache_entries, cache_root

    entries = cache_entries()
    if as_json:
        _echo_json(entries)
        return
    click.echo(f"cache: {cache_root()}")
    if not entries:
        click.echo("  empty: nothing is unpacked (a bundle unpacks itself here on its first start)")
    for e in entries:
        flags = " (current)" if e["current"] else " (partial)" if e["partial"] else ""
        click.echo(f"  {e['id']}  {e['bytes'] / 1e6:.1f} MB{flags}")


@cache.command("clean")
@click.option("--all", "everything", is_flag=True, help="Also remove the running bundle's directory.")
def cache_clean(everything: bool) -> None:
    """Remove unpacked bundles other than the running one.

    A bundle's folder that another running process started from is kept.
    No option is required.

    \b
    Example:
      corehost cache clean --all
    """
    # The cache commands only: every other start leaves the bundle launcher's module alone.
    from corehost.bundle import clean_cache, clean_report

    click.echo(clean_report(*clean_cache(keep_current=not everything)), nl=False)


@click.command("serve-module", options_metavar="[--listen ADDR] [--secret-file FILE]")
@click.argument("module_id", metavar="MODULE_ID")
@click.option(
    "--listen",
    default=None,
    metavar="ADDR",
    help="Serve on unix:/path/to/socket or tcp://127.0.0.1:PORT for hosts that reattach "
    "(isolation = { address = ADDR, ... }).",
)
@click.option(
    "--secret-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="The shared secret a host must prove it has: read from FILE, or written there (mode 0600) if it "
    "does not exist. Default: $COREHOST_PLUGIN_SECRET, else a new secret in a new private file.",
)
def serve_module(module_id: str, listen: str | None, secret_file: str | None) -> int:
    """Serve one module in this process, for a host that runs it isolated.

    MODULE_ID is required. A host starts this itself for a module with
    isolation = "process"; run by hand, it needs --listen, prints its
    handshake line and how a host reattaches to it, and serves until it is
    stopped.

    \b
    Example:
      corehost serve-module greeters.zh --listen unix:/tmp/greeter.sock
    """
    # Sockets, subprocess plumbing and the worker's loop for this command alone.
    from corehost.worker import serve

    return serve(module_id, listen, secret_file, spec_of())


@click.command()
def version() -> None:
    """Print the host's version (the same as --version).

    \b
    Example:
      corehost version
    """
    click.echo(spec_of().version())


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: what ``version`` prints, before any command is looked for."""
    if value and not ctx.resilient_parsing:
        click.echo(spec_of(ctx).version())
        ctx.exit()


#: The commands every host has.
BUILTIN_COMMANDS: tuple[click.Command, ...] = (
    run,
    validate,
    reload_config,
    stop,
    list_modules,
    build_info,
    check,
    cache,
    serve_module,
    version,
)


def make_cli(spec: HostSpec = COREHOST) -> HostGroup:
    """The root command group of ``spec``'s host, with every built-in command.

    Plugins of that host add theirs through ``corehost_add_commands``.
    """

    # Nothing to do here: the error boundary reads --debug, get_host() reads --strict.
    def root(debug: bool, strict: bool) -> None:
        pass

    group = HostGroup(
        name=spec.name,
        callback=root,
        spec=spec,
        help=spec.description or f"{spec.name}: a plugin host built on corehost.",
        epilog=(
            "\b\nExamples:\n"
            f"  {spec.name} list-modules --packages\n"
            f"  {spec.name} run --config CONFIG.toml\n"
            f"  {spec.name} COMMAND --help    (each command's options, and an example)"
        ),
        context_settings={"help_option_names": ["-h", "--help"]},
        params=[
            click.Option(["--debug"], is_flag=True, help="Show tracebacks for errors."),
            click.Option(["--strict"], is_flag=True, help="A plugin that fails to load is an error, not a warning."),
            click.Option(
                ["--version"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_print_version,
                help="Print the host's version and exit.",
            ),
        ],
    )
    for command in BUILTIN_COMMANDS:
        group.add_command(command)
    return group


#: corehost's own CLI.
cli = make_cli(COREHOST)


def main(args: Sequence[str] | None = None, *, spec: HostSpec = COREHOST) -> int:
    """Run ``spec``'s CLI (corehost's by default) on ``args`` (else the process's own); return the exit code."""
    group = cli if spec == COREHOST else make_cli(spec)
    try:
        group.main(None if args is None else list(args), prog_name=spec.name)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0


def entry(spec: HostSpec = COREHOST) -> None:
    """Console-script entry point; a host of its own calls ``entry(SPEC)`` from its script's function."""
    sys.exit(main(spec=spec))
