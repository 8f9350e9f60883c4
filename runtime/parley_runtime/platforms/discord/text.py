"""Discord's 2000-character `content` limit (pure), counted in UTF-16 units, the stricter of the possible
counts, so a chunk is never refused for length."""

from parley_runtime.platforms.common import text as common_text

__all__ = ["CONTENT_LIMIT", "split_text"]

CONTENT_LIMIT = 2000


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    return common_text.split_text(text, limit, utf16=True)
