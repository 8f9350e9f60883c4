"""OpenAI Chat Completions and every API that copies it (DeepSeek, Qwen, Moonshot, vLLM, Ollama, Azure…).

Wire conversion is pure (`build_payload`, `parse_completion`, `StreamAssembler`, `chat_url`) so it is
tested without a server; `OpenAICompatProvider` only adds the HTTP calls. The route's preset
(config/presets.py) gives the default base URL, the key header and Azure's path and `api-version`.
"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from parley_runtime.config import presets
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall, Usage
from parley_runtime.llm import errors, provider_base

__all__ = ["OpenAICompatProvider", "StreamAssembler", "build_payload", "chat_url", "parse_completion"]


def _message(m: ChatMessage) -> dict[str, Any]:
    if m.plain and m.role != "tool":
        return {"role": m.role, "content": m.content}
    out: dict[str, Any] = {"role": m.role}
    if m.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
        parts.extend({"type": "image_url", "image_url": {"url": url}} for url in m.images)
        out["content"] = parts
    else:
        out["content"] = m.content
    if m.tool_calls:
        out["content"] = m.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
    elif m.name:
        out["name"] = m.name
    return out


def build_payload(request: ChatRequest, route: ModelRoute, *, stream: bool) -> dict[str, Any]:
    """The JSON body of `POST /chat/completions`; route defaults fill what the request leaves open."""
    payload: dict[str, Any] = {"model": route.model, "messages": [_message(m) for m in request.messages]}
    if request.tools:
        payload["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
    max_tokens = request.max_tokens or route.max_tokens
    if max_tokens is not None:
        payload["max_tokens"] = max_tokens
    temperature = request.temperature if request.temperature is not None else route.temperature
    if temperature is not None:
        payload["temperature"] = temperature
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
    )


def parse_completion(body: Any, *, route: str, model: str) -> ChatResponse:
    """A `chat.completion` object as our response; anything else is a FatalError."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
        calls = tuple(
            ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"].get("arguments") or "{}")
            for c in message.get("tool_calls") or ()
        )
        return ChatResponse(
            text=message.get("content") or "",
            model=body.get("model") or model,
            route=route,
            tool_calls=calls,
            usage=_usage(body.get("usage")) or Usage(),
            finish_reason=choice.get("finish_reason"),
        )
    except (KeyError, IndexError, TypeError, AttributeError):
        raise errors.FatalError(route, "unexpected chat.completion shape") from None


class StreamAssembler:
    """Turns `chat.completion.chunk` objects into our chunks.

    Text is passed on as it arrives; tool calls arrive as fragments keyed by `index` and are
    emitted whole, with usage and finish_reason, in the final chunk.
    """

    def __init__(self, *, route: str, model: str) -> None:
        self.route = route
        self.model = model
        self._calls: dict[int, dict[str, str]] = {}
        self._usage: Usage | None = None
        self._finish: str | None = None

    def feed(self, chunk: dict[str, Any]) -> StreamChunk | None:
        if chunk.get("model"):
            self.model = chunk["model"]
        usage = _usage(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
        text = ""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text += delta.get("content") or ""
            for frag in delta.get("tool_calls") or ():
                call = self._calls.setdefault(
                    int(frag.get("index", 0)), {"id": "", "name": "", "arguments": ""}
                )
                fn = frag.get("function") or {}
                call["id"] = frag.get("id") or call["id"]
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        if not text:
            return None
        return StreamChunk(delta=text, model=self.model, route=self.route)

    def finish(self) -> StreamChunk:
        calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"] or "{}")
            for i, c in sorted(self._calls.items())
        )
        return StreamChunk(
            model=self.model,
            route=self.route,
            tool_calls=calls,
            usage=self._usage or Usage(),
            finish_reason=self._finish or ("tool_calls" if calls else "stop"),
        )


def chat_url(route: ModelRoute) -> str:
    """Where the route's completions go: `baseURL` (else the preset's) + the preset's path and query."""
    preset = presets.lookup(route.provider)
    base = (route.base_url or preset.base_url or "").rstrip("/")
    url = base + preset.chat_path.format(model=quote(route.model, safe=""))
    if preset.api_version is not None:
        url += "?" + urlencode({"api-version": route.api_version or preset.api_version})
    return url


class OpenAICompatProvider:
    """One route to an OpenAI-compatible endpoint."""

    def __init__(self, route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> None:
        self.route = route
        self._url = chat_url(route)
        headers = presets.lookup(route.provider).key_headers(api_key)
        self._client = provider_base.RouteClient(
            http, route=route.name, headers=headers, timeout_seconds=route.timeout_seconds, secret=api_key
        )

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(route={self.route.name!r}, url={self._url!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = await self._client.post(self._url, build_payload(request, self.route, stream=False))
        return parse_completion(body, route=self.route.name, model=self.route.model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        assembler = StreamAssembler(route=self.route.name, model=self.route.model)
        payload = build_payload(request, self.route, stream=True)
        chunks = self._client.stream(self._url, payload, assembler, end_marker="[DONE]", error_member=True)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk
