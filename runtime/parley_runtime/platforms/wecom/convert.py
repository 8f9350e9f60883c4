"""Decrypted WeCom callback fields → the unified inbound message (pure)."""

from parley_runtime.core.messages import InboundMessage


def event_id(fields: dict[str, str]) -> str:
    """WeCom's dedup key: MsgId for messages, FromUserName + CreateTime for events."""
    msg_id = fields.get("MsgId", "")
    return msg_id or f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}"


def to_inbound(
    fields: dict[str, str], *, bot: str, platform: str, binding: str, received_at: float
) -> InboundMessage | None:
    """A text message from a member to the app; None for events and other message types."""
    if fields.get("MsgType") != "text":
        return None
    user = fields.get("FromUserName", "")
    text = fields.get("Content", "").strip()
    if not user or not text:
        return None
    return InboundMessage(
        bot=bot,
        platform=platform,
        binding=binding,
        event_id=event_id(fields),
        chat_id=user,  # app callbacks are one-to-one conversations with a member
        user_id=user,
        text=text,
        is_group=False,
        mentioned=True,
        received_at=received_at,
        reply_context={"touser": user, "agent_id": fields.get("AgentID", "")},
    )
