"""OneBot v11 message events → `InboundMessage` (pure).

Who the bot is: each event's `self_id` (the QQ account the implementation runs). Text is the
concatenation of `text` segments; `at` segments that target the bot are removed and make the message
`mentioned`, other mentions stay as "@<name>" (NapCat names them) or "@<qq>". A `reply` segment
quoting one of the bot's own messages (ids the adapter remembers from its `send_msg` answers, passed
in as `own_messages`) also makes it `mentioned`. Media: `image` segments become images, `record`
segments voice notes, and the `file` segment NapCat adds becomes a file — each only with an
http(s) `url` to fetch it from.
"""

import mimetypes
import re
from collections.abc import Container
from typing import Any

from parley_runtime.core.media import guess_mime
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.onebot import cqcode

__all__ = ["BadEvent", "event_to_inbound", "message_key"]

# QQ voice notes are AMR or SILK; the file name, when it has a known extension, says which.
_AUDIO_MIME = {
    ".amr": "audio/amr",
    ".silk": "audio/silk",
    ".slk": "audio/silk",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
}


class BadEvent(ValueError):
    """A message event without the fields every implementation sends."""


def _id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return None


def message_key(self_id: str, message_id: str) -> str:
    """How the adapter remembers a message the bot sent (message ids are per bot account)."""
    return f"{self_id}:{message_id}"


def _size(data: dict[str, str]) -> int | None:
    size = data.get("file_size", "")
    return int(size) if size.isdigit() else None


def _extension(*names: str) -> str:
    for name in names:
        path = name.split("?", 1)[0].rsplit("/", 1)[-1]
        if "." in path:
            return "." + path.rsplit(".", 1)[-1].lower()
    return ""


def _media(kind: str, data: dict[str, str]) -> Attachment | None:
    url = data.get("url", "")
    if not url.startswith(("http://", "https://")):
        return None
    file = data.get("file", "")
    if kind == "image":
        return Attachment(kind="image", mime_type=guess_mime(file or url), size=_size(data), url=url)
    if kind == "record":
        audio = _AUDIO_MIME.get(_extension(file, url), "audio/amr")
        return Attachment(kind="audio", mime_type=audio, size=_size(data), url=url)
    if kind == "file":
        name = data.get("name") or file or None
        mime = mimetypes.guess_type(name or "")[0] or "application/octet-stream"
        return Attachment(kind="file", mime_type=mime, size=_size(data), url=url, name=name)
    return None


def _render(
    segments: list[cqcode.Segment], self_id: str, own_messages: Container[str]
) -> tuple[str, bool, tuple[Attachment, ...]]:
    parts: list[str] = []
    media: list[Attachment] = []
    mentioned = False
    for kind, data in segments:
        if kind == "text":
            parts.append(data.get("text", ""))
        elif kind == "at":
            if data.get("qq") == self_id:
                mentioned = True
            elif data.get("qq"):
                parts.append(f"@{data.get('name') or data['qq']}")  # NapCat adds the name
        elif kind == "reply":
            mentioned = mentioned or message_key(self_id, data.get("id", "")) in own_messages
        elif (attachment := _media(kind, data)) is not None:
            media.append(attachment)
    text = re.sub(r"[ \t]{2,}", " ", "".join(parts)).strip()
    return text, mentioned, tuple(media)


def event_to_inbound(
    event: dict[str, Any], origin: Origin, own_messages: Container[str] = frozenset()
) -> InboundMessage | None:
    """The event for a `post_type: message` event, None for anything the bot does not answer.
    `own_messages` holds `message_key`s of messages the bot sent, for replies quoting them."""
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
    text, addressed, attachments = _render(segments, self_id, own_messages)
    if not text and not attachments:
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
        mentioned=addressed or not is_group,
        attachments=attachments,
        user_name=name if isinstance(name, str) and name else None,
        reply_context=context,
    )
