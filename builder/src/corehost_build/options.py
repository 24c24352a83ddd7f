"""Every input of a build, declared once: its flag, its build-file key, its default.

The click options of every command, the keys a build file may hold and
the values a :class:`~corehost_build.request.BuildRequest` gets are all made
from :data:`OPTIONS`, so an option cannot mean one thing on the command
line and another in a build file. Precedence is decided here too, from
what click says about where a value came from
(``ctx.get_parameter_source``): the command line beats the build file,
which beats the default. Repeatable options add up instead (a build file's
plugins plus those on the command line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from corehost_build.errors import BuildFileError

F = TypeVar("F", bound=Callable[..., Any])

Placed = tuple[str, Path]  # a value and the folder it is relative to

#: Seconds the interface guards may take (``--guard-timeout``).
DEFAULT_TIMEOUT = 120.0

#: Kinds of value, each read the same way from a flag and from a build file.
SPECS = "specs"  # repeatable; each value is a spec or path, relative to where it was written
NAMES = "names"  # repeatable; distribution names
REPLACES = "replaces"  # repeatable NAME=PATH; a table of NAME = "PATH" in a build file
PLACE = "place"  # one spec or path, relative to where it was written
HOST = "host"  # a PLACE; in a build file also a [host] table describing a foreign host (kept as written)
TEXT = "text"  # one string taken as written
INTERPRETER = "interpreter"  # a Python interpreter: a name on PATH, or a path
SWITCH = "switch"  # true or false
SECONDS = "seconds"  # a positive number of seconds


@dataclass(frozen=True)
class Option:
    """One input of a build: how it is written as a flag and as a build-file key, and its default."""

    #: The field of :class:`~corehost_build.request.RawInputs` and of the ``BuildRequest`` it fills.
    name: str
    flag: str
    key: str
    kind: str
    help: str
    metavar: str | None = None
    default: Any = None
    short: str | None = None
    #: Only ``build`` takes it: the development commands choose their own destination.
    build_only: bool = False
    #: Kept in the build record's inputs (``corehost build-info``): what decides the plugin set.
    recorded: bool = False
    #: The flag turns the value off (``--no-pip``; the build-file key ``pip`` says it directly).
    negated: bool = False

    @property
    def repeatable(self) -> bool:
        return self.kind in (SPECS, NAMES, REPLACES)

    @property
    def dest(self) -> str:
        """The click parameter's name (a negated flag's value is the opposite of the option's)."""
        return f"no_{self.name}" if self.negated else self.name

    def click_option(self) -> Callable[[F], F]:
        names = [self.flag, *([self.short] if self.short else []), self.dest]
        if self.kind == SWITCH:
            return click.option(*names, is_flag=True, help=self.help)
        if self.kind == SECONDS:
            return click.option(
                *names, type=float, default=self.default, show_default=True, metavar=self.metavar, help=self.help
            )
        return click.option(*names, multiple=self.repeatable, metavar=self.metavar, help=self.help)

    def from_flag(self, value: Any, here: Path) -> Any:
        """The value of this option as given on the command line in folder ``here``."""
        if self.kind in (SPECS, REPLACES):
            return [(v, here) for v in value]
        if self.kind == NAMES:
            return list(value)
        if self.kind in (PLACE, HOST):
            return (value, here)
        if self.kind == SWITCH:
            return not value if self.negated else bool(value)
        return value

    def words(self, value: Any) -> list[str]:
        """The option as the user wrote it on the command line (``value`` as :meth:`from_flag` made it)."""
        values = value if self.repeatable else [value]
        return [f"{self.flag} {v[0] if isinstance(v, tuple) else v}" for v in values]

    def from_file(self, value: Any, base: Path, where: str) -> Any:
        """The value of this option's key in a build file whose folder is ``base``; wrong types are named."""
        if self.kind in (SPECS, NAMES):
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise BuildFileError(f"{where}: expected a string or a list of strings, got {value!r}.")
            return values if self.kind == NAMES else [(v, base) for v in values]
        if self.kind == REPLACES:
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise BuildFileError(f'{where}: expected a table of NAME = "PATH", got {value!r}.')
            return [(f"{name}={target}", base) for name, target in value.items()]
        if self.kind == HOST and isinstance(value, dict):
            return value
        if self.kind in (PLACE, TEXT, HOST):
            if not isinstance(value, str):
                raise BuildFileError(f"{where}: expected a string, got {value!r}.")
            return value if self.kind == TEXT else (value, base)
        if self.kind == INTERPRETER:
            if not isinstance(value, str):
                raise BuildFileError(f"{where}: expected the path of a Python interpreter, got {value!r}.")
            # A bare name is looked up on PATH; a relative path is the build file's, like every path in it.
            return str(base / value) if "/" in value and not value.startswith("/") else value
        if self.kind == SWITCH:
            if not isinstance(value, bool):
                raise BuildFileError(f"{where}: expected true or false, got {value!r}.")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise BuildFileError(f"{where}: expected a number of seconds, got {value!r}.")
        return float(value)


