"""WeChat MP callback fields → the unified inbound message (pure)."""

from parley_runtime.core.messages import InboundMessage


def event_id(fields: dict[str, str]) -> str:
    """WeChat's dedup key: MsgId for messages, FromUserName + CreateTime for events."""
    msg_id = fields.get("MsgId", "")
    return msg_id or f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}"


def to_inbound(
    fields: dict[str, str], *, bot: str, platform: str, binding: str, received_at: float
) -> InboundMessage | None:
    """A follower's text message; None for events (subscribe, menu clicks…) and other types."""
    if fields.get("MsgType") != "text":
        return None
    openid = fields.get("FromUserName", "")
    text = fields.get("Content", "").strip()
    if not openid or not text:
        return None
    return InboundMessage(
        bot=bot,
        platform=platform,
        binding=binding,
        event_id=event_id(fields),
        chat_id=openid,  # an official account talks to each follower one to one
        user_id=openid,  # stable per (account, follower)
        text=text,
        is_group=False,
        mentioned=True,
        received_at=received_at,
        reply_context={"touser": openid},
    )
