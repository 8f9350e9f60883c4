"""One message in, one reply out: the steps every platform and the HTTP API share."""

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from parley_runtime.config.models import ChatBotSpec
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolCall, ToolSpec
from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import ChatModel, RateLimiter, SessionKey, SessionStore
from parley_runtime.llm import tools
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.pipeline")

Outcome = Literal["ok", "plugin", "rate_limited", "error"]

RATE_LIMITED_TEXT = "You are sending messages too fast. Please wait a moment and try again."
FAILURE_TEXT = "Sorry, I could not answer that right now. Please try again later."
MAX_TOOL_ROUNDS = 5


class Plugins(Protocol):
    """What the pipeline needs of the plugin host."""

    async def dispatch(self, message: InboundMessage) -> str | None: ...

    def tool_specs(self) -> list[ToolSpec]: ...

    async def call_tool(self, call: ToolCall, message: InboundMessage) -> str: ...

    async def before_llm(self, message: InboundMessage, request: ChatRequest) -> ChatRequest: ...

    async def after_reply(self, message: InboundMessage, text: str) -> str: ...


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    outcome: Outcome


@dataclass(frozen=True)
class StreamEvent:
    """A streamed piece of the reply; the final event has `done=True` and the whole reply."""

    delta: str = ""
    done: bool = False
    reply: Reply | None = None


def session_key(message: InboundMessage) -> SessionKey:
    return SessionKey(message.bot, message.platform, message.chat_id, message.user_id)


class Pipeline:
    def __init__(
        self,
        spec: ChatBotSpec,
        *,
        model: ChatModel,
        sessions: SessionStore,
        limiter: RateLimiter,
        plugins: Plugins,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.spec = spec
        self.model = model
        self.sessions = sessions
        self.limiter = limiter
        self.plugins = plugins
        self.metrics = metrics
        self.clock = clock
        # Plugin tools are offered only when a route is tagged `tools`: the router sends a request
        # that carries tools to such routes alone, and untagged routes must keep answering.
        self.offer_tools = any("tools" in r.capabilities for r in spec.models.routes)
        # Metric series by label values, resolved once: `labels()` takes a lock and builds a key per call.
        self._counted = functools.cache(metrics.messages.labels)
        self._timed = functools.cache(metrics.message_seconds.labels)

    async def handle(self, message: InboundMessage) -> Reply:
        """The reply for `message`; never raises for model or plugin failures."""
        early = await self._before_model(message)
        if early is not None:
            return self._finish(message, early)
        key = session_key(message)
        request = await self.plugins.before_llm(
            message, self._request(await self.sessions.load(key), message)
        )
        try:
            response = await tools.run_with_tools(
                self.model, request, lambda call: self.plugins.call_tool(call, message), MAX_TOOL_ROUNDS
            )
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            log.warning("model failed", extra={"event_id": message.event_id, "error": type(exc).__name__})
            return self._finish(message, Reply(FAILURE_TEXT, "", "error"))
        text = await self.plugins.after_reply(message, response.text)
        await self._remember(key, message, text)
        return self._finish(message, Reply(text, response.model, "ok"))

    async def stream(self, message: InboundMessage) -> AsyncIterator[StreamEvent]:
        early = await self._before_model(message)
        if early is not None:
            yield StreamEvent(done=True, reply=self._finish(message, early))
            return
        key = session_key(message)
        history = await self.sessions.load(key)
        request = await self.plugins.before_llm(message, self._request(history, message))
        parts: list[str] = []
        model_name = ""
        try:
            async for delta, name in self._model_stream(request, message):
                model_name = name or model_name
                if delta:
                    parts.append(delta)
                    yield StreamEvent(delta=delta)
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            log.warning("model failed", extra={"event_id": message.event_id, "error": type(exc).__name__})
            yield StreamEvent(
                done=True, reply=self._finish(message, Reply(FAILURE_TEXT, model_name, "error"))
            )
            return
        text = await self.plugins.after_reply(message, "".join(parts))
        await self._remember(key, message, text)
        yield StreamEvent(done=True, reply=self._finish(message, Reply(text, model_name, "ok")))

    async def _remember(self, key: SessionKey, message: InboundMessage, text: str) -> None:
        session = self.spec.session
        turn = [
            ChatMessage(role="user", content=message.text, images=message.images),
            ChatMessage(role="assistant", content=text),
        ]
        await self.sessions.append(
            key,
            turn,
            max_turns=session.max_turns,
            max_tokens=session.max_tokens,
            ttl_seconds=session.ttl_seconds,
        )

    async def _before_model(self, message: InboundMessage) -> Reply | None:
        """Rate limits and plugins may answer before the model is asked."""
        limits = self.spec.rate_limit
        user_key = f"u:{message.bot}:{message.platform}:{message.user_id}"
        if not await self.limiter.allow(user_key, limits.per_user_per_minute):
            self.metrics.rate_limited.labels(message.platform).inc()
            return Reply(RATE_LIMITED_TEXT, "", "rate_limited")
        if message.is_group and limits.per_chat_per_minute:
            chat_key = f"c:{message.bot}:{message.platform}:{message.chat_id}"
            if not await self.limiter.allow(chat_key, limits.per_chat_per_minute):
                self.metrics.rate_limited.labels(message.platform).inc()
                return Reply(RATE_LIMITED_TEXT, "", "rate_limited")
        answer = await self.plugins.dispatch(message)
        if answer is not None:
            return Reply(answer, "", "plugin")
        return None

    def _request(self, history: Sequence[ChatMessage], message: InboundMessage) -> ChatRequest:
        persona = self.spec.persona
        system = persona.system_prompt
        if persona.language:
            system = (system + f"\nAnswer in the user's language; default {persona.language}.").strip()
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += history
        messages.append(ChatMessage(role="user", content=message.text, images=message.images))
        tools = tuple(self.plugins.tool_specs()) if self.offer_tools else ()
        return ChatRequest(messages=tuple(messages), tools=tools)

    async def _model_stream(
        self, request: ChatRequest, message: InboundMessage
    ) -> AsyncIterator[tuple[str, str]]:
        """Streams (delta, model) and runs requested tools between rounds."""
        for round_no in range(MAX_TOOL_ROUNDS + 1):
            calls: list[ToolCall] = []
            text: list[str] = []
            async for chunk in self.model.stream(request):
                calls.extend(chunk.tool_calls)
                if chunk.delta:
                    text.append(chunk.delta)
                yield chunk.delta, chunk.model
            if not calls or not request.tools:
                return
            results = [
                ChatMessage(
                    role="tool",
                    content=await self.plugins.call_tool(c, message),
                    tool_call_id=c.id,
                    name=c.name,
                )
                for c in calls
            ]
            assistant = ChatMessage(role="assistant", content="".join(text), tool_calls=tuple(calls))
            last_round = round_no == MAX_TOOL_ROUNDS - 1
            request = request.model_copy(
                update={
                    "messages": (*request.messages, assistant, *results),
                    "tools": () if last_round else request.tools,
                }
            )
        log.warning("tool loop stopped", extra={"event_id": message.event_id, "rounds": MAX_TOOL_ROUNDS})

    def _finish(self, message: InboundMessage, reply: Reply) -> Reply:
        """Count and log the outcome once per message."""
        self._counted(message.platform, message.track, reply.outcome).inc()
        if message.received_at:
            self._timed(message.platform, message.track).observe(max(0.0, self.clock() - message.received_at))
        log.info(
            "reply",
            extra={
                "event_id": message.event_id,
                "platform": message.platform,
                "outcome": reply.outcome,
                "model": reply.model,
                "track": message.track,
            },
        )
        return reply
