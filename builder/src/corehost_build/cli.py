"""The ``corehost-build`` command line: thin click commands over plain functions.

Every error the builder means to report is a :class:`CorehostError`. One
boundary, :meth:`Boundary.invoke`, turns it into a click exception that
prints one paragraph (and, when the command was given ``--json``,
``{"ok": false, ...}`` on stdout) and exits with the error's code, never a
traceback; the commands themselves only raise and ``ctx.exit``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from corehost.errors import CorehostError
from corehost_build import __version__
from corehost_build.build import build
from corehost_build.buildfile import load_buildfile
from corehost_build.options import destination_options, given_on_command_line, input_options
from corehost_build.progress import Progress
from corehost_build.request import BuildRequest, RawInputs, to_request

#: ``ctx.meta`` key: the running command was given ``--json`` (set while click parses it, before anything runs).
JSON_META = "corehost_build.json"

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """A builder error on its way out: one paragraph on stderr, the JSON error object on stdout with ``--json``."""

    def __init__(self, error: CorehostError, *, as_json: bool) -> None:
        super().__init__(error.message)
        # click declares exit_code per class but reads it from the instance; here it is the error's own code.
        self.exit_code = error.exit_code  # type: ignore[misc]
        self.kind = type(error).__name__
        self.as_json = as_json

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps({"ok": False, "error": self.message, "kind": self.kind}, indent=2))
        click.echo(f"corehost-build: error: {self.message}", err=True)


class Interrupted(click.ClickException):
    """Ctrl-C: every destination is written beside and renamed, so an interrupted build changed nothing."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted; the destination was left as it was")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"corehost-build: {self.message}", err=True)


