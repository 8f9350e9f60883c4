"""Hot reload of folder plugins: one pass that rebuilds the changed ones into a new snapshot.

A new version replaces the old only when it imports, its config still validates and its command
and tool names still fit with the other plugins; otherwise the old version keeps serving and the
reason is logged once per distinct broken source (not on every poll).
"""

from dataclasses import dataclass, field

from pydantic import ValidationError

from parley_runtime.plugins import folder, loading, registry
from parley_runtime.plugins.errors import PluginLoadError
from parley_runtime.plugins.registry import LoadedPlugin, Registry


@dataclass(frozen=True)
class Swap:
    old: LoadedPlugin
    new: LoadedPlugin


@dataclass
class Reloader:
    """Remembers which broken sources were already reported, so each is logged once."""

    reported: dict[str, str] = field(default_factory=dict)  # plugin name → fingerprint logged as broken

    def check(self, snapshot: Registry) -> tuple[Registry, list[Swap]]:
        """The snapshot with every changed, healthy folder plugin replaced, and what was replaced."""
        plugins = list(snapshot.plugins)
        swaps: list[Swap] = []
        for position, old in enumerate(plugins):
            path = old.source.path
            if path is None:
                continue
            digest = folder.fingerprint(path)
            if digest == old.imported.fingerprint or self.reported.get(old.name) == digest:
                continue
            new = self._rebuild(old, digest)
            if new is None:
                continue
            candidate = [*plugins[:position], new, *plugins[position + 1 :]]
            _, clashes = registry.build(candidate)
            mine = [message for p, message in clashes if p is new or p.name == new.name]
            if mine:
                self._report(old, digest, mine[0])
                if new.imported.module_name:
                    folder.forget(new.imported.module_name)
                continue
            plugins = candidate
            swaps.append(Swap(old, new))
            self.reported.pop(old.name, None)
            old.logger.info("plugin %s reloaded from %s", old.name, path)
        if not swaps:
            return snapshot, []
        rebuilt, _ = registry.build(plugins)
        return rebuilt, swaps

    def _rebuild(self, old: LoadedPlugin, digest: str) -> LoadedPlugin | None:
        if not digest:
            self._report(old, digest, f"{old.source.target} cannot be read; keeping the loaded version")
            return None
        try:
            new = loading.load_one(old.source, old.raw_config, old.index)
        except PluginLoadError as exc:
            self._report(old, digest, str(exc))
            return None
        except ValidationError as exc:
            problems = loading.config_problems("config", exc)
            self._report(old, digest, "; ".join(problems))
            return None
        return new

    def _report(self, old: LoadedPlugin, digest: str, reason: str) -> None:
        self.reported[old.name] = digest
        old.logger.error("plugin %s not reloaded, the previous version stays active: %s", old.name, reason)
