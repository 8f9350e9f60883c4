"""Fake LLM APIs (OpenAI-compatible, Anthropic, Gemini) as real HTTP servers on 127.0.0.1.

Each fake is a Starlette app served by uvicorn in a background thread on a free port. It speaks
the provider's wire format, including SSE streaming, and is programmable per test::

    with FakeOpenAI(text="hi there") as srv:           # srv.url is the route's baseURL
        srv.fail(status=500, times=2)                  # the next two calls answer HTTP 500
        srv.hang(seconds=5, times=1)                   # then one that answers only after 5 s
        srv.call_tool("weather", {"city": "Paris"})    # then a tool call
        srv.push(Reply(text="x", usage=(7, 3)))        # then an exact reply
        ...                                            # afterwards: the default text
        srv.requests[-1].body                          # every request received, JSON-decoded

Scripted replies are consumed in order; when none is left, the server answers `text` with
usage (10 prompt tokens, one completion token per word) unless `usage=` says otherwise.
`Reply(break_after=n)` streams n text chunks and then drops the connection.
With `api_key=` set, a request carrying another key gets 401 (whose message quotes that key,
as real providers partly do), so tests can check keys never leak into our errors.

`route_for(srv, "main", priority=1)` builds a ModelRoute aimed at a fake; `serve_app(app)` runs
any ASGI app the same way, for other fakes.

`FakeOpenAI` also speaks: `POST /v1/audio/transcriptions` (multipart `file` + `model`, parsed with the
standard library and recorded as `{"fields": {...}, "files": {"file": {"filename", "content_type",
"data"}}}`) answers `{"text": srv.transcript}` (or a scripted `Reply(text=...)`), and `POST
/v1/audio/speech` (JSON) answers `srv.speech` bytes as `audio/ogg`; scripted statuses and hangs apply.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from fakes.served import ServedApp, serve_app
from parley_runtime.config.models import ModelRoute, Models
from parley_runtime.config.secrets import Secrets

__all__ = [
    "FAKES",
    "FakeAnthropic",
    "FakeClock",
    "FakeGemini",
    "FakeLLMServer",
    "FakeOpenAI",
    "Recorded",
    "Reply",
    "ServedApp",
    "SleepRecorder",
    "key_for",
    "make_models",
    "make_secrets",
    "route_for",
    "serve_app",
]

# The LLM fakes need no WebSockets and pin the plain asyncio loop; httptools parses (h11, pure Python,
# took as much CPU as the rest of a chat where a test sends thousands).
_UVICORN: dict[str, Any] = {"log_level": "critical", "ws": "none", "loop": "asyncio", "http": "httptools"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `text=None` means the server's default text."""

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    usage: tuple[int, int] | None = None
    status: int = 200
    hang: float = 0.0
    break_after: int | None = None


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]] if text else []


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n"


