"""Decrypted WeCom callback fields → the unified inbound message (pure)."""

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common import wxmessage
from parley_runtime.platforms.common.wxmessage import event_id

__all__ = ["event_id", "to_inbound"]


def to_inbound(fields: dict[str, str], origin: Origin) -> InboundMessage | None:
    """A member's text, picture, voice or video message to the app (always one to one, so always
    addressed to the bot); None for events and other message types."""
    return wxmessage.to_inbound(fields, origin, reply_extra={"agent_id": fields.get("AgentID", "")})
