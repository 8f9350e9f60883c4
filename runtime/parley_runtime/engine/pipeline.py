"""One message in, one reply out: the steps every platform and the HTTP API share."""

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from parley_runtime.config.models import ChatBotSpec
from parley_runtime.core.chat import ChatMessage, ChatRequest
from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import ChatModel, Plugins, RateLimiter, SessionKey, SessionStore
from parley_runtime.llm import tools
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.pipeline")

ReplyOutcome = Literal["ok", "plugin", "rate_limited", "error"]

RATE_LIMITED_TEXT = "You are sending messages too fast. Please wait a moment and try again."
FAILURE_TEXT = "Sorry, I could not answer that right now. Please try again later."


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    outcome: ReplyOutcome


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
        key = session_key(message)
        asked = await self._prepare(message, key)
        if isinstance(asked, Reply):
            return self._finish(message, asked)
        try:
            response = await tools.run_with_tools(
                self.model, asked, lambda call: self.plugins.call_tool(call, message)
            )
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            return self._failed(message, exc, "")
        return await self._answered(message, key, response.text, response.model)

    async def stream(self, message: InboundMessage) -> AsyncIterator[StreamEvent]:
        key = session_key(message)
        asked = await self._prepare(message, key)
        if isinstance(asked, Reply):
            yield StreamEvent(done=True, reply=self._finish(message, asked))
            return
        parts: list[str] = []
        model_name = ""
        try:
            async for chunk in tools.stream_with_tools(
                self.model, asked, lambda call: self.plugins.call_tool(call, message)
            ):
                model_name = chunk.model or model_name
                if chunk.delta:
                    parts.append(chunk.delta)
                    yield StreamEvent(delta=chunk.delta)
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            yield StreamEvent(done=True, reply=self._failed(message, exc, model_name))
            return
        yield StreamEvent(done=True, reply=await self._answered(message, key, "".join(parts), model_name))

    async def _prepare(self, message: InboundMessage, key: SessionKey) -> Reply | ChatRequest:
        """The request for the model, or the reply when a rate limit or a plugin answers first."""
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
        history = await self.sessions.load(key)
        return await self.plugins.before_llm(message, self._request(history, message))

    def _request(self, history: Sequence[ChatMessage], message: InboundMessage) -> ChatRequest:
        persona = self.spec.persona
        system = persona.system_prompt
        if persona.language:
            system = (system + f"\nAnswer in the user's language; default {persona.language}.").strip()
        messages = [ChatMessage(role="system", content=system)] if system else []
        messages += history
        messages.append(ChatMessage(role="user", content=message.text, images=()))
        offered = tuple(self.plugins.tool_specs()) if self.offer_tools else ()
        return ChatRequest(messages=tuple(messages), tools=offered)

    async def _answered(self, message: InboundMessage, key: SessionKey, text: str, model: str) -> Reply:
        """The model's answer after `after_reply`, kept in the session as this turn."""
        text = await self.plugins.after_reply(message, text)
        session = self.spec.session
        turn = [
            ChatMessage(role="user", content=message.text, images=()),
            ChatMessage(role="assistant", content=text),
        ]
        await self.sessions.append(
            key,
            turn,
            max_turns=session.max_turns,
            max_tokens=session.max_tokens,
            ttl_seconds=session.ttl_seconds,
        )
        return self._finish(message, Reply(text, model, "ok"))

    def _failed(self, message: InboundMessage, exc: Exception, model: str) -> Reply:
        log.warning("model failed", extra={"event_id": message.event_id, "error": type(exc).__name__})
        return self._finish(message, Reply(FAILURE_TEXT, model, "error"))

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
