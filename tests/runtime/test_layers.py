"""The runtime is layered: each module imports only modules below it, and every lazy import says why.

pluggy's rule, checked on the source: a cycle of module-level imports makes
the import order decide which half of a module exists when the other runs,
and a function-level import that saves nothing only hides such a cycle.
The ``if __name__ == "__main__":`` block of a file run as a script is not
part of that file's module (it runs as ``__main__``), so it is left out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

RUNTIME = ROOT / "src" / "corehost"


@dataclass(frozen=True)
class Import:
    """One ``import`` statement of a runtime module."""

    module: str
    line: int
    end_line: int
    #: The corehost modules it imports (``corehost.x`` -> ``x``).
    targets: tuple[str, ...]
    in_function: bool


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _is_main_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ('__name__ == "__main__"', "__name__ == '__main__'")


def _targets(node: ast.Import | ast.ImportFrom, modules: set[str]) -> tuple[str, ...]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif node.module == "corehost":
        names = [f"corehost.{a.name}" for a in node.names]
    else:
        names = [node.module or ""]
    found = {name.split(".")[1] for name in names if name.startswith("corehost.")}
    return tuple(sorted(found & modules))


def imports_of(path: Path, modules: set[str]) -> list[Import]:
    """Every import a module runs (``TYPE_CHECKING`` and ``__main__`` blocks aside)."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child) or _is_main_block(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                end = child.end_lineno or child.lineno
                found.append(Import(path.stem, child.lineno, end, _targets(child, modules), in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def runtime_imports() -> list[Import]:
    paths = sorted(RUNTIME.glob("*.py"))
    modules = {p.stem for p in paths}
    return [i for p in paths for i in imports_of(p, modules)]


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as the path that closes it (empty: there is none)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        done.add(node)
        return []

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return []


def test_cycle_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_module_level_import_graph_is_acyclic() -> None:
    graph: dict[str, set[str]] = {}
    for imp in runtime_imports():
        if not imp.in_function:
            graph.setdefault(imp.module, set()).update(t for t in imp.targets if t != imp.module)
    assert set(graph) >= {"cli", "host", "context", "registry", "guards", "conformance"}
    assert cycle(graph) == [], " -> ".join(cycle(graph))


def _says_why(lines: list[str], imports: set[int], line: int) -> bool:
    """A comment on ``line`` itself, or just above the run of import lines (and blanks) it belongs to."""
    if "#" in lines[line - 1]:
        return True
    above = line - 1
    while above >= 1 and (not lines[above - 1].strip() or above in imports):
        above -= 1
    return above >= 1 and lines[above - 1].strip().startswith("#")


def test_every_function_level_import_says_what_it_saves() -> None:
    silent = []
    for path in sorted(RUNTIME.glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found = imports_of(path, {p.stem for p in RUNTIME.glob("*.py")})
        covered = {n for i in found for n in range(i.line, i.end_line + 1)}
        for imp in found:
            if imp.in_function and not _says_why(lines, covered, imp.line):
                silent.append(f"{path.name}:{imp.line}: {lines[imp.line - 1].strip()}")
    assert silent == [], "a function-level import needs a comment saying what it saves:\n" + "\n".join(silent)


def test_run_checks_a_module_without_importing_the_guards() -> None:
    """The conformance engine is its own module: the context imports it, not the whole set of guards."""
    modules = {p.stem for p in RUNTIME.glob("*.py")}
    context = {t for i in imports_of(RUNTIME / "context.py", modules) for t in i.targets}
    info = {t for i in imports_of(RUNTIME / "interface_info.py", modules) for t in i.targets}
    assert "conformance" in context and "guards" not in context
    assert info == {"conformance"}