#: Every input, in the order ``--help`` lists them.
OPTIONS: tuple[Option, ...] = (
    Option("with_", "--with", "with", SPECS, recorded=True, metavar="SPEC",
           help="A plugin: name, name==1.2.0, 'name>=1,<2', a project folder or a wheel. Repeat for more."),
    Option("plugins_dirs", "--plugins-dir", "plugins-dir", SPECS, recorded=True, metavar="DIR",
           help="Take every plugin project and wheel in DIR."),
    Option("allow_plain", "--allow-plain", "allow-plain", NAMES, recorded=True, metavar="NAME",
           help="Let --with NAME be a plain dependency that provides no module, namespace, hook or host."),
    Option("host", "--host", "host", HOST, recorded=True, metavar="SPEC",
           help="The host: a corehost (default: the builder's own), a host application, or a pluggy "
                "application such as datasette, llm or pytest."),
    Option("replace", "--replace", "replace", REPLACES, recorded=True, metavar="NAME=PATH",
           help="Swap dependency NAME for a local project or wheel."),
    Option("find_links", "--find-links", "find-links", SPECS, recorded=True, metavar="DIR",
           help="Also look for wheels in DIR."),
    Option("offline", "--offline", "offline", SWITCH, default=False, help="Use only local files and uv's cache."),
    Option("python", "--python", "python", INTERPRETER, metavar="PATH",
           help="Interpreter of the environment (default: this one)."),
    Option("pip", "--no-pip", "pip", SWITCH, default=True, negated=True, help="Leave pip out of the environment."),
    Option("compile_bytecode", "--compile", "compile", SWITCH, default=False,
           help="Compile every package to bytecode."),
    Option("guard_timeout", "--guard-timeout", "guard-timeout", SECONDS, default=DEFAULT_TIMEOUT,
           help="Seconds the interface guards may take."),
    Option("isolate", "--isolate", "isolate", NAMES, build_only=True, recorded=True, metavar="MODULE_ID",
           help="Check that MODULE_ID can run in its own process (isolation = \"process\"): every call of its "
                "interface must cross the process boundary, or the build fails naming the method. Repeat for more."),
    Option("venv", "--venv", "venv", PLACE, build_only=True, metavar="DIR",
           help="Where the environment goes (replaced only if the build succeeds)."),
    Option("output", "--output", "output", PLACE, build_only=True, short="-o", metavar="FILE",
           help="Build ONE file instead: a zipapp bundle, e.g. dist/corehost.pyz."),
    Option("python_version", "--python-version", "python-version", TEXT, build_only=True, recorded=True,
           metavar="X.Y", help="Bundle for this Python version (must match --python)."),
    Option("platform", "--platform", "platform", TEXT, build_only=True, recorded=True, metavar="PLATFORM",
           help="Bundle for this platform (uv's names, e.g. aarch64-manylinux_2_28)."),
    Option("lock", "--lock", "lock", PLACE, build_only=True, metavar="FILE",
           help="Write the resolved set as a PEP 751 pylock.toml."),
    Option("from_lock", "--from-lock", "from-lock", PLACE, build_only=True, recorded=True, metavar="FILE",
           help="Install exactly this pylock.toml, resolving nothing."),
    Option("upgrade", "--upgrade", "upgrade", SWITCH, default=False, build_only=True,
           help="Resolve again, taking the newest releases allowed (a rebuild otherwise keeps its last lock)."),
    Option("upgrade_packages", "--upgrade-package", "upgrade-package", NAMES, build_only=True, metavar="NAME",
           help="Resolve again, moving only NAME to its newest allowed release. Repeat for more."),
)  # fmt: skip

BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}


def input_options(f: F) -> F:
    """Every command's options that say what goes into an environment, then ``-c`` and ``-q``."""
    decorators = [o.click_option() for o in OPTIONS if not o.build_only]
    decorators += [
        click.option("-c", "--config", "buildfile", type=click.Path(dir_okay=False), help="A build file (TOML)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress on stderr."),
    ]
    for decorate in reversed(decorators):
        f = decorate(f)
    return f


def destination_options(f: F) -> F:
    """``build``'s own options: where the build goes, the target, the lock."""
    for option in reversed([o for o in OPTIONS if o.build_only]):
        f = option.click_option()(f)
    return f


def given_on_command_line(ctx: click.Context, params: Mapping[str, Any], here: Path) -> dict[str, Any]:
    """The options the user typed (by option name, as values), leaving out every default click filled in."""
    given: dict[str, Any] = {}
    for option in OPTIONS:
        if option.dest not in params or ctx.get_parameter_source(option.dest) in (None, ParameterSource.DEFAULT):
            continue
        given[option.name] = option.from_flag(params[option.dest], here)
    return given
