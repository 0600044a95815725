"""The packages' layers: the write side imports nothing of the read side or the CLI, and no module
imports itself back through others (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "projections", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of the packages and the modules of the packages it imports, anywhere in it."""
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_the_write_side_imports_neither_the_read_side_nor_the_cli() -> None:
    graph = imports()
    for name, targets in graph.items():
        if name.startswith("ledger"):
            assert not {t for t in targets if t.startswith(("projections", "cli"))}, name
        if name.startswith("projections"):
            assert not {t for t in targets if t.startswith("cli")}, name


def test_no_import_cycles() -> None:
    graph = imports()
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


# What a unit test may not touch: the CLI, a store, the read side's catching up, the CLI's test helpers.
NOT_IN_UNIT_TESTS = ("cli", "click", "ledger.app", "ledger.store", "projections.runner", "projections.reading",
                     "eventsourcing", "sqlite3", "psycopg", "tests.cli_helpers", "tests.recording", "tests.contract_helpers")  # fmt: skip
STORE_FIXTURES = {"sqlite_path", "store_url", "postgres_url", "fresh_postgres_url", "make_postgres_database", "tmp_path"}


def test_unit_tests_are_pure() -> None:
    """tests/unit tests the rules and outcomes as functions of a folded course: no CLI, no store, no files."""
    found = []
    for path in sorted((ROOT / "tests" / "unit").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [(path.name, n) for n in names if n == "cli" or n.startswith(tuple(p + "." for p in NOT_IN_UNIT_TESTS)) or n in NOT_IN_UNIT_TESTS]
            if isinstance(node, ast.FunctionDef):
                found += [(path.name, a.arg) for a in node.args.args if a.arg in STORE_FIXTURES]
    assert found == []
    assert len(list((ROOT / "tests" / "unit").glob("test_*.py"))) >= 5  # and pytest collects them (tests/unit/__init__.py)
