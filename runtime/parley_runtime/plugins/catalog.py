"""Plugins as their authors defined them — description, config fields and defaults — for
`parley plugins list|template`, and the check of a manifest's plugin config for `validate`/`render`.

Plugins are found as `parley serve` finds them (`discovery`), plus the packages a manifest pins when
its cache (`packages`) already holds them. Nothing is installed here: a plugin that is not
installed where the command runs (often CI) is reported as not checked, a note and never an error.
"""

import importlib.metadata
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined, to_jsonable_python

from parley_runtime.config.models import ChatBot, PluginSpec
from parley_runtime.plugins import discovery, loading, packages, schemas
from parley_runtime.plugins.api import Plugin
from parley_runtime.plugins.errors import PluginLoadError

# (severity, field path, message): what `check_bot` hands `parley validate` and `parley render`.
Finding = tuple[Literal["error", "note"], str, str]


@dataclass(frozen=True)
class ConfigField:
    key: str  # as written in YAML (camelCase)
    type: str
    required: bool
    default: Any  # JSON-compatible; None when required
    description: str


@dataclass(frozen=True)
class Entry:
    """One available plugin: where it comes from and, once imported, what it says about itself."""

    name: str
    origin: str  # "built-in", "parley-weather 1.2.0", "folder plugins/weather.py"
    package: str | None  # `name==version` when a distribution provides it
    plugin: Plugin[Any] | None
    problem: str | None = None  # why it could not be imported

    @property
    def fields(self) -> list[ConfigField]:
        return config_fields(self.plugin.config_model) if self.plugin is not None else []


def use_manifest_caches(bots: Iterable[tuple[ChatBot, str]]) -> None:
    """Make the packages earlier `parley serve` runs installed for these manifests importable."""
    for bot, source in bots:
        pins = packages.pinned(bot.spec.plugins)
        if pins is not None and packages.cache_folder(pins, source).is_dir():
            packages.activate(packages.cache_folder(pins, source))


def entries(plugins_dir: Path | None = None) -> list[Entry]:
    """Every available plugin, imported, sorted by name."""
    return [entry(source) for _, source in sorted(discovery.available(plugins_dir).items())]


def entry(source: discovery.Source) -> Entry:
    package = _distributions().get(source.name) if source.kind == "entry-point" else None
    if source.kind == "builtin":
        origin = "built-in"
    elif source.kind == "folder":
        origin = f"folder {source.target}"
    else:
        origin = package.replace("==", " ") if package else source.target
    try:
        plugin = discovery.import_plugin(source).plugin
    except PluginLoadError as exc:
        return Entry(source.name, origin, package, None, str(exc))
    return Entry(source.name, origin, package, plugin)


def _distributions() -> dict[str, str]:
    """Entry-point plugin name → the `name==version` of the distribution declaring it."""
    found: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=discovery.GROUP):
        if ep.dist is not None:
            found[ep.name] = f"{ep.dist.name}=={ep.dist.version}"
    return found


def config_fields(model: type[BaseModel]) -> list[ConfigField]:
    """The config model's fields in declaration order, with YAML keys, a short type and defaults."""
    schema = schemas.flatten(model.model_json_schema(by_alias=True))
    properties = schema.get("properties") or {}
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        default = info.get_default(call_default_factory=True)
        required = default is PydanticUndefined
        out.append(
            ConfigField(
                key=key,
                type=_type(properties.get(key) or {}),
                required=required,
                default=None if required else to_jsonable_python(default, by_alias=True),
                description=" ".join((info.description or "").split()),
            )
        )
    return out


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for union in ("anyOf", "oneOf"):
        if isinstance(schema.get(union), list):
            return " | ".join(_type(branch) for branch in schema[union])
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items') or {})}"
    if kind == "object" and "properties" not in schema:
        return "map"
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    return str(kind or "any")


def template(entry: Entry, package: str | None = None) -> str:
    """A `plugins:` block with every config field at its default; a required field is left null
    with a comment, so `parley validate` points at it until it is filled in."""
    lines = ["plugins:", f"  - name: {entry.name}"]
    pin = package or entry.package
    if pin is not None:
        lines.append(f"    package: {json.dumps(pin)}")
    fields = entry.fields
    if fields:
        lines.append("    config:")
    for field in fields:
        value = "null" if field.required else json.dumps(field.default, ensure_ascii=False)
        notes = [f"required, {field.type}" if field.required else "", field.description]
        comment = "; ".join(n for n in notes if n)
        lines.append(f"      {field.key}: {value}" + (f"  # {comment}" if comment else ""))
    return "\n".join(lines) + "\n"


def check_bot(bot: ChatBot, source: str) -> list[Finding]:
    """Each enabled plugin's config against its own model where the plugin can be imported here;
    a note for each one that cannot. The `parley.manifest-checks` entry point of the runtime."""
    if not bot.spec.plugins:
        return []
    use_manifest_caches([(bot, source)])
    available = discovery.available(None)
    findings: list[Finding] = []
    for index, spec in enumerate(bot.spec.plugins):
        if spec.enabled:
            findings += _check_one(spec, f"spec.plugins[{index}]", available)
    return findings


def _check_one(spec: PluginSpec, where: str, available: dict[str, discovery.Source]) -> list[Finding]:
    what = f"plugin {spec.name!r}" + (f" ({spec.package})" if spec.package else "")
    source = available.get(spec.name)
    if source is None:
        hint = "run `parley serve` once to install it" if spec.package else "a folder plugin?"
        return [("note", where, f"config not checked: {what} is not installed here ({hint})")]
    if spec.package is not None and source.kind == "entry-point":
        installed = _distributions().get(spec.name)
        if installed is not None and packages.split(installed) != packages.split(spec.package):
            have = installed.replace("==", " ")
            return [("note", where, f"config not checked: {what} is pinned but {have} is installed here")]
    try:
        imported = discovery.import_plugin(source)
    except PluginLoadError as exc:
        return [("note", where, f"config not checked: {what} cannot be imported here: {exc}")]
    try:
        loading.validate_config(imported.plugin.config_model, spec.config)
    except ValidationError as exc:
        return [
            ("error", path, message)
            for path, _, message in (
                line.partition(": ") for line in loading.config_problems(f"{where}.config", exc)
            )
        ]
    return []
