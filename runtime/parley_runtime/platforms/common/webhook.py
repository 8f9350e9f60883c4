"""Answers and start-up checks every webhook adapter gives the same way, so callers and dashboards see one
shape: errors are `{"error": "..."}` JSON, and a refusal for a security reason carries that reason (it
becomes the `reason` label of the rejected-webhook metric).

Replay windows: a platform that signs a timestamp lets us refuse an authentic request replayed later.
Each adapter declares its `ReplayWindow` (citing the platform's documentation) and checks it with
`fresh` after the signature holds, so `stale-timestamp` only ever counts authentic-but-old requests.
Every window stays below the gateway's de-duplication TTL (24 h): a replay inside the window is
dropped by its event id, one outside it is refused here.

JSON bodies: `json_object` is the one way an adapter reads a JSON callback body, so every platform
refuses bad UTF-8, bad JSON and a non-object with the same short reason (`BadJsonBody`); `json_body`
answers that refusal with a 400 for the adapters that add nothing to it.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from parley_runtime.core.protocols import WebhookResult

__all__ = [
    "BadJsonBody",
    "ReplayWindow",
    "bad_signature",
    "error",
    "fresh",
    "json_body",
    "json_object",
    "require_credentials",
    "stale_timestamp",
]


def error(
    status: int, message: str, reason: str = "", *, headers: Mapping[str, str] | None = None
) -> WebhookResult:
    """A JSON error answer; `reason` marks it a rejection (bad signature, stale timestamp…)."""
    body = json.dumps({"error": message}).encode()
    return WebhookResult(
        status=status, body=body, headers=headers or {}, rejected=bool(reason), reason=reason
    )


class BadJsonBody(ValueError):
    """The body is not a JSON object; the message is the short reason the 400 answer carries."""


def json_object(body: bytes | str) -> dict[str, Any]:
    """The JSON object `body` holds (raw bytes as received, or text already decrypted); raises
    BadJsonBody for bad UTF-8, bad JSON (nesting too deep included) or any other JSON value."""
    try:
        value = json.loads(body)
    except UnicodeDecodeError:
        raise BadJsonBody("body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise BadJsonBody("body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadJsonBody("body must be a JSON object")
    return value


def json_body(body: bytes) -> dict[str, Any] | WebhookResult:
    """`json_object(body)`, or the 400 answer carrying the reason it is not one."""
    try:
        return json_object(body)
    except BadJsonBody as exc:
        return error(400, str(exc))


def bad_signature() -> WebhookResult:
    return error(401, "signature mismatch", "bad-signature")


def stale_timestamp() -> WebhookResult:
    return error(401, "timestamp outside the replay window", "stale-timestamp")


# Longer than any epoch time in milliseconds for millennia; keeps int() of attacker input tiny.
_MAX_TIMESTAMP_DIGITS = 16


@dataclass(frozen=True)
class ReplayWindow:
    """How far a platform's signed timestamp may lie from our clock, in seconds: `behind` must cover the
    platform's retries that reuse the original timestamp, `ahead` is the clock skew we tolerate."""

    behind: float
    ahead: float
    milliseconds: bool = False  # the platform counts milliseconds since the epoch (DingTalk)


def fresh(timestamp: str, now: float, window: ReplayWindow) -> bool:
    """Whether `timestamp` (the platform's value as sent: ASCII decimal digits and nothing else) lies within
    `window` of `now` (seconds since the epoch, the adapter context's clock). Malformed is never fresh."""
    if not (0 < len(timestamp) <= _MAX_TIMESTAMP_DIGITS and timestamp.isascii() and timestamp.isdigit()):
        return False
    unit = 1000 if window.milliseconds else 1
    age = now * unit - int(timestamp)
    return -window.ahead * unit <= age <= window.behind * unit


def require_credentials(
    credentials: Mapping[str, str], names: Iterable[str], *, platform: str, binding: str
) -> None:
    """Refuse to build an adapter whose binding lacks a credential, naming the missing keys (not values)."""
    missing = [name for name in names if not credentials.get(name)]
    if missing:
        raise ValueError(f"{platform} binding {binding}: credentials missing {', '.join(missing)}")
