"""What a track runs, as one value: a version and the config a canary may change.

A `Release` is the runtime `version` plus the JSON form of `persona`, `models` and `plugins`: the
fields of SPEC §13 that a gray release may change, that a promotion hands to the stable track and
that a revision records. Its `config_hash` names the config; a canary is named by `overlay_hash`, the
hash of what it changes, so a new prompt starts a release over just as a new version does.

Why its own module: the policies (identity, revisions) and render (the canary's ConfigMap) need the
same overlay, and must not import each other. Rule: pure values over the runtime's config models; no
I/O, nothing from the rest of the operator.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from parley_runtime.config.models import Canary, ChatBot, ChatBotSpec, Models, Persona, PluginSpec

__all__ = ["CONFIG_FIELDS", "Release", "checked", "config_of", "overlay_hash", "overlay_of", "short_hash"]

CONFIG_FIELDS = ("persona", "models", "plugins")
HASH_LENGTH = 10


def short_hash(data: Any) -> str:
    """The first hex digits of sha256 over canonical JSON: stable across runs and key orders."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def _dump(value: Any) -> Any:
    """The JSON form a manifest would carry; defaults left out, so a field that gains a default
    later, or a server that fills defaults in, does not change the hash."""
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def config_of(spec: ChatBotSpec | Canary) -> dict[str, Any]:
    """The config fields `spec` sets, in JSON form (for a Canary: only those it changes)."""
    return {name: _dump(getattr(spec, name)) for name in CONFIG_FIELDS if getattr(spec, name) is not None}


def overlay_of(canary: Canary) -> dict[str, Any]:
    """What a canary changes: its version, if it sets one, and its config fields."""
    out = config_of(canary)
    if canary.version is not None:
        out["version"] = canary.version
    return out


def overlay_hash(canary: Canary) -> str:
    """The canary's identity: a changed overlay is a new gray release."""
    return short_hash(overlay_of(canary))


def checked(overlay: Any) -> dict[str, Any] | None:
    """`overlay` (read back from status) when every field in it is valid; else None."""
    if not isinstance(overlay, Mapping):
        return None
    try:
        if "persona" in overlay:
            Persona.model_validate(overlay["persona"])
        if "models" in overlay:
            Models.model_validate(overlay["models"])
        for plugin in overlay.get("plugins", ()):
            PluginSpec.model_validate(plugin)
    except (pydantic.ValidationError, TypeError):
        return None
    version = overlay.get("version")
    if version is not None and (not isinstance(version, str) or not version):
        return None
    return {k: overlay[k] for k in ("version", *CONFIG_FIELDS) if k in overlay}


@dataclass(frozen=True)
class Release:
    """A version and the full config (`persona`, `models`, `plugins`) a track runs."""

    version: str
    config: Mapping[str, Any]

    @classmethod
    def of(cls, spec: ChatBotSpec) -> "Release":
        return cls(spec.version, config_of(spec))

    @property
    def config_hash(self) -> str:
        return short_hash(dict(self.config))

    def same_as(self, other: "Release") -> bool:
        return self.version == other.version and self.config_hash == other.config_hash

    def over(self, overlay: Mapping[str, Any]) -> "Release":
        """This release with an overlay's fields laid over (`overlay_of`, or a promoted one)."""
        version = overlay.get("version")
        config = {**self.config, **{k: v for k, v in overlay.items() if k in CONFIG_FIELDS}}
        return Release(str(version) if version else self.version, config)

    def apply_to(self, bot: ChatBot, *, canary: Canary | None = None) -> ChatBot:
        """`bot` running this release; its `spec.canary` becomes `canary` (None: the stable track)."""
        config = self.config
        update: dict[str, Any] = {
            "version": self.version,
            "persona": Persona.model_validate(config.get("persona", {})),
            "models": Models.model_validate(config["models"]),
            "plugins": [PluginSpec.model_validate(p) for p in config.get("plugins", [])],
            "canary": canary,
        }
        return bot.model_copy(update={"spec": bot.spec.model_copy(update=update)})
