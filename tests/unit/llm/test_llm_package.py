"""Package hygiene: exports resolve, providers never import each other, nothing runs at import."""

import ast
import importlib
from pathlib import Path

import pytest

import parley_runtime.llm as llm

PACKAGE = Path(llm.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
PROVIDERS = {"openai_compat", "anthropic", "gemini", "echo"}


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(f"parley_runtime.llm.{name}")
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares __all__"
    assert [n for n in exported if not hasattr(module, n)] == []


def imported_llm_modules(name: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "parley_runtime.llm":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("parley_runtime.llm."):
            found.add(node.module.rsplit(".", 1)[1])
    return found


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_providers_never_import_each_other(name: str) -> None:
    assert imported_llm_modules(name) & PROVIDERS == set()


def test_only_the_provider_map_knows_all_providers() -> None:
    knowing = {m for m in MODULES if imported_llm_modules(m) >= PROVIDERS}
    assert knowing == {"providers"}
