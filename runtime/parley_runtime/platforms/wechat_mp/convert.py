"""WeChat MP callback fields → the unified inbound message (pure)."""

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common import wxmessage
from parley_runtime.platforms.common.wxmessage import event_id

__all__ = ["event_id", "to_inbound"]


def to_inbound(fields: dict[str, str], origin: Origin) -> InboundMessage | None:
    """A follower's text, picture, voice (with WeChat's `Recognition` as its transcript when the
    account enabled it) or video message; None for events (subscribe, menu clicks…) and other types."""
    return wxmessage.to_inbound(fields, origin)
