"""Anthropic Messages API: top-level `system`, content blocks, tool_use / tool_result, SSE events.

Wire conversion is pure (`build_payload`, `parse_message`, `StreamAssembler`); the provider class
only adds the HTTP calls.
"""

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from parley_runtime.config import presets
from parley_runtime.config.models import ModelRoute
from parley_runtime.core import media
from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall, Usage
from parley_runtime.llm import errors, provider_base

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "AnthropicProvider",
    "StreamAssembler",
    "build_payload",
    "parse_message",
]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # the API requires max_tokens; used when neither request nor route sets it


def _image(url: str) -> dict[str, Any]:
    inline = media.split_data_url(url)
    if inline is not None:
        mime, data = inline
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return {}


def _blocks(m: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    """(wire role, content blocks) of one message; tool results travel in a user turn."""
    if m.role == "tool":
        return "user", [{"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}]
    blocks: list[dict[str, Any]] = [_image(url) for url in m.images]
    if m.content:
        blocks.append({"type": "text", "text": m.content})
    blocks.extend(
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _arguments(c.arguments)}
        for c in m.tool_calls
    )
    return m.role, blocks


def build_payload(request: ChatRequest, route: ModelRoute, *, stream: bool) -> dict[str, Any]:
    """The JSON body of `POST /v1/messages`; consecutive turns of one role are merged, as the API wants."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
    turns: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        role, blocks = _blocks(m)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    max_tokens, temperature = provider_base.sampling(request, route)
    payload: dict[str, Any] = {
        "model": route.model,
        "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
        "messages": turns,
    }
    if system:
        payload["system"] = system
    if request.tools:
        payload["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    if temperature is not None:
        payload["temperature"] = temperature
    if stream:
        payload["stream"] = True
    return payload


def _usage(data: Any) -> Usage:
    return provider_base.usage(data, "input_tokens", "output_tokens") or Usage()


def parse_message(body: Any, *, route: str, model: str) -> ChatResponse:
    """A Messages API `message` object as our response; anything else is a FatalError."""
    try:
        text = ""
        calls: list[ToolCall] = []
        for block in body["content"]:
            if block["type"] == "text":
                text += block["text"]
            elif block["type"] == "tool_use":
                args = json.dumps(block.get("input") or {}, ensure_ascii=False)
                calls.append(ToolCall(id=block["id"], name=block["name"], arguments=args))
        return ChatResponse(
            text=text,
            model=body.get("model") or model,
            route=route,
            tool_calls=tuple(calls),
            usage=_usage(body.get("usage")),
            finish_reason=body.get("stop_reason"),
        )
    except (KeyError, TypeError, AttributeError):
        raise errors.FatalError(route, "unexpected message shape") from None


class StreamAssembler:
    """Turns Messages API stream events into our chunks.

    Text deltas pass through; tool_use blocks collect their `input_json_delta` fragments and are
    emitted whole in the final chunk, with usage from message_start + message_delta.
    """

    def __init__(self, *, route: str, model: str) -> None:
        self.route = route
        self.model = model
        self._tools: dict[int, dict[str, str]] = {}
        self._prompt = 0
        self._completion = 0
        self._finish: str | None = None

    def feed(self, event: dict[str, Any]) -> StreamChunk | None:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return StreamChunk(delta=delta["text"], model=self.model, route=self.route)
            if delta.get("type") == "input_json_delta":
                tool = self._tools.get(int(event.get("index", 0)))
                if tool is not None:
                    tool["arguments"] += delta.get("partial_json") or ""
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._tools[int(event.get("index", 0))] = {
                    "id": str(block.get("id", "")),
                    "name": str(block.get("name", "")),
                    "arguments": "",
                }
        elif kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model") or self.model
            usage = _usage(message.get("usage"))
            self._prompt, self._completion = usage.prompt_tokens, usage.completion_tokens
        elif kind == "message_delta":
            self._finish = (event.get("delta") or {}).get("stop_reason") or self._finish
            counts = event.get("usage") or {}
            # output_tokens in message_delta is the running total, not an increment
            self._completion = int(counts.get("output_tokens") or self._completion)
            self._prompt = int(counts.get("input_tokens") or self._prompt)
        elif kind == "error":
            detail = (event.get("error") or {}).get("type") or "error"
            raise errors.RetryableError(self.route, f"error event in stream: {detail}")
        return None

    def finish(self) -> StreamChunk:
        calls = tuple(
            ToolCall(id=t["id"], name=t["name"], arguments=t["arguments"] or "{}")
            for _, t in sorted(self._tools.items())
        )
        return StreamChunk(
            model=self.model,
            route=self.route,
            tool_calls=calls,
            usage=Usage(prompt_tokens=self._prompt, completion_tokens=self._completion),
            finish_reason=self._finish,
        )


def _messages_url(route: ModelRoute) -> str:
    base = (route.base_url or presets.lookup(route.provider).base_url or "").rstrip("/")
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


class AnthropicProvider:
    """One route to the Anthropic Messages API (or a proxy that speaks it)."""

    def __init__(self, route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> None:
        self.route = route
        self._url = _messages_url(route)
        headers = {**presets.lookup(route.provider).key_headers(api_key), "anthropic-version": API_VERSION}
        self._client = provider_base.RouteClient(
            http, route=route.name, headers=headers, timeout_seconds=route.timeout_seconds, secret=api_key
        )

    def __repr__(self) -> str:
        return f"AnthropicProvider(route={self.route.name!r}, url={self._url!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = await self._client.post(self._url, build_payload(request, self.route, stream=False))
        return parse_message(body, route=self.route.name, model=self.route.model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        assembler = StreamAssembler(route=self.route.name, model=self.route.model)
        payload = build_payload(request, self.route, stream=True)
        chunks = self._client.stream(self._url, payload, assembler, last_event_type="message_stop")
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk
