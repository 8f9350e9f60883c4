"""Slack's reply size and markup (pure): Slack advises ≤ 4000 characters per message and truncates
beyond 40 000, so replies are cut into 4000-character chunks at a line break or space when possible;
Markdown is cut as source, then each chunk rendered as mrkdwn."""

from parley_runtime.platforms.common import markdown
from parley_runtime.platforms.common import text as common_text

__all__ = ["MESSAGE_LIMIT", "markdown_chunks", "split_text"]

MESSAGE_LIMIT = 4000


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    return common_text.split_text(text, limit)


def markdown_chunks(md: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The model's Markdown as mrkdwn messages (escaping may lengthen a chunk a little: Slack only
    advises the limit)."""
    rendered = (markdown.to_slack_mrkdwn(chunk) for chunk in markdown.split_markdown(md, limit))
    return [chunk for chunk in rendered if chunk.strip()]
