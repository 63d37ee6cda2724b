"""The package's layout: subpackages import downward only, and the generic layer (the trainer,
evaluation, viz, the CLI and the registry) knows no model package, only the model interface."""

import ast
from pathlib import Path

import augrnn

ROOT = Path(augrnn.__file__).parent
#: The model packages and modules: only the registry's list of built-in kinds names them.
MODEL_UNITS = {
    "augrnn.act",
    "augrnn.attention",
    "augrnn.controllers",
    "augrnn.memory",
    "augrnn.programmer",
}
GENERIC = ("augrnn.train", "augrnn.viz", "augrnn.cli", "augrnn.cli_support", "augrnn.registry")


def module_imports() -> dict[str, set[str]]:
    """Every augrnn module and the augrnn modules it imports anywhere in its body (a function's
    or a type-checking block's imports too), as dotted names."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    imports: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                found.add(base)
                # `from augrnn import addressing` imports the module augrnn.addressing
                found.update(
                    f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules
                )
        imports[name] = {d for d in found if d.startswith("augrnn.") and d != name}
    return imports


def unit(module: str) -> str:
    """The subpackage or top-level module of ``module`` (augrnn.train.loop -> augrnn.train)."""
    return ".".join(module.split(".")[:2])


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, deps in module_imports().items():
        for dep in deps:
            if unit(dep) != unit(module):
                graph.setdefault(unit(module), set()).add(unit(dep))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the list of its nodes (first repeated last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_subpackages_import_each_other_without_a_cycle():
    graph = unit_graph()
    assert "augrnn.train" in graph and "augrnn.viz" in graph  # the walk saw the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_generic_layer_imports_no_model_package():
    for module, deps in module_imports().items():
        if unit(module) in GENERIC:
            models = sorted(d for d in deps if unit(d) in MODEL_UNITS)
            assert not models, f"{module} imports {models}: use the model interface"