class Boundary(click.Group):
    """The group whose ``invoke`` is the CLI's one error boundary (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CorehostError as exc:
            raise Failure(exc, as_json=bool(ctx.meta.get(JSON_META))) from exc
        except KeyboardInterrupt:
            raise Interrupted() from None


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[JSON_META] = value
    return value


def json_option(help: str) -> Callable[[F], F]:
    """``--json``; eager, so the error boundary knows it even when a later option fails."""
    return click.option("--json", "as_json", is_flag=True, is_eager=True, callback=_remember_json, help=help)


def inputs_of(params: dict[str, Any]) -> RawInputs:
    """What the user typed, on top of the build file it names: the command line beats the file."""
    typed = RawInputs.from_command_line(given_on_command_line(click.get_current_context(), params, Path.cwd()))
    if params.get("buildfile"):
        return load_buildfile(Path(params["buildfile"])).merge(typed)
    return typed


@click.group(cls=Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corehost-build")
def cli() -> None:
    """corehost-build: resolve plugins into a locked, guarded corehost environment.

    \b
    Examples:
      corehost-build build --plugins-dir plugins --output dist/corehost.pyz
      corehost-build run --with ./plugins/greet --with ./plugins/greeter-zh -- greet Bob --lang zh
      corehost-build new-plugin greeter-pirate --namespace greeters --with ./plugins/greet
    """


@cli.command("build")
@input_options
@destination_options
@json_option("Print a machine-readable summary on stdout.")
def build_command(as_json: bool, **params: Any) -> None:
    """Resolve, lock, install, guard and freeze a plugin set into --venv or --output.

    Required: one destination, --venv DIR or --output FILE.pyz; and the plugins,
    with --with or --plugins-dir (or --from-lock FILE alone). A build file (-c)
    may give any of them; an option on the command line beats the file's key.

    \b
    Examples:
      corehost-build build --plugins-dir plugins --output dist/corehost.pyz
      corehost-build build --with ./plugins/greet --with ./plugins/greeter-zh --venv dist/venv
      corehost-build build -c build.toml --lock pylock.toml
    """
    progress = Progress(quiet=params["quiet"])
    result = build(to_request(inputs_of(params)), progress)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    if result.up_to_date:
        progress.say(
            f"{result.artifact} is up to date: same inputs, same lock, unchanged since it was built; nothing was "
            "written (--upgrade resolves again)"
        )
    elif not as_json:
        made = f"{len(result.modules)} modules"
        if result.foreign is not None:
            made = f"{len(result.foreign['entry_points'])} {result.foreign['host']} plugin entry point(s)"
        progress.say(f"built {result.artifact} in {result.seconds:.2f} s: {len(result.packages)} packages, {made}")


@cli.command("verify")
@click.argument("bundle", metavar="BUNDLE")
@json_option("Print a machine-readable result on stdout.")
def verify_command(bundle: str, as_json: bool) -> None:
    """Re-check a built bundle (a --venv folder or a .pyz) against its build record; list every difference.

    Required: BUNDLE, the folder or file a build made.

    \b
    Example:
      corehost-build verify dist/corehost.pyz
    """
    from corehost_build.verify import verify

    done = verify(Path(bundle))
    if as_json:
        click.echo(json.dumps({"ok": True, "bundle": str(done.bundle), "kind": done.kind, "files": done.files}))
    else:
        click.echo(f"{done.bundle}: OK, {done.files} files of {done.packages} packages match the build record")


def _dev_env(params: dict[str, Any], progress: Progress) -> Path:
    from corehost_build.devenv import dev_environment

    request: BuildRequest = to_request(inputs_of(params), venv=Path("."))
    venv, _ = dev_environment(request, progress)
    return venv


def _dev_script(params: dict[str, Any], progress: Progress) -> Path:
    """The development environment's command: ``corehost``, or a foreign host's console script (``datasette``)."""
    from corehost_build.hosts import foreign_host

    venv = _dev_env(params, progress)
    # Asked after the build: a host described from its metadata is known from then on.
    foreign = foreign_host(to_request(inputs_of(params), venv=venv))
    return venv / "bin" / (foreign.script if foreign is not None else "corehost")


@cli.command("list-modules")
@input_options
def list_modules_command(**params: Any) -> None:
    """Build (or reuse) a development environment and list what it contains.

    Required: the plugins, with --with or --plugins-dir (or a build file, -c).
    With --host datasette, llm, pytest or another pluggy application, it lists
    the plugins' entry points and the hooks each implements.

    \b
    Example:
      corehost-build list-modules --with ./plugins/greet --with ./plugins/greeter-en
    """
    script = _dev_script(params, Progress(quiet=params["quiet"]))
    if script.name != "corehost":
        # A foreign host has no modules: its plugins are entry points, as the build record lists them.
        from corehost.bundle import RECORD_FILE

        record = json.loads((script.parent.parent / RECORD_FILE).read_text(encoding="utf-8"))
        for e in record["entry_points"]:
            hooks = ", ".join(e["hooks"]) or "no hooks"
            click.echo(f"{e['group']}: {e['entry_point']} = {e['value']} ({e['distribution']} {e['version']}): {hooks}")
        return
    result = subprocess.run([str(script), "list-modules", "--versions", "--packages"], check=False)
    click.get_current_context().exit(result.returncode)


@cli.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@input_options
@click.argument("corehost_args", nargs=-1, type=click.UNPROCESSED)
def run_command(corehost_args: tuple[str, ...], **params: Any) -> None:
    """Build (or reuse) a development environment and run corehost in it: run --with ./p -- ARGS.

    Required: the plugins, with --with or --plugins-dir (or a build file, -c);
    everything after -- goes to corehost (to the host's own command with
    --host datasette, llm, pytest or another pluggy application).

    \b
    Example:
      corehost-build run --with ./plugins/greet --with ./plugins/greeter-zh -- greet Bob --lang zh
    """
    script = _dev_script(params, Progress(quiet=params["quiet"]))
    result = subprocess.run([str(script), *corehost_args], check=False)
    click.get_current_context().exit(result.returncode)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--namespace", required=True, metavar="NS", help="The namespace the module implements, e.g. greeters.")
@click.option("--module", "module_name", metavar="NAME", help="The module's name in NS (default: NAME's last part).")
@click.option("--dir", "directory", default=".", show_default=True, help="Where the project folder goes.")
@input_options
def new_plugin_command(name: str, namespace: str, module_name: str | None, directory: str, **params: Any) -> None:
    """Write a complete plugin project whose module already satisfies NS's interface.

    The interface is read where its owner is installed: pass the owner with --with
    (e.g. --with ./plugins/greet) unless it is installed beside corehost-build.
    Required: NAME and --namespace.

    \b
    Example:
      corehost-build new-plugin greeter-pirate --namespace greeters --with ./plugins/greet
    """
    from corehost_build.scaffold import describe, new_plugin

    has_inputs = params["with_"] or params["plugins_dirs"] or params["buildfile"]
    # The environment is only the means to read the interface: its build steps are not the user's business.
    python = _dev_env(params, Progress(quiet=True)) / "bin" / "python" if has_inputs else Path(sys.executable)
    info = describe(python, namespace)
    wheelhouse = Path(params["find_links"][0]).resolve() if params["find_links"] else None
    dest = new_plugin(name, namespace, module_name, Path(directory) / name, info, wheelhouse)
    click.echo(f"wrote {dest}")


@cli.command("wheels")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--output", "-o", required=True, metavar="DIR", help="The wheelhouse folder (required; made if missing).")
@click.option("--no-host", is_flag=True, help="Leave out the corehost this builder runs with.")
@click.option("--offline", is_flag=True, help="Use only local files and uv's cache.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def wheels_command(paths: tuple[str, ...], output: str, no_host: bool, offline: bool, quiet: bool) -> None:
    """Build project folders (and copy wheels) into DIR, for pip's and the builder's --find-links.

    corehost and its plugins are not on a public index; a wheelhouse lets a plugin outside
    this repository install and bundle them. The corehost this builder runs with is added.
    Required: at least one PATH, and --output DIR.

    \b
    Example:
      corehost-build wheels ./plugins/* -o wheelhouse/
    """
    from corehost_build.wheelhouse import build_wheelhouse

    progress = Progress(quiet=quiet)
    placed = build_wheelhouse(paths, Path(output), base=Path.cwd(), include_host=not no_host, offline=offline,
                              progress=progress)  # fmt: skip
    for wheel in placed:
        click.echo(str(wheel))


def main(args: Sequence[str] | None = None) -> int:
    """Run the CLI (``args``, else the process's own); the exit code, for callers that are not a console script."""
    try:
        cli.main(None if args is None else list(args), prog_name="corehost-build")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0


def entry() -> None:
    """Console-script entry point: the command, then the process ends without the interpreter's teardown.

    Freeing every module and object the command loaded (10-30 ms for a
    build) serves nothing when the process ends anyway, so what is left to
    do at exit is done here, and the process exits with the command's code:
    the ``atexit`` functions (the bytecode workers, temporary folders) run,
    and stdout and stderr are flushed. A thread still running, or an output
    that cannot be flushed, leaves the exit to the interpreter as usual.
    """
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        sys.exit(code)
    os._exit(code)
