"""Cutting long replies into chunks a platform accepts (pure).

Platforms differ in how they count (characters, UTF-16 units, UTF-8 bytes) and in whether the break
character stays in the chunk, so the two cutting styles they use live here once and each adapter keeps
only its limit. A break is taken only in the second half of a window: cutting a 4000-character window
after 10 characters to honour a newline would send a uselessly short message.
"""

from collections.abc import Callable

__all__ = ["break_index", "split_chars", "split_text", "split_utf8", "utf16_len"]


def utf16_len(text: str) -> int:
    """Length as Telegram and Discord count it: characters outside the BMP take two units."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _fitting(text: str, limit: int, *, utf16: bool) -> int:
    """How many leading characters fit into `limit` (a surrogate pair is never cut); len(text) if all do."""
    if not utf16:
        return min(len(text), limit)
    used = 0
    for index, char in enumerate(text):
        used += _utf16_units(char)
        if used > limit:
            return index
    return len(text)


def break_index(window: str, separators: str) -> int:
    """Index of the last separator in the second half of `window`, trying them in order; -1 if none."""
    for separator in separators:
        cut = window.rfind(separator)
        if cut > len(window) // 2:
            return cut
    return -1


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Chunks of at most `limit` characters (UTF-16 units with `utf16`), cut at a newline or else a
    space, which is dropped; blank chunks are left out, so blank text gives no chunk at all."""
    chunks: list[str] = []
    rest = text
    while (fit := _fitting(rest, limit, utf16=utf16)) < len(rest):
        window = rest[:fit]
        cut = break_index(window, "\n ")
        if cut < 0:
            chunks.append(window)
            rest = rest[fit:]
        else:
            chunks.append(window[:cut])
            rest = rest[cut + 1 :]
    chunks.append(rest)
    return [chunk for chunk in chunks if chunk.strip()]


def _split_keeping_newlines(text: str, limit: int, width: Callable[[str], int]) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        char_width = width(char)
        if size + char_width > limit and current:
            piece = "".join(current)
            cut = break_index(piece, "\n")
            if cut >= 0:
                chunks.append(piece[: cut + 1])
                current = [piece[cut + 1 :]]
                size = sum(width(c) for c in current[0])
            else:
                chunks.append(piece)
                current, size = [], 0
        current.append(char)
        size += char_width
    if current:
        chunks.append("".join(current))
    # The APIs that use these refuse an empty message, so there is always one chunk.
    return [chunk for chunk in chunks if chunk.strip()] or [text[:1] or " "]


def _utf8_width(char: str) -> int:
    return len(char.encode())


def _one(char: str) -> int:
    return 1


def split_utf8(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` UTF-8 bytes, each ending after a newline when one is near the end."""
    return _split_keeping_newlines(text, limit, _utf8_width)


def split_chars(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, each ending after a newline when one is near the end."""
    return _split_keeping_newlines(text, limit, _one)
