"""Unified inbound events and outbound replies, whatever the platform."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Track = Literal["stable", "canary"]
MediaKind = Literal["image", "audio", "file"]


class Attachment(BaseModel):
    """A picture, voice note or file that came with a message or goes out with a reply.

    Inbound, the adapter records where the platform keeps it (`url`, and in `ref` the ids its download
    API takes: a Telegram `file_id`, a Feishu `file_key`, a WeCom `media_id`…); the engine fetches the
    bytes through the adapter, never the gateway, so acknowledging stays fast. Outbound (and for media
    the HTTP API received inline), `url` is a `data:<mime>;base64,…` URL holding the bytes.
    """

    model_config = ConfigDict(frozen=True)

    kind: MediaKind
    mime_type: str = "application/octet-stream"
    size: int | None = None  # bytes, when the platform says
    url: str | None = None
    ref: dict[str, str] = Field(default_factory=dict)
    name: str | None = None
    transcript: str | None = None  # the platform's own speech recognition (WeChat `Recognition`)

    def __repr__(self) -> str:  # never the bytes of a data URL in a log line or a traceback
        where = "data" if self.url and self.url.startswith("data:") else self.url
        return (
            f"Attachment(kind={self.kind!r}, mime_type={self.mime_type!r}, size={self.size!r}, url={where!r})"
        )

    __str__ = __repr__


class InboundMessage(BaseModel):
    """A user's message as every layer after the adapter sees it.

    `event_id` is the platform's own id for de-duplication of redeliveries;
    `reply_context` carries what the adapter needs to answer (a sessionWebhook,
    an interaction token, the inbound msg_id…) and is opaque to the pipeline.
    """

    model_config = ConfigDict(frozen=True)

    bot: str
    platform: str
    binding: str
    event_id: str
    chat_id: str
    user_id: str
    text: str
    is_group: bool = False
    # In a group: the bot was @-mentioned or the message replies to one of the bot's own (the adapter
    # strips the mention from `text`). The binding's group policy decides what an unaddressed one gets.
    mentioned: bool = True
    attachments: tuple[Attachment, ...] = ()
    shared_session: bool = False  # one context per group chat instead of one per member
    user_name: str | None = None
    received_at: float = 0.0
    track: Track = "stable"
    reply_context: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """Unique per platform event: what de-duplication and the sent-reply ledger are keyed by."""
        return f"{self.platform}:{self.binding}:{self.event_id}"


class OutboundMessage(BaseModel):
    """A reply ready to be sent back through the adapter that received `inbound`."""

    model_config = ConfigDict(frozen=True)

    inbound: InboundMessage
    text: str
    format: Literal["text", "markdown"] = "text"  # markdown: the adapter renders it natively
    attachments: tuple[Attachment, ...] = ()  # images or voice to send after the text (data URLs)
    attempt: int = 0
