"""The ``corehost-build`` command line: thin click commands over plain functions.

Every error the builder means to report is a :class:`CorehostError`; it is
printed as one paragraph (and, with ``--json``, as ``{"ok": false, ...}`` on
stdout) with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from corehost.errors import CorehostError
from corehost_build import __version__
from corehost_build.build import BuildRequest, build
from corehost_build.buildfile import load_buildfile
from corehost_build.guards import DEFAULT_TIMEOUT
from corehost_build.progress import Progress
from corehost_build.request import RawInputs, to_request

F = TypeVar("F", bound=Callable[..., Any])


def input_options(f: F) -> F:
    """The options that say what goes into an environment, shared by every command."""
    options = [
        click.option("--with", "with_", multiple=True, metavar="SPEC",
                     help="A plugin: name, name==1.2.0, 'name>=1,<2', a project folder or a wheel."),
        click.option("--plugins-dir", multiple=True, metavar="DIR",
                     help="Take every plugin project and wheel in DIR."),
        click.option("--host", metavar="SPEC", help="The corehost to build on (default: the builder's own)."),
        click.option("--replace", multiple=True, metavar="NAME=PATH",
                     help="Swap dependency NAME for a local project or wheel."),
        click.option("--find-links", multiple=True, metavar="DIR", help="Also look for wheels in DIR."),
        click.option("--offline", is_flag=True, help="Use only local files and uv's cache."),
        click.option("--python", metavar="PATH", help="Interpreter of the environment (default: this one)."),
        click.option("--no-pip", is_flag=True, help="Leave pip out of the environment."),
        click.option("--compile", "compile_bytecode", is_flag=True, help="Compile every package to bytecode."),
        click.option("--guard-timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
                     help="Seconds the interface guards may take."),
        click.option("-c", "--config", "buildfile", type=click.Path(dir_okay=False), help="A build file (TOML)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress on stderr."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def _raw(params: dict[str, Any]) -> RawInputs:
    """Flags (and the build file they name) as one :class:`RawInputs`."""
    here = Path.cwd()
    words = [f"--with {w}" for w in params["with_"]]
    words += [f"--plugins-dir {d}" for d in params["plugins_dir"]]
    words += [f"--replace {r}" for r in params["replace"]]
    words += [f"--find-links {d}" for d in params["find_links"]]
    for flag in ("host", "from_lock", "python_version", "platform"):
        if params.get(flag):
            words.append(f"--{flag.replace('_', '-')} {params[flag]}")
    flags = RawInputs(
        with_=[(w, here) for w in params["with_"]],
        plugins_dirs=[(d, here) for d in params["plugins_dir"]],
        host=(params["host"], here) if params["host"] else None,
        venv=(params["venv"], here) if params.get("venv") else None,
        output=(params["output"], here) if params.get("output") else None,
        lock=(params["lock"], here) if params.get("lock") else None,
        from_lock=(params["from_lock"], here) if params.get("from_lock") else None,
        replace=[(r, here) for r in params["replace"]],
        find_links=[(d, here) for d in params["find_links"]],
        offline=params["offline"],
        python=params["python"],
        pip=not params["no_pip"],
        compile_bytecode=params["compile_bytecode"],
        guard_timeout=params["guard_timeout"],
        python_version=params.get("python_version"),
        platform=params.get("platform"),
        words=words,
    )
    if params.get("buildfile"):
        return load_buildfile(Path(params["buildfile"])).merge(flags)
    return flags


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corehost-build")
def cli() -> None:
    """corehost-build: resolve plugins into a locked, guarded corehost environment."""


@cli.command("build")
@input_options
@click.option("--venv", metavar="DIR", help="Where the environment goes (replaced only if the build succeeds).")
@click.option("--output", "-o", metavar="FILE", help="Build ONE file instead: a zipapp bundle, e.g. dist/corehost.pyz.")
@click.option("--python-version", metavar="X.Y", help="Bundle for this Python version (must match --python).")
@click.option(
    "--platform", metavar="PLATFORM", help="Bundle for this platform (uv's names, e.g. aarch64-manylinux_2_28)."
)
@click.option("--lock", metavar="FILE", help="Write the resolved set as a PEP 751 pylock.toml.")
@click.option("--from-lock", metavar="FILE", help="Install exactly this pylock.toml, resolving nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
def build_command(as_json: bool, **params: Any) -> None:
    """Resolve, lock, install, guard and freeze a plugin set into --venv or --output."""
    click.get_current_context().meta["corehost_build.json"] = as_json
    progress = Progress(quiet=params["quiet"])
    result = build(to_request(_raw(params)), progress)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        progress.say(
            f"built {result.artifact} in {result.seconds:.2f} s: {len(result.packages)} packages, "
            f"{len(result.modules)} modules"
        )


@cli.command("verify")
@click.argument("bundle", metavar="BUNDLE")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result on stdout.")
def verify_command(bundle: str, as_json: bool) -> None:
    """Re-check a built bundle (a --venv folder or a .pyz) against its build record; list every difference."""
    from corehost_build.verify import verify

    click.get_current_context().meta["corehost_build.json"] = as_json
    done = verify(Path(bundle))
    if as_json:
        click.echo(json.dumps({"ok": True, "bundle": str(done.bundle), "kind": done.kind, "files": done.files}))
    else:
        click.echo(f"{done.bundle}: OK, {done.files} files of {done.packages} packages match the build record")


def _dev_env(params: dict[str, Any]) -> Path:
    from corehost_build.devenv import dev_environment

    progress = Progress(quiet=params["quiet"])
    raw = _raw({**params, "venv": None, "output": None, "lock": None, "from_lock": None})
    request: BuildRequest = to_request(raw, venv=Path("."))
    venv, _ = dev_environment(request, progress)
    return venv


@cli.command("list-modules")
@input_options
def list_modules_command(**params: Any) -> None:
    """Build (or reuse) a development environment and list what it contains."""
    venv = _dev_env(params)
    result = subprocess.run([str(venv / "bin" / "corehost"), "list-modules", "--versions", "--packages"], check=False)
    sys.exit(result.returncode)


@cli.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@input_options
@click.argument("corehost_args", nargs=-1, type=click.UNPROCESSED)
def run_command(corehost_args: tuple[str, ...], **params: Any) -> None:
    """Build (or reuse) a development environment and run corehost in it: run --with ./p -- ARGS."""
    venv = _dev_env(params)
    result = subprocess.run([str(venv / "bin" / "corehost"), *corehost_args], check=False)
    sys.exit(result.returncode)


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
    """
    from corehost_build.scaffold import describe, new_plugin

    has_inputs = params["with_"] or params["plugins_dir"] or params["buildfile"]
    python = _dev_env(params) / "bin" / "python" if has_inputs else Path(sys.executable)
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
    """Run the CLI; every builder error becomes one paragraph and an exit code."""
    argv = list(sys.argv[1:] if args is None else args)
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        result = cli.main(argv, prog_name="corehost-build", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("corehost-build: aborted", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except CorehostError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": exc.message, "kind": type(exc).__name__}, indent=2))
        click.echo(f"corehost-build: error: {exc.message}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("corehost-build: interrupted; the destination was left as it was", err=True)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
