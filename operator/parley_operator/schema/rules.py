"""CEL rules (`x-kubernetes-validations`) and list bounds, added deliberately where the models have rules.

Each rule mirrors a pydantic validator (or adds one the models cannot express, such as
canary.version != version), so `kubectl apply` rejects what the runtime would. Lists touched by a
rule get `maxItems` so the API server's CEL cost estimate stays within budget.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parley_runtime.config import presets
from parley_runtime.config.models import BOT_NAME_MAX, BOT_NAME_PATTERN
from parley_runtime.config.platforms import REQUIRED_KEYS

ITEMS = "[]"  # a path step into a list's items


@dataclass(frozen=True)
class Rule:
    path: tuple[str, ...]  # from the CRD's root schema; "[]" steps into list items
    rule: str
    message: str
    field_path: str | None = None  # relative to `path`, as Kubernetes reports it


_NO_CREDENTIALS = sorted(p for p, keys in REQUIRED_KEYS.items() if not keys)
_KEYLESS = [p.name for p in presets.PROVIDERS.values() if not p.needs_key]
_BASE_URL_NEEDED = [p.name for p in presets.PROVIDERS.values() if p.needs_base_url]
_API_VERSIONED = [p.name for p in presets.PROVIDERS.values() if p.api_version is not None]
# MCP header and env names are checked by the model only: a rule over map keys, whose length the schema
# cannot bound, would exceed the API server's CEL cost budget.
_MCP = ("spec", "mcpServers", ITEMS)

CHATBOT_RULES: tuple[Rule, ...] = (
    Rule(
        (),
        f"self.metadata.name.size() <= {BOT_NAME_MAX} && self.metadata.name.matches('{BOT_NAME_PATTERN}')",
        f"metadata.name must be a lower-case DNS label of at most {BOT_NAME_MAX} characters "
        "(it names the bot's Deployments and Services)",
    ),
    Rule(
        ("spec",),
        "!has(self.canary) || !has(self.canary.version) || self.canary.version != self.version",
        "canary.version must differ from version",
        ".canary.version",
    ),
    Rule(
        ("spec", "canary"),
        "has(self.version) || has(self.persona) || has(self.models) || has(self.plugins)",
        "a canary changes at least one of version, persona, models, plugins",
    ),
    Rule(
        ("spec", "canary", "analysis"),
        "!has(self.minSamples) || !has(self.minSampleSize) || self.minSamples == self.minSampleSize",
        "minSampleSize is the older name of minSamples: set one of them",
        ".minSampleSize",
    ),
    Rule(
        ("spec", "models"),
        "self.routes.all(r, self.routes.exists_one(s, s.name == r.name))",
        "route names must be unique",
        ".routes",
    ),
    Rule(
        ("spec", "models", "routes", ITEMS),
        f"self.provider in {_KEYLESS!r} || has(self.apiKey)",
        f"hosted providers need apiKey (only {', '.join(_KEYLESS)} run without one)",
        ".apiKey",
    ),
    Rule(
        ("spec", "models", "routes", ITEMS),
        f"!(self.provider in {_BASE_URL_NEEDED!r}) || has(self.baseURL)",
        f"baseURL (the resource endpoint) is required for provider {' or '.join(_BASE_URL_NEEDED)}",
        ".baseURL",
    ),
    Rule(
        ("spec", "models", "routes", ITEMS),
        f"!has(self.apiVersion) || self.provider in {_API_VERSIONED!r}",
        f"apiVersion applies only to provider {' or '.join(_API_VERSIONED)}",
        ".apiVersion",
    ),
    Rule(("spec", "scaling"), "self.minReplicas <= self.maxReplicas", "minReplicas must be <= maxReplicas"),
    Rule(
        ("spec",),
        "!has(self.mcpServers) || self.mcpServers.all(s, self.mcpServers.exists_one(t, t.name == s.name))",
        "MCP server names must be unique",
        ".mcpServers",
    ),
    Rule(
        _MCP,
        "has(self.url) != has(self.command)",
        "an MCP server has exactly one of url (streamable HTTP) or command (stdio)",
    ),
    Rule(
        _MCP,
        "has(self.command) || "
        "((!has(self.args) || size(self.args) == 0) && (!has(self.env) || size(self.env) == 0))",
        "args and env apply to a command (stdio), not to url",
    ),
    Rule(
        _MCP,
        "has(self.url) || !has(self.headers) || size(self.headers) == 0",
        "headers apply to url (streamable HTTP), not to a command",
        ".headers",
    ),
    Rule(
        ("spec", "canary", "steps", ITEMS),
        "has(self.setWeight) != has(self.pause)",
        "a canary step has exactly one of setWeight or pause",
    ),
)

# A canary's models are checked as the spec's are: the same rules, under spec.canary.
CHATBOT_RULES += tuple(
    Rule(("spec", "canary", *rule.path[1:]), rule.rule, rule.message, rule.field_path)
    for rule in CHATBOT_RULES
    if rule.path[:2] == ("spec", "models")
)

BINDING_RULES = (
    Rule(
        ("spec",),
        f"self.platform in {_NO_CREDENTIALS!r} || (has(self.credentials) && has(self.credentials.secretRef))",
        "this platform needs credentials.secretRef",
        ".credentials",
    ),
    Rule(
        ("spec", "group"),
        "!(has(self.reply) && self.reply == 'never' && has(self.wakeWords) && size(self.wakeWords) > 0)",
        "wakeWords have no effect with reply: never",
        ".wakeWords",
    ),
    Rule(
        ("spec", "group"),
        "!has(self.allowChats) || !has(self.denyChats) || self.allowChats.all(c, !(c in self.denyChats))",
        "a chat cannot be both allowed and denied",
        ".denyChats",
    ),
    Rule(
        ("spec", "group"),
        "!has(self.allowUsers) || !has(self.denyUsers) || self.allowUsers.all(u, !(u in self.denyUsers))",
        "a user cannot be both allowed and denied",
        ".denyUsers",
    ),
)

LIST_BOUNDS: dict[tuple[str, ...], int] = {
    ("spec", "models", "routes"): 32,
    ("spec", "models", "routes", ITEMS, "capabilities"): 32,
    ("spec", "plugins"): 64,
    ("spec", "mcpServers"): 16,
    ("spec", "canary", "steps"): 64,
    ("spec", "canary", "models", "routes"): 32,
    ("spec", "canary", "models", "routes", ITEMS, "capabilities"): 32,
    ("spec", "canary", "plugins"): 64,
}


def schema_at(root: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    node = root
    for step in path:
        node = node["items"] if step == ITEMS else node["properties"][step]
    return node


def apply(root: dict[str, Any], rules: Sequence[Rule], bounds: dict[tuple[str, ...], int]) -> None:
    """Attach `rules` and list bounds to the schema in place."""
    for path, max_items in bounds.items():
        schema_at(root, path)["maxItems"] = max_items
    for rule in rules:
        entry: dict[str, Any] = {"rule": rule.rule, "message": rule.message}
        if rule.field_path is not None:
            entry["fieldPath"] = rule.field_path
        schema_at(root, rule.path).setdefault("x-kubernetes-validations", []).append(entry)
