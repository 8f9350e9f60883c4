"""OneBot v11 message events → `InboundMessage` (pure).

Text is the concatenation of `text` segments; `at` segments that target the bot itself are removed and
make the message `mentioned`; other mentions stay as "@<qq>"; image URLs go to `images`.
"""

import re
from typing import Any

from parley_runtime.core.media import guess_mime
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.onebot import cqcode

__all__ = ["BadEvent", "event_to_inbound"]


class BadEvent(ValueError):
    """A message event without the fields every implementation sends."""


def _id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return None


def _render(segments: list[cqcode.Segment], self_id: str) -> tuple[str, bool, tuple[Attachment, ...]]:
    parts: list[str] = []
    images: list[Attachment] = []
    mentioned = False
    for kind, data in segments:
        if kind == "text":
            parts.append(data.get("text", ""))
        elif kind == "at":
            if data.get("qq") == self_id:
                mentioned = True
            elif data.get("qq"):
                parts.append(f"@{data['qq']}")
        elif kind == "image" and data.get("url", "").startswith(("http://", "https://")):
            images.append(Attachment(kind="image", mime_type=guess_mime(data["url"]), url=data["url"]))
    text = re.sub(r"[ \t]{2,}", " ", "".join(parts)).strip()
    return text, mentioned, tuple(images)


def event_to_inbound(event: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """The event for a `post_type: message` event, None for anything the bot does not answer."""
    if event.get("post_type") != "message":
        return None
    kind = event.get("message_type")
    self_id, user_id, message_id = (
        _id(event.get("self_id")),
        _id(event.get("user_id")),
        _id(event.get("message_id")),
    )
    if self_id is None or user_id is None or message_id is None or kind not in ("private", "group"):
        raise BadEvent("message event without self_id/user_id/message_id/message_type")
    if user_id == self_id:
        return None
    group_id = _id(event.get("group_id"))
    if kind == "group" and group_id is None:
        raise BadEvent("group message without group_id")
    segments = cqcode.segments_of(event.get("message"))
    if segments is None:
        raise BadEvent("message is neither a CQ string nor a segment array")
    text, at_self, images = _render(segments, self_id)
    if not text and not images:
        return None
    sender = event.get("sender")
    name = None
    if isinstance(sender, dict):
        name = sender.get("card") or sender.get("nickname")
    is_group = kind == "group"
    context: dict[str, Any] = {"self_id": self_id, "message_type": kind, "message_id": message_id}
    context["group_id" if is_group else "user_id"] = group_id if is_group else user_id
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=f"{self_id}:{message_id}",
        chat_id=str(group_id if is_group else user_id),
        user_id=user_id,
        text=text,
        is_group=is_group,
        mentioned=at_self or not is_group,
        attachments=images,
        user_name=name if isinstance(name, str) and name else None,
        reply_context=context,
    )
