"""Read the import graph of a package from its source (AST), and check it against a layer table.

Used by test_layering.py on src/regvarbench, and on small planted packages to show that the
checks find what they are meant to find. Only ``import`` statements are read: a module named by a
string (the registries cli.COMMANDS, models.FAMILIES, variants.FORMATS) is not an edge.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    module: str  # importing module, dotted, relative to the package ("" for the package itself)
    target: str  # imported module of the package, same form
    line: int
    module_level: bool  # False: inside a function (or a class body's method)


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name (relative to the package, "" for its __init__) -> file, for every .py under ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def imports_of(package: str, root: Path) -> list[Import]:
    """Every import of ``package``'s own modules in the package's source under ``root``."""
    files = module_names(root)
    found: list[Import] = []
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        here = name if _is_package(name, files) else name.rpartition(".")[0]  # the package a relative import starts from
        for node, top in _walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == package or alias.name.startswith(package + "."):
                        targets.append(alias.name[len(package) + 1:])
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".") if here else []
                    if node.level > 1:
                        base = base[:len(base) - (node.level - 1)]
                    source = _join(".".join(base), node.module or "")
                elif node.module == package or (node.module or "").startswith(package + "."):
                    source = node.module[len(package) + 1:]
                else:
                    continue
                for alias in node.names:
                    sub = _join(source, alias.name)
                    targets.append(sub if sub in files else source)
            for target in targets:
                if target in files and target != name:
                    found.append(Import(name, target, node.lineno, top))
    return found


def _walk(tree: ast.AST):
    """(node, is at module level) for every import node; module level includes if/try blocks."""
    def visit(node: ast.AST, top: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, top
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            yield from visit(child, inner)
    yield from visit(tree, True)


def read_layers(text: str) -> list[list[str]]:
    """The layer table of a Markdown text: the fenced block opened by a ```layers line.

    One line per layer, lowest first: an optional layer number, then module patterns (dotted
    names relative to the package, ``__init__`` for the package itself, ``pkg.*`` for every
    module under ``pkg`` not named elsewhere). Text after ``#`` is a comment.
    """
    match = re.search(r"^```layers\n(.*?)^```", text, re.S | re.M)
    if not match:
        raise ValueError("no ```layers block")
    layers = []
    for line in match.group(1).splitlines():
        words = line.split("#")[0].replace(",", " ").split()
        if words and words[0].isdigit():
            words = words[1:]
        if words:
            layers.append(words)
    return layers


def layer_of(layers: list[list[str]]) -> callable:
    """A function: module name -> layer index (exact names before ``.*`` patterns), None if unplaced."""
    exact = {("" if w == "__init__" else w): i for i, ws in enumerate(layers) for w in ws if "*" not in w}
    patterns = [(w, i) for i, ws in enumerate(layers) for w in ws if "*" in w]

    def find(name: str) -> int | None:
        if name in exact:
            return exact[name]
        for pattern, i in patterns:
            if fnmatch.fnmatchcase(name, pattern):
                return i
        return None
    return find


def problems(package: str, root: Path, layers: list[list[str]]) -> list[str]:
    """Every breach: a module outside the table, a function-level import, an upward import, a cycle."""
    files = module_names(root)
    find = layer_of(layers)
    found = []
    for name in files:
        if find(name) is None:
            found.append(f"{_label(package, name)}: not in the layer table")
    edges = imports_of(package, root)
    for e in edges:
        where = f"{files[e.module].relative_to(root.parent)}:{e.line}"
        if not e.module_level:
            found.append(f"{where}: function-level import of {_label(package, e.target)} in {_label(package, e.module)}")
        a, b = find(e.module), find(e.target)
        if a is not None and b is not None and b > a:
            found.append(f"{where}: upward import: {_label(package, e.module)} (layer {a}) imports "
                         f"{_label(package, e.target)} (layer {b})")
    found += [f"import cycle: {' -> '.join(_label(package, m) for m in c)}" for c in cycles(edges)]
    return found


def cycles(edges: list[Import]) -> list[list[str]]:
    """Cycles of the module-level import graph (one per strongly connected set, as a path)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.module_level:
            graph.setdefault(e.module, set()).add(e.target)
    found, done = [], set()
    for start in sorted(graph):
        if start in done:
            continue
        stack, on_path = [(start, iter(sorted(graph.get(start, ()))))], [start]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.pop()
                done.add(node)
            elif child in on_path:
                cycle = on_path[on_path.index(child):] + [child]
                if not any(set(cycle) == set(c) for c in found):
                    found.append(cycle)
            elif child not in done:
                stack.append((child, iter(sorted(graph.get(child, ())))))
                on_path.append(child)
    return found


def _label(package: str, name: str) -> str:
    return _join(package, name)
