"""Interface guards: every way a plugin can be wrong, found before anything runs.

Caddy catches a misspelled ``Provision`` at compile time with
``var _ caddy.Provisioner = (*T)(nil)``; Python has no compile step, so
``corehost check`` and ``corehost-build`` run these functions instead. They
collect every problem rather than stopping at the first, and each
:class:`Problem` names the distribution, the module or plugin, what is
wrong and how to fix it. A plugin whose import raises or calls
``sys.exit`` is one problem among others, never the end of the run.
"""

from __future__ import annotations

import contextlib
import sys

import pluggy

from corehost import ids, ordering, wire
from corehost.conformance import class_of, interface_problems
from corehost.crossing import crossing_problems
from corehost.errors import OrderError, PluginLoadError, did_you_mean
from corehost.plugins import has_hookspecs, new_manager
from corehost.problems import ERROR, WARNING, Kind, Severity
from corehost.problems import Problem as Problem
from corehost.problems import errors as errors
from corehost.registry import Entry, ModuleInfo, PluginInfo, Registry
from corehost.versions import check_versions as check_versions

_ENTRY_KINDS: dict[str, Kind] = {"module": "module", "namespace": "namespace", "plugin": "plugin"}


def _about(entry: Entry, message: str, severity: Severity = ERROR) -> Problem:
    """A problem with one entry point (module, namespace or plugin), naming where it points."""
    return Problem(entry.distribution, _ENTRY_KINDS[entry.kind], entry.name, message, severity, target=entry.target)


def check(registry: Registry, *, versions: bool = True) -> list[Problem]:
    """Run every guard over ``registry``; plugin code is imported here."""
    return check_all(registry, versions=versions)[0]


def check_all(registry: Registry, *, versions: bool = True) -> tuple[list[Problem], dict[str, list[str]]]:
    """Every guard, plus the hooks each plugin implements (for a frozen registry).

    Anything plugins print while being imported goes to stderr, so that a
    chatty plugin cannot corrupt machine-readable output on stdout.
    """
    with contextlib.redirect_stdout(sys.stderr):
        problems = check_ids(registry) + check_duplicates(registry) + check_namespaces(registry)
        problems += check_modules(registry)
        pm, hooks, hook_problems = check_plugins(registry)
        problems += hook_problems
        if pm is not None and not errors(hook_problems):
            problems += check_generated(registry, pm, hooks)
        problems += check_order(registry)
        if versions:
            problems += check_versions(registry)
    return problems, hooks


def _modules(registry: Registry, *, recorded_only: bool = False) -> list[ModuleInfo]:
    """The modules whose code exists in this process (or, ``recorded_only``, the others), by ID.

    A generated module a build recorded has no code until its plugin's hook
    makes it: :func:`check_generated` checks it once made, and reports it if
    it never is.
    """
    return sorted((m for m in registry.modules.values() if m.placeholder == recorded_only), key=lambda m: m.id)


def check_generated(registry: Registry, pm: pluggy.PluginManager, hooks: dict[str, list[str]]) -> list[Problem]:
    """Run ``corehost_register_modules`` and check what it adds like any other module.

    ``pm`` is the manager :func:`check_plugins` registered every plugin
    with. The modules stay in ``registry`` (with their objects), so a build
    can record them and list them later without running the hook; in a
    built bundle the hook replaces the modules its build recorded, and a
    recorded module that no plugin makes any more is an error.
    """
    makers = [registry.plugins[name] for name, implemented in sorted(hooks.items())
              if "corehost_register_modules" in implemented and name in registry.plugins]  # fmt: skip
    before = dict(registry.modules)
    clashes = len(registry.conflicts)
    if makers:
        try:
            pm.hook.corehost_register_modules(registry=registry)
        except Exception as exc:
            names = ", ".join(f"{p.name!r} (distribution {p.distribution})" for p in makers)
            return [Problem(makers[0].distribution, "hook", "corehost_register_modules",
                            f"raised {type(exc).__name__}: {exc} in one of the plugins that implement it: {names}. "
                            "Fix the hookimpl; a generated module must be registered without errors.")]  # fmt: skip
    made = Registry(namespaces=registry.namespaces, spec=registry.spec, conflicts=registry.conflicts[clashes:])
    made.extend(m for name, m in sorted(registry.modules.items()) if before.get(name) is not m)
    undeclared = [p for p in check_namespaces(made) if p.kind == "module"]
    unmade = [
        _about(
            m,
            "was recorded by the build as made by a plugin's corehost_register_modules hook, but no plugin made it "
            "when the hook ran here. Rebuild with corehost-build so the record matches the plugins, or fix the "
            "plugin's hookimpl so that it registers the module again.",
        )
        for m in _modules(registry, recorded_only=True)
    ]
    problems = check_ids(made) + check_duplicates(made) + undeclared + check_modules(made) + unmade
    registry.crossing.update(made.crossing)
    return problems


