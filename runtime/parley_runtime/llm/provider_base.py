"""The call plumbing the HTTP providers share: one route's headers, timeout and key, a POST for a whole
answer, the Server-Sent Events loop of a stream, and the two non-JSON calls of speech (a multipart
upload, a binary answer); plus the protocols of the providers that also speak (`Transcriber`,
`Synthesizer`), which the router looks for on routes tagged `stt` and `tts`.

Providers must not import each other, so what they have in common lives here (with the two rules of
their wire formats that agree: route defaults fill what a request leaves open, and token counts are two
integers of a usage object); each keeps its own wire format (payload, parsing, stream assembler), URL and
the few stream rules that differ (an end marker, an `error` member, a last event type).
"""

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Protocol, runtime_checkable

import httpx

from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatRequest, StreamChunk, Usage
from parley_runtime.llm import errors, transport

__all__ = ["Assembler", "RouteClient", "Synthesizer", "Transcriber", "sampling", "usage"]


@runtime_checkable
class Transcriber(Protocol):
    """A provider that turns speech into text (the route is tagged `stt`)."""

    async def transcribe(self, audio: bytes, mime_type: str) -> str: ...


@runtime_checkable
class Synthesizer(Protocol):
    """A provider that reads text aloud (the route is tagged `tts`): (audio bytes, MIME type)."""

    async def speak(self, text: str, voice: str) -> tuple[bytes, str]: ...


class Assembler(Protocol):
    """Turns a provider's stream events into chunks, and the final chunk (tool calls, usage)."""

    def feed(self, event: dict[str, Any]) -> StreamChunk | None: ...

    def finish(self) -> StreamChunk: ...


def sampling(request: ChatRequest, route: ModelRoute) -> tuple[int | None, float | None]:
    """(max_tokens, temperature) of one call: the request's, else the route's defaults (None: unset)."""
    max_tokens = request.max_tokens or route.max_tokens
    temperature = request.temperature if request.temperature is not None else route.temperature
    return max_tokens, temperature


def usage(data: Any, prompt: str, completion: str) -> Usage | None:
    """The token counts of a provider's usage object, named by its `prompt` and `completion` members;
    None when there is no such object."""
    if not isinstance(data, dict):
        return None
    return Usage(prompt_tokens=int(data.get(prompt) or 0), completion_tokens=int(data.get(completion) or 0))


class RouteClient:
    """The HTTP side of one route; the key only travels in `headers` and is scrubbed from errors."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        route: str,
        headers: Mapping[str, str],
        timeout_seconds: float,
        secret: str | None,
    ) -> None:
        self.route = route
        self._via = transport.RouteHttp(
            route, http, headers=headers, timeouts=httpx.Timeout(timeout_seconds), secret=secret
        )

    def __repr__(self) -> str:
        return f"RouteClient(route={self.route!r})"

    async def post(self, url: str, payload: Mapping[str, Any]) -> Any:
        """The decoded JSON answer of a non-streaming call."""
        return await transport.post_json(self._via, url, payload)

    async def post_file(self, url: str, fields: Mapping[str, str], file: tuple[str, bytes, str]) -> Any:
        """The decoded JSON answer of a `multipart/form-data` POST of `fields` plus `file` (name, bytes,
        type) as the part named `file`; failures map to our errors as for `post`."""
        return await transport.post_multipart(self._via, url, fields, {"file": file})

    async def post_for_bytes(
        self, url: str, payload: Mapping[str, Any], *, max_bytes: int
    ) -> tuple[bytes, str]:
        """(body, content type) answering a JSON POST with binary content, at most `max_bytes` of it."""
        async with transport.open_stream(self._via, url, payload) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise errors.FatalError(self.route, f"answer larger than {max_bytes} bytes")
            return bytes(body), response.headers.get("content-type", "")

    async def stream(
        self,
        url: str,
        payload: Mapping[str, Any],
        assembler: Assembler,
        *,
        end_marker: str | None = None,
        error_member: bool = False,
        last_event_type: str | None = None,
    ) -> AsyncGenerator[StreamChunk, None]:
        """The assembler's chunks for each event, then its final chunk.

        `end_marker`: a data line that ends the stream before JSON parsing (OpenAI's `[DONE]`);
        `error_member`: an event with an `error` member is a retryable failure; `last_event_type`: the
        stream ends after the event of this `type` (Anthropic's `message_stop`).
        """
        async with transport.open_stream(self._via, url, payload) as response:
            async for _, data in transport.sse_events(response):
                if end_marker is not None and data.strip() == end_marker:
                    break
                event = transport.parse_event_json(self.route, data)
                if error_member and "error" in event:
                    raise errors.RetryableError(self.route, "error event in stream")
                chunk = assembler.feed(event)
                if chunk is not None:
                    yield chunk
                if last_event_type is not None and event.get("type") == last_event_type:
                    break
        yield assembler.finish()
