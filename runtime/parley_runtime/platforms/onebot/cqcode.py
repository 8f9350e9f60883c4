"""OneBot v11 message formats (pure): CQ-code strings and segment arrays, both reduced to segments.

CQ codes look like `[CQ:at,qq=10001]`; inside them `&`, `[`, `]` and `,` are escaped as `&amp;`,
`&#91;`, `&#93;` and `&#44;` (in plain text only the first three).
"""

import re
from typing import Any

__all__ = ["Segment", "parse_cq", "segments_of"]

Segment = tuple[str, dict[str, str]]

_CQ = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[^\]]*)?)\]")


def _unescape(text: str) -> str:
    return text.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")


def parse_cq(message: str) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for match in _CQ.finditer(message):
        if match.start() > position:
            segments.append(("text", {"text": _unescape(message[position : match.start()])}))
        data: dict[str, str] = {}
        for pair in match.group(2).split(",")[1:]:
            key, _, value = pair.partition("=")
            data[key] = _unescape(value)
        segments.append((match.group(1), data))
        position = match.end()
    if position < len(message):
        segments.append(("text", {"text": _unescape(message[position:])}))
    return segments


def segments_of(message: Any) -> list[Segment] | None:
    """Segments of a `message` field in either format; None when it is neither."""
    if isinstance(message, str):
        return parse_cq(message)
    if not isinstance(message, list):
        return None
    segments: list[Segment] = []
    for item in message:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            continue
        data = item.get("data")
        clean = {str(k): str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}
        segments.append((item["type"], clean))
    return segments
