"""Parse ChatBot / PlatformBinding bodies into models, or into one readable line; and into the views
of `observed` that carry either.

Why: KMock (and a cluster whose CRD is older than the operator) lets specs through that the CRD
would reject; such a spec must stall the object with a clear reason, never crash a handler.
"""

from collections.abc import Mapping
from typing import Any

import pydantic

from parley_operator.observed import BindingView, BotView
from parley_runtime.config.models import ChatBot, PlatformBinding

# Server-side fields that the models do not describe (they forbid unknown fields).
_MODEL_KEYS = ("apiVersion", "kind", "metadata", "spec")


def one_line(error: pydantic.ValidationError, prefix: str = "") -> str:
    """`spec.models.routes: Field required; …` — the first three problems, input values left out."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:3]:
        loc = ".".join(str(p) for p in item["loc"])
        parts.append(f"{prefix}{loc}: {item['msg']}" if loc else f"{prefix}{item['msg']}")
    more = len(error.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _trimmed(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in _MODEL_KEYS if k in body}


def parse_bot(body: Mapping[str, Any]) -> tuple[ChatBot | None, str | None]:
    try:
        return ChatBot.model_validate(_trimmed(body)), None
    except pydantic.ValidationError as e:
        return None, one_line(e)


def parse_binding(body: Mapping[str, Any]) -> tuple[PlatformBinding | None, str | None]:
    try:
        return PlatformBinding.model_validate(_trimmed(body)), None
    except pydantic.ValidationError as e:
        return None, one_line(e)


def bot_view(body: Mapping[str, Any], namespace: str) -> BotView:
    model, problem = parse_bot(body)
    meta = body.get("metadata") or {}
    return BotView(
        namespace,
        str(meta.get("name")),
        meta.get("uid"),
        meta.get("generation"),
        body.get("status") or {},
        model,
        problem,
    )


def binding_view(body: Mapping[str, Any]) -> BindingView:
    model, problem = parse_binding(body)
    meta = body.get("metadata") or {}
    return BindingView(
        str(meta.get("name")), meta.get("generation"), body.get("status") or {}, model, problem
    )