# -- IDs, duplicates, namespaces ------------------------------------------------------


def check_ids(registry: Registry) -> list[Problem]:
    out = []
    for info in _modules(registry):
        problem = ids.id_problem(info.id)
        if problem:
            out.append(_about(info, f"{problem}. Rename the entry point in the plugin's pyproject.toml."))
    for ns in registry.namespaces.values():
        problem = ns.name and ids.id_problem(ns.name)
        if problem:
            out.append(_about(ns, f"{problem}. Rename the entry point in the plugin's pyproject.toml."))
    return out


def check_duplicates(registry: Registry) -> list[Problem]:
    out = []
    for first, second in registry.conflicts:
        out.append(
            _about(
                second,
                f"is also provided by distribution {first.distribution} ({first.target}); "
                f"here it points at {second.target}. IDs must be unique: rename one of them, "
                "or install only one of the two distributions.",
            )
        )
    return out


def check_namespaces(registry: Registry) -> list[Problem]:
    out = []
    for info in _modules(registry):
        if ids.id_problem(info.id) is None and info.namespace not in registry.namespaces:
            out.append(
                _about(
                    info,
                    f"its namespace {info.namespace!r} is not declared"
                    f"{did_you_mean(info.namespace, registry.namespaces)}. The plugin that owns the "
                    f"namespace must be installed (and declare it in {registry.spec.namespaces_group!r}), "
                    "or the ID is wrong.",
                )
            )
    for ns in registry.namespaces.values():
        try:
            interface = ns.load()
        except PluginLoadError as exc:
            out.append(_load_problem(ns, exc))
            continue
        if not isinstance(interface, type):
            out.append(
                _about(
                    ns,
                    f"{ns.target} is a {type(interface).__name__}, not a class; point the entry "
                    "point at a typing.Protocol or an ABC.",
                )
            )
            continue
        registry.interface_versions[ns.name] = wire.interface_version(interface)
    return out


def _load_problem(entry: Entry, exc: PluginLoadError) -> Problem:
    cause = exc.__cause__
    detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    if isinstance(cause, SystemExit):
        detail = f"it called sys.exit({cause.code!r}) while being imported"
    return _about(entry, f"importing {entry.target} failed: {detail}. Fix the import or the entry point.")


# -- modules against their namespace's interface -----------------------------------------


def check_modules(registry: Registry) -> list[Problem]:
    """Each module against its namespace's interface; records in ``registry.crossing`` whether its calls can cross.

    Crossing a process boundary is not a problem of a module that runs in
    the host's process, so it is recorded, not reported: a build that
    isolates the module fails on it, and so does a config that isolates it.
    """
    out = []
    for info in _modules(registry):
        try:
            obj = info.load()
        except PluginLoadError as exc:
            out.append(_load_problem(info, exc))
            continue
        if not callable(obj):
            out.append(_about(info, f"{info.target} is a {type(obj).__name__}, not a class or factory."))
            continue
        ns = registry.namespaces.get(info.namespace)
        interface = _loaded_interface(ns) if ns is not None else None
        if interface is None:
            continue
        cls, why = class_of(obj)
        registry.crossing[info.id] = crossing_problems(interface, cls)
        if cls is None:
            out.append(_about(info, why, WARNING))
            continue
        for problem in interface_problems(cls, interface):
            out.append(
                _about(
                    info,
                    f"{problem} ({interface.__name__} is the interface of namespace {info.namespace!r}, "
                    f"declared by {ns.distribution if ns else '?'}).",
                )
            )
    return out


