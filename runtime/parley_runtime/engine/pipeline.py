"""One message in, one reply out: the steps every platform and the HTTP API share.

rate limit → plugins → media (`engine.media`: only for a message with attachments) → session →
model with tools → reply, with the images tools returned and, for a voice note when the bot says so,
the answer read aloud. A caller that keeps the conversation itself (the OpenAI-compatible API) passes
`Given`: its turns stand in for the session's, and nothing is stored.
"""

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from parley_runtime.budget.guard import BudgetGuard, OverBudget
from parley_runtime.config.models import ChatBotSpec
from parley_runtime.core import media as core_media
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolCall, Usage
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.core.protocols import (
    ChatModel,
    FetchMedia,
    ModelRouter,
    Plugins,
    RateLimiter,
    SessionKey,
    SessionStore,
)
from parley_runtime.engine import media
from parley_runtime.llm import tools
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.common import markdown

log = logging.getLogger("parley.pipeline")

# ok: the model answered; plugin: a command or matcher did; media_refused: an attachment over the bot's
# limit; unsupported: no route for what the message needs (images, voice); budget: the next model call
# would go over a daily budget (docs/budgets.md); error: anything failed.
ReplyOutcome = Literal["ok", "plugin", "rate_limited", "error", "media_refused", "unsupported", "budget"]

RATE_LIMITED_TEXT = "You are sending messages too fast. Please wait a moment and try again."
FAILURE_TEXT = "Sorry, I could not answer that right now. Please try again later."
MAX_SPOKEN_CHARS = 4096  # what speech endpoints take in one call; a longer answer is sent as text only


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    outcome: ReplyOutcome
    attachments: tuple[Attachment, ...] = ()  # images from plugins and tools, the answer as voice
    usage: Usage | None = None  # the model's tokens over every round (None: no model was asked)
    finish_reason: str | None = None  # the provider's own word for why the answer ended


@dataclass(frozen=True, slots=True)
class Given:
    """What a caller that keeps the conversation itself (the OpenAI-compatible API) passes with a
    message: the turns before it, taken instead of the session's and never stored (None: the session's,
    and this turn is kept), and its sampling settings for the model."""

    history: tuple[ChatMessage, ...] | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class StreamEvent:
    """A streamed piece of the reply; the final event has `done=True` and the whole reply."""

    delta: str = ""
    done: bool = False
    reply: Reply | None = None


def session_key(message: InboundMessage) -> SessionKey:
    """One context per member of a chat, or one for the whole chat when its binding shares sessions."""
    user = "*" if message.shared_session else message.user_id
    return SessionKey(message.bot, message.platform, message.chat_id, user)


def _system_turn(spec: ChatBotSpec) -> tuple[ChatMessage, ...]:
    """The persona as the first turn of every request (none without a prompt): built once per config."""
    persona = spec.persona
    system = persona.system_prompt
    if persona.language:
        system = (system + f"\nAnswer in the user's language; default {persona.language}.").strip()
    return (ChatMessage(role="system", content=system),) if system else ()


@dataclass(frozen=True, slots=True)
class _WithMedia:
    """The request for a message with attachments, and what they became (for the session and voice)."""

    request: ChatRequest
    inputs: media.Inputs


def _unwrapped(asked: "ChatRequest | _WithMedia") -> tuple[ChatRequest, media.Inputs | None]:
    return (asked.request, asked.inputs) if isinstance(asked, _WithMedia) else (asked, None)


class _ToolCalls:
    """Runs one message's tool calls through the plugins and keeps the images they return."""

    __slots__ = ("attachments", "message", "plugins")

    def __init__(self, plugins: Plugins, message: InboundMessage) -> None:
        self.plugins = plugins
        self.message = message
        self.attachments: tuple[Attachment, ...] = ()

    async def __call__(self, call: ToolCall) -> str:
        result = await self.plugins.call_tool(call, self.message)
        if isinstance(result, str):
            return result
        self.attachments += result.attachments
        return result.text


