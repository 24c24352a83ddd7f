"""Ordered namespaces: one chain order for a namespace's modules, from what each one declares.

Caddy runs its handler directives in one fixed order, and CoreDNS's
``plugin.cfg`` is its chain order; both are lists kept by hand, and a plugin
from outside must be fitted into them. Here a namespace opts in
(its interface class is decorated with :func:`ordered`), and each of its
modules may say where it belongs with ``corehost_before`` and
``corehost_after``: names of other modules of the same namespace. The
declarations live on the classes because that is where a module's author
writes everything else about it, and the guards already import every class
at build time: the builder resolves the order there, once, and records it in
the frozen registry, so a bundle lists and sorts without importing a module.

The order is a stable topological sort (Kahn's): of the modules whose
predecessors are all placed, the one with the smallest module ID comes
next, so two builds of the same set always agree, and modules that declare
nothing come in ID order. Only the standard library, :mod:`corehost.ids` and
:mod:`corehost.errors`
are imported: every layer may sort.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from corehost import ids
from corehost.errors import OrderError

#: On a module class: the modules of its namespace it runs before (their names or full IDs).
BEFORE = "corehost_before"
#: On a module class: the modules of its namespace it runs after.
AFTER = "corehost_after"

#: What a module declares: the IDs it comes before, and the IDs it comes after.
Declaration = tuple[tuple[str, ...], tuple[str, ...]]


#: The interfaces decorated with :func:`ordered`. Kept here rather than as an attribute of the
#: class: an attribute of a ``typing.Protocol`` is one of its members, which every module would
#: then have to define to satisfy the protocol (for a type checker, and for ``isinstance``).
_ORDERED: weakref.WeakSet[type] = weakref.WeakSet()

InterfaceT = TypeVar("InterfaceT", bound=type)


def ordered(interface: InterfaceT) -> InterfaceT:
    """Class decorator for a namespace's interface: the namespace has one chain order.

    Its modules may then declare ``corehost_before`` and ``corehost_after``;
    a map of them in a config (``ctx.load_module(..., ordered=True)``) runs
    in that order, and ``list-modules --namespace`` lists them in it.
    """
    _ORDERED.add(interface)
    return interface


def is_ordered(interface: Any) -> bool:
    """Whether ``interface`` (a namespace's interface class) opts its namespace in to ordering."""
    return isinstance(interface, type) and interface in _ORDERED


def declared(module_id: str, cls: Any, distribution: str) -> Declaration:
    """``cls``'s ``corehost_before`` and ``corehost_after``, as full module IDs of ``module_id``'s namespace."""
    namespace = ids.namespace_of(module_id)
    out: list[tuple[str, ...]] = []
    for attr in (BEFORE, AFTER):
        names = getattr(cls, attr, ())
        if isinstance(names, str) or not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
            detail = (
                f"has {attr} = {names!r}; it must be a tuple of module names of namespace {namespace!r}, "
                f"e.g. {attr} = ('file_server',)."
            )
            raise OrderError(f"module {module_id!r} (distribution {distribution}) {detail}", (module_id,), detail)
        out.append(tuple(n if n.startswith(f"{namespace}.") else ids.join(namespace, n) for n in names))
    return out[0], out[1]


def missing(
    namespace: str,
    declarations: Mapping[str, Declaration],
    distributions: Mapping[str, str],
    absent: Collection[str] = (),
) -> list[OrderError]:
    """One error per module whose declaration names a module that is not among ``declarations``.

    ``absent`` are modules known but left out on purpose (an allow or block
    list): naming one of those is no error, it just places nothing.
    """
    errors = []
    for module_id, (before, after) in sorted(declarations.items()):
        for attr, names in ((BEFORE, before), (AFTER, after)):
            unknown = [n for n in names if n not in declarations and n not in absent]
            if unknown:
                known = ", ".join(ids.name_of(m) for m in sorted(declarations))
                which = ", ".join(repr(ids.name_of(n)) for n in unknown)
                detail = (
                    f"declares {attr} = {tuple(ids.name_of(n) for n in names)!r}, but ordered namespace "
                    f"{namespace!r} has no module {which} here (its modules: {known}). Add the plugin that "
                    f"provides {', '.join(repr(n) for n in unknown)}, or drop {which} from {attr}."
                )
                who = f"module {module_id!r} (distribution {distributions.get(module_id, '?')})"
                errors.append(OrderError(f"{who} {detail}", (module_id, *unknown), detail))
    return errors


def resolve(
    namespace: str,
    declarations: Mapping[str, Declaration],
    distributions: Mapping[str, str],
    absent: Collection[str] = (),
) -> list[str]:
    """The chain order of ``namespace``'s modules (the keys of ``declarations``).

    Raises :class:`~corehost.errors.OrderError` naming the modules when a
    declaration names a module that is not there, or when they form a cycle.
    """
    errors = missing(namespace, declarations, distributions, absent)
    if errors:
        raise errors[0]
    # successors[a] holds b for every "a before b", with the declaration that says so.
    successors: dict[str, dict[str, str]] = {m: {} for m in declarations}
    for module_id, (before, after) in declarations.items():
        for other in before:
            if other in declarations:
                successors[module_id].setdefault(
                    other, f"{ids.name_of(module_id)}'s {BEFORE} names {ids.name_of(other)!r}"
                )
        for other in after:
            if other in declarations:
                successors[other].setdefault(
                    module_id, f"{ids.name_of(module_id)}'s {AFTER} names {ids.name_of(other)!r}"
                )
    waiting = {m: 0 for m in declarations}
    for nexts in successors.values():
        for other in nexts:
            waiting[other] += 1
    ready = [m for m, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        module_id = heapq.heappop(ready)
        order.append(module_id)
        for other in successors[module_id]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, other)
    if len(order) < len(declarations):
        raise _cycle(namespace, successors, {m for m, n in waiting.items() if n > 0}, distributions)
    return order


def _cycle(
    namespace: str, successors: Mapping[str, Mapping[str, str]], left: set[str], distributions: Mapping[str, str]
) -> OrderError:
    """The error naming one cycle among ``left`` (the modules Kahn's sort could not place)."""
    # Every module left has a predecessor left: walking predecessors must come back to one already seen.
    predecessors = {m: sorted(a for a in left if m in successors[a]) for m in left}
    path = [min(left)]
    while path.count(path[-1]) < 2:
        path.append(predecessors[path[-1]][0])
    start = path.index(path[-1])
    cycle = list(reversed(path[start:]))
    chain = " before ".join(f"{m} (distribution {distributions.get(m, '?')})" for m in cycle[:-1])
    links = "; ".join(successors[a][b] for a, b in itertools.pairwise(cycle))
    return OrderError(
        f"the modules of ordered namespace {namespace!r} declare a cycle: {chain} before {cycle[0]}. "
        f"The declarations that make it: {links}. Drop one of these names from its {BEFORE} or {AFTER} "
        "so that the modules have one order.",
        tuple(cycle[:-1]),
    )
