"""Splitting long replies for QQ through OneBot (pure). QQ documents no limit; very long messages are
refused or folded by the client, so replies are cut into 3000-character chunks at a line break or space."""

__all__ = ["MESSAGE_LIMIT", "split_text"]

MESSAGE_LIMIT = 3000


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
