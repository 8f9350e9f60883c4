"""The inbound JSON contract of the generic HTTP platform, parsed into an `InboundMessage` (pure)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common import webhook

__all__ = ["BadPayload", "HttpChatRequest", "parse", "to_inbound"]

_ID = Annotated[str, Field(min_length=1, max_length=256)]


class BadPayload(ValueError):
    """The body is not a valid request; the message is one readable line for the caller."""


class HttpChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    message: Annotated[str, Field(min_length=1, max_length=32_000)]
    user_id: _ID
    chat_id: _ID | None = None
    message_id: _ID | None = None
    callback_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


def parse(body: bytes) -> HttpChatRequest:
    try:
        data = webhook.json_object(body)
    except webhook.BadJsonBody as exc:
        raise BadPayload(str(exc)) from None
    try:
        return HttpChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadPayload(f"{where}: {first['msg']}") from None


def to_inbound(
    request: HttpChatRequest, origin: Origin, *, event_id: str, callback_url: str
) -> InboundMessage:
    chat_id = request.chat_id or request.user_id
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=event_id,
        chat_id=chat_id,
        user_id=request.user_id,
        text=request.message,
        is_group=False,
        mentioned=True,
        reply_context={"callback_url": callback_url, "message_id": event_id},
    )
