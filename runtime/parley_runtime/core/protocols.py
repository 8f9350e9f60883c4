"""The small interfaces between layers (the pipeline, the worker and the composition root are written
against them); implementations live in outer layers."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, ToolCall, ToolSpec
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage, Track


class ChatModel(Protocol):
    """An LLM provider, or the router that fronts several of them."""

    async def complete(self, request: ChatRequest) -> ChatResponse: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]: ...


class ModelRouter(ChatModel, Protocol):
    """The LLM router as the pipeline sees it: chat, plus speech through routes tagged `stt`/`tts`."""

    def offers(self, capability: str) -> bool:
        """Whether a configured route serves `capability` (`vision`, `tools`, `stt`, `tts`…)."""
        ...

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        """The text spoken in `audio`; raises the LLM layer's errors like `complete`."""
        ...

    async def speak(self, text: str, voice: str) -> tuple[bytes, str]:
        """(`text` read aloud, its MIME type); raises the LLM layer's errors like `complete`."""
        ...


class SessionKey(NamedTuple):
    bot: str
    platform: str
    chat_id: str
    user_id: str


class SessionStore(Protocol):
    """Multi-turn history per (bot, platform, chat, user), bounded and expiring."""

    async def load(self, key: SessionKey) -> list[ChatMessage]: ...

    async def append(
        self,
        key: SessionKey,
        messages: Sequence[ChatMessage],
        *,
        max_turns: int,
        max_tokens: int,
        ttl_seconds: float,
    ) -> None: ...

    async def clear(self, key: SessionKey) -> None: ...

    async def close(self) -> None: ...


class RateLimiter(Protocol):
    async def allow(self, key: str, limit_per_minute: int) -> bool: ...


class Charge(NamedTuple):
    """What one model call draws on one daily counter: whole units (tokens, or nano-dollars)."""

    key: str
    limit: int
    amount: int


class BudgetStore(Protocol):
    """Daily spending counters shared by every replica: a call holds its upper bound before it runs
    and settles to what it really cost after (docs/budgets.md). Days are UTC dates (`2025-01-31`)."""

    async def reserve(
        self, day: str, hold: str, charges: Sequence[Charge], hold_seconds: float
    ) -> str | None:
        """In one atomic step: hold every charge under the id `hold` when each fits (spent + held +
        amount <= limit) and return None; else hold nothing and return the key that did not fit.
        A hold not settled within `hold_seconds` (its replica died) is given back."""
        ...

    async def settle(self, day: str, hold: str, spent: Sequence[tuple[str, int]]) -> None:
        """Drop the hold and add what each key really spent (all zeros: a release)."""
        ...

    async def close(self) -> None: ...


class PluginOutput(BaseModel):
    """What a plugin's command, matcher or tool answered when it is more than text: the text plus
    images as attachments holding `data:` URLs (plain answers stay a `str`)."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    attachments: tuple[Attachment, ...] = ()


class Plugins(Protocol):
    """What the pipeline needs of the plugin host."""

    async def dispatch(self, message: InboundMessage) -> str | PluginOutput | None: ...

    def tool_specs(self) -> list[ToolSpec]: ...

    async def call_tool(self, call: ToolCall, message: InboundMessage) -> str | PluginOutput:
        """A tool's answer: its text goes back to the model, its images to the final reply."""
        ...

    async def before_llm(self, message: InboundMessage, request: ChatRequest) -> ChatRequest: ...

    async def after_reply(self, message: InboundMessage, text: str) -> str: ...


class WebhookRequest(BaseModel):
    """What an adapter needs of an inbound HTTP callback: verification is over `body` as received."""

    model_config = ConfigDict(frozen=True)

    method: str
    query: Mapping[str, str] = Field(default_factory=dict)
    headers: Mapping[str, str] = Field(default_factory=dict)  # lower-cased names
    body: bytes = b""


