"""The call plumbing the HTTP providers share: one route's headers, timeout and key, a POST for a whole
answer, and the Server-Sent Events loop of a stream.

Providers must not import each other, so what they have in common lives here; each keeps its own wire
format (payload, parsing, stream assembler), URL and the few stream rules that differ (an end marker, an
`error` member, a last event type).
"""

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Protocol, TypedDict

import httpx

from parley_runtime.core.chat import StreamChunk
from parley_runtime.llm import errors, transport

__all__ = ["Assembler", "RouteClient"]


class Assembler(Protocol):
    """Turns a provider's stream events into chunks, and the final chunk (tool calls, usage)."""

    def feed(self, event: dict[str, Any]) -> StreamChunk | None: ...

    def finish(self) -> StreamChunk: ...


class _CallOptions(TypedDict):
    headers: Mapping[str, str]
    timeouts: httpx.Timeout
    secret: str | None


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
        self._http = http
        self._options = _CallOptions(headers=headers, timeouts=httpx.Timeout(timeout_seconds), secret=secret)

    def __repr__(self) -> str:
        return f"RouteClient(route={self.route!r})"

    async def post(self, url: str, payload: Mapping[str, Any]) -> Any:
        """The decoded JSON answer of a non-streaming call."""
        return await transport.post_json(self.route, self._http, url, payload, **self._options)

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
        async with transport.open_stream(self.route, self._http, url, payload, **self._options) as response:
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
