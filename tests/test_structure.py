"""The package's shape, checked on every run: module and function sizes, no import cycles.

The sizes are the team's bar (modules ≤ 500 lines, functions ≤ 60); the import graph is
grimp's (import-linter's), which sees every import, also those inside function bodies
and ``TYPE_CHECKING`` blocks. The layers themselves are import-linter's contracts in
pyproject.toml (``lint-imports``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "gitkube"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

#: Offenders being split by the engineer named; remove the entry with the fix.
KNOWN_LONG_MODULES: dict[str, str] = {}
KNOWN_LONG_FUNCTIONS: dict[str, str] = {}
#: Import cycles (as sets of modules) being untangled by the engineer named.
KNOWN_CYCLES = {
    # inventory_checks imports inventory's models for its annotations (TYPE_CHECKING).
    frozenset({"gitkube.api.inventory", "gitkube.api.inventory_checks"}): "hardening",
}


def _modules() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def _functions(source: str) -> Iterator[tuple[str, int]]:
    """(name, lines) of every function and method, nested ones too."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield node.name, (node.end_lineno or node.lineno) - first + 1


def test_no_module_is_longer_than_500_lines() -> None:
    long = {name: len(text.splitlines()) for name, text in _modules()
            if len(text.splitlines()) > MAX_MODULE_LINES}
    assert set(long) <= set(KNOWN_LONG_MODULES), (
        f"split these modules (at most {MAX_MODULE_LINES} lines): "
        f"{ {k: v for k, v in long.items() if k not in KNOWN_LONG_MODULES} }")


def test_no_function_is_longer_than_60_lines() -> None:
    long = {f"{name}:{function}": lines for name, text in _modules()
            for function, lines in _functions(text) if lines > MAX_FUNCTION_LINES}
    assert set(long) <= set(KNOWN_LONG_FUNCTIONS), (
        f"split these functions (at most {MAX_FUNCTION_LINES} lines): "
        f"{ {k: v for k, v in long.items() if k not in KNOWN_LONG_FUNCTIONS} }")


def test_the_known_offenders_are_still_offending() -> None:
    """An entry above outlives its fix only until this test says so."""
    texts = dict(_modules())
    fixed = [name for name in KNOWN_LONG_MODULES
             if name not in texts or len(texts[name].splitlines()) <= MAX_MODULE_LINES]
    lengths = {f"{name}:{function}": lines for name, text in texts.items()
               for function, lines in _functions(text)}
    fixed += [name for name in KNOWN_LONG_FUNCTIONS
              if lengths.get(name, 0) <= MAX_FUNCTION_LINES]
    cycles = strongly_connected(grimp.build_graph("gitkube", cache_dir=None))
    fixed += [" ↔ ".join(sorted(cycle)) for cycle in KNOWN_CYCLES if cycle not in cycles]
    assert not fixed, f"remove these from the known exceptions: {fixed}"


def test_the_import_graph_has_no_cycle() -> None:
    graph = grimp.build_graph("gitkube", cache_dir=None)
    cycles = [cycle for cycle in strongly_connected(graph) if cycle not in KNOWN_CYCLES]
    assert not cycles, "import cycles (each a set of modules importing one another): " + (
        "; ".join(" ↔ ".join(sorted(cycle)) for cycle in cycles))


def strongly_connected(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's,
    without recursion), and modules that import themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(
                        child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1 or module in graph.find_modules_directly_imported_by(
                        module):
                    found.append(frozenset(component))
    return found
