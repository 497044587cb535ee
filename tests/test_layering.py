"""The package's layers hold: no import from a higher layer, none sideways, no import cycle.

:data:`LAYERS` is the table of README.md's "Layers" section (a test keeps the two equal).
Lowest first; each entry names a module or a package (with everything below it, unless a
longer entry claims a part). A module may import from lower layers and, within its own layer,
from its own top-level package (``picker.windows`` from ``picker.prepare``); an import from a
higher layer is upward, one from another package of its own layer sideways.
Every module must have an entry, so a new one is placed deliberately.

What counts as an import: every ``import``/``from ... import`` of a package module, at module
level or inside a function. A lazy import defers the cost of loading, not the dependency, so
it obeys the same rules; an exception would go into :data:`ALLOWED` with its reason (there is
none). Importing ``a.b.c`` counts as importing ``a.b.c`` only: that Python runs the packages'
``__init__`` first is not counted, since an ``__init__`` imports its own submodules as a
facade and would otherwise put every package in a cycle with its parts.

Cycles are looked for over all those imports, lazy ones included.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "seqt_plugins"

#: (layer, entries), lowest first; entries relative to the package ("" is the package itself,
#: and only it). README.md's "Layers" section lists the same.
LAYERS: List[Tuple[str, List[str]]] = [
    ("base", ["", "memory", "options", "progress", "io", "io.atomic"]),
    ("shared", ["picks", "geo", "plotbase"]),
    ("io", ["io.records", "io.xml"]),
    ("options", ["picker.options", "repicker.options", "catalog.options"]),
    ("config", ["config"]),
    ("preparation", ["picker.prepare", "picker.windows", "picker.stack"]),
    ("model", ["eqt"]),
    ("engines", ["picker", "repicker"]),
    ("services", ["scale", "catalog", "evaluation", "repick_case"]),
    ("host", ["host"]),
    ("applications", ["modules"]),
]

#: (importing module, imported module) -> why this import may break the rules.
ALLOWED: Dict[Tuple[str, str], str] = {}


# -- the import graph ---------------------------------------------------------------------------
def package_modules(root: Path, package: str) -> Dict[str, Tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every module of ``package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_init)
    return out


def _absolute(module: str, is_init: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_init else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(package: str, module: str, path: Path, is_init: bool,
               modules) -> Iterator[Tuple[str, int, bool]]:
    """(imported module of ``package``, line, inside a function) for each import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, inner
            elif isinstance(child, ast.ImportFrom):
                target = _absolute(module, is_init, child)
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    yield (sub if sub in modules else target), child.lineno, inner
            yield from visit(child, inner)

    for name, line, lazy in visit(tree, False):
        if name != package and not name.startswith(package + "."):
            continue
        while name not in modules and "." in name:  # a name imported from a module
            name = name.rsplit(".", 1)[0]
        if name != module:
            yield name, line, lazy


def import_graph(root: Path, package: str):
    """{module: [(imported, line, lazy)]} over every module of ``package``."""
    modules = package_modules(root, package)
    return {m: sorted(set(imports_of(package, m, p, init, modules))) for m, (p, init) in modules.items()}


# -- the rules ----------------------------------------------------------------------------------
def entry_of(module: str, package: str, layers) -> Tuple[int, str]:
    """(layer index, entry) of a module: the longest entry naming it or a package above it."""
    rel = module[len(package) + 1:] if module != package else ""
    best = None
    for index, (_, entries) in enumerate(layers):
        for entry in entries:
            if rel == entry or (entry and rel.startswith(entry + ".")):
                if best is None or len(entry) > len(best[1]):
                    best = (index, entry)
    if best is None:
        raise KeyError(module)
    return best


def layer_violations(graph, package: str, layers, allowed) -> List[str]:
    """One line per module without a layer and per upward or sideways import."""
    out = []
    for module in sorted(graph):
        try:
            entry_of(module, package, layers)
        except KeyError:
            out.append(f"{module} has no layer: add it to LAYERS (tests/test_layering.py) and README.md")
    for module, targets in sorted(graph.items()):
        try:
            here, here_entry = entry_of(module, package, layers)
        except KeyError:
            continue
        for target, line, lazy in targets:
            if (module, target) in allowed:
                continue
            try:
                there, there_entry = entry_of(target, package, layers)
            except KeyError:
                continue
            how = "lazily " if lazy else ""
            if there > here:
                out.append(f"{module}:{line} {how}imports {target}: upward, from layer "
                           f"{layers[here][0]} to {layers[there][0]}")
            elif there == here and there_entry.split(".")[0] != here_entry.split(".")[0]:
                out.append(f"{module}:{line} {how}imports {target}: sideways, within layer "
                           f"{layers[here][0]} ({here_entry or package} -> {there_entry})")
    return out


