"""Checks a document against a CRD's structural schema, as the API server would, with jsonschema.

The CRD dialect is translated first: `nullable` → a `null` type, boolean `exclusiveMinimum` →
numeric, objects with properties and no `x-kubernetes-preserve-unknown-fields` reject unknown
fields (kubectl's default strict field validation). Defaults are applied the same way the API
server applies them, so CEL rules see what they would see in the cluster.
"""

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema

from parley_operator.validation.problems import path_of
from parley_runtime.config.errors import closest


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "default", "format"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            continue
        else:
            out[key] = value
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(flag) is True and bound in node:
            out[flag] = out.pop(bound)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and not preserve and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def schema_errors(schema: dict[str, Any], doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field path, message) of every violation, in document order; never echoes a value."""
    validator = jsonschema.Draft202012Validator(to_json_schema(schema))
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        yield from _describe(err)


def _describe(err: jsonschema.ValidationError) -> Iterator[tuple[str, str]]:
    loc = list(err.absolute_path)
    kind = str(err.validator)
    expected: Any = err.validator_value
    if kind == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        for name in expected:
            if name not in present:
                yield path_of([*loc, name]), "required field is missing"
        return
    if kind == "additionalProperties":
        allowed = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        for name in err.instance if isinstance(err.instance, dict) else {}:
            if name not in allowed:
                yield path_of([*loc, name]), "unknown field"
        return
    if kind == "enum" and isinstance(err.instance, str) and isinstance(expected, list):
        meant = closest(err.instance, [str(v) for v in expected])
        if meant is not None:  # a typo: name the value meant rather than the whole list
            noun = loc[-1] if loc and isinstance(loc[-1], str) else "value"
            yield path_of(loc), f"unknown {noun}; did you mean {meant}?"
            return
    yield path_of(loc) or "(document)", _message(kind, expected)


_TEMPLATES = {
    "pattern": "must match the pattern {}",
    "minLength": "must be at least {} characters long",
    "maxLength": "must be at most {} characters long",
    "minimum": "must be >= {}",
    "maximum": "must be <= {}",
    "exclusiveMinimum": "must be > {}",
    "exclusiveMaximum": "must be < {}",
    "minItems": "must have at least {} item(s)",
    "maxItems": "must have at most {} item(s)",
}


def _message(kind: str, expected: Any) -> str:
    if kind == "type":
        names = [str(t) for t in (expected if isinstance(expected, list) else [expected]) if t != "null"]
        return "must be of type " + " or ".join(names)
    if kind == "enum" and isinstance(expected, list):
        return "must be one of: " + ", ".join(str(v) for v in expected)
    if kind in _TEMPLATES:
        return _TEMPLATES[kind].format(expected)
    return f"fails the {kind} check"


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """A copy of `value` with the schema's defaults filled in and nulls dropped (CEL sees them as absent)."""
    return _default(schema, copy.deepcopy(value))


def _default(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for name, sub in props.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _default(sub, value[name])
    elif isinstance(value, list) and "items" in schema:
        return [_default(schema["items"], item) for item in value if item is not None]
    return value
