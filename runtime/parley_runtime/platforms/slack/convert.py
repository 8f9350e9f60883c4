"""Slack Events API payloads → `InboundMessage` (pure).

Events: `app_mention` (the bot was @-mentioned in a channel) and `message` (DMs, and channel messages
when subscribed). A channel `message` that mentions the bot is skipped because Slack also sends an
`app_mention` for it — answering both would reply twice. Bot messages and any `subtype` (edits,
joins, bot_message, …) are ignored.
"""

import re
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = ["BadEvent", "bot_user_id", "event_to_inbound"]

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(\|[^>]*)?>")


class BadEvent(ValueError):
    """The body is not an Events API envelope."""


def bot_user_id(envelope: dict[str, Any]) -> str | None:
    """The bot's own user id, from the envelope's `authorizations` (Slack includes the installing bot)."""
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list):
        for item in authorizations:
            if isinstance(item, dict) and item.get("is_bot") and isinstance(item.get("user_id"), str):
                return str(item["user_id"])
    return None


def _strip_mention(text: str, bot_id: str | None) -> tuple[str, bool]:
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        if bot_id is not None and match.group(1) == bot_id:
            found = True
            return ""
        return match.group(0)

    stripped = _MENTION.sub(replace, text)
    return re.sub(r"[ \t]{2,}", " ", stripped).strip(), found


def event_to_inbound(envelope: Any, origin: Origin) -> InboundMessage | None:
    """The event for one `event_callback` envelope, or None when the bot must ignore it."""
    if not isinstance(envelope, dict):
        raise BadEvent("body must be a JSON object")
    event_id, event = envelope.get("event_id"), envelope.get("event")
    if not isinstance(event_id, str) or not isinstance(event, dict):
        raise BadEvent("event_callback without event_id/event")
    kind = event.get("type")
    if kind not in ("message", "app_mention") or "subtype" in event or event.get("bot_id"):
        return None
    user, channel, text, ts = event.get("user"), event.get("channel"), event.get("text"), event.get("ts")
    if not all(isinstance(v, str) and v for v in (user, channel, ts)) or not isinstance(text, str):
        return None
    me = bot_user_id(envelope)
    if me is not None and user == me:
        return None
    channel_type = event.get("channel_type")
    is_group = kind == "app_mention" or channel_type not in ("im", None)
    text, mentioned = _strip_mention(text, me)
    if kind == "message" and is_group and mentioned:
        return None  # the matching app_mention event carries this message
    if not text:
        return None
    context: dict[str, Any] = {"channel": channel, "ts": ts}
    if isinstance(event.get("thread_ts"), str):
        context["thread_ts"] = event["thread_ts"]
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=event_id,
        chat_id=str(channel),
        user_id=str(user),
        text=text,
        is_group=is_group,
        mentioned=kind == "app_mention" or not is_group,
        reply_context=context,
    )
