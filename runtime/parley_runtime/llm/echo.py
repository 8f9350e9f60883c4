"""An offline provider: answers "echo: <last user message>" so wiring and quick starts need no key.

Deterministic on purpose (tests compare exact text); usage is estimated at four characters a token.
It never calls tools.
"""

from collections.abc import AsyncIterator

import httpx

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatRequest, ChatResponse, StreamChunk, Usage

__all__ = ["EchoProvider", "estimate_tokens", "reply_text"]


def estimate_tokens(text: str) -> int:
    """A rough count for text of any script: about four characters per token, at least one."""
    return max(1, (len(text) + 3) // 4)


def reply_text(request: ChatRequest) -> str:
    last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    return f"echo: {last_user}"


def _usage(request: ChatRequest, text: str) -> Usage:
    prompt = sum(estimate_tokens(m.content) for m in request.messages)
    return Usage(prompt_tokens=prompt, completion_tokens=estimate_tokens(text))


class EchoProvider:
    """Built like every provider (route, key, client) although it needs neither key nor network."""

    def __init__(
        self, route: ModelRoute, api_key: str | None = None, http: httpx.AsyncClient | None = None
    ) -> None:
        self.route = route

    def __repr__(self) -> str:
        return f"EchoProvider(route={self.route.name!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        text = reply_text(request)
        return ChatResponse(
            text=text,
            model=self.route.model,
            route=self.route.name,
            usage=_usage(request, text),
            finish_reason="stop",
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        text = reply_text(request)
        words = text.split(" ")
        for i, word in enumerate(words):
            delta = word if i == len(words) - 1 else word + " "
            if delta:
                yield StreamChunk(delta=delta, model=self.route.model, route=self.route.name)
        yield StreamChunk(
            model=self.route.model, route=self.route.name, usage=_usage(request, text), finish_reason="stop"
        )