class Pipeline:
    def __init__(
        self,
        spec: ChatBotSpec,
        *,
        model: ModelRouter,
        sessions: SessionStore,
        limiter: RateLimiter,
        plugins: Plugins,
        metrics: Metrics,
        clock: Callable[[], float],
        fetch: FetchMedia | None = None,
        budget: BudgetGuard | None = None,
    ) -> None:
        self.spec = spec
        self.model = model
        self.budget = budget  # None without spec.budget: the router is called directly
        self.sessions = sessions
        self.limiter = limiter
        self.plugins = plugins
        self.metrics = metrics
        self.clock = clock
        self.media = media.MediaInputs(spec.media, model, fetch)
        self._system = _system_turn(spec)
        # Plugin tools are offered only when a route is tagged `tools`: the router sends them to such
        # routes alone, and the others answer the same request without them.
        self.offer_tools = model.offers("tools")
        self.speaks = spec.speech.reply_with_voice and model.offers("tts")
        if spec.speech.reply_with_voice and not self.speaks:
            log.info("speech.replyWithVoice is on but no route is tagged tts: voice is answered with text")
        # Metric series by label values, resolved once: `labels()` takes a lock and builds a key per call.
        self._counted = functools.cache(metrics.messages.labels)
        self._timed = functools.cache(metrics.message_seconds.labels)

    def adopt(self, other: "Pipeline") -> None:
        """Take over everything `other` was built with (a reloaded manifest), keeping this object: the
        worker and the chat routes hold it. A message already in here finishes with what it read."""
        vars(self).update(vars(other))

    async def handle(self, message: InboundMessage, given: Given | None = None) -> Reply:
        """The reply for `message`; never raises for model or plugin failures."""
        key = session_key(message)
        asked = await self._prepare(message, key, given)
        if isinstance(asked, Reply):
            return self._finish(message, asked)
        request, inputs = _unwrapped(asked)
        calls = _ToolCalls(self.plugins, message)
        try:
            response = await tools.run_with_tools(self._model_for(message), request, calls)
        except OverBudget as over:
            return self._finish(message, Reply(over.reply, "", "budget"))
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            return self._failed(message, exc, "")
        return await self._answered(
            message,
            key,
            response.text,
            response.model,
            inputs,
            calls.attachments,
            given=given,
            usage=response.usage,
            finish_reason=response.finish_reason,
        )

    async def stream(self, message: InboundMessage, given: Given | None = None) -> AsyncIterator[StreamEvent]:
        key = session_key(message)
        asked = await self._prepare(message, key, given)
        if isinstance(asked, Reply):
            yield StreamEvent(done=True, reply=self._finish(message, asked))
            return
        request, inputs = _unwrapped(asked)
        calls = _ToolCalls(self.plugins, message)
        parts: list[str] = []
        model_name = ""
        usage: Usage | None = None  # summed over the rounds of the tool loop, each ending with its own
        finish_reason: str | None = None
        try:
            async for chunk in tools.stream_with_tools(self._model_for(message), request, calls):
                model_name = chunk.model or model_name
                if chunk.delta:
                    parts.append(chunk.delta)
                    yield StreamEvent(delta=chunk.delta)
                if chunk.usage is not None:  # the last chunk of each round
                    usage = chunk.usage if usage is None else usage + chunk.usage
                    finish_reason = chunk.finish_reason or finish_reason
        except OverBudget as over:
            yield StreamEvent(done=True, reply=self._finish(message, Reply(over.reply, "", "budget")))
            return
        except Exception as exc:  # every provider failed: the user gets an apology, not an error page
            yield StreamEvent(done=True, reply=self._failed(message, exc, model_name))
            return
        answer = await self._answered(
            message,
            key,
            "".join(parts),
            model_name,
            inputs,
            calls.attachments,
            given=given,
            usage=usage,
            finish_reason=finish_reason,
        )
        yield StreamEvent(done=True, reply=answer)

    async def _prepare(
        self, message: InboundMessage, key: SessionKey, given: Given | None
    ) -> Reply | ChatRequest | _WithMedia:
        """The request for the model, or the reply when a rate limit, a plugin or the message's media
        answers first. The history is the session's unless the caller gave its own."""
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
            if isinstance(answer, str):
                return Reply(answer, "", "plugin")
            return Reply(answer.text, "", "plugin", answer.attachments)
        resolved: media.Inputs | None = None
        if message.attachments:
            outcome = await self.media.resolve(message)
            if isinstance(outcome, media.Refusal):
                return Reply(outcome.text, "", outcome.outcome)
            resolved = outcome
        history = await self.sessions.load(key) if given is None or given.history is None else given.history
        user = ChatMessage(role="user", content=message.text) if resolved is None else resolved.turn
        request = await self.plugins.before_llm(message, self._request(history, user, given))
        return request if resolved is None else _WithMedia(request, resolved)

    def _model_for(self, message: InboundMessage) -> ChatModel:
        """The router, or the router behind this message's budget reservations."""
        return self.model if self.budget is None else self.budget.model_for(self.model, message)

    def _request(self, history: Sequence[ChatMessage], user: ChatMessage, given: Given | None) -> ChatRequest:
        offered = tuple(self.plugins.tool_specs()) if self.offer_tools else ()
        messages = (*self._system, *history, user)
        if given is None:
            return ChatRequest(messages=messages, tools=offered)
        return ChatRequest(
            messages=messages, tools=offered, temperature=given.temperature, max_tokens=given.max_tokens
        )

    async def _answered(
        self,
        message: InboundMessage,
        key: SessionKey,
        text: str,
        model: str,
        inputs: media.Inputs | None,
        attachments: tuple[Attachment, ...],
        *,
        given: Given | None,
        usage: Usage | None,
        finish_reason: str | None,
    ) -> Reply:
        """The model's answer after `after_reply`, kept in the session as this turn (media as markers,
        see `engine.media`) unless the caller keeps the history, with the tools' images and, for a
        voice note, its spoken form."""
        text = await self.plugins.after_reply(message, text)
        if given is None or given.history is None:
            session = self.spec.session
            user = inputs.remembered if inputs is not None else ChatMessage(role="user", content=message.text)
            turn = [user, ChatMessage(role="assistant", content=text)]
            await self.sessions.append(
                key,
                turn,
                max_turns=session.max_turns,
                max_tokens=session.max_tokens,
                ttl_seconds=session.ttl_seconds,
            )
        if inputs is not None and inputs.voice and self.speaks:
            attachments += await self._spoken(message, text)
        return self._finish(message, Reply(text, model, "ok", attachments, usage, finish_reason))

    async def _spoken(self, message: InboundMessage, text: str) -> tuple[Attachment, ...]:
        """The answer read aloud by a `tts` route, or nothing (the text is sent either way)."""
        plain = markdown.to_plain(text).strip()
        if not plain or len(plain) > MAX_SPOKEN_CHARS:
            return ()
        try:
            audio, mime = await self.model.speak(plain, self.spec.speech.voice)
        except Exception as exc:  # no voice this time: the text still goes out
            log.warning("speech failed", extra={"event_id": message.event_id, "error": type(exc).__name__})
            return ()
        return (
            Attachment(kind="audio", mime_type=mime, size=len(audio), url=core_media.data_url(audio, mime)),
        )

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
