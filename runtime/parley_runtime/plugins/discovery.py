"""Where plugins come from: the built-in map, the `parley.plugins` entry points, a plugins folder.

Listing is cheap and imports nothing, so an unknown name can be reported with the full list of
choices; only enabled plugins are imported. A later source shadows an earlier one with the same name
(folder over entry point over built-in), so a team can replace a built-in without forking Parley.
"""

import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from parley_runtime.plugins import folder
from parley_runtime.plugins.api import Plugin
from parley_runtime.plugins.builtin import BUILTINS
from parley_runtime.plugins.errors import PluginLoadError

GROUP = "parley.plugins"

Kind = Literal["builtin", "entry-point", "folder", "object"]


@dataclass(frozen=True)
class Source:
    name: str
    kind: Kind
    target: str  # "module:attribute" for built-ins and entry points, the path for folder plugins
    obj: "Plugin[Any] | None" = field(default=None, compare=False, repr=False)  # kind "object" only

    @property
    def path(self) -> Path | None:
        return Path(self.target) if self.kind == "folder" else None


@dataclass(frozen=True)
class Imported:
    plugin: Plugin[Any]
    module_name: str | None  # folder plugins only: what to drop from sys.modules when replaced
    fingerprint: str  # folder plugins only: the source digest this version was built from


def available(plugins_dir: Path | None, *, builtins: Iterable[str] | None = None) -> dict[str, Source]:
    """Every plugin that could be enabled; `builtins` narrows the built-ins offered (default: all)."""
    names = BUILTINS if builtins is None else [n for n in builtins if n in BUILTINS]
    sources = {name: Source(name, "builtin", BUILTINS[name]) for name in names}
    for ep in importlib.metadata.entry_points(group=GROUP):
        sources[ep.name] = Source(ep.name, "entry-point", ep.value)
    if plugins_dir is not None:
        for name, path in folder.scan(plugins_dir).items():
            sources[name] = Source(name, "folder", str(path))
    return sources


def import_plugin(source: Source) -> Imported:
    """The `Plugin` object behind `source`; PluginLoadError (one line) when it cannot be had."""
    if source.obj is not None:
        return Imported(_checked(source, source.obj, f"{source.target} is not a Plugin"), None, "")
    path = source.path
    if path is not None:
        digest = folder.fingerprint(path)
        module = folder.import_module(source.name, path)
        try:
            obj = getattr(module, "plugin", None)
            return Imported(
                _checked(source, obj, f"{path} has no module-level `plugin`"), module.__name__, digest
            )
        except PluginLoadError:
            folder.forget(module.__name__)
            raise
    entry = importlib.metadata.EntryPoint(name=source.name, value=source.target, group=GROUP)
    try:
        obj = entry.load()
    except Exception as exc:
        raise PluginLoadError(f"{source.target}: {folder.describe(exc)}") from None
    return Imported(_checked(source, obj, f"{source.target} is not a Plugin"), None, "")


def _checked(source: Source, obj: object, missing: str) -> Plugin[Any]:
    if not isinstance(obj, Plugin):
        raise PluginLoadError(f"{missing} (expected `plugin = Plugin({source.name!r}, ...)`)")
    if obj.name != source.name:
        raise PluginLoadError(f"{source.target} defines Plugin({obj.name!r}), not {source.name!r}")
    return obj
