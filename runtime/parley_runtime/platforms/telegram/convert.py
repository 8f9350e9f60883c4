"""Telegram `Update` objects → `InboundMessage`, and reply attachments → upload methods (pure).

Only new `message` updates from a human with text (or a caption) or media (photo, voice, audio,
document, video, video note) are events; edits, channel posts, stickers, animations, service messages
and messages from bots are ignored (`None`). Entity offsets are UTF-16 code units, so mention stripping
works on the UTF-16 encoding of the text.
"""

import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from parley_runtime.core.messages import Attachment, InboundMessage, MediaKind
from parley_runtime.platforms.base import Origin

__all__ = [
    "BadUpdate",
    "BotIdentity",
    "attachments_of",
    "bot_id_from_token",
    "identity_from_get_me",
    "update_id",
    "update_to_inbound",
    "upload_method",
    "upload_name",
]

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


def identity_from_get_me(result: Any, fallback: BotIdentity) -> BotIdentity | None:
    """The identity `getMe` reported (its `User`), or None when the answer is not a usable one."""
    if not isinstance(result, dict):
        return None
    bot_id, username = result.get("id"), result.get("username")
    if not isinstance(bot_id, int) or isinstance(bot_id, bool):
        return None
    if not isinstance(username, str) or not username:
        username = fallback.username
    return BotIdentity(bot_id=bot_id, username=username)


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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind_of(mime_type: str) -> MediaKind:
    if mime_type.startswith("image/"):
        return "image"
    return "audio" if mime_type.startswith("audio/") else "file"


def _media(item: Any, kind: MediaKind | None, default_mime: str) -> Attachment | None:
    """One `PhotoSize`/`Voice`/`Audio`/`Document`/`Video`/`VideoNote` as an attachment (`kind` None:
    from its MIME type); None without a `file_id`, which is all `getFile` takes."""
    if not isinstance(item, dict) or _str(item.get("file_id")) is None:
        return None
    mime_type = _str(item.get("mime_type")) or default_mime
    return Attachment(
        kind=kind or _kind_of(mime_type),
        mime_type=mime_type,
        size=_int(item.get("file_size")),
        ref={"file_id": item["file_id"]},
        name=_str(item.get("file_name")),
    )


# message field → (kind, MIME type when the payload names none); `kind` None: from the MIME type.
# Videos are files: no model route takes them, and the user is told so rather than ignored.
_MEDIA_FIELDS: tuple[tuple[str, MediaKind | None, str], ...] = (
    ("voice", "audio", "audio/ogg"),
    ("audio", "audio", "audio/mpeg"),
    ("document", None, "application/octet-stream"),
    ("video", "file", "video/mp4"),
    ("video_note", "file", "video/mp4"),
)


def attachments_of(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """The media of a message: the largest `photo` size (Telegram lists them smallest first), or its
    voice/audio/document/video. Animations (GIFs, also present as `document`) are reactions, not asks."""
    if "animation" in message:
        return ()
    photo = message.get("photo")
    if isinstance(photo, list):
        sizes = [a for a in (_media(p, "image", "image/jpeg") for p in photo) if a is not None]
        return (sizes[-1],) if sizes else ()
    for field, kind, default_mime in _MEDIA_FIELDS:
        attachment = _media(message.get(field), kind, default_mime)
        if attachment is not None:
            return (attachment,)
    return ()


_VOICE_TYPES = ("audio/ogg", "audio/opus")  # sendVoice plays OGG/Opus as a voice note


def upload_method(attachment: Attachment) -> tuple[str, str]:
    """(Bot API method, its file field) that sends a reply attachment natively."""
    if attachment.kind == "image":
        return "sendPhoto", "photo"
    if attachment.kind == "audio":
        base = attachment.mime_type.partition(";")[0].strip().lower()
        return ("sendVoice", "voice") if base in _VOICE_TYPES else ("sendAudio", "audio")
    return "sendDocument", "document"


def upload_name(attachment: Attachment, mime_type: str) -> str:
    """The file name an upload carries (Telegram shows it for audio and documents)."""
    if attachment.name:
        return attachment.name
    base = mime_type.partition(";")[0].strip().lower()
    extension = ".ogg" if base in _VOICE_TYPES else mimetypes.guess_extension(base) or ".bin"
    return f"{attachment.kind}{extension}"


def _addressed_text(message: dict[str, Any], text: str, entities: Any, me: BotIdentity) -> tuple[str, bool]:
    """The text without the bot's mention, and whether the message @-mentions the bot or replies to
    one of its messages."""
    if isinstance(entities, list) and entities:
        text, addressed = _strip_entities(text, entities, me)
    else:
        text, addressed = _strip_by_pattern(text, me)
    replied = message.get("reply_to_message")
    if isinstance(replied, dict) and isinstance(replied.get("from"), dict):
        addressed = addressed or (me.bot_id is not None and replied["from"].get("id") == me.bot_id)
    return re.sub(r"[ \t]{2,}", " ", text).strip(), addressed


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
    text, entities = message.get("text"), message.get("entities")
    if not isinstance(text, str):
        text, entities = message.get("caption"), message.get("caption_entities")
    text = text if isinstance(text, str) else ""
    attachments = attachments_of(message)
    if not text.strip() and not attachments:
        return None
    text, addressed = _addressed_text(message, text, entities, me)
    if not text and not attachments:
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
        attachments=attachments,
        is_group=is_group,
        mentioned=addressed or not is_group,
        user_name=_display_name(sender),
        reply_context=context,
    )
