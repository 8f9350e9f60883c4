"""Which HTTP answers are worth retrying, and how long the server asked us to wait.

Both outbound seams take these rules from here: LLM providers (`llm.transport`) and platform send
APIs (`platforms.common.http` and the clients that read their own statuses). Pure: the caller passes
the header value and the current Unix time. How long a wait is too long is the caller's decision
(the LLM router moves on to the next route past a few seconds; the outbound sender waits at most its
`max_delay`), so nothing is capped here.
"""

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import UTC

__all__ = ["is_retryable_status", "retry_after_header", "retry_after_seconds"]

# RFC 9110 delay-seconds is 1*DIGIT; a sign or a fraction is tolerated (some servers send "1.5").
_DELTA_SECONDS = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx: the same request may succeed later; other statuses will not."""
    return status == 429 or status >= 500


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds (`"120"`) or an HTTP-date
    (`"Wed, 21 Oct 2015 07:28:00 GMT"`), the date measured from `now` (Unix time).

    A negative delay or a date already past is 0.0; an absent, empty or unreadable value is None, and
    the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:  # asctime form or "-0000": HTTP dates are always GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, OverflowError):
        return None


def retry_after_header(headers: Mapping[str, str], *, now: float) -> float | None:
    """`retry_after_seconds` of the Retry-After header in `headers`, a case-insensitive mapping such as
    httpx's or aiohttp's response headers."""
    return retry_after_seconds(headers.get("retry-after"), now=now)
