"""Layering rules that keep the codebase readable: checked on the source, so a slip fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_PACKAGES = ("azure.functions", "azure.durable_functions")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_shared_never_imports_the_functions_packages() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.startswith(FUNCTIONS_PACKAGES)
        )
        for path in (ROOT / "shared").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_shared_reads_the_environment_only_in_config() -> None:
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "shared").rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "os.getenv" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["shared/config.py"]


def test_function_app_only_composes_blueprints() -> None:
    tree = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    decorated = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    assert decorated == []
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "register_functions" in calls


def test_devhost_is_not_deployed() -> None:
    ignored = {line.strip() for line in (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()}
    assert {"devhost", "tests", "bench", ".venv", "node_modules", "local.settings.json"} <= ignored