def cycles(graph) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted({t for t, _, _ in graph.get(start, ())})))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({t for t, _, _ in graph.get(child, ())}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe_cycle(graph, component) -> str:
    members = set(component)
    edges = [f"{m}:{line} -> {t}" for m in component for t, line, _ in graph[m] if t in members]
    return "cycle between " + ", ".join(component) + " (" + "; ".join(edges) + ")"


# -- the package --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT, PACKAGE)


def test_the_import_parser_sees_relative_absolute_and_lazy_imports(graph):
    """Guards the other tests against passing on an empty or misread graph."""
    assert len(graph) > 50
    edges = {(m, t): lazy for m, targets in graph.items() for t, _, lazy in targets}
    assert edges[("seqt_plugins.repicker.engine", "seqt_plugins.geo")] is False  # from ..geo import
    assert edges[("seqt_plugins.modules.seqtpick", "seqt_plugins.scale.reprocess")] is True  # in a method
    assert edges[("seqt_plugins.io.xml.writer", "seqt_plugins.io.xml.scml")] is False  # from . import scml


def test_no_module_imports_upward_or_sideways(graph):
    problems = layer_violations(graph, PACKAGE, LAYERS, ALLOWED)
    assert not problems, "\n".join(problems)


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "\n".join(describe_cycle(graph, c) for c in found)


def test_every_layer_entry_names_a_module(graph):
    """A stale entry (a module moved or removed) would hide where its successor belongs."""
    names = {m[len(PACKAGE) + 1:] if m != PACKAGE else "" for m in graph}
    stale = [e for _, entries in LAYERS for e in entries
             if e not in names and not any(n.startswith(e + ".") for n in names)]
    assert not stale


def test_the_readme_lists_the_same_layers():
    """README.md's "Layers" section: one numbered line per layer, lowest first, its entries in
    backticks (the package itself as ``seqt_plugins``)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n### Layers\n", 1)[1].split("\n#", 1)[0]
    listed = []
    for line in section.splitlines():
        m = re.match(r"\d+\. \*\*([a-z]+)\*\*(.*)", line)
        if m:
            head = m.group(2).split(":", 1)[0]
            names = ["" if n == PACKAGE else n for n in re.findall(r"`([a-z_.]+)`", head)]
            listed.append((m.group(1), names))
    assert listed == LAYERS


def test_tests_and_package_never_import_benchmarks():
    """Benchmarks may use the package (and, where they drive test servers, tests/ helpers); the
    package and the tests never reach into benchmarks/."""
    offenders = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")) + sorted((ROOT / "tests").glob("*.py")):
        text = path.read_text()
        if re.search(r"""["'/]benchmarks["'/]|^\s*(from|import) benchmarks\b""", text, re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


# -- the checker itself, on a small package written here ----------------------------------------
def write_package(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_upward_sideways_lazy_and_cyclic_imports(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def f():\n    from pkg.high import g\n",  # lazy, upward
        "pkg/mid/__init__.py": "from .a import x\n",
        "pkg/mid/a.py": "from ..low import f\nx = 1\n",
        "pkg/mid/b.py": "from . import a\nfrom pkg import side\n",  # sideways
        "pkg/side.py": "import pkg.mid.b\n",  # with mid/b: a cycle
        "pkg/high.py": "from pkg.mid import x\ndef g():\n    pass\n",
        "pkg/stray.py": "",
    })
    layers = [("low", ["", "low"]), ("mid", ["mid", "side"]), ("high", ["high"])]
    graph = import_graph(tmp_path, "pkg")
    problems = layer_violations(graph, "pkg", layers, {})
    assert problems == [
        "pkg.stray has no layer: add it to LAYERS (tests/test_layering.py) and README.md",
        "pkg.low:2 lazily imports pkg.high: upward, from layer low to high",
        "pkg.mid.b:2 imports pkg.side: sideways, within layer mid (mid -> side)",
        "pkg.side:1 imports pkg.mid.b: sideways, within layer mid (side -> mid)",
    ]
    assert sorted(cycles(graph)) == [["pkg.high", "pkg.low", "pkg.mid", "pkg.mid.a"],
                                     ["pkg.mid.b", "pkg.side"]]
    assert layer_violations(graph, "pkg", layers, {("pkg.low", "pkg.high"): "test",
                                                   ("pkg.mid.b", "pkg.side"): "test",
                                                   ("pkg.side", "pkg.mid.b"): "test"}) == problems[:1]
