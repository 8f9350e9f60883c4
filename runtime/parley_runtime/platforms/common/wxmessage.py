"""Tencent callback XML fields → the unified inbound message (pure).

WeCom apps and WeChat official accounts send the same fields (`MsgType`, `FromUserName`, `Content`,
`MsgId`, `CreateTime`) and both talk one to one, so the reading is shared; each adapter adds only what
its reply needs beyond the recipient.
"""

from collections.abc import Mapping

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = ["event_id", "text_to_inbound"]


def event_id(fields: Mapping[str, str]) -> str:
    """The dedup key: MsgId for messages, FromUserName + CreateTime for events (which have no MsgId)."""
    msg_id = fields.get("MsgId", "")
    return msg_id or f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}"


def text_to_inbound(
    fields: Mapping[str, str], origin: Origin, *, reply_extra: Mapping[str, str] | None = None
) -> InboundMessage | None:
    """A text message from one user; None for events and other message types. The sender is the chat
    (these are one-to-one conversations) and the `touser` of the reply."""
    if fields.get("MsgType") != "text":
        return None
    user = fields.get("FromUserName", "")
    text = fields.get("Content", "").strip()
    if not user or not text:
        return None
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=event_id(fields),
        chat_id=user,
        user_id=user,  # WeChat: stable per (account, follower)
        text=text,
        is_group=False,
        mentioned=True,
        reply_context={"touser": user, **(reply_extra or {})},
    )
