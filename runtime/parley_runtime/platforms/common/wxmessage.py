"""Tencent callback XML fields → the unified inbound message (pure).

WeCom apps and WeChat official accounts send the same fields (`MsgType`, `FromUserName`, `Content`,
`MsgId`, `CreateTime`, and for media `MediaId`, `PicUrl`, `Format`) and both talk one to one, so the
reading is shared; each adapter adds only what its reply needs beyond the recipient.

Media: a picture (`image`) and a voice note (`voice`) become one attachment whose `ref["media_id"]`
is what `cgi-bin/media/get` takes; a video is offered as a file (no model watches video, but the
engine can say so). WeChat's own speech recognition (`Recognition`, when the account enabled it)
becomes the voice attachment's transcript. Callbacks state no sizes.
"""

from collections.abc import Mapping

from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.errors import PermanentSendError

__all__ = ["event_id", "media_attachment", "recipient", "to_inbound"]

# `Format` of a voice message → MIME type. WeCom sends amr; WeChat amr or speex.
_VOICE_MIME = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg", "silk": "audio/silk"}
_VIDEO_TYPES = ("video", "shortvideo")


def event_id(fields: Mapping[str, str]) -> str:
    """The dedup key: MsgId for messages, FromUserName + CreateTime for events (which have no MsgId)."""
    msg_id = fields.get("MsgId", "")
    return msg_id or f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}"


def media_attachment(fields: Mapping[str, str]) -> Attachment | None:
    """The picture, voice note or video of a media message; None for text, events and the rest."""
    kind, media_id = fields.get("MsgType"), fields.get("MediaId", "")
    if not media_id:
        return None
    ref = {"media_id": media_id}
    if kind == "image":
        return Attachment(kind="image", mime_type="image/jpeg", url=fields.get("PicUrl") or None, ref=ref)
    if kind == "voice":
        voice_format = fields.get("Format", "amr").strip().lower()
        recognition = fields.get("Recognition", "").strip()
        return Attachment(
            kind="audio",
            mime_type=_VOICE_MIME.get(voice_format, f"audio/{voice_format or 'amr'}"),
            ref=ref,
            transcript=recognition or None,
        )
    if kind in _VIDEO_TYPES:
        return Attachment(kind="file", mime_type="video/mp4", ref=ref, name="video.mp4")
    return None


def to_inbound(
    fields: Mapping[str, str], origin: Origin, *, reply_extra: Mapping[str, str] | None = None
) -> InboundMessage | None:
    """A text or media message from one user; None for events and types the bot cannot use. The
    sender is the chat (these are one-to-one conversations) and the `touser` of the reply."""
    user = fields.get("FromUserName", "")
    if not user:
        return None
    text = fields.get("Content", "").strip() if fields.get("MsgType") == "text" else ""
    attachment = media_attachment(fields)
    if not text and attachment is None:
        return None
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=event_id(fields),
        chat_id=user,
        user_id=user,  # WeChat: stable per (account, follower)
        text=text,
        is_group=False,
        mentioned=True,
        attachments=() if attachment is None else (attachment,),
        reply_context={"touser": user, **(reply_extra or {})},
    )


def recipient(inbound: InboundMessage, platform: str) -> str:
    """The `touser` a reply to `inbound` goes to (set by `to_inbound`); PermanentSendError without one."""
    touser = inbound.reply_context.get("touser") or inbound.user_id
    if not isinstance(touser, str) or not touser:
        raise PermanentSendError(platform, "no recipient in reply context")
    return touser
