"""QQ's reply size through OneBot (pure). QQ documents no limit; very long messages are refused or
folded by the client, so replies are cut into 3000-character chunks at a line break or space."""

from parley_runtime.platforms.common import text as common_text

__all__ = ["MESSAGE_LIMIT", "split_text"]

MESSAGE_LIMIT = 3000


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    return common_text.split_text(text, limit)
