"""Feishu event payloads (already decrypted) → envelope facts and unified inbound messages (pure)."""

import json
import re
from typing import Any, NamedTuple

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

MESSAGE_EVENT_V2 = "im.message.receive_v1"
MESSAGE_EVENT_V1 = "message"
_LEADING_MENTIONS = re.compile(r"^(?:\s*@_user_\d+)+\s*")


class Envelope(NamedTuple):
    """What every callback says about itself, whatever its schema version."""

    version: str  # "2", "1" or "" (url_verification and unknown shapes)
    event_type: str
    token: str | None
    event_id: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def envelope(payload: dict[str, Any]) -> Envelope:
    if payload.get("schema"):
        header = _dict(payload.get("header"))
        token = header.get("token")
        return Envelope(
            "2",
            _str(header.get("event_type")),
            token if isinstance(token, str) else None,
            _str(header.get("event_id")),
        )
    token = payload.get("token")
    token = token if isinstance(token, str) else None
    if payload.get("uuid"):
        return Envelope("1", _str(_dict(payload.get("event")).get("type")), token, _str(payload.get("uuid")))
    return Envelope("", _str(payload.get("type")), token, "")


def clean_text(text: str, mentions: list[Any]) -> str:
    """Drop the leading @-mentions (how users address the bot); keep others as `@name`."""
    text = _LEADING_MENTIONS.sub("", text)
    for mention in mentions:
        m = _dict(mention)
        key = _str(m.get("key"))
        if key:
            text = text.replace(key, f"@{_str(m.get('name'))}")
    return text.strip()


class _Text(NamedTuple):
    """What a text-message event says, whichever schema version carried it."""

    open_id: str
    chat_id: str
    text: str
    is_group: bool
    mentioned: bool
    message_id: str


def to_inbound(payload: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """A user's text message (v2 or v1 envelope); None for everything the bot ignores."""
    env = envelope(payload)
    event = _dict(payload.get("event"))
    if env.version == "2" and env.event_type == MESSAGE_EVENT_V2:
        found = _text_v2(event)
    elif env.version == "1" and env.event_type == MESSAGE_EVENT_V1:
        found = _text_v1(event)
    else:
        return None
    if found is None or not env.event_id:
        return None
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=env.event_id,
        chat_id=found.chat_id,
        user_id=found.open_id,
        text=found.text,
        is_group=found.is_group,
        mentioned=found.mentioned,
        reply_context={"message_id": found.message_id, "chat_id": found.chat_id, "open_id": found.open_id},
    )


def _text_v2(event: dict[str, Any]) -> _Text | None:
    sender, message = _dict(event.get("sender")), _dict(event.get("message"))
    if sender.get("sender_type") != "user" or message.get("message_type") != "text":
        return None  # other apps and bots (including ourselves), images, files…
    open_id = _str(_dict(sender.get("sender_id")).get("open_id"))
    try:
        content = _dict(json.loads(_str(message.get("content"))))
    except ValueError:
        return None
    raw_mentions = message.get("mentions")
    mentions: list[Any] = raw_mentions if isinstance(raw_mentions, list) else []
    text = clean_text(_str(content.get("text")), mentions)
    message_id, chat_id = _str(message.get("message_id")), _str(message.get("chat_id"))
    if not (open_id and text and chat_id):
        return None
    is_group = message.get("chat_type") == "group"
    return _Text(open_id, chat_id, text, is_group, bool(mentions) or not is_group, message_id)


def _text_v1(event: dict[str, Any]) -> _Text | None:
    if event.get("msg_type") != "text":
        return None
    open_id, chat_id = _str(event.get("open_id")), _str(event.get("open_chat_id"))
    text = _LEADING_MENTIONS.sub(
        "", _str(event.get("text_without_at_bot")) or _str(event.get("text"))
    ).strip()
    if not (open_id and chat_id and text):
        return None
    is_group = event.get("chat_type") == "group"
    mentioned = bool(event.get("is_mention")) or not is_group
    return _Text(open_id, chat_id, text, is_group, mentioned, _str(event.get("open_message_id")))
