"""Slack's reply size (pure): Slack advises ≤ 4000 characters per message and truncates beyond 40 000, so
replies are cut into 4000-character chunks at a line break or space when possible."""

from parley_runtime.platforms.common import text as common_text

__all__ = ["MESSAGE_LIMIT", "split_text"]

MESSAGE_LIMIT = 4000


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    return common_text.split_text(text, limit)
