"""Splitting replies for QQ (pure). QQ allows at most 5 passive replies per inbound message, so a reply
is cut into at most `MAX_REPLIES` chunks of `CHUNK_CHARS` characters; the last one is truncated."""

from parley_runtime.platforms.common import text as common_text

__all__ = ["CHUNK_CHARS", "MAX_REPLIES", "split_text"]

CHUNK_CHARS = 2000
MAX_REPLIES = 5


def split_text(text: str, limit: int = CHUNK_CHARS, max_chunks: int = MAX_REPLIES) -> list[str]:
    chunks: list[str] = []
    rest = text.strip()
    while rest and len(chunks) < max_chunks:
        if len(rest) <= limit:
            chunks.append(rest)
            break
        if len(chunks) == max_chunks - 1:
            chunks.append(rest[: limit - 1] + "…")
            break
        cut = common_text.break_index(rest[:limit], "\n ")
        cut = cut if cut >= 0 else limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return chunks
