"""The package's import graph has no cycle and no module imports another module's private name.

Every import counts, including those inside functions: an import moved into a function to dodge
a circle at import time still ties the two modules together, and that is what this guards.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rewardsmith

PACKAGE_DIR = Path(rewardsmith.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]):
    """(imported module, imported names) for each import in the file, resolved to our modules."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in modules:
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            for sub in submodules:
                yield sub, []
            rest = [n for n in names if f"{target}.{n}" not in modules]
            if rest:
                yield target, rest


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: {target for target, _ in imports_of(name, path, modules) if target != name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None. Iterative depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if state.get(root):
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_find_cycle_reports_a_planted_cycle():
    # The checker itself must be able to fail.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_is_resolved_from_relative_imports():
    graph = import_graph()
    assert "rewardsmith.cli_options" in graph["rewardsmith.cli"]
    assert "rewardsmith.sandbox.runner" in graph["rewardsmith.sandbox.function"]


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_a_private_name_from_another_module():
    modules = package_modules()
    private = [
        f"{name} imports {target}.{imported}"
        for name, path in modules.items()
        for target, names in imports_of(name, path, modules)
        for imported in names
        if imported.startswith("_") and not imported.startswith("__") and target != name
    ]
    assert not private, "private names used across modules:\n" + "\n".join(private)
