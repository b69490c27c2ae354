"""The import graph, read with `ast` (nothing is imported): no cycles, `TYPE_CHECKING` and
function-level imports included, and the subsystems stay out of `app/`.

Why: a cycle hidden behind `TYPE_CHECKING` still couples two modules both ways (the admin
service used to import the composition root that built it). `models/`, `memory/` and `media/`
may use only `app.storage.database` from `app/` (the one shared database), so they stay
usable and testable without the app.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "models", "memory", "media", "config")
SUBSYSTEMS = ("models", "memory", "media")
ALLOWED_FROM_APP = {"app.storage.database"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[module_name(path)] = path
    return files


def imported_modules(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every project module `name` imports, anywhere in the file (also under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield from _known(target, known)
            for alias in node.names:  # `from pkg import module`
                if f"{target}.{alias.name}" in known:
                    yield f"{target}.{alias.name}"


def _known(target: str, known: set[str]) -> Iterator[str]:
    if target in known:
        yield target


def import_graph() -> dict[str, set[str]]:
    files = source_files()
    known = set(files)
    return {
        name: {t for t in imported_modules(name, path, known) if t != name}
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
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
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def test_the_walker_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    path = pkg / "a.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.b import X\n"
        "from . import c\n"
        "def f():\n    import pkg.d\n"
    )
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"}
    assert set(imported_modules("pkg.a", path, known)) == {"pkg.b", "pkg", "pkg.c", "pkg.d"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_covers_the_code() -> None:
    graph = import_graph()
    assert "app.composition" in graph and "app.services.admin" in graph
    assert "app.services.chat" in graph["app.composition"]


def test_no_import_cycles_including_type_checking_imports() -> None:
    assert cycles(import_graph()) == []


def test_subsystems_import_nothing_from_app_but_the_database() -> None:
    graph = import_graph()
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.split(".")[0] in SUBSYSTEMS
        for target in targets
        if target.split(".")[0] == "app" and target not in ALLOWED_FROM_APP
    )
    assert offenders == []
