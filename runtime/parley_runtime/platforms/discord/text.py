"""Splitting replies at Discord's 2000-character `content` limit (pure; counted in UTF-16 units, the
stricter of the possible counts, so a chunk is never refused for length)."""

__all__ = ["CONTENT_LIMIT", "split_text"]

CONTENT_LIMIT = 2000


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    chunks: list[str] = []
    rest = text
    while sum(_units(c) for c in rest) > limit:
        used, fit = 0, 0
        for fit, char in enumerate(rest):  # noqa: B007 (fit is used after the loop)
            used += _units(char)
            if used > limit:
                break
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
