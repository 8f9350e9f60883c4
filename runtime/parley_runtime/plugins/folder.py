"""Folder plugins: `<dir>/<name>.py` or `<dir>/<name>/__init__.py`, imported from source by path.

Each import gets a fresh module name, so a reload never sees the previous version's module objects,
and reads the source itself rather than a cached `.pyc` (two edits within the same second could
otherwise load stale bytecode); no `__pycache__` is written into the folder, which may be read-only.
A fingerprint of the source decides whether a reload is due.
"""

import hashlib
import importlib.machinery
import importlib.util
import itertools
import re
import sys
from pathlib import Path
from types import CodeType, ModuleType

from parley_runtime.plugins.errors import PluginLoadError

MODULE_PREFIX = "_parley_folder_plugin_"
_generation = itertools.count(1)  # process-wide, so two hosts never share a module name


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def scan(plugins_dir: Path) -> dict[str, Path]:
    """Plugin name → its `.py` file or package folder; private (`_x`) and hidden entries are skipped."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(plugins_dir.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            found[entry.name] = entry
        elif entry.is_file() and entry.suffix == ".py":
            found.setdefault(entry.stem, entry)
    return found


def fingerprint(path: Path) -> str:
    """A digest of every source file of the plugin; "" when it cannot be read (e.g. deleted)."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    digest = hashlib.sha256()
    try:
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(path.parent)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    except OSError:
        return ""
    return digest.hexdigest()


def import_module(name: str, path: Path) -> ModuleType:
    """Execute the plugin's source under a new module name; PluginLoadError with one line on failure."""
    module_name = f"{MODULE_PREFIX}{re.sub(r'[^a-zA-Z0-9_]', '_', name)}_{next(_generation)}"
    is_package = path.is_dir()
    file = path / "__init__.py" if is_package else path
    loader = _SourceOnlyLoader(module_name, str(file))
    spec = importlib.util.spec_from_file_location(
        module_name, file, loader=loader, submodule_search_locations=[str(path)] if is_package else None
    )
    if spec is None:  # pragma: no cover - only for paths without a usable suffix, which scan() excludes
        raise PluginLoadError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # a package's submodules go through the normal loader
    try:
        loader.exec_module(module)
    except BaseException as exc:
        forget(module_name)
        if not isinstance(exc, Exception):
            raise
        raise PluginLoadError(f"{file}: {describe(exc)}") from None
    finally:
        sys.dont_write_bytecode = before
    return module


def forget(module_name: str) -> None:
    """Drop a plugin module and its submodules from `sys.modules` once nothing serves from it."""
    for key in [k for k in sys.modules if k == module_name or k.startswith(module_name + ".")]:
        del sys.modules[key]


def describe(exc: BaseException) -> str:
    """One line for an import failure: a traceback is for the log, not for a config error."""
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"SyntaxError: {exc.msg}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
