"""The literal map from `ModelRoute.provider` to the provider class, resolved when the router is built."""

import httpx

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.protocols import ChatModel
from parley_runtime.llm import anthropic, echo, gemini, openai_compat

__all__ = ["create_provider"]


def create_provider(route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> ChatModel:
    """The provider for one route; the key is only ever placed in request headers."""
    if route.provider == "openai-compatible":
        return openai_compat.OpenAICompatProvider(route, api_key, http)
    if route.provider == "anthropic":
        return anthropic.AnthropicProvider(route, api_key, http)
    if route.provider == "gemini":
        return gemini.GeminiProvider(route, api_key, http)
    return echo.EchoProvider(route, api_key, http)
