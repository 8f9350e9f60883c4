"""Package hygiene: exports resolve, and only `mcp_client` talks to the MCP SDK (its `__init__` rule)."""

import ast
import importlib
from pathlib import Path

import pytest

import parley_runtime
import parley_runtime.mcp_client as mcp_client

PACKAGE = Path(mcp_client.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
SDK = ("mcp", "mcp_types", "httpx2")


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(f"parley_runtime.mcp_client.{name}")
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares __all__"
    assert [n for n in exported if not hasattr(module, n)] == []


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_mcp_client_package_imports_the_sdk() -> None:
    root = Path(parley_runtime.__file__).parent
    outside = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if PACKAGE not in path.parents and _imports(path) & set(SDK)
    ]
    assert outside == []
    assert _imports(PACKAGE / "connection.py") >= {"mcp", "mcp_types", "httpx2"}
