"""WeChat MP callback fields → the unified inbound message (pure)."""

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.common import wxmessage
from parley_runtime.platforms.common.wxmessage import event_id

__all__ = ["event_id", "to_inbound"]


def to_inbound(
    fields: dict[str, str], *, bot: str, platform: str, binding: str, received_at: float
) -> InboundMessage | None:
    """A follower's text message; None for events (subscribe, menu clicks…) and other types."""
    return wxmessage.text_to_inbound(
        fields, bot=bot, platform=platform, binding=binding, received_at=received_at
    )
