"""The package's import structure: every module imports on its own, and no
module imports another that imports it back (directly or through others),
even from inside a function."""

import ast
import subprocess
import sys
from pathlib import Path

import skattn

PACKAGE = Path(skattn.__file__).resolve().parent
ROOT = "skattn"


# Every module imports on its own ---------------------------------------------

# Run in one fresh process: torch and the other dependencies stay loaded
# between modules, only skattn's own modules are imported again each time.
IMPORT_EACH = """
import importlib, json, pkgutil, sys, traceback

import skattn

file = skattn.__file__
names = ["skattn"] + sorted(
    info.name for info in pkgutil.walk_packages(skattn.__path__, "skattn.")
)
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m == "skattn" or m.startswith("skattn.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps({"file": file, "names": names, "failed": failed}))
"""


def test_every_module_imports_on_its_own():
    import json

    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH],
        cwd=PACKAGE.parent,  # the skattn these tests import, not another copy
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve() == Path(skattn.__file__).resolve()
    assert len(report["names"]) > 10 and "skattn.modules.attention" in report["names"]
    failed = report["failed"]
    assert not failed, "modules that fail to import on their own:\n" + "\n".join(
        f"{name}:\n{error}" for name, error in failed.items()
    )


# No import cycle -------------------------------------------------------------


def module_name(path, package=PACKAGE):
    """``skattn/modules/stem.py`` -> ``skattn.modules.stem``; a package's
    ``__init__.py`` is the package itself (``skattn.modules``)."""
    parts = (ROOT, *path.relative_to(package).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(source, name, is_package, modules):
    """The skattn modules that module ``name`` imports, at any depth of its
    code (an import inside a function is an edge too).

    ``from X import y`` is an edge to ``X.y`` when that is a module (``from .
    import data`` -> ``skattn.data``), otherwise to ``X`` (``from .modules
    import ConvStem`` -> ``skattn.modules``). Parent packages that Python
    imports on the way are not edges.
    """
    edges = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    edges.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == ROOT or target.startswith(ROOT + ".")):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                edges.add(sub if sub in modules else target)
    edges.discard(name)
    return edges


def import_graph(package=PACKAGE):
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        graph[name] = import_edges(path.read_text(), name, is_package, set(files))
    return graph


def find_cycles(graph):
    """One cycle per strongly connected component of ``graph`` (Tarjan), as
    a list of nodes that starts and ends with the same node."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph, component):
    """A shortest cycle through the smallest node of ``component``."""
    start = min(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph.get(path[-1], ())):
            if w == start:
                return [*path, start]
            if w in component and w not in seen:
                seen.add(w)
                paths.append([*path, w])
    raise AssertionError("a strongly connected component without a cycle")


def test_cycle_finder_on_a_synthetic_graph():
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},  # a -> b -> c -> a
        "d": {"e"},
        "e": set(),
        "f": {"f"},  # a module importing itself
        "g": {"h"},
        "h": {"e"},
    }
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["f", "f"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_edges_resolve_relative_and_lazy_imports():
    modules = {"skattn", "skattn.data", "skattn.modules", "skattn.modules.stem"}
    source = (
        "from . import data\n"
        "from .modules import ConvStem\n"
        "import numpy\n"
        "def f():\n"
        "    from skattn.modules import stem\n"
    )
    edges = import_edges(source, "skattn._base", False, modules)
    assert edges == {"skattn.data", "skattn.modules", "skattn.modules.stem"}
    inside = "from .attention import x\nfrom .. import data\nfrom . import stem\n"
    edges = import_edges(inside, "skattn.modules", True, modules | {"x"})
    assert edges == {"skattn.modules.attention", "skattn.data", "skattn.modules.stem"}


def test_no_import_cycle():
    graph = import_graph()
    assert "skattn.modules.attention" in graph
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between skattn's modules:\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )


if __name__ == "__main__":  # pragma: no cover - a look at the graph
    for name, edges in sorted(import_graph().items()):
        print(name, "->", ", ".join(sorted(edges)) or "-")
    for cycle in find_cycles(import_graph()):
        print("cycle:", " -> ".join(cycle))
