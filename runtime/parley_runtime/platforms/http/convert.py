"""The inbound JSON contract of the generic HTTP platform, parsed into an `InboundMessage` (pure).

Besides text a message may carry `images` and `audio` (the chat API's shape, `media.py`), and a caller
that relays a group chat says so with `is_group` and whether the bot was addressed with `mentioned`, so
the binding's group policy decides what the bot answers there.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.http import media

__all__ = ["BadPayload", "HttpChatRequest", "parse", "text_or_media", "to_inbound"]

_ID = Annotated[str, Field(min_length=1, max_length=256)]


class BadPayload(ValueError):
    """The body is not a valid request; the message is one readable line for the caller."""


def text_or_media(message: str, info: ValidationInfo) -> str:
    """A message may be empty only when it carries media (a photo, a voice note)."""
    if not message and not info.data.get("images") and info.data.get("audio") is None:
        raise PydanticCustomError(
            "string_too_short", "String should have at least {min_length} character", {"min_length": 1}
        )
    return message


class HttpChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    # Media first: the message's check reads them.
    images: media.Images | None = None
    audio: media.AudioIn | None = None
    message: Annotated[str, Field(max_length=32_000)]
    user_id: _ID
    chat_id: _ID | None = None
    message_id: _ID | None = None
    callback_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    is_group: bool = False
    mentioned: bool = False  # in a group: the bot was @-mentioned or replied to

    _message = field_validator("message")(text_or_media)


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
        is_group=request.is_group,
        mentioned=request.mentioned or not request.is_group,
        attachments=media.attachments(request.images, request.audio),
        reply_context={"callback_url": callback_url, "message_id": event_id},
    )
