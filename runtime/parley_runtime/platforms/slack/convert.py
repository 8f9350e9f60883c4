"""Slack Events API payloads → `InboundMessage` (pure).

Events: `message` (DMs, channel messages when subscribed, file shares) and `app_mention`. Slack sends
a channel message that @-mentions the bot twice, once as each type with different `event_id`s; both
become a message whose `event_id` is `<channel>:<ts>`, so the queue's de-duplication answers it once.
Bot messages and edits, joins and the other `subtype`s are ignored.
"""

import re
from typing import Any

from parley_runtime.core.messages import Attachment, InboundMessage, MediaKind
from parley_runtime.platforms.base import Origin

__all__ = ["BadEvent", "bot_user_id", "event_to_inbound", "file_attachments", "media_kind"]

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>")
_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(\|[^>]*)?>")
_GROUP_CHANNELS = ("channel", "group", "mpim")
# Subtypes a person writes: a message with files, and a thread reply also sent to the channel.
_USER_SUBTYPES = ("file_share", "thread_broadcast")


class BadEvent(ValueError):
    """The body is not an Events API envelope."""


def bot_user_id(envelope: dict[str, Any]) -> str | None:
    """The bot's own user id, from the envelope's `authorizations` (Slack includes the installing bot)."""
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list):
        for item in authorizations:
            if isinstance(item, dict) and item.get("is_bot") and isinstance(item.get("user_id"), str):
                return str(item["user_id"])
    return None


def _strip_mention(text: str, bot_id: str | None) -> tuple[str, bool]:
    """The text without the bot's own mention (other people's stay), and whether it had one."""
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        if bot_id is not None and match.group(1) == bot_id:
            found = True
            return ""
        return match.group(0)

    stripped = _MENTION.sub(replace, text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip(), found


def media_kind(mime_type: str) -> MediaKind:
    if mime_type.startswith("image/"):
        return "image"
    return "audio" if mime_type.startswith("audio/") else "file"


def _file_attachment(item: Any) -> Attachment | None:
    """One entry of a message's `files`; None for tombstones, files hidden by plan limits and Slack
    Connect stubs (`file_access: check_file_info`), which carry no download URL."""
    if not isinstance(item, dict):
        return None
    url = item.get("url_private_download") or item.get("url_private")
    if not isinstance(url, str) or not url or not isinstance(item.get("id"), str):
        return None
    mime = item.get("mimetype")
    mime = mime if isinstance(mime, str) and "/" in mime else "application/octet-stream"
    size = item.get("size")
    name = item.get("name")
    return Attachment(
        kind=media_kind(mime),
        mime_type=mime,
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        url=url,
        ref={"file_id": str(item["id"])},
        name=name if isinstance(name, str) else None,
    )


def file_attachments(files: Any) -> tuple[Attachment, ...]:
    if not isinstance(files, list):
        return ()
    return tuple(a for a in map(_file_attachment, files) if a is not None)


def _addressed(kind: str, event: dict[str, Any], is_group: bool, me: str | None, mentioned: bool) -> bool:
    """Private chats always; in a channel an @-mention (Slack's own `app_mention` says so even when the
    bot's id is unknown) or a reply in a thread the bot started."""
    if not is_group or kind == "app_mention" or mentioned:
        return True
    return me is not None and event.get("parent_user_id") == me


def event_to_inbound(envelope: Any, origin: Origin, *, bot_id: str | None = None) -> InboundMessage | None:
    """The event for one `event_callback` envelope, or None when the bot must ignore it. `bot_id` is
    the bot's user id for envelopes whose `authorizations` do not name it (from `auth.test`)."""
    if not isinstance(envelope, dict):
        raise BadEvent("body must be a JSON object")
    event_id, event = envelope.get("event_id"), envelope.get("event")
    if not isinstance(event_id, str) or not isinstance(event, dict):
        raise BadEvent("event_callback without event_id/event")
    kind = event.get("type")
    subtype = event.get("subtype")
    if kind not in ("message", "app_mention") or event.get("bot_id"):
        return None
    if subtype is not None and subtype not in _USER_SUBTYPES:
        return None
    user, channel, text, ts = event.get("user"), event.get("channel"), event.get("text", ""), event.get("ts")
    if not all(isinstance(v, str) and v for v in (user, channel, ts)) or not isinstance(text, str):
        return None
    me = bot_user_id(envelope) or bot_id
    if me is not None and user == me:
        return None
    channel_type = event.get("channel_type")
    is_group = channel_type in _GROUP_CHANNELS or (kind == "app_mention" and channel_type != "im")
    if me is None and kind == "app_mention":
        text = _LEADING_MENTION.sub("", text)  # bot id unknown: the mention Slack reported leads the text
    text, mentioned = _strip_mention(text, me)
    attachments = file_attachments(event.get("files"))
    if not text and not attachments:
        return None
    context: dict[str, Any] = {"channel": channel, "ts": ts}
    if isinstance(event.get("thread_ts"), str):
        context["thread_ts"] = event["thread_ts"]
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=f"{channel}:{ts}",
        chat_id=str(channel),
        user_id=str(user),
        text=text,
        is_group=is_group,
        mentioned=_addressed(str(kind), event, is_group, me, mentioned),
        attachments=attachments,
        reply_context=context,
    )
