"""Pydantic JSON Schema → a structural OpenAPI v3 schema the Kubernetes API server accepts.

Inline `$ref`s, `anyOf [X, null]` → X + `nullable`, no titles, scalar defaults only, no
`additionalProperties: false` (the API server prunes or rejects unknown fields itself), free-form
objects marked `x-kubernetes-preserve-unknown-fields`, and maps with a closed key set turned into
plain properties.
"""

from typing import Any

_DROP = {
    "title",
    "additionalProperties",
    "$defs",
    "propertyNames",
    "$ref",
    "anyOf",
    "default",
    "exclusiveMinimum",
}
_DROP |= {"exclusiveMaximum"}


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """The whole schema with every `$ref` resolved against its `$defs`."""
    return _convert(schema, schema.get("$defs", {}))


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs)
    if "anyOf" in node:
        return _nullable(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _DROP:
            out[key] = value
    if "default" in node and _is_scalar(node["default"]):
        out["default"] = node["default"]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in node:
            out[inclusive] = node[bound]
            out[bound] = True
    if "properties" in node:
        out["properties"] = {name: _convert(sub, defs) for name, sub in node["properties"].items()}
    if "items" in node:
        out["items"] = _convert(node["items"], defs)
    if node.get("type") == "object":
        _object(node, out, defs)
    return out


def _object(node: dict[str, Any], out: dict[str, Any], defs: dict[str, Any]) -> None:
    extra = node.get("additionalProperties")
    keys = node.get("propertyNames", {}).get("enum")
    if isinstance(extra, dict) and keys:
        value = _convert(extra, defs)
        out["properties"] = {key: dict(value) for key in keys}
    elif isinstance(extra, dict):
        out["additionalProperties"] = _convert(extra, defs)
    elif "properties" not in node:
        out["x-kubernetes-preserve-unknown-fields"] = True


def _nullable(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in node["anyOf"] if o.get("type") != "null"]
    if len(options) != 1 or len(options) == len(node["anyOf"]):
        raise ValueError(f"only `X | None` unions can become a CRD schema, got {node['anyOf']!r}")
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    out = _convert({**options[0], **rest}, defs)
    out["nullable"] = True
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


_KEY_ORDER = (
    "type",
    "format",
    "description",
    "nullable",
    "default",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
    "additionalProperties",
)


def canonical(node: dict[str, Any]) -> dict[str, Any]:
    """The schema with keys in one fixed, readable order (type first, extensions last), recursively."""

    def rank(key: str) -> tuple[int, str]:
        return (_KEY_ORDER.index(key) if key in _KEY_ORDER else len(_KEY_ORDER), key)

    out: dict[str, Any] = {}
    for key in sorted(node, key=rank):
        value = node[key]
        if key == "properties":
            value = {name: canonical(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = canonical(value)
        out[key] = value
    return out
