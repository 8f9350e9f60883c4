"""From `spec.plugins` to loaded plugins, or a ConfigError with one line per problem.

Every problem is collected before raising, each naming the manifest file and the field path
(`bot.yaml: spec.plugins[1].config.allowHosts: Input should be a valid list`), as `parley validate`
reports manifest errors.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from parley_runtime.config.errors import ConfigError, field_path
from parley_runtime.config.models import PluginSpec
from parley_runtime.plugins import discovery, folder, registry
from parley_runtime.plugins.builtin import ALWAYS_ON
from parley_runtime.plugins.errors import PluginLoadError
from parley_runtime.plugins.registry import LoadedPlugin

LOGGER_PREFIX = "parley.plugin."


def load_all(
    specs: Sequence[PluginSpec], available: Mapping[str, discovery.Source], source: str
) -> registry.Registry:
    """Load what `specs` enables out of `available` (see `discovery.available`); problems come out
    in manifest order."""
    problems: list[tuple[int, str]] = []  # (position in spec.plugins, line); -1 for implicit ones
    listed: dict[str, int] = {}
    wanted: list[tuple[int | None, PluginSpec]] = []
    for index, spec in enumerate(specs):
        where = f"{source}: spec.plugins[{index}]"
        if spec.name in listed:
            first = listed[spec.name]
            problems.append(
                (index, f"{where}.name: plugin {spec.name!r} is listed twice (see spec.plugins[{first}])")
            )
            continue
        listed[spec.name] = index
        if spec.name not in available:
            choices = ", ".join(sorted(available))
            problems.append((index, f"{where}.name: unknown plugin {spec.name!r} (available: {choices})"))
        elif spec.enabled:
            wanted.append((index, spec))
    implicit = [(None, PluginSpec(name=n)) for n in ALWAYS_ON if n not in listed and n in available]
    loaded: list[LoadedPlugin] = []
    for position, spec in [*implicit, *wanted]:
        key, where = -1 if position is None else position, _where(source, position, spec.name)
        try:
            loaded.append(load_one(available[spec.name], spec.config, position))
        except PluginLoadError as exc:
            problems.append((key, f"{where}.name: plugin {spec.name!r} cannot be loaded: {exc}"))
        except ValidationError as exc:
            problems.extend((key, line) for line in config_problems(where + ".config", exc))
    snapshot, clashes = registry.build(loaded)
    for p, message in clashes:
        problems.append(
            (-1 if p.index is None else p.index, f"{_where(source, p.index, p.name)}.name: {message}")
        )
    if problems:
        for p in loaded:
            if p.imported.module_name:
                folder.forget(p.imported.module_name)
        raise ConfigError([line for _, line in sorted(problems, key=lambda item: item[0])])
    return snapshot


def load_one(source: discovery.Source, raw_config: Mapping[str, Any], index: int | None) -> LoadedPlugin:
    """Import the plugin and validate its config; PluginLoadError or ValidationError when either fails."""
    imported = discovery.import_plugin(source)
    try:
        config = validate_config(imported.plugin.config_model, raw_config)
    except ValidationError:
        if imported.module_name:
            folder.forget(imported.module_name)
        raise
    return LoadedPlugin(
        name=source.name,
        index=index,
        plugin=imported.plugin,
        config=config,
        raw_config=dict(raw_config),
        source=source,
        imported=imported,
        logger=logging.getLogger(LOGGER_PREFIX + source.name),
    )


def validate_config(model: type[BaseModel], raw: Mapping[str, Any]) -> BaseModel:
    return model.model_validate(dict(raw))


def config_problems(prefix: str, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        path = field_path(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{prefix}{'.' + path if path else ''}: {message}")
    return lines


def _where(source: str, index: int | None, name: str) -> str:
    return f"{source}: spec.plugins[{index}]" if index is not None else f"{source}: built-in plugin {name!r}"
