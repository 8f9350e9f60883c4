"""A robot message (HTTP callback body or Stream CALLBACK data) → the unified inbound message (pure)."""

from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def to_inbound(payload: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """A text message to the robot; None for other message types and incomplete payloads."""
    if payload.get("msgtype") != "text":
        return None
    text_part = payload.get("text")
    # DingTalk has already removed the "@robot" part of group messages from the content.
    text = _str(text_part.get("content") if isinstance(text_part, dict) else None).strip()
    user_id = _str(payload.get("senderStaffId")) or _str(payload.get("senderId"))
    msg_id, conversation = _str(payload.get("msgId")), _str(payload.get("conversationId"))
    if not (text and user_id and msg_id and conversation):
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
        mentioned=bool(payload.get("isInAtList")) or not is_group,
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
