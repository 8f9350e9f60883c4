"""The call plumbing the HTTP providers share: one route's headers, timeout and key, a POST for a whole
answer, the Server-Sent Events loop of a stream, and the two non-JSON calls of speech (a multipart
upload, a binary answer); plus the protocols of the providers that also speak (`Transcriber`,
`Synthesizer`), which the router looks for on routes tagged `stt` and `tts`.

Providers must not import each other, so what they have in common lives here; each keeps its own wire
format (payload, parsing, stream assembler), URL and the few stream rules that differ (an end marker, an
`error` member, a last event type).
"""

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Protocol, TypedDict, runtime_checkable

import httpx
import orjson

from parley_runtime.core.chat import StreamChunk
from parley_runtime.llm import errors, transport

__all__ = ["Assembler", "RouteClient", "Synthesizer", "Transcriber"]


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

    async def post_file(self, url: str, fields: Mapping[str, str], file: tuple[str, bytes, str]) -> Any:
        """The decoded JSON answer of a `multipart/form-data` POST of `fields` plus `file` (name, bytes,
        type) as the part named `file`; failures map to our errors as for `post`."""
        options = self._options
        request = self._http.build_request(
            "POST",
            url,
            headers=options["headers"],
            data=dict(fields),
            files={"file": file},
            timeout=options["timeouts"],
        )
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            raise (errors.ProviderTimeout if timed_out else errors.RetryableError)(
                self.route, f"{'timed out' if timed_out else 'connection error'} ({type(exc).__name__})"
            ) from None
        if response.status_code >= 300:
            raise transport.error_for_response(self.route, response, response.content, options["secret"])
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise errors.FatalError(self.route, "response is not JSON") from None

    async def post_for_bytes(
        self, url: str, payload: Mapping[str, Any], *, max_bytes: int
    ) -> tuple[bytes, str]:
        """(body, content type) answering a JSON POST with binary content, at most `max_bytes` of it."""
        async with transport.open_stream(self.route, self._http, url, payload, **self._options) as response:
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
