"""The guards of a foreign (pluggy) host, run inside the target interpreter.

The builder runs this file by path, ``python -I foreign_target.py COMMAND
ARG``, with the interpreter the artifact will run on, so it imports only the
standard library and pluggy, and runs on Python 3.8 and later: the target
has no corehost and no ``packaging``. It answers one JSON object on stdout
(``{"foreign": FORMAT, ...}``); :mod:`corehost_build.foreignprobe` is its
only reader.

``inspect HOST_JSON`` loads the host's hookspecs into a ``PluginManager``
of the host's project, imports every entry point of the host's groups, and
reports every problem pluggy would raise (or silently ignore) when the
host loads them, all at once, as :class:`corehost.problems.Problem` JSON.
Nothing of a plugin runs but its import (and, for pytest, its
``pytest_addhooks``, which pytest also runs at registration).

``describe DISTRIBUTION`` imports the distribution's console scripts with
pluggy's ``PluginManager`` watched, to find the host's project name,
hookspec modules and entry-point groups without loading any plugin.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import json
import os
import platform
import re
import sys
import traceback
import types
from typing import Any

#: The answer's format: a builder reads only the format it was released with.
FORMAT = 1
#: Written to stderr before each import, so a run killed by the timeout names what it was importing.
ANNOUNCE = "corehost-build foreign guards: importing "

_HOOKIMPL_OPTIONS = ("hookwrapper", "wrapper", "optionalhook", "tryfirst", "trylast", "specname")


class Refusal(Exception):
    """The question cannot be answered in this environment (no pluggy, the host is not installed)."""


def canonical(name: str) -> str:
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _announce(what: str) -> None:
    sys.stderr.write(ANNOUNCE + what + "\n")
    sys.stderr.flush()


def _distributions() -> list[Any]:
    """The installed distributions, each once: the first on ``sys.path`` wins, as an import would."""
    import importlib.metadata as metadata

    seen, found = set(), []
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) not in seen:
            seen.add(canonical(name))
            found.append(dist)
    return found


def _resolve(target: str) -> Any:
    """The module, or ``module:Class`` attribute, that ``target`` names."""
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


def _failure(exc: BaseException) -> str:
    """``Type: message (at file:line, in function)`` for an exception raised while importing a plugin."""
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" (at {exc.filename}:{exc.lineno})"
    else:
        # The import machinery's frames and this script's say nothing about the plugin: the last other one does.
        machinery = (os.path.dirname(importlib.__file__) + os.sep, "<frozen ", __file__)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(machinery)]
        if frames:
            last = frames[-1]
            where = f" (at {last.filename}:{last.lineno}, in {last.name})"
    message = str(exc).strip() or "(no message)"
    return f"{type(exc).__name__}: {message}{where}"


def _manager(pluggy: Any, host: dict[str, Any]) -> Any:
    """A ``PluginManager`` of the host's project that finds hookimpls and hookspecs the way the host does.

    With an ``impl_prefix`` (pytest), functions named with it are
    hookimpls and hookspecs even unmarked, their options read from
    attributes and marks of those names: ``PytestPluginManager``'s rule.
    """
    prefix = host.get("impl_prefix") or ""
    if not prefix:
        return pluggy.PluginManager(host["project"])

    def legacy(method: Any, names: tuple[str, ...]) -> dict[str, Any]:
        marks = {getattr(m, "name", "") for m in getattr(method, "pytestmark", [])}
        return {name: hasattr(method, name) or name in marks for name in names}

    class PrefixManager(pluggy.PluginManager):  # type: ignore[misc]
        def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
            # A module's list of further plugin modules shares the prefix but is no hook.
            if not name.startswith(prefix) or name == prefix + "plugins":
                return None
            opts = super().parse_hookimpl_opts(plugin, name)
            if opts is not None:
                return opts
            method = getattr(plugin, name, None)
            if not inspect.isroutine(method):
                return None
            return legacy(method, ("tryfirst", "trylast", "optionalhook", "hookwrapper"))

        def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
            opts = super().parse_hookspec_opts(module_or_class, name)
            if opts is None and name.startswith(prefix):
                method = getattr(module_or_class, name, None)
                if inspect.isroutine(method):
                    opts = legacy(method, ("firstresult", "historic"))
            return opts

    return PrefixManager(host["project"])


def _hookimpl_class(pluggy: Any) -> Any:
    found = getattr(pluggy, "HookImpl", None)
    if found is None:
        from pluggy import _hooks  # pluggy 1.0 keeps it private

        found = _hooks.HookImpl
    return found


class Plugin:
    """One entry point of the host's groups, and what became of it."""

    def __init__(self, dist: Any, entry_point: Any) -> None:
        self.distribution: str = dist.metadata["Name"]
        self.version: str = dist.version
        self.name: str = entry_point.name
        self.group: str = entry_point.group
        self.value: str = entry_point.value
        self.entry_point = entry_point
        self.obj: Any = None
        self.loaded = False
        self.hooks: set[str] = set()

    @property
    def where(self) -> str:
        """How a message names it: the distribution, its version and the entry point."""
        return f"{self.distribution} {self.version}, entry point '{self.name} = {self.value}' in group '{self.group}'"

    def problem(self, kind: str, name: str, message: str, severity: str = "error", **extra: str) -> dict[str, str]:
        """A problem in :meth:`corehost.problems.Problem.to_json`'s form, about this plugin."""
        found = {
            "severity": severity,
            "distribution": self.distribution,
            "kind": kind,
            "name": name,
            "message": f"{self.where}: {message}",
            "version": self.version,
            "target": self.value,
        }
        found.update(extra)
        return found


