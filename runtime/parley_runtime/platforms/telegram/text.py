"""Telegram's message limit (pure), counted in UTF-16 code units as Telegram counts."""

from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.common.text import utf16_len

__all__ = ["MESSAGE_LIMIT", "split_text", "utf16_len"]

MESSAGE_LIMIT = 4096


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Chunks of at most `limit` units, cut at a newline or space in the second half when there is one."""
    return common_text.split_text(text, limit, utf16=True)
