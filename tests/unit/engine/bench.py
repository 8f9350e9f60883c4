"""A real pipeline over in-process parts (the `bench` fixture): the real Router over in-process
providers, real SQLite sessions, the real limiter and plugin host; only the providers are stand-ins
(no network)."""

import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from factories import make_chatbot
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatRequest, ChatResponse, StreamChunk, ToolCall
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.core.protocols import FetchMedia
from parley_runtime.engine.pipeline import Pipeline
from parley_runtime.limits.memory import InProcessRateLimiter
from parley_runtime.llm import circuit, errors
from parley_runtime.llm.router import Router, RouteState
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import Plugin, PluginServices
from parley_runtime.plugins.host import PluginHost
from parley_runtime.sessions.sqlite import SqliteSessionStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24


class Provider:
    """One route's model in process: answers chat (or scripted tool calls), transcribes, speaks, and
    remembers every call."""

    def __init__(self, name: str, *, text: str = "", transcript: str = "hello from the voice note") -> None:
        self.name = name
        self.text = text or f"answer from {name}"
        self.transcript = transcript
        self.fail_speech = False
        self.script: list[tuple[ToolCall, ...]] = []  # tool calls to answer with, in order
        self.requests: list[ChatRequest] = []
        self.heard: list[tuple[bytes, str]] = []
        self.spoken: list[tuple[str, str]] = []

    def _answer(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        calls = self.script.pop(0) if self.script and request.tools else ()
        return ChatResponse(
            text="" if calls else self.text, model=self.name, route=self.name, tool_calls=calls
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        return self._answer(request)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        answer = self._answer(request)
        if answer.text:
            yield StreamChunk(delta=answer.text, model=self.name, route=self.name)
        yield StreamChunk(
            model=self.name, route=self.name, tool_calls=answer.tool_calls, finish_reason="stop"
        )

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        self.heard.append((audio, mime_type))
        if self.fail_speech:
            raise errors.RetryableError(self.name, "HTTP 503 from speech.test")
        return self.transcript

    async def speak(self, text: str, voice: str) -> tuple[bytes, str]:
        self.spoken.append((text, voice))
        if self.fail_speech:
            raise errors.RetryableError(self.name, "HTTP 503 from speech.test")
        return b"OggS-" + text.encode(), "audio/ogg"


def router_over(metrics: Metrics, *routes: tuple[Provider, Sequence[str]]) -> Router:
    """The real Router over in-process providers, by declaration order as priority."""
    states = [
        RouteState(
            spec=ModelRoute(name=p.name, provider="echo", model=p.name, capabilities=list(caps), priority=i),
            model=p,
            circuit=circuit.Circuit(3, 30.0),
            metrics=metrics,
        )
        for i, (p, caps) in enumerate(routes)
    ]

    async def no_sleep(_: float) -> None:
        return None

    return Router(states, clock=time.monotonic, rng=random.Random(1), sleep=no_sleep)


class Source:
    """An adapter's media side in process: hands out bytes by attachment URL and remembers the limit."""

    def __init__(self, files: dict[str, bytes], error: Exception | None = None) -> None:
        self.files = files
        self.error = error
        self.asked: list[tuple[str, int]] = []

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        self.asked.append((attachment.url or "", max_bytes))
        if self.error is not None:
            raise self.error
        return self.files[attachment.url or ""]


@dataclass
class Bench:
    """Builds pipelines sharing one metrics registry, one session file and one plugin HTTP client."""

    tmp_path: Path
    http: httpx.AsyncClient
    metrics: Metrics = field(default_factory=Metrics)
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    sessions: SqliteSessionStore | None = None

    async def pipeline(
        self,
        *routes: tuple[Provider, Sequence[str]],
        plugins: Sequence[Plugin[Any]] = (),
        fetch: FetchMedia | None = None,
        **spec: Any,
    ) -> Pipeline:
        if self.sessions is None:
            self.sessions = await SqliteSessionStore.open(self.tmp_path / "sessions.sqlite3")
            self.stack.push_async_callback(self.sessions.close)
        services = PluginServices(http=self.http, clock=time.time, reset_session=_no_reset, bot="helpdesk")
        host = PluginHost.from_plugins(plugins, services=services, metrics=self.metrics, builtins=False)
        return Pipeline(
            make_chatbot(**spec).spec,
            model=router_over(self.metrics, *routes),
            sessions=self.sessions,
            limiter=InProcessRateLimiter(),
            plugins=host,
            metrics=self.metrics,
            clock=time.time,
            fetch=fetch,
        )

    def count(self, outcome: str, platform: str = "telegram") -> float:
        labels = {"platform": platform, "track": "stable", "outcome": outcome}
        return self.metrics.registry.get_sample_value("parley_messages_total", labels) or 0.0


async def _no_reset(message: InboundMessage) -> None:
    return None


@contextlib.asynccontextmanager
async def open_bench(tmp_path: Path) -> AsyncIterator[Bench]:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(599, text="unit tests make no network calls")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        made = Bench(tmp_path, http)
        async with made.stack:
            yield made