def _host_problem(host: dict[str, Any], version: str, message: str, severity: str = "error") -> dict[str, str]:
    """A problem about the host itself (its description, its own plugins), in ``Problem.to_json``'s form."""
    return {"severity": severity, "distribution": host["distribution"], "kind": "host", "name": host["name"],
            "message": message, "version": version}  # fmt: skip


def _refused(reason: str) -> str:
    return f"pluggy refuses it when it is registered: {reason.rstrip('.')}. Fix the plugin, or leave it out."


def _spec_names(pm: Any) -> list[str]:
    return sorted(name for name, hook in vars(pm.hook).items() if not name.startswith("_") and hook.has_spec())


def _did_you_mean(word: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _hookimpls(pm: Any, obj: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """Every hookimpl of ``obj`` as the host's manager finds it: attribute name, options, function."""
    found = []
    for attr in dir(obj):
        try:
            opts = pm.parse_hookimpl_opts(obj, attr)
        except Exception:  # an attribute that cannot be read is no hookimpl, as pluggy's register finds too
            continue
        if opts is None:
            continue
        opts = dict(opts)
        for option in _HOOKIMPL_OPTIONS:
            opts.setdefault(option, None if option == "specname" else False)
        found.append((attr, opts, getattr(obj, attr)))
    return found


def _check_hookimpl(pm: Any, pluggy: Any, plugin: Plugin, attr: str, opts: dict[str, Any], function: Any) -> list[Any]:
    """What pluggy would reject (or silently never call) in one hookimpl; see ``PluginManager._verify_hook``."""
    hook_name = opts.get("specname") or attr
    plugin.hooks.add(hook_name)
    hook = getattr(pm.hook, hook_name, None)
    if hook is None or not hook.has_spec():
        if opts.get("optionalhook"):
            return []
        specs = _spec_names(pm)
        fix = (
            "Rename the function to the hook it implements"
            + (" (or its specname= to it)" if opts.get("specname") else "")
            + ", or mark it optionalhook=True if it is meant for a hook that may be absent"
        )
        return [
            plugin.problem(
                "hookimpl",
                hook_name,
                f"no hookspec of {pm.project_name} is named {hook_name!r}{_did_you_mean(hook_name, specs)}, so "
                f"{pm.project_name} never calls it. {fix}.",
                plugin=plugin.name,
            )
        ]
    impl = _hookimpl_class(pluggy)(plugin.obj, plugin.name, function, opts)
    spec = hook.spec
    problems = []
    wrapper = bool(opts.get("wrapper") or opts.get("hookwrapper"))
    kind = "wrapper=True" if opts.get("wrapper") else "hookwrapper=True"

    def add(message: str, severity: str = "error") -> None:
        text = message if message.endswith(".") else message + "."
        problems.append(plugin.problem("hookimpl", hook_name, text, severity, plugin=plugin.name))

    if hook.is_historic() and wrapper:
        add(
            f"the hook {hook_name!r} is historic (called again for every plugin registered later), which pluggy "
            f"refuses for a wrapper; this hookimpl is declared {kind}. Drop {kind} and return the result instead"
        )
    lacking = sorted(set(impl.argnames) - set(spec.argnames) - set(getattr(spec, "kwargnames", ())))
    if lacking:
        accepted = ", ".join(list(spec.argnames) + list(getattr(spec, "kwargnames", ()))) or "none"
        add(
            f"argument(s) {', '.join(lacking)} of {attr}() are not in the hookspec of {hook_name!r} (it passes: "
            f"{accepted}); pluggy refuses the plugin when it is registered, so every command of "
            f"{pm.project_name} would fail. Remove or rename the argument(s)"
        )
    if wrapper and not inspect.isgeneratorfunction(function):
        add(
            f"{attr}() is declared {kind} but is not a generator function (it has no 'yield'), which pluggy "
            "refuses when the plugin is registered. Yield once where the other hookimpls run, or drop "
            f"{kind}"
        )
    if opts.get("wrapper") and opts.get("hookwrapper"):
        add(
            f"{attr}() is declared both wrapper=True and hookwrapper=True, which pluggy refuses; keep one "
            "(wrapper=True for a new-style wrapper)"
        )
    if not problems:
        # Whatever else this pluggy checks (a later release may check more) is reported in its own words.
        try:
            pm._verify_hook(hook, impl)
        except pluggy.PluginValidationError as exc:
            add(_refused(" ".join(str(exc).split())))
        except Exception:  # a pluggy whose private check differs is checked by the rules above alone
            pass
    warn = getattr(spec, "warn_on_impl", None)
    if warn is not None:
        add(f"{pm.project_name} deprecates the hook {hook_name!r}: {warn}", severity="warning")
    return problems


def _addhooks(pm: Any, host: dict[str, Any], version: str, plugins: list[Plugin], builtins: list[Any]) -> list[Any]:
    """Let each plugin add its hookspecs through the host's addhooks hook, as pytest does at registration.

    Every plugin adds its hookspecs before any hookimpl is checked, so a
    plugin implementing a hook another plugin adds passes whichever of the
    two loads first.
    """
    hook_name = host.get("addhooks") or ""
    problems: list[Any] = []
    if not hook_name:
        return problems
    owners: list[tuple[Plugin | None, Any]] = [(None, b) for b in builtins]
    owners += [(p, p.obj) for p in plugins if p.loaded]
    for plugin, obj in owners:
        try:
            opts = pm.parse_hookimpl_opts(obj, hook_name)
        except Exception:  # an attribute that cannot be read is no hookimpl, as in _hookimpls
            opts = None
        if opts is None:
            continue
        function = getattr(obj, hook_name)
        try:
            wanted = inspect.signature(function).parameters
            function(**{"pluginmanager": pm} if "pluginmanager" in wanted else {})
        except Exception as exc:
            failed = f"{hook_name}() fails, so the hookspecs it adds are missing: {_failure(exc)}."
            if plugin is None:
                problems.append(_host_problem(host, version, f"its own plugin {obj.__name__!r}: {failed}", "warning"))
            else:
                fix = f"{host['name']} would fail to start with it. Fix the plugin, or leave it out."
                problems.append(plugin.problem("hookimpl", hook_name, f"{failed} {fix}", plugin=plugin.name))
    return problems


def _requirements(distribution: str) -> list[dict[str, Any]]:
    """Every installed distribution's declared requirements on ``distribution``, as written."""
    wanted, found = canonical(distribution), []
    for dist in _distributions():
        if canonical(dist.metadata["Name"]) == wanted:
            continue
        mine = []
        for requirement in dist.requires or ():
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match and canonical(match.group(1)) == wanted:
                mine.append(requirement)
        if mine:
            found.append({"distribution": dist.metadata["Name"], "version": dist.version, "requirements": mine})
    return found


def environment() -> dict[str, str]:
    """The values requirement markers are evaluated against here (``packaging.markers.default_environment``)."""
    version = sys.implementation.version
    implementation_version = f"{version.major}.{version.minor}.{version.micro}"
    if version.releaselevel != "final":
        implementation_version += version.releaselevel[0] + str(version.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _import_pluggy() -> Any:
    try:
        import pluggy
    except ImportError:
        raise Refusal("pluggy is not installed in this environment, so no pluggy host can run here") from None
    return pluggy


def _host_version(distribution: str) -> str:
    import importlib.metadata as metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        raise Refusal(f"the host distribution {distribution!r} is not installed in this environment") from None


def inspect_host(host: dict[str, Any]) -> dict[str, Any]:
    """Every problem the host's plugins have, the plugins themselves, and what the builder checks for versions.

    The host's own ``PluginManager`` loads no entry point meanwhile
    (:class:`_Watch`): a module of the host imported here (a builtin, or
    one a plugin imports) may load the plugins when imported, as
    ``datasette.plugins`` does, and the first bad one would stop the run.
    """
    pluggy = _import_pluggy()
    with _Watch(pluggy):
        return _inspect(pluggy, host)


def _inspect(pluggy: Any, host: dict[str, Any]) -> dict[str, Any]:
    version = _host_version(host["distribution"])
    pm = _manager(pluggy, host)
    problems: list[Any] = []
    for target in host["hookspecs"]:
        try:
            pm.add_hookspecs(_resolve(target))
        except Exception as exc:
            message = (
                f"its hookspecs {target!r} cannot be added ({_failure(exc)}); the host description names the wrong "
                "module, or this version of the host moved it. Fix 'hookspecs' in the [host] table."
            )
            problems.append(_host_problem(host, version, message))
    builtins = []
    for target in host.get("builtins", ()):
        try:
            builtins.append(_resolve(target))
        except Exception as exc:
            message = (
                f"its own plugin module {target!r} does not import ({_failure(exc)}); its hooks are left out of "
                "these checks. Fix 'builtins' in the host description if this version of the host lacks it."
            )
            problems.append(_host_problem(host, version, message, "warning"))
    plugins: list[Plugin] = []
    by_name: dict[str, Plugin] = {}
    groups = list(host["groups"])
    for dist in _distributions():
        for entry_point in dist.entry_points:
            if entry_point.group not in groups:
                continue
            plugin = Plugin(dist, entry_point)
            plugins.append(plugin)
            first = by_name.get(plugin.name)
            if first is not None:
                problems.append(
                    plugin.problem(
                        "plugin",
                        plugin.name,
                        f"the plugin name {plugin.name!r} is taken by {first.where}; pluggy registers one plugin "
                        f"per name, so {host['name']} would silently never load this one. One of the two must "
                        "rename its entry point, or leave one distribution out.",
                    )
                )
                continue
            by_name[plugin.name] = plugin
            _announce(f"{plugin.name} = {plugin.value} ({plugin.distribution} {plugin.version})")
            try:
                plugin.obj = entry_point.load()
                plugin.loaded = True
            except (Exception, SystemExit) as exc:
                problems.append(
                    plugin.problem(
                        "plugin",
                        plugin.name,
                        f"it fails to import: {_failure(exc)}. {host['name']} would fail to start (pluggy loads "
                        "every plugin at start-up). Fix the import, add the missing dependency to the plugin's "
                        "requirements, or leave the plugin out.",
                    )
                )
    problems += _addhooks(pm, host, version, plugins, builtins)
    for builtin in builtins:
        try:
            pm.register(builtin)
        except Exception as exc:
            message = f"its own plugin {builtin.__name__!r} does not register: {exc}."
            problems.append(_host_problem(host, version, message, "warning"))
    by_object: dict[int, Plugin] = {}
    for plugin in plugins:
        if not plugin.loaded:
            continue
        first = by_object.setdefault(id(plugin.obj), plugin)
        if first is not plugin:
            problems.append(
                plugin.problem(
                    "plugin",
                    plugin.name,
                    f"it loads the object {first.where} loads, and pluggy refuses to register one plugin twice, so "
                    f"{host['name']} would fail to start. Keep one of the two entry points.",
                )
            )
            continue
        found = []
        for attr, opts, function in _hookimpls(pm, plugin.obj):
            found += _check_hookimpl(pm, pluggy, plugin, attr, opts, function)
        problems += found
        # Registering is what the host does next: whatever pluggy refuses there and the checks above did not
        # name (a plugin object registered twice, a rule of a newer pluggy) is reported in pluggy's words.
        try:
            pm.register(plugin.obj, name=plugin.name)
        except pluggy.PluginValidationError as exc:
            if not any(p["severity"] == "error" for p in found):
                problems.append(plugin.problem("plugin", plugin.name, _refused(" ".join(str(exc).split()))))
        except ValueError as exc:
            # pluggy's message goes on with every registered plugin; its first line says what is wrong.
            problems.append(plugin.problem("plugin", plugin.name, _refused(str(exc).splitlines()[0])))
    listing = [
        {
            "distribution": p.distribution,
            "version": p.version,
            "entry_point": p.name,
            "group": p.group,
            "value": p.value,
            "hooks": sorted(p.hooks),
        }
        for p in plugins
    ]
    return {
        "host_version": version,
        "pluggy": getattr(pluggy, "__version__", ""),
        "problems": problems,
        "plugins": sorted(listing, key=lambda p: (canonical(p["distribution"]), p["group"], p["entry_point"])),
        "requirements": _requirements(host["distribution"]),
        "environment": environment(),
    }


class _Watch:
    """pluggy's ``PluginManager`` watched while a host imports: the managers made, the groups it loads.

    Loading is recorded, not done: neither describing a host nor checking
    its plugins may let the host load them itself (a broken one would stop
    the run before it could be reported).
    """

    def __init__(self, pluggy: Any) -> None:
        self.cls = pluggy.PluginManager
        self.managers: list[tuple[Any, str]] = []
        self.groups: dict[int, list[str]] = {}

    def __enter__(self) -> _Watch:
        watch, original_init = self, self.cls.__init__
        self.original = (original_init, self.cls.load_setuptools_entrypoints)

        def init(manager: Any, *args: Any, **kwargs: Any) -> None:
            original_init(manager, *args, **kwargs)
            frame = sys._getframe(1)
            while (
                frame.f_back is not None
                and frame.f_code.co_name == "__init__"
                and frame.f_locals.get("self") is manager
            ):
                frame = frame.f_back
            watch.managers.append((manager, str(frame.f_globals.get("__name__", ""))))

        def load(manager: Any, group: str, name: Any = None) -> int:
            watch.groups.setdefault(id(manager), []).append(group)
            return 0

        self.cls.__init__ = init
        self.cls.load_setuptools_entrypoints = load
        return self

    def __exit__(self, *exc: object) -> None:
        self.cls.__init__, self.cls.load_setuptools_entrypoints = self.original


def _groups_in_source(module: types.ModuleType) -> list[str]:
    """The groups a module passes to ``load_setuptools_entrypoints`` in its source, as literals or its constants."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        if node.func.attr != "load_setuptools_entrypoints":
            continue
        arg = node.args[0]
        value = None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            value = arg.value
        elif isinstance(arg, ast.Name) and isinstance(getattr(module, arg.id, None), str):
            value = getattr(module, arg.id)
        if value and value not in found:
            found.append(value)
    return found


def _namespace_name(namespace: Any) -> str:
    if isinstance(namespace, types.ModuleType):
        return namespace.__name__
    return f"{namespace.__module__}:{namespace.__qualname__}"


def describe(distribution: str) -> dict[str, Any]:
    """What the installed ``distribution`` says about itself as a pluggy host, and what could not be found."""
    import importlib.metadata as metadata

    pluggy = _import_pluggy()
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise Refusal(f"the distribution {distribution!r} is not installed in this environment") from None
    scripts = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    # The script named like the distribution is the likeliest to be the host's command line.
    scripts.sort(key=lambda ep: (canonical(ep.name) != canonical(distribution), ep.name))
    answer: dict[str, Any] = {
        "distribution": dist.metadata["Name"],
        "version": dist.version,
        "scripts": [ep.name for ep in scripts],
        "notes": [],
        "missing": [],
    }
    if not scripts:
        answer["missing"].append("script: the distribution declares no console script for an artifact to start")
        return answer
    chosen: tuple[Any, Any, str] | None = None
    with _Watch(pluggy) as watch:
        for script in scripts:
            module_name = script.value.partition(":")[0].strip()
            top = module_name.partition(".")[0]
            for name in (module_name, top + ".plugins"):
                if name in sys.modules and name != module_name:
                    continue
                _announce(name)
                try:
                    importlib.import_module(name)
                except ImportError as exc:
                    if name == module_name:
                        answer["notes"].append(f"the script {script.name}'s module {name} fails: {_failure(exc)}")
                except (Exception, SystemExit) as exc:
                    answer["notes"].append(f"importing {name} fails: {_failure(exc)}")
            # The host's own package's manager first; else one the host's code made through another package.
            made = [(pm, where) for pm, where in watch.managers if _spec_names(pm)]
            mine = [(pm, where) for pm, where in made if where.partition(".")[0] == top] or made
            if mine:
                chosen = (script, mine[0][0], mine[0][1])
                break
    if chosen is None:
        if watch.managers:
            project = watch.managers[0][0].project_name
            answer["project"] = project
            what = f"made PluginManager({project!r}) but added no hookspecs to it while imported"
        else:
            what = "made no pluggy PluginManager"
        answer["missing"].append(
            f"hookspecs: importing the console script(s) {', '.join(ep.name for ep in scripts)} {what}"
        )
        return answer
    script, pm, where = chosen
    answer["script"] = script.name
    answer["project"] = pm.project_name
    answer["manager"] = where
    hookspecs: list[str] = []
    for name in _spec_names(pm):
        namespace = getattr(pm.hook, name).spec.namespace
        if _namespace_name(namespace) not in hookspecs:
            hookspecs.append(_namespace_name(namespace))
    answer["hookspecs"] = hookspecs
    groups = watch.groups.get(id(pm), [])
    if groups:
        answer["groups_from"] = f"{where}, which loads them when imported"
    else:
        for module_name in [where, *sorted(n for n in sys.modules if n.startswith(where.partition(".")[0] + "."))]:
            module = sys.modules.get(module_name)
            found = _groups_in_source(module) if module is not None else []
            if found:
                groups = found
                answer["groups_from"] = f"the load_setuptools_entrypoints call in {module_name}"
                break
    if not groups:
        groups = [pm.project_name]
        answer["groups_from"] = "pluggy's convention: the project name"
    answer["groups"] = groups
    answer["builtins"] = [p.__name__ for _, p in pm.list_name_plugin() if isinstance(p, types.ModuleType)]
    if type(pm).parse_hookimpl_opts is not pluggy.PluginManager.parse_hookimpl_opts:
        answer["notes"].append(
            f"its PluginManager ({type(pm).__qualname__}) finds hookimpls its own way; if unmarked functions with a "
            "prefix are hookimpls, name it as impl-prefix in a [host] table"
        )
    try:
        command = script.load()
    except (Exception, SystemExit):
        command = None
    commands = getattr(command, "commands", None)
    answer["refuse"] = [c for c in ("install", "uninstall") if isinstance(commands, dict) and c in commands]
    requires = {canonical(re.split(r"[\s;<>=!~\[(]", r.strip(), maxsplit=1)[0]) for r in dist.requires or ()}
    # A host that refuses install needs pip only for it; setuptools only if its command line, imported above,
    # did not import it (pkg_resources is setuptools').
    tools = ["pip"] if "pip" in requires else []
    if "setuptools" in requires and not {"setuptools", "pkg_resources"} & set(sys.modules):
        tools.append("setuptools")
    answer["install_tools"] = tools if answer["refuse"] else []
    return answer


def main(argv: list[str]) -> int:
    """Answer ``argv`` (``inspect HOST_JSON`` or ``describe DISTRIBUTION``) as one JSON object on stdout."""
    # A plugin printing while imported must not break the answer: stdout goes to stderr until the answer.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # --path=FOLDER (an unpacked artifact) comes first on sys.path, so its files are the ones checked.
    paths = [a[len("--path=") :] for a in argv if a.startswith("--path=")]
    argv = [a for a in argv if not a.startswith("--path=")]
    sys.path[:0] = paths
    try:
        if len(argv) != 2 or argv[0] not in ("inspect", "describe"):
            raise Refusal("usage: foreign_target.py inspect HOST_JSON | describe DISTRIBUTION [--path=FOLDER]...")
        answer = inspect_host(json.loads(argv[1])) if argv[0] == "inspect" else describe(argv[1])
    except Refusal as exc:
        answer = {"error": str(exc)}
    answer.update(foreign=FORMAT, python=platform.python_version())
    with os.fdopen(answer_fd, "wb") as out:
        out.write(json.dumps(answer).encode("utf-8"))
    sys.stderr.flush()
    # Plugins may leave threads or atexit hooks behind; the answer is complete, so leave at once.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
