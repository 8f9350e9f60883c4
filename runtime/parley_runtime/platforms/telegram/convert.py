"""Telegram `Update` objects → `InboundMessage` (pure).

Only new `message` updates with text (or a caption) from a human are events; edits, channel posts,
service messages and messages from bots are ignored (`None`). Entity offsets are UTF-16 code units, so
mention stripping works on the UTF-16 encoding of the text.
"""

import re
from dataclasses import dataclass
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = ["BadUpdate", "BotIdentity", "bot_id_from_token", "update_id", "update_to_inbound"]

_GROUP_TYPES = ("group", "supergroup")


class BadUpdate(ValueError):
    """The body is not a Telegram Update."""


@dataclass(frozen=True)
class BotIdentity:
    """Who "the bot" is: its numeric id (the token's prefix) and its @username when configured."""

    bot_id: int | None = None
    username: str | None = None  # without "@"


def bot_id_from_token(token: str) -> int | None:
    prefix, _, _ = token.partition(":")
    return int(prefix) if prefix.isdigit() else None


def update_id(update: Any) -> int:
    if not isinstance(update, dict):
        raise BadUpdate("an update must be a JSON object")
    value = update.get("update_id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadUpdate("update_id must be an integer")
    return value


def _units(text: str) -> bytes:
    return text.encode("utf-16-le")


def _strip_entities(text: str, entities: list[Any], me: BotIdentity) -> tuple[str, bool]:
    """Remove mentions of the bot (and `@bot` from `/cmd@bot`); True when the bot was addressed."""
    raw = _units(text)
    edits: list[tuple[int, int, bytes]] = []
    addressed = False
    handle = f"@{me.username}".lower() if me.username else None
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        offset, length, kind = entity.get("offset"), entity.get("length"), entity.get("type")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length <= 0:
            continue
        start, end = offset * 2, (offset + length) * 2
        if end > len(raw):
            continue
        piece = raw[start:end].decode("utf-16-le", errors="replace")
        if kind == "mention" and handle and piece.lower() == handle:
            edits.append((start, end, b""))
            addressed = True
        elif kind == "text_mention":
            user = entity.get("user")
            if isinstance(user, dict) and me.bot_id is not None and user.get("id") == me.bot_id:
                edits.append((start, end, b""))
                addressed = True
        elif kind == "bot_command" and offset == 0:
            command, at, target = piece.partition("@")
            if not at:
                addressed = True  # "/cmd" without a target is addressed to every bot in the chat
            elif handle and f"@{target}".lower() == handle:
                edits.append((start, end, _units(command)))
                addressed = True
    for start, end, replacement in sorted(edits, reverse=True):
        raw = raw[:start] + replacement + raw[end:]
    return raw.decode("utf-16-le", errors="replace"), addressed


def _strip_by_pattern(text: str, me: BotIdentity) -> tuple[str, bool]:
    """For payloads without entities (hand-written or forwarded): match the @username textually."""
    if not me.username:
        return text, False
    pattern = re.compile(rf"(?<![\w@])(/\w+)?@{re.escape(me.username)}\b", re.IGNORECASE)
    stripped, count = pattern.subn(lambda m: m.group(1) or "", text)
    return stripped, count > 0


def _display_name(user: dict[str, Any]) -> str | None:
    if isinstance(user.get("username"), str):
        return str(user["username"])
    parts = [user.get("first_name"), user.get("last_name")]
    name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or None


def update_to_inbound(update: Any, origin: Origin, *, me: BotIdentity) -> InboundMessage | None:
    """The event for one update, or None when the bot must ignore it; raises BadUpdate for non-updates."""
    uid = update_id(update)
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender, chat = message.get("from"), message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict) or sender.get("is_bot") is True:
        return None
    user_id, chat_id, message_id = sender.get("id"), chat.get("id"), message.get("message_id")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (user_id, chat_id, message_id)):
        return None
    text = message.get("text")
    entities = message.get("entities")
    if not isinstance(text, str):
        text, entities = message.get("caption"), message.get("caption_entities")
    if not isinstance(text, str) or not text.strip():
        return None
    if isinstance(entities, list) and entities:
        text, addressed = _strip_entities(text, entities, me)
    else:
        text, addressed = _strip_by_pattern(text, me)
    replied = message.get("reply_to_message")
    if isinstance(replied, dict) and isinstance(replied.get("from"), dict):
        addressed = addressed or (me.bot_id is not None and replied["from"].get("id") == me.bot_id)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    if not text:
        return None
    is_group = chat.get("type") in _GROUP_TYPES
    context: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    if message.get("is_topic_message") is True and isinstance(message.get("message_thread_id"), int):
        context["message_thread_id"] = message["message_thread_id"]
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=str(uid),
        chat_id=str(chat_id),
        user_id=str(user_id),
        text=text,
        is_group=is_group,
        mentioned=addressed or not is_group,
        user_name=_display_name(sender),
        reply_context=context,
    )
