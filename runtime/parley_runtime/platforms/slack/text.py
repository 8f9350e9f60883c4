"""Splitting long replies for Slack (pure): Slack advises ≤ 4000 characters per message and truncates
beyond 40 000, so replies are cut into 4000-character chunks at a line break or space when possible."""

__all__ = ["MESSAGE_LIMIT", "split_text"]

MESSAGE_LIMIT = 4000


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut <= limit // 2:
            cut = window.rfind(" ")
        if cut <= limit // 2:
            chunks.append(window)
            rest = rest[limit:]
        else:
            chunks.append(window[:cut])
            rest = rest[cut + 1 :]
    chunks.append(rest)
    return [chunk for chunk in chunks if chunk.strip()]
