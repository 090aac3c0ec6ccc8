"""The package's layout is its data flow (issue 15): no import cycle between modules, the producer side
(``client/``) never imports the worker, the mirror's write side never imports the read-and-act side
(``ops/``), few modules at the top level and none much over 300 lines."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "arq_django"
MAX_LINES = 300
KEPT_WHOLE = {
    # arq's run_job, split into steps but still one protocol with arq's worker (see its docstring).
    "arq_django.worker.execute": 420,
    # One Config dataclass with a parser per ARQ_DJANGO key (Sentinel, TLS, WAIT included): splitting it
    # would split the settings.
    "arq_django.conf": 430,
    "arq_django.ingest.ingester": 320,
}
TOP_LEVEL_MAX = 13


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def _imports(path: Path, *, module_level_only: bool, type_checking: bool = True) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = list(tree.body) if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if module_level_only and isinstance(node, ast.If) and (type_checking or not _type_checking(node)):
            nodes.extend(node.body)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("arq_django"):
            # ``from pkg import module`` depends on the module (pkg/__init__ runs first in any case).
            names = [f"{node.module}.{a.name}" for a in node.names]
            submodules = [n for n in names if n in _modules()]
            found.update(submodules if len(submodules) == len(names) else [node.module, *submodules])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("arq_django"))
    return found


def _graph(*, module_level_only: bool, type_checking: bool = True) -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            m
            for m in _imports(path, module_level_only=module_level_only, type_checking=type_checking)
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules():
    graph = _graph(module_level_only=True, type_checking=False)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycle_even_for_the_type_checker():
    """``if TYPE_CHECKING:`` imports included (the old ``early`` <-> ``worker_class`` cycle was one), but
    for one type-only edge: ``@job``'s ``JobFunction.enqueue()`` is typed as returning the producer's
    ``JobHandle``, so the job definitions name the client's type without importing it at run time."""
    graph = _graph(module_level_only=True)
    graph["arq_django.jobs.job_function"] -= {"arq_django.client.handle"}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def _importers(prefix: str, forbidden: str) -> list[str]:
    graph = _graph(module_level_only=False)
    return sorted(
        f"{name} imports {dep}"
        for name, deps in graph.items()
        if name.startswith(prefix)
        for dep in deps
        if dep.startswith(forbidden)
    )


def test_the_producer_side_never_imports_the_worker():
    assert _importers("arq_django.client", "arq_django.worker") == []


def test_the_mirror_write_side_never_imports_ops():
    assert _importers("arq_django.mirror", "arq_django.ops") == []


def test_few_modules_at_the_top_level():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_MAX, top


def test_no_module_much_over_300_lines():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > KEPT_WHOLE.get(name, MAX_LINES)
    }
    assert long == {}
