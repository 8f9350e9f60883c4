"""Feishu event payloads (already decrypted) → envelope facts and unified inbound messages (pure).

Message content shapes (im.message.receive_v1, "接收消息内容结构"): text `{"text"}` with `@_user_N`
placeholders that `message.mentions[]` resolves (key, id.open_id, name); image `{"image_key"}`; audio
`{"file_key", "duration"}`; file `{"file_key", "file_name"}`; post `{"title", "content": [[element…]…]}`
with `text`/`a`/`at`/`img`/`code_block` elements. Media is fetched later through the message
resource API, so an attachment's `ref` holds the message id, the key and the resource `type`.
"""

import json
import mimetypes
import re
from typing import Any, NamedTuple

from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin

MESSAGE_EVENT_V2 = "im.message.receive_v1"
MESSAGE_EVENT_V1 = "message"
# Voice notes are Opus in an Ogg container. Feishu does not say an image's format: JPEG is the
# usual one, and the bytes themselves tell the truth to whoever sniffs them.
AUDIO_MIME = "audio/ogg"
IMAGE_MIME = "image/jpeg"
_LEADING_MENTIONS = re.compile(r"^(?:\s*@_user_\d+)+\s*")
_MENTION_ALL = re.compile(r"@_all(?![A-Za-z0-9_])")


class Envelope(NamedTuple):
    """What every callback says about itself, whatever its schema version."""

    version: str  # "2", "1" or "" (url_verification and unknown shapes)
    event_type: str
    token: str | None
    event_id: str


class Mention(NamedTuple):
    key: str  # the placeholder in the text, "@_user_1"
    name: str
    open_id: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


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


def _message_v2(payload: dict[str, Any]) -> dict[str, Any] | None:
    env = envelope(payload)
    if env.version != "2" or env.event_type != MESSAGE_EVENT_V2:
        return None
    return _dict(_dict(payload.get("event")).get("message"))


def bot_identity_matters(payload: dict[str, Any]) -> bool:
    """A user's group message with @-mentions: only the bot's open_id says whether one is the bot."""
    message = _message_v2(payload)
    sender = _dict(_dict(payload.get("event")).get("sender"))
    return (
        message is not None
        and sender.get("sender_type") == "user"
        and message.get("chat_type") == "group"
        and bool(_list(message.get("mentions")))
    )


def parent_id(payload: dict[str, Any]) -> str:
    """The message this one replies to ("" when none): a reply to the bot's own message addresses it."""
    message = _message_v2(payload)
    return _str(message.get("parent_id")) if message is not None else ""


def mentions(message: dict[str, Any]) -> list[Mention]:
    found = []
    for raw in _list(message.get("mentions")):
        m = _dict(raw)
        key = _str(m.get("key"))
        if key:
            found.append(Mention(key, _str(m.get("name")), _str(_dict(m.get("id")).get("open_id"))))
    return found


def clean_text(text: str, found: list[Mention], bot_open_id: str | None) -> tuple[str, bool]:
    """(text without the bot's @-mention and with others as `@name`, whether the bot was mentioned).

    Without the bot's open_id (not learnt yet) any mention counts, and the leading ones are dropped:
    that is how people address a bot in a group.
    """
    if bot_open_id is None:
        text = _LEADING_MENTIONS.sub("", text)
        bot_keys: set[str] = set()
        addressed = bool(found)
    else:
        bot_keys = {m.key for m in found if m.open_id == bot_open_id}
        addressed = bool(bot_keys)
    for m in found:
        # "@_user_1" must not eat the start of "@_user_12".
        if m.key in bot_keys:
            text = re.sub(re.escape(m.key) + r"(?!\d)\s*", "", text)
        else:
            text = f"@{m.name}".join(re.split(re.escape(m.key) + r"(?!\d)", text))
    return _MENTION_ALL.sub("@all", text).strip(), addressed


def _resource(message_id: str, key: str, resource_type: str) -> dict[str, str]:
    return {"message_id": message_id, "file_key": key, "type": resource_type}


def _image(message_id: str, key: str) -> Attachment:
    return Attachment(kind="image", mime_type=IMAGE_MIME, ref=_resource(message_id, key, "image"))


def _file_mime(name: str) -> str:
    mime, _ = mimetypes.guess_type(name)
    return mime or "application/octet-stream"