def _loaded_interface(ns: Entry) -> type | None:
    try:
        interface = ns.load()
    except PluginLoadError:
        return None
    return interface if isinstance(interface, type) else None


# -- ordered namespaces ---------------------------------------------------------------------


def check_order(registry: Registry) -> list[Problem]:
    """Resolve the chain order of every ordered namespace into ``registry.orders``; a problem per flaw.

    A declaration that is not a tuple of names, or names a module that is
    not here, is a problem of the module that declares it; a cycle is one
    problem of its first member, naming every member. The order a build
    records is the one resolved here.
    """
    out = []
    for namespace in registry.ordered_namespaces():
        modules = registry.in_namespace(namespace)
        try:
            classes = {m.id: m.load() for m in modules}
        except PluginLoadError:
            # check_modules reports it; an order without that module would only mislead.
            continue
        who = {m.id: m.distribution for m in modules}
        declarations = {}
        for m in modules:
            try:
                declarations[m.id] = ordering.declared(m.id, classes[m.id], m.distribution)
            except OrderError as exc:
                out.append(_about(m, exc.detail))
        flaws = ordering.missing(namespace, declarations, who)
        out += [_about(registry.modules[flaw.modules[0]], flaw.detail) for flaw in flaws]
        if len(declarations) < len(modules) or flaws:
            continue
        try:
            registry.orders[namespace] = ordering.resolve(namespace, declarations, who)
        except OrderError as exc:
            out.append(_about(registry.modules[exc.modules[0]], exc.message))
    return out


# -- hookimpl plugins -------------------------------------------------------------------


def check_plugins(
    registry: Registry,
) -> tuple[pluggy.PluginManager | None, dict[str, list[str]], list[Problem]]:
    """Import and register every hookimpl plugin the way the host does.

    Returns the manager they are registered with (``None`` when the host's
    own hookspecs are broken), the hooks each plugin implements (for the
    frozen registry) and the problems: import failures, argument names the
    hookspec lacks (pluggy's own validation), and impls of hooks that no
    spec declares.
    """
    spec = registry.spec
    out: list[Problem] = []
    try:
        pm = new_manager(spec)
    except PluginLoadError as exc:
        # The host's own hookspecs are broken: no plugin can be checked against them.
        return None, {}, [Problem(spec.distribution, "host", spec.name, exc.message)]
    modules = []
    for info in sorted(registry.plugins.values(), key=lambda p: p.name):
        try:
            modules.append((info, info.load()))
        except PluginLoadError as exc:
            out.append(_load_problem(info, exc))
    for _, module in modules:
        if has_hookspecs(module):
            pm.add_hookspecs(module)
    registered: list[PluginInfo] = []
    for info, module in modules:
        try:
            pm.register(module, name=info.name)
        except pluggy.PluginValidationError as exc:
            out.append(
                _about(
                    info,
                    " ".join(str(exc).split()) + ". Rename the hookimpl's arguments to the "
                    "hookspec's, or drop the extra ones.",
                )
            )
            continue
        except ValueError as exc:
            out.append(_about(info, str(exc)))
            continue
        registered.append(info)
    specs = sorted(n for n, hc in vars(pm.hook).items() if getattr(hc, "spec", None) is not None)
    hooks: dict[str, list[str]] = {i.name: [] for i in registered}
    by_name = {i.name: i for i in registered}
    for hook_name, caller in sorted(vars(pm.hook).items()):
        if not hasattr(caller, "get_hookimpls"):
            continue
        for impl in caller.get_hookimpls():
            owner = by_name.get(impl.plugin_name)
            if owner is None:
                continue
            hooks[owner.name].append(hook_name)
            if caller.spec is None and not impl.optionalhook:
                out.append(
                    Problem(
                        owner.distribution,
                        "hookimpl",
                        hook_name,
                        f"matches no hookspec{did_you_mean(hook_name, specs)}. Fix the name, or mark it "
                        "@hookimpl(optionalhook=True) if it is for a plugin that may be absent.",
                        plugin=owner.name,
                    )
                )
    return pm, hooks, out
