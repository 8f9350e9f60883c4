"""The literal map from a provider family to the provider class, resolved when the router is built.

A route's `provider` is a family or a preset name; its preset (config/presets.py) names the family.
"""

from collections.abc import Callable

import httpx

from parley_runtime.config import presets
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.protocols import ChatModel
from parley_runtime.llm import anthropic, echo, gemini, openai_compat

__all__ = ["create_provider"]

_FAMILIES: dict[presets.Family, Callable[[ModelRoute, str | None, httpx.AsyncClient], ChatModel]] = {
    "openai-compatible": openai_compat.OpenAICompatProvider,
    "anthropic": anthropic.AnthropicProvider,
    "gemini": gemini.GeminiProvider,
    "echo": echo.EchoProvider,
}


def create_provider(route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> ChatModel:
    """The provider for one route; the key is only ever placed in request headers."""
    return _FAMILIES[presets.lookup(route.provider).family](route, api_key, http)