def _post_element(element: dict[str, Any]) -> str:
    tag = element.get("tag")
    if tag in ("text", "md"):
        return _str(element.get("text"))
    if tag == "a":
        text, href = _str(element.get("text")), _str(element.get("href"))
        return f"{text} ({href})" if text and href and text != href else text or href
    if tag == "at":
        placeholder = _str(element.get("user_id"))  # "@_user_N", resolved through `mentions`
        return placeholder if placeholder.startswith("@_") else f"@{_str(element.get('user_name'))}"
    if tag == "code_block":
        return f"```{_str(element.get('language')).lower()}\n{_str(element.get('text'))}\n```"
    return ""


def _post(content: dict[str, Any], message_id: str) -> tuple[str, tuple[Attachment, ...]]:
    """Rich text: its title and paragraphs as lines of text, its pictures as attachments."""
    doc = content
    if "content" not in doc:  # the send-side shape, keyed by locale, in case one arrives that way
        doc = next((d for d in map(_dict, content.values()) if "content" in d), {})
    lines = [_str(doc.get("title"))]
    images: list[Attachment] = []
    for paragraph in _list(doc.get("content")):
        elements = [_dict(e) for e in _list(paragraph)]
        images += [_image(message_id, _str(e["image_key"])) for e in elements if _is_img(e)]
        lines.append("".join(_post_element(e) for e in elements))
    return "\n".join(line for line in lines if line.strip()), tuple(images)


def _is_img(element: dict[str, Any]) -> bool:
    return element.get("tag") == "img" and bool(_str(element.get("image_key")))


def content_of(
    message_type: str, content: dict[str, Any], message_id: str
) -> tuple[str, tuple[Attachment, ...]] | None:
    """(text with mention placeholders, attachments) of a message; None for types the bot ignores."""
    if message_type == "text":
        return _str(content.get("text")), ()
    if message_type == "post":
        return _post(content, message_id)
    image_key, file_key = _str(content.get("image_key")), _str(content.get("file_key"))
    if message_type == "image" and image_key:
        return "", (_image(message_id, image_key),)
    if message_type == "audio" and file_key:  # the resource API serves voice as type=file
        ref = _resource(message_id, file_key, "file")
        return "", (Attachment(kind="audio", mime_type=AUDIO_MIME, ref=ref),)
    if message_type == "file" and file_key:
        name = _str(content.get("file_name")) or None
        ref = _resource(message_id, file_key, "file")
        return "", (Attachment(kind="file", mime_type=_file_mime(name or ""), name=name, ref=ref),)
    return None  # stickers, videos, cards, shared chats…


class _Found(NamedTuple):
    """What a user's message event says, whichever schema version carried it."""

    open_id: str
    chat_id: str
    text: str
    is_group: bool
    mentioned: bool
    message_id: str
    attachments: tuple[Attachment, ...] = ()


def to_inbound(
    payload: dict[str, Any], origin: Origin, *, bot_open_id: str | None = None
) -> InboundMessage | None:
    """A user's message (v2 or v1 envelope); None for everything the bot ignores. `bot_open_id` tells
    the bot's own @-mention from other people's in a group (see `clean_text` without it)."""
    env = envelope(payload)
    event = _dict(payload.get("event"))
    if env.version == "2" and env.event_type == MESSAGE_EVENT_V2:
        found = _message_v2_found(event, bot_open_id)
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
        attachments=found.attachments,
        reply_context={"message_id": found.message_id, "chat_id": found.chat_id, "open_id": found.open_id},
    )


def _message_v2_found(event: dict[str, Any], bot_open_id: str | None) -> _Found | None:
    sender, message = _dict(event.get("sender")), _dict(event.get("message"))
    if sender.get("sender_type") != "user":
        return None  # other apps and bots, including ourselves
    open_id = _str(_dict(sender.get("sender_id")).get("open_id"))
    message_id, chat_id = _str(message.get("message_id")), _str(message.get("chat_id"))
    try:
        content = _dict(json.loads(_str(message.get("content"))))
    except ValueError:
        return None
    parsed = content_of(_str(message.get("message_type")), content, message_id)
    if parsed is None:
        return None
    raw_text, attachments = parsed
    if not message_id:  # nothing to fetch the media by
        attachments = ()
    text, at_bot = clean_text(raw_text, mentions(message), bot_open_id)
    if not (open_id and chat_id and (text or attachments)):
        return None
    is_group = message.get("chat_type") == "group"
    return _Found(open_id, chat_id, text, is_group, at_bot or not is_group, message_id, attachments)


def _text_v1(event: dict[str, Any]) -> _Found | None:
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
    return _Found(open_id, chat_id, text, is_group, mentioned, _str(event.get("open_message_id")))
