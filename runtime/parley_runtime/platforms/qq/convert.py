"""QQ v2 dispatch payloads (`C2C_MESSAGE_CREATE`, `GROUP_AT_MESSAGE_CREATE`) → `InboundMessage` (pure)."""

import re
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = ["C2C", "GROUP_AT", "BadPayload", "dispatch_to_inbound"]

C2C = "C2C_MESSAGE_CREATE"
GROUP_AT = "GROUP_AT_MESSAGE_CREATE"
_MENTION = re.compile(r"<@!?[A-Za-z0-9_]+>")


class BadPayload(ValueError):
    """The body is not a QQ webhook payload."""


def dispatch_to_inbound(payload: dict[str, Any], origin: Origin) -> InboundMessage | None:
    """The event for an op 0 dispatch, or None for event types the bot does not answer."""
    kind, data = payload.get("t"), payload.get("d")
    if not isinstance(data, dict):
        raise BadPayload("dispatch without d")
    if kind not in (C2C, GROUP_AT):
        return None
    msg_id, author, content = data.get("id"), data.get("author"), data.get("content")
    if not isinstance(msg_id, str) or not isinstance(author, dict) or not isinstance(content, str):
        raise BadPayload(f"{kind} without id/author/content")
    event_id = payload.get("id") if isinstance(payload.get("id"), str) and payload.get("id") else msg_id
    if kind == C2C:
        user, chat, target = author.get("user_openid"), author.get("user_openid"), "user"
    else:
        user, chat, target = author.get("member_openid"), data.get("group_openid"), "group"
    if not isinstance(user, str) or not user or not isinstance(chat, str) or not chat:
        raise BadPayload(f"{kind} without the sender's openid")
    text = _MENTION.sub("", content).strip()
    if not text:
        return None
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=str(event_id),
        chat_id=chat,
        user_id=user,
        text=text,
        is_group=kind == GROUP_AT,
        mentioned=True,
        reply_context={"target": target, "openid": chat, "msg_id": msg_id},
    )
