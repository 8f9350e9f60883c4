"""Splitting long replies at Telegram's limit, counted in UTF-16 code units as Telegram counts (pure)."""

__all__ = ["MESSAGE_LIMIT", "split_text", "utf16_len"]

MESSAGE_LIMIT = 4096


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting_chars(text: str, limit: int) -> int:
    """How many leading code points of `text` fit into `limit` UTF-16 units (never splits a pair)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Chunks of at most `limit` units, cut at a newline or space in the second half when there is one."""
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit = _fitting_chars(rest, limit)
        window = rest[:fit]
        cut = window.rfind("\n")
        if cut <= fit // 2:
            cut = window.rfind(" ")
        if cut <= fit // 2:
            chunks.append(window)
            rest = rest[fit:]
        else:
            chunks.append(window[:cut])
            rest = rest[cut + 1 :]
    chunks.append(rest)
    return [chunk for chunk in chunks if chunk.strip()]
