"""Tool argument schemas: built from a dict or a pydantic model, and arguments checked against them.

Pure functions. Schemas are flattened (`$ref` inlined, `title` dropped) because several providers
(Gemini among them) reject references, and titles only cost tokens.
"""

import json
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from parley_runtime.config.errors import field_path

EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}
_MAX_DEPTH = 32


class ArgumentsError(ValueError):
    """The model sent arguments that do not fit the tool: the message is meant for the model."""


def tool_parameters(
    parameters: dict[str, Any] | type[BaseModel] | None,
) -> tuple[dict[str, Any], type[BaseModel] | None]:
    """(JSON Schema of the arguments object, the pydantic model or None); ValueError when unusable."""
    if parameters is None:
        return dict(EMPTY_OBJECT), None
    if isinstance(parameters, type) and issubclass(parameters, BaseModel):
        return flatten(parameters.model_json_schema()), parameters
    if not isinstance(parameters, dict):
        raise ValueError("parameters must be a JSON Schema dict or a pydantic model class")
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"parameters is not a valid JSON Schema: {exc.message}") from None
    if parameters.get("type") != "object":
        raise ValueError('parameters must describe an object ({"type": "object", ...})')
    return flatten(parameters), None


def flatten(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every local `#/$defs/...` reference replaced by its definition, minus titles."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}

    def walk(node: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError("parameters schema is recursive or nested too deeply")
        if isinstance(node, list):
            return [walk(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.split("/")[-1] in defs and ref.startswith("#/"):
            merged = {**defs[ref.split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, depth + 1)
        node = _drop_null_branch(node)
        out = {}
        for key, value in node.items():
            if key in ("$defs", "definitions", "title"):
                continue
            # "properties" maps names to schemas: a property may legitimately be called "title".
            out[key] = (
                {name: walk(sub, depth + 1) for name, sub in value.items()}
                if key == "properties" and isinstance(value, dict)
                else walk(value, depth + 1)
            )
        return out

    flat: dict[str, Any] = walk(schema, 0)
    return flat


def _drop_null_branch(node: dict[str, Any]) -> dict[str, Any]:
    """`Optional[X]` becomes plain X: an optional argument is one left out of `required`, and some
    providers reject `anyOf` with a null branch."""
    branches = node.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf" and not (k == "default" and v is None)}
    other = next(b for b in branches if b != {"type": "null"})
    return {**other, **rest} if isinstance(other, dict) else node


def parse_arguments(raw: str, schema: dict[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """The keyword arguments for a tool handler; ArgumentsError (one readable line) when they don't fit."""
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ArgumentsError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ArgumentsError(f"arguments must be a JSON object, got {type(value).__name__}")
    if model is not None:
        try:
            parsed = model.model_validate(value)
        except ValidationError as exc:
            problems = [
                f"{field_path(e['loc']) or '(arguments)'}: {e['msg']}" for e in exc.errors(include_url=False)
            ]
            raise ArgumentsError("invalid arguments: " + "; ".join(problems)) from None
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        problems = [f"{'.'.join(map(str, e.path)) or '(arguments)'}: {e.message}" for e in errors[:5]]
        raise ArgumentsError("invalid arguments: " + "; ".join(problems))
    return value
