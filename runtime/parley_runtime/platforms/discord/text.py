"""Discord's 2000-character `content` limit (pure), counted in UTF-16 units, the stricter of the possible
counts, so a chunk is never refused for length. Discord renders Markdown itself: a Markdown reply is
only cut, never inside a code block."""

from parley_runtime.platforms.common import markdown
from parley_runtime.platforms.common import text as common_text

__all__ = ["CONTENT_LIMIT", "markdown_chunks", "split_text"]

CONTENT_LIMIT = 2000


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    return common_text.split_text(text, limit, utf16=True)


def markdown_chunks(md: str, limit: int = CONTENT_LIMIT) -> list[str]:
    return markdown.split_markdown(md, limit, measure="utf16")
