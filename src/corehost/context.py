"""The context: what a module sees while it is set up, and what undoes it.

Modelled on Caddy's ``caddy.Context``. A host module loads its guest modules
from its own config with :meth:`Context.load_module`; every module loaded
through a context is recorded on it, and :meth:`Context.cleanup` undoes them
all in reverse order. The context also tracks where in the config each
module sits, so every error names a config path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from corehost import ids
from corehost.decode import instantiate, join_path
from corehost.errors import CleanupErrors, ConfigError, CorehostError, LifecycleError, closest, config_errors
from corehost.hooks import HostHooks
from corehost.plugins import Plugins
from corehost.registry import ModuleInfo, Registry

INLINE_KEY = "module"
#: The key of any module's config that says where the module runs: "none" (in-process, the
#: default), "process", or a table of settings (:mod:`corehost.remote`). Never a module's own field.
ISOLATION_KEY = "isolation"


class Loaded:
    """A module instance the context built, and where its config was.

    A plain class, not a dataclass: a run reads this module.
    """

    __slots__ = ("info", "instance", "path")

    def __init__(self, info: ModuleInfo, instance: Any, path: str) -> None:
        self.info = info
        self.instance = instance
        self.path = path


def _call(loaded: Loaded, phase: str, *args: Any) -> None:
    method: Callable[..., Any] | None = getattr(loaded.instance, phase, None)
    if method is None:
        return
    try:
        method(*args)
    except CorehostError:
        raise
    except Exception as exc:
        raise LifecycleError(loaded.info.id, loaded.path, phase, exc, loaded.info.distribution) from exc


def _own_hooks(registry: Registry) -> HostHooks:
    return HostHooks(Plugins(registry))


class Context:
    """Loads modules from config and remembers them for cleanup."""

    def __init__(
        self,
        registry: Registry,
        config: Mapping[str, Any] | None = None,
        *,
        check_interfaces: bool = True,
        hooks: HostHooks | None = None,
    ) -> None:
        self.registry = registry
        #: The host's typed hook calls, so that a module can call the hooks of
        #: its namespace's owner (``ctx.hooks.call(spec, ...)``); a context made
        #: without a host gets its own, over the registry's plugins.
        self.hooks = hooks if hooks is not None else _own_hooks(registry)
        self.config: Mapping[str, Any] = config or {}
        self.loaded: list[Loaded] = []
        self.check_interfaces = check_interfaces
        self.stop_requested = threading.Event()
        self.stop_reason = ""
        #: Called once a stop is asked for, so that a host waiting on this context wakes at once.
        self.on_stop: Callable[[], None] | None = None
        #: The error that asked the host to stop, when a module failed (an isolated module's worker): the
        #: host then exits non-zero.
        self.stop_error: CorehostError | None = None
        #: The modules being provisioned, innermost last: (path, raw config, instance).
        self._frames: list[tuple[str, Mapping[str, Any], Any]] = []
        self._checked: set[tuple[type, str]] = set()

    def request_stop(self, reason: str = "requested by a module") -> None:
        """Ask the host to stop (an app that has finished its work calls this)."""
        if not self.stop_requested.is_set():
            self.stop_reason = reason
            self.stop_requested.set()
        if self.on_stop is not None:
            self.on_stop()

    def stop_for(self, error: CorehostError) -> None:
        """Ask the host to stop because a module failed (an isolated module's worker is down for good).

        The reason is the error's first paragraph; the host stops as for any other reason, then exits
        with the error's code.
        """
        if not self.stop_requested.is_set():
            self.stop_error = error
        self.request_stop(error.message.split("\n", 1)[0])

    def load_module(
        self,
        value: Any,
        namespace: str,
        *,
        inline_key: str = INLINE_KEY,
        field: str | None = None,
        ordered: bool = False,
    ) -> Any:
        """Build, provision and validate guest module(s) from a config ``value``.

        ``value`` is one object naming its module with ``inline_key``
        (``{"module": "en", "punctuation": "!"}``), a list of such objects, or
        a map from module name to that module's config. Returns an instance,
        a list, or a dict accordingly. A name may also be the module's full
        ID (``"greeters.en"``) when its namespace is ``namespace``.

        Of a list or a map, every module is loaded even after one has a
        config error, so that all of them are reported at once.

        ``ordered``: a map is loaded, and returned, in the chain order of
        ``namespace`` (:meth:`Registry.order <corehost.registry.Registry.order>`)
        rather than in the order its keys were written: a map says which
        modules, the namespace says in what order. A list keeps the order it
        was written in, which is the config's own choice.
        """
        path = self._path_of(value, field)
        if isinstance(value, list):
            return self._load_all(
                partial(self._load_inline, v, namespace, inline_key, join_path(path, i)) for i, v in enumerate(value)
            )
        if isinstance(value, Mapping):
            if inline_key in value:
                return self._load_inline(value, namespace, inline_key, path)
            names = self._chain_order(value, namespace, path) if ordered else list(value)
            loaded = self._load_all(
                partial(self._load_named, namespace, str(name), value[name], join_path(path, str(name)))
                for name in names
            )
            return dict(zip(names, loaded, strict=True))
        raise ConfigError(
            path,
            f"expected a module object (with {inline_key!r}), a list of them or a map "
            f"of module name to config, got {type(value).__name__}",
        )

    def _chain_order(self, value: Mapping[Any, Any], namespace: str, path: str) -> list[Any]:
        """The keys of a map of ``namespace``'s modules in its chain order; keys naming no module go last."""
        try:
            place = {m.id: i for i, m in enumerate(self.registry.order(namespace))}
        except CorehostError as exc:
            raise ConfigError(path, exc.message) from None
        at = {}
        for name in value:
            try:
                at[name] = place.get(self._module_id(namespace, str(name), join_path(path, str(name))), len(place))
            except ConfigError:
                # A key naming another namespace's module: its own load reports it, in its place.
                at[name] = len(place)
        return sorted(value, key=lambda name: at[name])

    def _load_all(self, loaders: Iterable[Callable[[], Any]]) -> list[Any]:
        """Run every loader; raise all their config errors together at the end."""
        results: list[Any] = []
        errors: list[ConfigError] = []
        for load in loaders:
            try:
                results.append(load())
            except ConfigError as exc:
                errors.append(exc)
        error = config_errors(errors)
        if error is not None:
            raise error
        return results

    def _load_named(self, namespace: str, name: str, config: Any, path: str) -> Any:
        return self.load(self._module_id(namespace, name, path), self._object(config, path), path)

    def _module_id(self, namespace: str, name: str, path: str) -> str:
        """The ID of module ``name`` of ``namespace``; ``name`` may be that full ID already."""
        if not namespace or "." not in name or ids.id_problem(name):
            return ids.join(namespace, name)
        if name.startswith(f"{namespace}."):
            return name
        raise ConfigError(
            path,
            f"{name!r} names a module of namespace {ids.namespace_of(name)!r}, but this takes a module of "
            f"namespace {namespace!r}: give its name (one of: {self._choices(namespace)}) "
            f"or its full ID ('{namespace}.NAME')",
        )

    def _choices(self, namespace: str) -> str:
        """The names of ``namespace``'s modules, for an error: generated ones included."""
        generate, self.registry.generate = self.registry.generate, None
        if generate is not None:
            # Only an error gets here, so importing the plugins that generate modules is worth it.
            generate()
        return ", ".join(m.short_name for m in self.registry.in_namespace(namespace)) or "none installed"

    def _object(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object (a module's config), got {type(value).__name__}")
        return value

    def _load_inline(self, value: Any, namespace: str, inline_key: str, path: str) -> Any:
        value = self._object(value, path)
        name = value.get(inline_key)
        key_path = join_path(path, inline_key)
        if not isinstance(name, str):
            choices = self._choices(namespace)
            typo = closest(inline_key, [str(k) for k in value])
            hint = f" (is {typo!r} a typo of it?)" if typo is not None else ""
            what = f"is missing{hint}" if name is None else f"must be a string, got {type(name).__name__}"
            raise ConfigError(
                key_path, f"{inline_key!r} {what}; name a module of namespace {namespace!r} (one of: {choices})"
            )
        config = {k: v for k, v in value.items() if k != inline_key}
        return self.load(self._module_id(namespace, name, key_path), config, path, id_path=key_path)

    def load(self, module_id: str, config: Mapping[str, Any], path: str, *, id_path: str | None = None) -> Any:
        """Build one module by ID and run ``provision`` and ``validate`` on it."""
        info = self._lookup(module_id, id_path or path)
        if ISOLATION_KEY in config:
            isolation = config[ISOLATION_KEY]
            config = {k: v for k, v in config.items() if k != ISOLATION_KEY}
            if isolation != "none":
                return self._load_isolated(info, config, path, isolation)
        factory = info.load()
        try:
            instance = instantiate(factory, config, path, module_id)
        except CorehostError:
            raise
        except Exception as exc:
            raise LifecycleError(module_id, path, "construction", exc, info.distribution) from exc
        loaded = Loaded(info, instance, path)
        if self.check_interfaces:
            self._check_interface(loaded)
        self._frames.append((path, config, instance))
        try:
            _call(loaded, "provision", self)
            _call(loaded, "validate")
        except BaseException:
            # As in Caddy, a module that fails its own set-up is cleaned up
            # at once: it may hold half of what provision acquired.
            try:
                _call(loaded, "cleanup")
            except CorehostError:
                pass
            raise
        finally:
            self._frames.pop()
        self.loaded.append(loaded)
        return instance

    def _load_isolated(self, info: ModuleInfo, config: Mapping[str, Any], path: str, isolation: Any) -> Any:
        """A proxy of the module, which runs (decoded, provisioned, validated) in a worker process."""
        # Subprocesses, sockets and the wire only for a config that isolates a module.
        from corehost import remote

        at = join_path(path, ISOLATION_KEY)
        options = remote.settings(isolation, at)
        namespace = self.registry.namespaces.get(info.namespace)
        interface = namespace.load() if namespace is not None else None
        remote.check_crossing(info, interface, at, self.registry.crossing.get(info.id))
        instance = remote.open_module(
            info, interface, config, path, options, self.request_stop, self.registry.spec.name, self.stop_for
        )
        self.loaded.append(Loaded(info, instance, path))
        return instance

    def _lookup(self, module_id: str, path: str) -> ModuleInfo:
        problem = ids.id_problem(module_id)
        if problem:
            raise ConfigError(path, problem)
        try:
            return self.registry.get(module_id)
        except CorehostError as exc:
            raise ConfigError(path, exc.message) from None

    def _check_interface(self, loaded: Loaded) -> None:
        namespace = loaded.info.namespace
        key = (type(loaded.instance), namespace)
        if key in self._checked or namespace not in self.registry.namespaces:
            return
        if self.registry.frozen and key[0] is loaded.info.load():
            # The build's guards checked this very class against the interface, in this environment, and a
            # frozen registry holds only what they passed: checking it again would cost every start.
            return
        # Only a module that no build checked (a live registry, a factory's product) needs the checker.
        from corehost.conformance import interface_problems

        interface = self.registry.namespaces[namespace].load()
        problems = interface_problems(type(loaded.instance), interface)
        if problems:
            raise ConfigError(
                loaded.path,
                f"module {loaded.info.id} (distribution {loaded.info.distribution}) "
                f"does not implement namespace {namespace!r}: {'; '.join(problems)}",
            )
        self._checked.add(key)

    def _path_of(self, value: Any, field: str | None) -> str:
        if not self._frames:
            return field or ""
        path, raw, instance = self._frames[-1]
        if field is None:
            # The raw config value itself, else the decoded field the module
            # passes on (a list[...] field is a checked copy), else an equal one.
            field = next((k for k, v in raw.items() if v is value), None)
            field = field or next((k for k in raw if getattr(instance, str(k), None) is value), None)
            field = field or next((k for k, v in raw.items() if v == value), "?")
        return join_path(path, field)

    def cleanup(self) -> None:
        """Clean up every loaded module, newest first; report all failures at once."""
        errors: list[str] = []
        while self.loaded:
            loaded = self.loaded.pop()
            try:
                _call(loaded, "cleanup")
            except CorehostError as exc:
                errors.append(str(exc))
        if errors:
            raise CleanupErrors("; ".join(errors))
