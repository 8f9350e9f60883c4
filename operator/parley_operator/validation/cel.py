"""Evaluates a CRD's `x-kubernetes-validations` with cel-python, where the API server would.

Rules are evaluated bottom-up only where the value exists (as Kubernetes does), with `self` bound to
the value at the rule's place in the (defaulted) object. Transition rules (`oldSelf`) are skipped:
there is no old object offline.
"""

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from parley_operator.validation.problems import path_of


@lru_cache(maxsize=256)
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def evaluate(rule: str, value: Any) -> bool | str:
    """True or False, or a short reason when the rule cannot be evaluated on `value`."""
    try:
        result = _program(rule).evaluate({"self": json_to_cel(value)})
    except CELParseError:
        return "the rule does not compile"
    except CELEvalError as exc:
        return _reason(exc)
    if isinstance(result, CELEvalError):
        return _reason(result)
    return bool(result)


def _reason(exc: Exception) -> str:
    first = exc.args[0] if exc.args else ""
    return str(first) if isinstance(first, str) and first else type(exc).__name__


def rule_errors(
    schema: dict[str, Any], value: Any, loc: tuple[int | str, ...] = ()
) -> Iterator[tuple[str, str]]:
    """(field path, message) for every rule that rejects `value` or any value inside it."""
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from rule_errors(sub, value[name], (*loc, name))
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from rule_errors(schema["items"], item, (*loc, index))
    for entry in schema.get("x-kubernetes-validations", []):
        rule = str(entry["rule"])
        if "oldSelf" in rule:
            continue
        outcome = evaluate(rule, value)
        if outcome is True:
            continue
        message = str(entry.get("message") or f"failed rule: {rule}")
        if isinstance(outcome, str):
            message += f" (rule could not be evaluated: {outcome})"
        path = path_of(loc) + str(entry.get("fieldPath", ""))
        yield path.lstrip(".") or "(document)", message