class FakeLLMServer:
    """The programmable part shared by the three fakes; subclasses render their wire format."""

    kind = "fake"
    path_prefix = ""

    def __init__(
        self,
        text: str = "hello from the fake",
        *,
        model: str = "fake-model",
        usage: tuple[int, int] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.text = text
        self.model = model
        self.default_usage = usage
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        routes = [Route("/{path:path}", self._handle, methods=["POST"])]
        self._served = ServedApp(Starlette(routes=routes), **_UVICORN)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What to put in the route's `baseURL`."""
        return self._served.base + self.path_prefix

    def start(self) -> FakeLLMServer:
        self._served.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._served.stop()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- programming -------------------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def fail(self, status: int = 500, times: int = 1) -> None:
        self.push(*[Reply(status=status)] * times)

    def hang(self, seconds: float = 30.0, times: int = 1) -> None:
        self.push(*[Reply(hang=seconds)] * times)

    def call_tool(self, name: str, arguments: dict[str, Any], times: int = 1) -> None:
        self.push(*[Reply(tool_calls=((name, arguments),))] * times)

    def clear(self) -> None:
        """Forget scripted replies still pending: from now on, the default answer."""
        with self._lock:
            self._script.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    # --- serving ---------------------------------------------------------------------------------

    def _next(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            body: Any = _multipart(request.headers["content-type"], raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        self.requests.append(
            Recorded(request.method, request.url.path, request.url.query, dict(request.headers), body)
        )
        reply = self._next()
        if reply.hang:
            await asyncio.to_thread(self._stopping.wait, reply.hang)  # cut short when the fake stops
        sent_key = self.key_of(request)
        if self.api_key is not None and sent_key != self.api_key:
            return JSONResponse(self.error_body(401, f"Incorrect API key provided: {sent_key}"), 401)
        if reply.status != 200:
            return JSONResponse(self.error_body(reply.status, "scripted failure"), reply.status)
        special = self.other_endpoint(request, reply)
        if special is not None:
            return special
        text = self.text if reply.text is None else reply.text
        usage = reply.usage or self.default_usage or (10, len(_words(text)))
        if self.wants_stream(request, body):
            return StreamingResponse(self._frames(reply, text, usage), media_type="text/event-stream")
        return JSONResponse(self.completion(reply, text, usage))

    async def _frames(self, reply: Reply, text: str, usage: tuple[int, int]) -> AsyncIterator[str]:
        text_frames = 0
        for frame, is_text in self.stream_frames(reply, text, usage):
            if is_text and reply.break_after is not None and text_frames >= reply.break_after:
                raise ConnectionAbortedError("scripted break mid-stream")
            text_frames += is_text
            yield frame
            await asyncio.sleep(0)

    # --- wire format (subclasses) ----------------------------------------------------------

    def other_endpoint(self, request: Request, reply: Reply) -> Response | None:
        """The answer of an endpoint other than chat (speech), or None for a chat call."""
        return None

    def key_of(self, request: Request) -> str | None:
        raise NotImplementedError

    def wants_stream(self, request: Request, body: Any) -> bool:
        return bool(isinstance(body, dict) and body.get("stream"))

    def error_body(self, status: int, message: str) -> Any:
        raise NotImplementedError

    def completion(self, reply: Reply, text: str, usage: tuple[int, int]) -> Any:
        raise NotImplementedError

    def stream_frames(self, reply: Reply, text: str, usage: tuple[int, int]) -> Iterator[tuple[str, bool]]:
        """(SSE frame, whether it carries answer text)."""
        raise NotImplementedError


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {"fields": {name: text}, "files": {name: {...}}}."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        filename = part.get_filename()
        if filename is None:
            fields[str(name)] = data.decode()
        else:
            files[str(name)] = {"filename": filename, "content_type": part.get_content_type(), "data": data}
    return {"fields": fields, "files": files}


class FakeOpenAI(FakeLLMServer):
    """`POST /v1/chat/completions`, bearer key, SSE chunks ending in `data: [DONE]`; speech too."""

    kind = "openai"
    path_prefix = "/v1"
    transcript = "hello from the voice note"
    speech = b"OggS\x00\x02fake-opus-bytes"

    def other_endpoint(self, request: Request, reply: Reply) -> Response | None:
        if request.url.path.endswith("/audio/transcriptions"):
            return JSONResponse({"text": self.transcript if reply.text is None else reply.text})
        if request.url.path.endswith("/audio/speech"):
            return Response(self.speech, media_type="audio/ogg")
        return None

    def key_of(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth else None

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request"}}

    def _calls(self, reply: Reply) -> list[dict[str, Any]]:
        return [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(reply.tool_calls)
        ]

    def completion(self, reply: Reply, text: str, usage: tuple[int, int]) -> Any:
        message: dict[str, Any] = {"role": "assistant", "content": None if reply.tool_calls else text}
        if reply.tool_calls:
            message["tool_calls"] = self._calls(reply)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
        }

    def stream_frames(self, reply: Reply, text: str, usage: tuple[int, int]) -> Iterator[tuple[str, bool]]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return _sse(
                {"id": "c", "object": "chat.completion.chunk", "model": self.model, "choices": [choice]}
            )

        yield chunk({"role": "assistant", "content": ""}), False
        if reply.tool_calls:
            for i, call in enumerate(self._calls(reply)):
                head = {"index": i, "id": call["id"], "type": "function"}
                yield chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"]}}]}), False
                args = call["function"]["arguments"]
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}), False
        else:
            for word in _words(text):
                yield chunk({"content": word}), True
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop"), False
        counts = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
        yield _sse({"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": counts}), False
        yield _sse("[DONE]"), False


class FakeAnthropic(FakeLLMServer):
    """`POST /v1/messages`, `x-api-key`, named SSE events from message_start to message_stop."""

    kind = "anthropic"

    def key_of(self, request: Request) -> str | None:
        return request.headers.get("x-api-key")

    def error_body(self, status: int, message: str) -> Any:
        kind = (
            "overloaded_error" if status == 529 else "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _blocks(self, reply: Reply, text: str) -> list[dict[str, Any]]:
        if reply.tool_calls:
            return [
                {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a}
                for i, (n, a) in enumerate(reply.tool_calls)
            ]
        return [{"type": "text", "text": text}]

    def completion(self, reply: Reply, text: str, usage: tuple[int, int]) -> Any:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self._blocks(reply, text),
            "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
        }

    def stream_frames(self, reply: Reply, text: str, usage: tuple[int, int]) -> Iterator[tuple[str, bool]]:
        start = {
            "type": "message",
            "id": "msg_fake",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "usage": {"input_tokens": usage[0], "output_tokens": 1},
        }
        yield _sse({"type": "message_start", "message": start}, "message_start"), False
        yield _sse({"type": "ping"}, "ping"), False
        for i, block in enumerate(self._blocks(reply, text)):
            if block["type"] == "text":
                empty = {"type": "text", "text": ""}
                yield (
                    _sse(
                        {"type": "content_block_start", "index": i, "content_block": empty},
                        "content_block_start",
                    ),
                    False,
                )
                for word in _words(text):
                    delta = {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "text_delta", "text": word},
                    }
                    yield _sse(delta, "content_block_delta"), True
            else:
                head = {**block, "input": {}}
                yield (
                    _sse(
                        {"type": "content_block_start", "index": i, "content_block": head},
                        "content_block_start",
                    ),
                    False,
                )
                args = json.dumps(block["input"])
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    delta = {"type": "input_json_delta", "partial_json": part}
                    yield (
                        _sse(
                            {"type": "content_block_delta", "index": i, "delta": delta}, "content_block_delta"
                        ),
                        False,
                    )
            yield _sse({"type": "content_block_stop", "index": i}, "content_block_stop"), False
        stop = "tool_use" if reply.tool_calls else "end_turn"
        end = {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": usage[1]}}
        yield _sse(end, "message_delta"), False
        yield _sse({"type": "message_stop"}, "message_stop"), False


class FakeGemini(FakeLLMServer):
    """`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`."""

    kind = "gemini"

    def key_of(self, request: Request) -> str | None:
        return request.headers.get("x-goog-api-key")

    def wants_stream(self, request: Request, body: Any) -> bool:
        return request.url.path.endswith(":streamGenerateContent")

    def error_body(self, status: int, message: str) -> Any:
        return {
            "error": {
                "code": status,
                "message": message,
                "status": "INTERNAL" if status >= 500 else "INVALID",
            }
        }

    def _usage(self, usage: tuple[int, int]) -> dict[str, int]:
        return {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1], "totalTokenCount": sum(usage)}

    def _candidate(self, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            cand["finishReason"] = finish
        return cand

    def _call_parts(self, reply: Reply) -> list[dict[str, Any]]:
        return [{"functionCall": {"name": n, "args": a}} for n, a in reply.tool_calls]

    def completion(self, reply: Reply, text: str, usage: tuple[int, int]) -> Any:
        parts = self._call_parts(reply) if reply.tool_calls else [{"text": text}]
        return {
            "candidates": [self._candidate(parts, "STOP")],
            "usageMetadata": self._usage(usage),
            "modelVersion": self.model,
        }

    def stream_frames(self, reply: Reply, text: str, usage: tuple[int, int]) -> Iterator[tuple[str, bool]]:
        if reply.tool_calls:
            body = {
                "candidates": [self._candidate(self._call_parts(reply), None)],
                "modelVersion": self.model,
            }
            yield _sse(body), False
        else:
            for word in _words(text):
                yield (
                    _sse(
                        {"candidates": [self._candidate([{"text": word}], None)], "modelVersion": self.model}
                    ),
                    True,
                )
        last = {
            "candidates": [self._candidate([{"text": ""}], "STOP")],
            "usageMetadata": self._usage(usage),
            "modelVersion": self.model,
        }
        yield _sse(last), False


_PROVIDER = {"openai": "openai-compatible", "anthropic": "anthropic", "gemini": "gemini"}


def route_for(server: FakeLLMServer, name: str, **overrides: Any) -> ModelRoute:
    """A ModelRoute pointing at `server` (manifest field names, e.g. `timeout="500ms"`).

    The route's apiKey refers to the secret `llm/<name>`; give that key to `Secrets` in tests.
    """
    fields: dict[str, Any] = {
        "name": name,
        "provider": _PROVIDER[server.kind],
        "model": server.model,
        "baseURL": server.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": name}},
        "retries": 0,
        "timeout": "5s",
    }
    fields.update(overrides)
    return ModelRoute.model_validate(fields)


FAKES: dict[str, type[FakeLLMServer]] = {
    "openai": FakeOpenAI,
    "anthropic": FakeAnthropic,
    "gemini": FakeGemini,
}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepRecorder:
    """Stands in for asyncio.sleep in backoff: records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_models(*routes: ModelRoute, **fields: Any) -> Models:
    return Models.model_validate({"routes": [r.model_dump(by_alias=True) for r in routes], **fields})


def key_for(route: str) -> str:
    return f"sk-{route}-secret-value"


def make_secrets(*routes: ModelRoute) -> Secrets:
    return Secrets({("llm", r.name): key_for(r.name) for r in routes})
