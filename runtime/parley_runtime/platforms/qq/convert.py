"""QQ v2 dispatch payloads → `InboundMessage` (pure).

Three message events reach the bot, each addressed to it by definition: `C2C_MESSAGE_CREATE` (a
private chat), `GROUP_AT_MESSAGE_CREATE` (a group member @-mentioned the bot) and, in guild channels,
`AT_MESSAGE_CREATE` (sent when a member @-mentions the bot or replies to it). So a group message is
always `mentioned`; the bot's own mention is stripped from the text, other members' mentions stay as
"@name" (or "@id" when the payload does not name them).

Attachments (`attachments[]`: `content_type`, `url`, `size`, `filename`) become images ("image/…"),
voice notes ("voice" or "audio/…") or files; a URL QQ sends without a scheme gets https. For voice,
newer payloads add `voice_wav_url` (the SILK note converted to WAV) and `asr_refer_text` (QQ's own
speech recognition); both are used when present.
"""

import re
from typing import Any

from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = [
    "C2C",
    "CHANNEL_AT",
    "GROUP_AT",
    "BadPayload",
    "attachments_of",
    "dispatch_to_inbound",
    "strip_mentions",
]

C2C = "C2C_MESSAGE_CREATE"
GROUP_AT = "GROUP_AT_MESSAGE_CREATE"
CHANNEL_AT = "AT_MESSAGE_CREATE"
_MENTION = re.compile(r"<@!?([A-Za-z0-9_]+)>")
_LEADING_MENTION = re.compile(r"^\s*<@!?[A-Za-z0-9_]+>")


class BadPayload(ValueError):
    """The body is not a QQ webhook payload."""


def _https(url: str) -> str:
    """QQ sends some attachment URLs without a scheme ("//host/…" or "host/…")."""
    if url.startswith(("https://", "http://")):
        return url
    return "https:" + url if url.startswith("//") else "https://" + url


def _attachment(item: dict[str, Any]) -> Attachment | None:
    url, content_type = item.get("url"), item.get("content_type")
    if not isinstance(url, str) or not url.strip():
        return None
    content_type = content_type.strip().lower() if isinstance(content_type, str) else ""
    size = item.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    filename = item.get("filename") if isinstance(item.get("filename"), str) else None
    if content_type.startswith("image/"):
        return Attachment(kind="image", mime_type=content_type, size=size, url=_https(url), name=filename)
    if content_type == "voice" or content_type.startswith("audio/"):
        wav, asr = item.get("voice_wav_url"), item.get("asr_refer_text")
        transcript = asr.strip() if isinstance(asr, str) and asr.strip() else None
        if isinstance(wav, str) and wav.strip():  # a converted copy: its size is not the one stated
            return Attachment(kind="audio", mime_type="audio/wav", url=_https(wav), transcript=transcript)
        mime = content_type if content_type.startswith("audio/") else "audio/silk"
        return Attachment(kind="audio", mime_type=mime, size=size, url=_https(url), transcript=transcript)
    mime = content_type if "/" in content_type else "application/octet-stream"
    return Attachment(kind="file", mime_type=mime, size=size, url=_https(url), name=filename)


def attachments_of(data: dict[str, Any]) -> tuple[Attachment, ...]:
    """The message's attachments, skipping entries without a URL."""
    items = data.get("attachments")
    if not isinstance(items, list):
        return ()
    found = (_attachment(item) for item in items if isinstance(item, dict))
    return tuple(a for a in found if a is not None)


def _names(data: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """(ids of the bot, names by id) from the `mentions[]` of a message."""
    bots: set[str] = set()
    names: dict[str, str] = {}
    for user in data.get("mentions") or ():
        if not isinstance(user, dict):
            continue
        user_id = next((user[k] for k in ("id", "member_openid") if isinstance(user.get(k), str)), None)
        if user_id is None:
            continue
        if user.get("bot") is True or user.get("is_you") is True:
            bots.add(user_id)
        name = user.get("username") or user.get("nickname")
        if isinstance(name, str) and name:
            names[user_id] = name
    return bots, names


def strip_mentions(content: str, data: dict[str, Any]) -> str:
    """`content` without the bot's mention (the leading one, or any `mentions[]` marks as the bot),
    other mentions as "@name"."""
    bots, names = _names(data)
    if not bots:
        content = _LEADING_MENTION.sub("", content, count=1)

    def readable(match: re.Match[str]) -> str:
        user_id = match.group(1)
        return "" if user_id in bots else f"@{names.get(user_id, user_id)}"

    return re.sub(r"[ \t]{2,}", " ", _MENTION.sub(readable, content)).strip()


def _sender(kind: str, data: dict[str, Any], author: dict[str, Any]) -> tuple[Any, Any, str]:
    """(user id, chat id, reply target) of one event type."""
    if kind == C2C:
        return author.get("user_openid"), author.get("user_openid"), "user"
    if kind == GROUP_AT:
        return author.get("member_openid"), data.get("group_openid"), "group"
    return author.get("id"), data.get("channel_id"), "channel"


def dispatch_to_inbound(payload: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """The event for an op 0 dispatch, or None for event types the bot does not answer."""
    kind, data = payload.get("t"), payload.get("d")
    if not isinstance(data, dict):
        raise BadPayload("dispatch without d")
    if kind not in (C2C, GROUP_AT, CHANNEL_AT):
        return None
    msg_id, author, content = data.get("id"), data.get("author"), data.get("content", "")
    if not isinstance(msg_id, str) or not isinstance(author, dict) or not isinstance(content, str):
        raise BadPayload(f"{kind} without id/author/content")
    event_id = payload.get("id") if isinstance(payload.get("id"), str) and payload.get("id") else msg_id
    user, chat, target = _sender(kind, data, author)
    if not isinstance(user, str) or not user or not isinstance(chat, str) or not chat:
        raise BadPayload(f"{kind} without the sender's id")
    text = strip_mentions(content, data)
    attachments = attachments_of(data)
    if not text and not attachments:
        return None
    name = author.get("username") if kind == CHANNEL_AT else None
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=str(event_id),
        chat_id=chat,
        user_id=user,
        text=text,
        is_group=kind != C2C,
        mentioned=True,  # every one of these events is addressed to the bot
        attachments=attachments,
        user_name=name if isinstance(name, str) and name else None,
        reply_context={"target": target, "openid": chat, "msg_id": msg_id},
    )
