"""Unified inbound events and outbound replies, whatever the platform."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Track = Literal["stable", "canary"]


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
    mentioned: bool = True
    images: tuple[str, ...] = ()
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
    format: Literal["text", "markdown"] = "text"
    attempt: int = 0