class WebhookResult(BaseModel):
    """The HTTP answer for the platform plus the events to enqueue (none for handshakes)."""

    model_config = ConfigDict(frozen=True)

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = Field(default_factory=dict)
    events: tuple[InboundMessage, ...] = ()
    rejected: bool = False  # verification failed: counted, never processed
    reason: str = ""  # short machine-readable cause when rejected, e.g. "bad-signature"


EventSink = Callable[[InboundMessage], Awaitable[None]]

SendReply = Callable[[OutboundMessage], Awaitable[None]]
"""One attempt to send a reply on its platform (`PlatformAdapter.send`); raises `SendError`s."""

DeliverReply = Callable[[OutboundMessage], Awaitable[object]]
"""Sees a reply through: sent, retried or dead-lettered (`OutboundSender.deliver`)."""


class PlatformAdapter(Protocol):
    """One chat platform: verify + handshake + parse inbound, and send outbound."""

    platform: str

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult: ...

    async def send(self, message: OutboundMessage) -> None: ...

    async def announce(self, chat_id: str, text: str) -> None:
        """Post plain `text` unprompted to chat `chat_id`: how the operator reports rollout decisions."""
        ...


@runtime_checkable
class MediaSource(Protocol):
    """An adapter whose platform sends pictures, voice or files: it fetches their bytes on demand."""

    async def fetch_media(self, message: InboundMessage, attachment: Attachment, max_bytes: int) -> bytes:
        """The attachment's bytes, at most `max_bytes`; raises `core.media.MediaTooLarge` past that and
        `core.media.MediaUnavailable` when the platform will not hand them over."""
        ...


FetchMedia = Callable[[InboundMessage, Attachment, int], Awaitable[bytes]]
"""The bytes of an inbound attachment, at most the given size (`MediaSource.fetch_media`'s contract):
how the engine reaches the adapter that received a message, whatever role it runs in."""


class LongConnectionAdapter(PlatformAdapter, Protocol):
    """A platform reached over a long-lived connection held by one gateway replica."""

    async def run_connection(self, sink: EventSink) -> None: ...


class Delivery(Protocol):
    """One queued message handed to a consumer; unacknowledged ones are re-delivered."""

    @property
    def message(self) -> InboundMessage: ...

    @property
    def delivery_count(self) -> int: ...

    async def ack(self) -> None: ...


class SentLedger(Protocol):
    """What was already sent for an inbound message, so a redelivery after a crash repeats nothing.

    The reply is kept before its first part is sent and each part is marked once the platform took
    it; both outlive the queue entry's acknowledgement (they expire after the de-duplication TTL).
    """

    async def reply(self, key: str) -> OutboundMessage | None: ...

    async def keep(self, message: OutboundMessage) -> None: ...

    async def sent_parts(self, key: str) -> frozenset[int]: ...

    async def mark_sent(self, key: str, part: int) -> None: ...


class MessageQueue(Protocol):
    """Inbound events between the gateway and the engines, one stream per track."""

    async def put(self, message: InboundMessage) -> None: ...

    async def accept(self, message: InboundMessage, ttl_seconds: float) -> bool:
        """Enqueue unless `message.key` was accepted within `ttl_seconds`, in one atomic step that is
        durable when it returns: True when enqueued, False for a redelivery. A failure leaves
        neither the de-duplication mark nor the message behind."""
        ...

    def consume(self, track: Track, consumer: str) -> AsyncIterator[Delivery]: ...

    async def lag(self, track: Track) -> int: ...

    async def close(self) -> None: ...


class Outbox(Protocol):
    """Replayed replies waiting for a running engine to deliver them again."""

    async def put(self, messages: list[OutboundMessage]) -> int: ...

    async def drain(self, deliver: DeliverReply) -> int:
        """Hands every waiting message to `deliver`; returns how many."""
        ...

    async def drain_forever(self, deliver: DeliverReply, *, interval: float = 10.0) -> None: ...
