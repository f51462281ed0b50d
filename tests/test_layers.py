"""The package's house rules, read from its source: layers import downwards only, no module
imports itself back through others (imports inside functions count too), no module is over
500 lines.

Layers, from the ground up (``LAYERS``): what everything may read (settings, exceptions, models,
switches), the vocabulary of triggers (context, conditions, actions), the engine (registry,
plans, the engine and its wiring), the services built on it (definitions, delivery, the dry
run), and the surfaces (admin, API, commands). The seed-004 import paths at the top only name
what lives below. A lazy import of ``triggers.models`` inside a function is allowed anywhere:
Django's app registry requires it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "triggers"
MAX_LINES = 500

#: Module (or package) name -> layer; a module takes the entry of its longest matching prefix.
LAYERS = {
    # ground
    "triggers.conf": 1, "triggers.exceptions": 1, "triggers.choices": 1,
    "triggers.signals": 1, "triggers.runtime": 1, "triggers.models": 1,
    "triggers.migrations": 1, "triggers.switches": 1, "triggers.functions": 1,
    "triggers.counters": 1, "triggers.middleware": 1, "triggers.connections": 1,
    "triggers.version": 1,
    "triggers.redis_connection": 1,
    # vocabulary
    "triggers.context": 2, "triggers.tracking": 2, "triggers.trigger": 2,
    "triggers.conditions": 2, "triggers.actions": 2, "triggers.templating": 2,
    "triggers.egress": 2, "triggers.stats": 2, "triggers.execution_log": 2,
    "triggers.limits": 2,
    # engine
    "triggers.registry": 3, "triggers.plan": 3, "triggers.health": 3, "triggers.engine": 3,
    "triggers.wiring": 3, "triggers.decorators": 3, "triggers.managers": 3,
    # services
    "triggers.definitions": 4, "triggers.delivery": 4, "triggers.config": 4,
    "triggers.dryrun": 4, "triggers.monitoring": 4, "triggers.dashboard": 4,
    "triggers.apikeys": 4, "triggers.flow": 4,
    # surfaces
    "triggers.admin": 5, "triggers.api": 5, "triggers.management": 5, "triggers.apps": 5,
    "triggers.checks": 5, "triggers.tasks": 5, "triggers.testing": 5,
    # the public face and the seed-004 paths, which only re-export
    "triggers": 6, "triggers.base": 6,
}
#: Seed-004 paths that hold real code of a lower layer (they import nothing above it).
SEED_PATHS = {"triggers.conditions.common_conditions", "triggers.actions.common_actions"}
ALLOWED_LAZY = {"triggers.models"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def layer(name: str) -> int:
    best = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """``(imported module, line, inside a function)`` of every import of the package's own
    modules in ``path``. Importing a module also imports its parent packages, except the root
    (the public face) and the packages the importer is itself part of (already importing)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def add(target: str, line: int, lazy: bool) -> None:
        parts = target.split(".")
        if target == "triggers":  # the public face itself (``from triggers import x``)
            found.append((target, line, lazy))
            return
        for i in range(2, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in known and candidate != name and not name.startswith(candidate + "."):
                found.append((candidate, line, lazy))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("triggers"):
                        add(alias.name, child.lineno, inner)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if not base.startswith("triggers"):
                    continue
                submodules = [f"{base}.{alias.name}" for alias in child.names
                              if f"{base}.{alias.name}" in known]
                if base != "triggers" or len(submodules) < len(child.names):
                    add(base, child.lineno, inner)  # names of the module itself
                for module in submodules:
                    add(module, child.lineno, inner)
            visit(child, inner)

    visit(tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_layers_import_downwards_only():
    upward = []
    for name, edges in graph().items():
        if name == "triggers":
            continue
        for target, line, lazy in edges:
            if lazy and target in ALLOWED_LAZY:
                continue
            if name in SEED_PATHS and layer(target) <= 2:
                continue
            if layer(target) > layer(name):
                upward.append(f"{name}:{line} imports {target} (layer {layer(name)} -> "
                              f"{layer(target)}{', inside a function' if lazy else ''})")
    assert upward == []


def test_no_import_cycles():
    edges = {name: {t for t, _line, lazy in found if not (lazy and t in ALLOWED_LAZY)}
             for name, found in graph().items() if name != "triggers"}
    cycles = [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]
    assert cycles == []


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_module_has_a_layer():
    assert all(layer(name) for name in modules())


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result
