"""OpenAI Chat Completions and every API that copies it (DeepSeek, Qwen, Moonshot, vLLM, Ollama, Azure…).

Wire conversion is pure (`build_payload`, `parse_completion`, `StreamAssembler`, `chat_url`) so it is
tested without a server; `OpenAICompatProvider` only adds the HTTP calls. The route's preset
(config/presets.py) gives the default base URL, the key header and Azure's path and `api-version`.

The same provider speaks for routes tagged `stt` (`POST {baseURL}/audio/transcriptions`, multipart
`file` + `model`, answered `{"text": …}`) and `tts` (`POST {baseURL}/audio/speech`, answered with
Ogg/Opus bytes).
"""

import contextlib
import mimetypes
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from parley_runtime.config import presets
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall, Usage
from parley_runtime.llm import errors, provider_base

__all__ = [
    "MAX_SPEECH_BYTES",
    "OpenAICompatProvider",
    "StreamAssembler",
    "audio_filename",
    "build_payload",
    "chat_url",
    "endpoint_url",
    "parse_completion",
    "parse_transcription",
    "speech_payload",
]

MAX_SPEECH_BYTES = 16 << 20  # synthesized speech of one reply is far smaller; a bigger answer is a fault
SPEECH_MIME = "audio/ogg"  # `response_format: opus` answers Opus in an Ogg container

# The API picks the decoder by the file name's extension; platforms name voice notes by MIME type.
_AUDIO_EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/amr": "amr",
}


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
    max_tokens, temperature = provider_base.sampling(request, route)
    if max_tokens is not None:
        payload["max_tokens"] = max_tokens
    if temperature is not None:
        payload["temperature"] = temperature
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def _usage(data: Any) -> Usage | None:
    return provider_base.usage(data, "prompt_tokens", "completion_tokens")


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


def endpoint_url(route: ModelRoute, endpoint: str) -> str:
    """Where the route's `endpoint` (`/chat/completions`, `/audio/speech`…) is: `baseURL` (else the
    preset's) + the preset's path for it (Azure's deployment path) and query."""
    preset = presets.lookup(route.provider)
    base = (route.base_url or preset.base_url or "").rstrip("/")
    path = preset.chat_path.removesuffix("/chat/completions") + endpoint
    url = base + path.format(model=quote(route.model, safe=""))
    if preset.api_version is not None:
        url += "?" + urlencode({"api-version": route.api_version or preset.api_version})
    return url


def chat_url(route: ModelRoute) -> str:
    """Where the route's completions go."""
    return endpoint_url(route, "/chat/completions")


def audio_filename(mime_type: str) -> str:
    """A file name whose extension tells the transcription API the audio format."""
    base = mime_type.split(";", 1)[0].strip().lower()
    extension = _AUDIO_EXTENSIONS.get(base) or (mimetypes.guess_extension(base) or ".bin").lstrip(".")
    return f"audio.{extension}"


def parse_transcription(body: Any, *, route: str) -> str:
    """The text of a transcription answer (`{"text": …}`); anything else is a FatalError."""
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise errors.FatalError(route, "unexpected transcription shape")
    return text.strip()


def speech_payload(route: ModelRoute, text: str, voice: str) -> dict[str, Any]:
    """The JSON body of `POST /audio/speech`: Opus, the codec voice-note platforms take."""
    return {"model": route.model, "input": text, "voice": voice, "response_format": "opus"}


class OpenAICompatProvider:
    """One route to an OpenAI-compatible endpoint."""

    def __init__(self, route: ModelRoute, api_key: str | None, http: httpx.AsyncClient) -> None:
        self.route = route
        self._url = chat_url(route)
        self._transcriptions_url = endpoint_url(route, "/audio/transcriptions")
        self._speech_url = endpoint_url(route, "/audio/speech")
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

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        file = (audio_filename(mime_type), audio, mime_type)
        body = await self._client.post_file(self._transcriptions_url, {"model": self.route.model}, file)
        return parse_transcription(body, route=self.route.name)

    async def speak(self, text: str, voice: str) -> tuple[bytes, str]:
        payload = speech_payload(self.route, text, voice)
        audio, _ = await self._client.post_for_bytes(self._speech_url, payload, max_bytes=MAX_SPEECH_BYTES)
        if not audio:
            raise errors.FatalError(self.route.name, "empty speech answer")
        return audio, SPEECH_MIME
