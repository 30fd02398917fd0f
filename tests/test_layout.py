"""The package's layout: imports flow one way (no module imports one that imports it back, even
inside a function) and no module is over 450 lines."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "xpnn"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module, is_package, node):
    """The xpnn modules one ``import``/``from`` statement of ``module`` reads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "xpnn"]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "xpnn":
        return []
    return [target] + [f"{target}.{a.name}" for a in node.names]


def import_graph():
    """{module: set of xpnn modules it imports anywhere in its body}."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _resolve(name, path.name == "__init__.py", node):
                    if target in modules and target != name:
                        edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph):
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package_edges_removed(graph):
    """A package's ``__init__`` only gathers its submodules' names; a submodule reading a sibling
    through the package (``from . import x``) is an edge to that sibling, not a cycle."""
    return {v: {w for w in ws if not v.startswith(w + ".")} for v, ws in graph.items()}


def test_import_graph_has_no_cycles():
    assert _cycles(_package_edges_removed(import_graph())) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_module_is_small(path):
    assert len(path.read_text().splitlines()) <= 450


def test_ruff_is_clean_over_src_tests_benchmarks_and_examples():
    """The style CI keeps: ruff (pyproject's settings) over everything that is code."""
    import pathlib
    import subprocess
    import sys

    pytest.importorskip("ruff")
    root = pathlib.Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "examples"],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_no_function_but_a_constructor_takes_more_than_12_parameters():
    """DEVELOPERS.md's rule (``self``/``cls`` not counted; ``*args`` and ``**kwargs`` one each):
    a function that needs more takes an options object (``xpnn.training.Options``)."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "__init__":
                a = node.args
                names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
                if count > 12:
                    long.append(f"{_module_name(path)}.{node.name}: {count}")
    assert long == []


def test_every_estimator_is_its_class_a_kind_and_the_one_base():
    """At most three xpnn classes in any estimator's MRO: its own, _Classifier or _Regressor,
    and _BaseNet; what a family does its own way is its rules object (``_rules``), not a class."""
    import xpnn  # noqa: F401  (registers every estimator)
    from xpnn._base import _BaseNet
    from xpnn._classifier_regressor import _Classifier, _Regressor
    from xpnn.persistence import _CLASSES

    assert len(_CLASSES) >= 7
    for cls in _CLASSES.values():
        ours = [k for k in cls.__mro__ if k.__module__.startswith("xpnn")]
        assert len(ours) == 3 and ours[2] is _BaseNet and ours[1] in (_Classifier, _Regressor), ours
