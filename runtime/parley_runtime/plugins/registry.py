"""An immutable snapshot of the enabled plugins and the lookup tables built from them.

The host swaps whole snapshots (one assignment), so a hot reload is atomic: a message is handled
entirely by the old set of plugins or entirely by the new one.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from parley_runtime.plugins.api import Command, Plugin, Tool
from parley_runtime.plugins.context import CommandInfo
from parley_runtime.plugins.discovery import Imported, Source


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    index: int | None  # position in spec.plugins (None: an always-on plugin the manifest omits)
    plugin: Plugin[Any]
    config: BaseModel = field(repr=False)  # may hold secrets-adjacent settings: keep it out of logs
    raw_config: Mapping[str, Any] = field(repr=False)
    source: Source
    imported: Imported = field(repr=False)
    logger: logging.Logger = field(repr=False)


@dataclass(frozen=True)
class Registry:
    plugins: tuple[LoadedPlugin, ...] = ()
    commands: Mapping[str, tuple[LoadedPlugin, Command[Any]]] = field(default_factory=dict)
    catalog: tuple[CommandInfo, ...] = ()
    tools: Mapping[str, tuple[LoadedPlugin, Tool]] = field(default_factory=dict)


def build(plugins: Sequence[LoadedPlugin]) -> tuple[Registry, list[tuple[LoadedPlugin, str]]]:
    """The snapshot plus clashes (a command or tool name claimed twice), blamed on the later plugin."""
    commands: dict[str, tuple[LoadedPlugin, Command[Any]]] = {}
    tools: dict[str, tuple[LoadedPlugin, Tool]] = {}
    catalog: list[CommandInfo] = []
    problems: list[tuple[LoadedPlugin, str]] = []
    for loaded in plugins:
        for command in loaded.plugin.commands:
            names = (command.name, *command.aliases)
            owner = next((commands[n][0].name for n in names if n in commands), None)
            if owner is not None:
                taken = next(n for n in names if n in commands)
                problems.append((loaded, f"command /{taken} is already defined by plugin {owner!r}"))
                continue
            for n in names:
                commands[n] = (loaded, command)
            catalog.append(CommandInfo(command.name, command.description, command.aliases, loaded.name))
        for tool in loaded.plugin.tools:
            if tool.name in tools:
                owner = tools[tool.name][0].name
                problems.append((loaded, f"tool {tool.name!r} is already defined by plugin {owner!r}"))
                continue
            tools[tool.name] = (loaded, tool)
    return Registry(tuple(plugins), commands, tuple(catalog), tools), problems
