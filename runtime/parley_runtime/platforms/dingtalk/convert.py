"""A robot message (HTTP callback body or Stream CALLBACK data) → the unified inbound message (pure).

Message types (机器人接收消息): `text` (`text.content`), `picture` (`content.downloadCode`), `richText`
(`content.richText[]`: `{"text"}` items and `{"type": "picture", "downloadCode"}` items), `audio`
(`content.downloadCode`, `content.recognition`: DingTalk's own transcript, `content.duration` ms) and
`file` (`content.downloadCode`, `content.fileName`). A downloadCode is exchanged for the bytes later
(`client.fetch_media`), so an attachment's `ref` keeps it with the robotCode it belongs to.

DingTalk tells who was addressed itself: group messages (`conversationType` "2") reach the robot with
`isInAtList` true when it was @-mentioned, and the "@robot" text is already removed from the content.
"""

import mimetypes
from typing import Any

from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin

# DingTalk does not say what format its voice notes and pictures are in; these are the usual ones
# (the bytes tell the truth to whoever sniffs them), and voice comes with a transcript anyway.
AUDIO_MIME = "audio/amr"
IMAGE_MIME = "image/jpeg"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ref(download_code: str, robot_code: str) -> dict[str, str]:
    return (
        {"downloadCode": download_code, "robotCode": robot_code}
        if robot_code
        else {"downloadCode": download_code}
    )


def _picture(item: dict[str, Any], robot_code: str) -> Attachment | None:
    code = _str(item.get("downloadCode")) or _str(item.get("pictureDownloadCode"))
    if not code:
        return None
    extension = _str(item.get("extension")).lstrip(".")
    mime = mimetypes.types_map.get(f".{extension.lower()}", "") if extension else ""
    return Attachment(
        kind="image", mime_type=mime if mime.startswith("image/") else IMAGE_MIME, ref=_ref(code, robot_code)
    )


def _rich_text(content: dict[str, Any], robot_code: str) -> tuple[str, tuple[Attachment, ...]]:
    raw = content.get("richText")
    items = [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
    text = "\n".join(_str(i.get("text")).strip("\n") for i in items if _str(i.get("text")).strip())
    pictures = (_picture(i, robot_code) for i in items if "text" not in i)
    return text, tuple(p for p in pictures if p is not None)


def content_of(payload: dict[str, Any]) -> tuple[str, tuple[Attachment, ...]] | None:
    """(text, attachments) of a robot message; None for message types the bot ignores."""
    kind, robot_code = payload.get("msgtype"), _str(payload.get("robotCode"))
    content = _dict(payload.get("content"))
    code = _str(content.get("downloadCode"))
    if kind == "text":
        return _str(_dict(payload.get("text")).get("content")), ()
    if kind == "richText":
        return _rich_text(content, robot_code)
    if kind == "picture":
        picture = _picture(content, robot_code)
        return ("", (picture,)) if picture else None
    if kind == "audio" and code:
        transcript = _str(content.get("recognition")).strip() or None
        voice = Attachment(
            kind="audio", mime_type=AUDIO_MIME, ref=_ref(code, robot_code), transcript=transcript
        )
        return "", (voice,)
    if kind == "file" and code:
        name = _str(content.get("fileName")) or None
        mime, _ = mimetypes.guess_type(name or "")
        return "", (
            Attachment(
                kind="file",
                mime_type=mime or "application/octet-stream",
                name=name,
                ref=_ref(code, robot_code),
            ),
        )
    return None  # video, markdown, interactive cards…


def to_inbound(payload: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """A message to the robot; None for ignored message types and incomplete payloads."""
    parsed = content_of(payload)
    if parsed is None:
        return None
    text, attachments = parsed[0].strip(), parsed[1]
    user_id = _str(payload.get("senderStaffId")) or _str(payload.get("senderId"))
    msg_id, conversation = _str(payload.get("msgId")), _str(payload.get("conversationId"))
    if not ((text or attachments) and user_id and msg_id and conversation):
        return None
    is_group = _str(payload.get("conversationType")) == "2"
    expires = payload.get("sessionWebhookExpiredTime")
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=msg_id,
        chat_id=conversation,
        user_id=user_id,
        text=text,
        is_group=is_group,
        mentioned=payload.get("isInAtList") is True or not is_group,
        attachments=attachments,
        user_name=_str(payload.get("senderNick")) or None,
        reply_context={
            "session_webhook": _str(payload.get("sessionWebhook")),
            "session_webhook_expires_ms": expires if isinstance(expires, int) else 0,
            "conversation_id": conversation,
            "is_group": is_group,
            "sender_staff_id": _str(payload.get("senderStaffId")),
            "robot_code": _str(payload.get("robotCode")),
        },
    )
