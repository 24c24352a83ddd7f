"""The registry: what modules, namespaces and plugins exist, without importing them.

An entry in the registry is only a name and a dotted *target*
(``package.module:Object``); the code behind it is imported the first time
something asks for it with :meth:`Entry.load`. That is what lets
``list-modules``, lookups and "which modules are in namespace X" run without
touching plugin code, and lets ``corehost run`` import only the modules its
config uses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from corehost import ids
from corehost.errors import PluginLoadError, UnknownModule, UnknownNamespace, did_you_mean
from corehost.hostspec import COREHOST, HostSpec
from corehost.interfaces import App


def import_target(target: str) -> Any:
    """Import ``package.module:Attr.attr`` (or a bare module path) and return it."""
    module_name, _, attrs = target.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


#: Called with each entry just before its code is imported; see :func:`on_import`.
_import_hook: Callable[[Entry], None] | None = None


def on_import(hook: Callable[[Entry], None] | None) -> None:
    """Call ``hook(entry)`` before each :meth:`Entry.load` imports code (``None``: stop calling).

    ``python -m corehost.probe --announce`` names every import on stderr this
    way, so that a check that hangs or dies inside a plugin's import can name
    the plugin it was importing.
    """
    global _import_hook
    _import_hook = hook


class Entry:
    """One thing a distribution provides: a module, a namespace or a plugin.

    ``target`` is where the object lives; ``obj`` is set instead for things
    registered from code (programmatic composition, generated modules).

    A plain class with ``__slots__``, immutable and compared by value like a
    frozen dataclass: every start that reads a registry imports this module,
    and made by ``dataclasses`` the four entry classes would take about 3 ms
    of each start (``python -X importtime``); a frozen registry of 1000
    modules also makes 1000 instances.
    """

    __slots__ = ("disable_env", "distribution", "name", "obj", "target", "version")
    #: Every field, in the order ``__init__`` takes them.
    _fields: ClassVar[tuple[str, ...]] = ("name", "target", "distribution", "version", "obj", "disable_env")
    #: The fields that make two entries equal, in the order ``repr`` shows them.
    _compared: ClassVar[tuple[str, ...]] = ("name", "target", "distribution", "version")
    kind = "entry"

    name: str
    target: str
    distribution: str
    version: str
    obj: Any
    #: The block-list variable of the host that found the entry, named in load errors.
    disable_env: str

    def __init__(
        self,
        name: str,
        target: str,
        distribution: str,
        version: str,
        obj: Any = None,
        disable_env: str = COREHOST.block_env,
    ) -> None:
        init = object.__setattr__
        init(self, "name", name)
        init(self, "target", target)
        init(self, "distribution", distribution)
        init(self, "version", version)
        init(self, "obj", obj)
        init(self, "disable_env", disable_env)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a registry entry is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a registry entry is immutable")

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._compared)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Entry)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._compared)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles are rebuilt through __init__: immutability leaves no other way in.
        return (type(self), tuple(getattr(self, f) for f in self._fields))

    def load(self) -> Any:
        """Import and return the object; the error names the distribution."""
        if self.obj is not None:
            return self.obj
        if _import_hook is not None:
            _import_hook(self)
        try:
            return import_target(self.target)
        except (Exception, SystemExit) as exc:
            raise PluginLoadError(
                self.distribution,
                f"{self.kind} {self.name!r}",
                f"importing {self.target!r} failed with {type(exc).__name__}: {exc}. "
                f"Fix the plugin or uninstall/disable it "
                f"({self.disable_env}={self.distribution}).",
            ) from exc

    @property
    def imported(self) -> bool:
        """Whether the code behind the entry is already in ``sys.modules``."""
        return self.obj is not None or self.target.partition(":")[0] in sys.modules


class ModuleInfo(Entry):
    """A module: ``name`` is its full ID, ``target`` a class or factory.

    ``generated`` marks a module a plugin makes at run time
    (``corehost_register_modules``) that a build recorded: it can be listed
    without running the hook, and the hook runs when it is first needed.
    """

    __slots__ = ("generated",)
    _fields = (*Entry._fields, "generated")
    _compared = (*Entry._compared, "generated")
    kind = "module"

    generated: bool

    def __init__(
        self,
        name: str,
        target: str,
        distribution: str,
        version: str,
        obj: Any = None,
        disable_env: str = COREHOST.block_env,
        generated: bool = False,
    ) -> None:
        super().__init__(name, target, distribution, version, obj, disable_env)
        object.__setattr__(self, "generated", generated)

    @property
    def placeholder(self) -> bool:
        """A generated module recorded by a build, not yet made by its plugin in this process."""
        return self.generated and self.obj is None

    @property
    def id(self) -> str:
        return self.name

    @property
    def namespace(self) -> str:
        return ids.namespace_of(self.name)

    @property
    def short_name(self) -> str:
        return ids.name_of(self.name)


class NamespaceInfo(Entry):
    """A namespace and the interface (Protocol or ABC) its modules implement."""

    __slots__ = ()
    kind = "namespace"


class PluginInfo(Entry):
    """A module of ``@hookimpl`` functions.

    ``hooks`` lists the hooks it implements when that is known ahead of time
    (a frozen registry records it), so that a hook call imports only the
    plugins that implement it; ``None`` means "unknown, import to find out".
    """

    __slots__ = ("hooks",)
    _fields = (*Entry._fields, "hooks")
    _compared = (*Entry._compared, "hooks")
    kind = "plugin"

    hooks: tuple[str, ...] | None

    def __init__(
        self,
        name: str,
        target: str,
        distribution: str,
        version: str,
        obj: Any = None,
        disable_env: str = COREHOST.block_env,
        hooks: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(name, target, distribution, version, obj, disable_env)
        object.__setattr__(self, "hooks", hooks)


def _placeholder(entry: Entry) -> bool:
    return isinstance(entry, ModuleInfo) and entry.placeholder


class Registry:
    """Every module, namespace and plugin known to this host, by name.

    Duplicate module IDs are not fatal here: the first one stays usable for
    listing, and :attr:`conflicts` keeps every clash so that guards can name
    both distributions and :meth:`get` can refuse to guess.

    A plain class (compared by value, without :attr:`generate`), not a
    dataclass: its module is read on every start.
    """

    #: Compared by ``==``, in the order ``__init__`` takes them.
    _compared = (
        "modules",
        "namespaces",
        "plugins",
        "conflicts",
        "skipped",
        "excluded",
        "frozen",
        "build",
        "spec",
        "orders",
        "crossing",
        "interface_versions",
    )

    def __init__(
        self,
        modules: dict[str, ModuleInfo] | None = None,
        namespaces: dict[str, NamespaceInfo] | None = None,
        plugins: dict[str, PluginInfo] | None = None,
        conflicts: list[tuple[Entry, Entry]] | None = None,
        skipped: set[str] | None = None,
        excluded: list[tuple[Entry, str]] | None = None,
        frozen: bool = False,
        build: dict[str, Any] | None = None,
        spec: HostSpec = COREHOST,
        generate: Callable[[], None] | None = None,
        orders: dict[str, list[str]] | None = None,
        crossing: dict[str, list[str]] | None = None,
        interface_versions: dict[str, int] | None = None,
    ) -> None:
        self.modules: dict[str, ModuleInfo] = {} if modules is None else modules
        self.namespaces: dict[str, NamespaceInfo] = {} if namespaces is None else namespaces
        self.plugins: dict[str, PluginInfo] = {} if plugins is None else plugins
        self.conflicts: list[tuple[Entry, Entry]] = [] if conflicts is None else conflicts
        #: Distributions skipped by the host's allow and block lists (COREHOST_PLUGINS, ...).
        self.skipped: set[str] = set() if skipped is None else skipped
        #: The entries those lists left out, each with why (the variable, and the fix), so that
        #: asking for one says it is installed but left out rather than unknown.
        self.excluded: list[tuple[Entry, str]] = [] if excluded is None else excluded
        #: Whether this registry was frozen by a build (no entry-point scan).
        self.frozen = frozen
        #: The build record, for a frozen registry.
        self.build: dict[str, Any] = {} if build is None else build
        #: The host whose registry this is: its groups, hookspecs and variables.
        self.spec = spec
        #: Runs the plugins' ``corehost_register_modules`` hook; a host sets it so that
        #: a lookup that misses (or hits a recorded generated module) runs the hook once.
        self.generate = generate
        #: The chain order of each ordered namespace, by module ID: recorded by a build, or
        #: resolved here on first use (:meth:`order`).
        self.orders: dict[str, list[str]] = {} if orders is None else orders
        #: Why each module's interface calls cannot cross a process boundary (empty: they can), by module
        #: ID: recorded by the guards (:mod:`corehost.crossing`), so that isolating a module a build found
        #: uncrossable is refused before its worker starts. A module not in it was not checked.
        self.crossing: dict[str, list[str]] = {} if crossing is None else crossing
        #: The version each namespace's interface declares (:func:`corehost.wire.interface_version`), by
        #: namespace: recorded by the guards, so that a worker of a built environment prints its handshake
        #: without importing the interface. A namespace not in it was not checked.
        self.interface_versions: dict[str, int] = {} if interface_versions is None else interface_versions

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._compared)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    def __repr__(self) -> str:
        return f"Registry({', '.join(f'{f}={getattr(self, f)!r}' for f in self._compared)})"

    @classmethod
    def for_host(cls, spec: HostSpec = COREHOST) -> Registry:
        """An empty registry of ``spec``'s host holding only the namespaces the host declares itself."""
        registry = cls(spec=spec)
        registry.extend(core_namespaces(spec))
        return registry

    def add(self, entry: Entry) -> None:
        """Add ``entry``; a second entry with the same name is a conflict."""
        tables: dict[type, dict[str, Any]] = {
            ModuleInfo: self.modules,
            NamespaceInfo: self.namespaces,
            PluginInfo: self.plugins,
        }
        table = tables.get(type(entry))
        if table is None:
            raise TypeError(f"not a registry entry: {entry!r}")
        old = table.get(entry.name)
        if old is None or _placeholder(old):
            table[entry.name] = entry
        elif old != entry:
            self.conflicts.append((old, entry))

    def add_module(
        self, module_id: str, obj: Callable[..., Any], distribution: str = "__main__", version: str = "0"
    ) -> ModuleInfo:
        """Register a module from code (no entry point needed)."""
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', '?')}"
        info = ModuleInfo(ids.check_id(module_id), target, distribution, version, obj)
        self.add(info)
        return info

    def add_namespace(
        self, name: str, interface: type, distribution: str = "__main__", version: str = "0"
    ) -> NamespaceInfo:
        """Declare a namespace from code."""
        target = f"{interface.__module__}:{interface.__qualname__}"
        info = NamespaceInfo(name, target, distribution, version, interface)
        self.add(info)
        return info

    def add_plugin(self, name: str, obj: object, distribution: str = "__main__", version: str = "0") -> PluginInfo:
        """Register a hookimpl plugin object from code: a module, class or instance of ``@hookimpl`` functions."""
        target = getattr(obj, "__name__", None) or f"{type(obj).__module__}:{type(obj).__qualname__}"
        info = PluginInfo(name, str(target), distribution, version, obj)
        self.add(info)
        return info

    def get(self, module_id: str) -> ModuleInfo:
        """The module with this ID; the error suggests the nearest known ID."""
        info = self.modules.get(module_id)
        if (info is None or _placeholder(info)) and self.generate is not None:
            # The module may be one a plugin generates: run that hook (once), then look again.
            generate, self.generate = self.generate, None
            generate()
            info = self.modules.get(module_id)
        if info is None or _placeholder(info):
            namespace = ids.namespace_of(module_id)
            what = "app" if namespace == ids.APPS else "module"
            for entry, why in self.excluded:
                if isinstance(entry, ModuleInfo) and entry.name == module_id:
                    raise UnknownModule(
                        f"{what} {module_id!r} is installed (distribution {entry.distribution}) but {why}."
                    )
            known = ", ".join(m.short_name for m in self.in_namespace(namespace)) or "none installed"
            where = "Known apps" if namespace == ids.APPS else f"Known modules in namespace {namespace!r}"
            # Live, a plugin left out may be one that generates it (a build records those, so a
            # frozen registry knows): such modules are only known once made.
            left_out = sorted({e.distribution for e, _ in self.excluded})
            also = (
                f" Left out by {self.spec.allow_env}/{self.spec.block_env}: {', '.join(left_out)}; "
                "one of them may provide it."
                if left_out and not self.frozen
                else ""
            )
            raise UnknownModule(
                f"unknown {what} {module_id!r}{did_you_mean(module_id, self.modules)}. {where}: {known}. "
                f"Install the plugin that provides it, or fix the name.{also}"
            )
        clash = [b for a, b in self.conflicts if a.name == module_id and isinstance(b, ModuleInfo)]
        if clash:
            dists = ", ".join(sorted({info.distribution, *(b.distribution for b in clash)}))
            raise UnknownModule(
                f"module {module_id!r} is provided by more than one distribution ({dists}); "
                "uninstall or disable all but one of them."
            )
        return info

    def namespace(self, name: str) -> NamespaceInfo:
        """The declared namespace ``name``."""
        info = self.namespaces.get(name)
        if info is None:
            raise UnknownNamespace(
                f"namespace {name!r} is not declared{did_you_mean(name, self.namespaces)}; "
                f"a plugin must declare it in the {self.spec.namespaces_group!r} entry-point group."
            )
        return info

    def in_namespace(self, namespace: str) -> list[ModuleInfo]:
        """Modules directly in ``namespace`` (not in its sub-namespaces), by ID."""
        return sorted(
            (m for m in self.modules.values() if ids.namespace_of(m.id) == namespace),
            key=lambda m: m.id,
        )

    def order(self, namespace: str) -> list[ModuleInfo]:
        """The modules directly in ``namespace``, in its chain order if it is ordered, else by ID.

        A frozen registry has the order its build resolved (modules an allow
        or block list left out dropped from it: the rest keep their places).
        A live one resolves it here, once: that imports the namespace's
        interface and, if it is ordered, its modules' classes, to read their
        ``corehost_before``/``corehost_after``; an
        :class:`~corehost.errors.OrderError` names a cycle or a missing module.
        """
        modules = self.in_namespace(namespace)
        recorded = self.orders.get(namespace)
        if recorded is None and not self.frozen:
            recorded = self._resolve_order(namespace, modules)
        if recorded is None:
            return modules
        place = {module_id: i for i, module_id in enumerate(recorded)}
        return sorted(modules, key=lambda m: (place.get(m.id, len(place)), m.id))

    def _resolve_order(self, namespace: str, modules: list[ModuleInfo]) -> list[str] | None:
        """Resolve and keep ``namespace``'s order from its modules' classes; ``None`` if it is not ordered."""
        # Sorting is for ordered namespaces alone: a start that only lists modules never imports it.
        from corehost import ordering

        info = self.namespaces.get(namespace)
        try:
            interface = None if info is None else info.load()
        except PluginLoadError:
            # A namespace whose interface does not import is listed by ID; the guards report it.
            return None
        if not ordering.is_ordered(interface):
            return None
        declarations = {m.id: ordering.declared(m.id, m.load(), m.distribution) for m in modules}
        absent = {e.name for e, _ in self.excluded if isinstance(e, ModuleInfo)}
        order = ordering.resolve(namespace, declarations, {m.id: m.distribution for m in modules}, absent)
        self.orders[namespace] = order
        return order

    def ordered_namespaces(self) -> list[str]:
        """The namespaces with a chain order: those a build recorded, or (live) those whose interface opts in.

        Live, every namespace's interface is imported to find out; one that
        fails to import is left to the guards to report.
        """
        if self.frozen:
            return sorted(self.orders)
        # Only build-info and the guards ask which namespaces are ordered.
        from corehost import ordering

        out = []
        for name, info in sorted(self.namespaces.items()):
            try:
                interface = info.load()
            except PluginLoadError:
                continue
            if ordering.is_ordered(interface):
                out.append(name)
        return out

    def distributions(self) -> dict[str, str]:
        """Every distribution that provides something, with its version."""
        return {e.distribution: e.version for e in self.entries()}

    def entries(self) -> Iterator[Entry]:
        yield from self.namespaces.values()
        yield from self.modules.values()
        yield from self.plugins.values()

    def provided_by(self, distribution: str) -> list[Entry]:
        return [e for e in self.entries() if e.distribution == distribution]

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add(entry)


def core_namespaces(spec: HostSpec = COREHOST) -> list[NamespaceInfo]:
    """Namespaces a host declares itself: the root namespace of apps, and the spec's own.

    They belong to the host's distribution, so its allow and block lists
    never drop them; a host's own namespaces are imported only when used.
    """
    version = spec.version()
    apps = NamespaceInfo(ids.APPS, "corehost.interfaces:App", spec.distribution, version, App, spec.block_env)
    own = [
        NamespaceInfo(name, target, spec.distribution, version, disable_env=spec.block_env)
        for name, target in spec.namespaces.items()
    ]
    return [apps, *sorted(own, key=lambda ns: ns.name)]
