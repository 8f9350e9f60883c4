"""Google Gemini `generateContent` / `streamGenerateContent?alt=sse`.

Roles are `user` and `model`; the system prompt is `systemInstruction`; tools are
`functionDeclarations`, answered with `functionResponse` parts matched by function name.
Wire conversion is pure (`build_payload`, `parse_response`, `StreamAssembler`).
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

__all__ = ["GeminiProvider", "StreamAssembler", "build_payload", "parse_response"]


def _image(url: str) -> dict[str, Any]:
    inline = media.split_data_url(url)
    if inline is not None:
        return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    return {"fileData": {"mimeType": media.guess_mime(url), "fileUri": url}}


def _json_object(text: str) -> dict[str, Any]:
    """Tool output as the JSON object Gemini wants: parsed when it is one, else wrapped."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"content": text}
    return value if isinstance(value, dict) else {"content": value}


def _parts(m: ChatMessage, call_names: dict[str, str]) -> list[dict[str, Any]]:
    if m.role == "tool":
        name = m.name or call_names.get(m.tool_call_id or "", "")
        response: dict[str, Any] = {"name": name, "response": _json_object(m.content)}
        return [{"functionResponse": response}]
    parts: list[dict[str, Any]] = [{"text": m.content}] if m.content else []
    parts.extend(_image(url) for url in m.images)
    for call in m.tool_calls:
        try:
            args = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            args = {}
        parts.append({"functionCall": {"name": call.name, "args": args}})
    return parts


def build_payload(request: ChatRequest, route: ModelRoute) -> dict[str, Any]:
    """The JSON body of generateContent (the streaming call takes the same body)."""
    call_names = {c.id: c.name for m in request.messages for c in m.tool_calls}
    contents: list[dict[str, Any]] = []
    system: list[str] = []
    for m in request.messages:
        if m.role == "system":
            if m.content:
                system.append(m.content)
            continue
        parts = _parts(m, call_names)
        if not parts:
            continue
        role = "model" if m.role == "assistant" else "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if request.tools:
        payload["tools"] = [
            {
                "functionDeclarations": [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in request.tools
                ]
            }
        ]
    config: dict[str, Any] = {}
    max_tokens, temperature = provider_base.sampling(request, route)
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if temperature is not None:
        config["temperature"] = temperature
    if config:
        payload["generationConfig"] = config
    return payload


def _usage(data: Any) -> Usage | None:
    return provider_base.usage(data, "promptTokenCount", "candidatesTokenCount")


def _split_parts(parts: Any, first_index: int) -> tuple[str, list[ToolCall]]:
    text = ""
    calls: list[ToolCall] = []
    for part in parts or ():
        if part.get("thought"):
            continue  # thinking summaries are not part of the answer
        if "text" in part:
            text += part["text"]
        elif "functionCall" in part:
            fc = part["functionCall"]
            call_id = fc.get("id") or f"call_{first_index + len(calls)}"
            args = json.dumps(fc.get("args") or {}, ensure_ascii=False)
            calls.append(ToolCall(id=call_id, name=fc["name"], arguments=args))
    return text, calls


def parse_response(body: Any, *, route: str, model: str) -> ChatResponse:
    """A GenerateContentResponse as our response; a blocked prompt is an empty answer, not an error."""
    try:
        candidates = body.get("candidates") or []
        if not candidates:
            reason = (body.get("promptFeedback") or {}).get("blockReason") or "no-candidates"
            return ChatResponse(text="", model=model, route=route, finish_reason=str(reason).lower())
        cand = candidates[0]
        text, calls = _split_parts((cand.get("content") or {}).get("parts"), 0)
        return ChatResponse(
            text=text,
            model=body.get("modelVersion") or model,
            route=route,
            tool_calls=tuple(calls),
            usage=_usage(body.get("usageMetadata")) or Usage(),
            finish_reason=(cand.get("finishReason") or "STOP").lower(),
        )
    except (KeyError, TypeError, AttributeError):
        raise errors.FatalError(route, "unexpected GenerateContentResponse shape") from None


class StreamAssembler:
    """Each SSE event is a partial GenerateContentResponse; usage and finishReason come last."""

    def __init__(self, *, route: str, model: str) -> None:
        self.route = route
        self.model = model
        self._calls: list[ToolCall] = []
        self._usage: Usage | None = None
        self._finish: str | None = None

    def feed(self, event: dict[str, Any]) -> StreamChunk | None:
        try:
            self._usage = _usage(event.get("usageMetadata")) or self._usage
            candidates = event.get("candidates") or []
            if not candidates:
                return None
            cand = candidates[0]
            if cand.get("finishReason"):
                self._finish = str(cand["finishReason"]).lower()
            text, calls = _split_parts((cand.get("content") or {}).get("parts"), len(self._calls))
        except (KeyError, TypeError, AttributeError):
            raise errors.FatalError(self.route, "unexpected stream event shape") from None
        self._calls.extend(calls)
        return StreamChunk(delta=text, model=self.model, route=self.route) if text else None

    def finish(self) -> StreamChunk:
        return StreamChunk(
            model=self.model,
            route=self.route,
            tool_calls=tuple(self._calls),
            usage=self._usage or Usage(),
            finish_reason=self._finish or "stop",
        )


def _model_url(route: ModelRoute) -> str:
    base = (route.base_url or presets.lookup(route.provider).base_url or "").rstrip("/")
    if not base.endswith(("/v1beta", "/v1")):
        base += "/v1beta"
    return f"{base}/models/{route.model}"


class GeminiProvider:
    """One route to the Gemini API (AI Studio key in `x-goog-api-key`)."""

    def __init__(self, route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> None:
        self.route = route
        model_url = _model_url(route)
        self._url = model_url + ":generateContent"
        self._stream_url = model_url + ":streamGenerateContent?alt=sse"
        headers = presets.lookup(route.provider).key_headers(api_key)
        self._client = provider_base.RouteClient(
            http, route=route.name, headers=headers, timeout_seconds=route.timeout_seconds, secret=api_key
        )

    def __repr__(self) -> str:
        return f"GeminiProvider(route={self.route.name!r}, url={self._url!r})"

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = await self._client.post(self._url, build_payload(request, self.route))
        return parse_response(body, route=self.route.name, model=self.route.model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        assembler = StreamAssembler(route=self.route.name, model=self.route.model)
        payload = build_payload(request, self.route)
        chunks = self._client.stream(self._stream_url, payload, assembler, error_member=True)
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield chunk
