"""Slack's v0 request signature: "v0=" + hex HMAC-SHA256(signing secret, "v0:{ts}:{raw body}") (pure)."""

import hashlib
import hmac
from enum import Enum

from parley_runtime.platforms.common import webhook

__all__ = ["REPLAY_WINDOW", "Verdict", "signature", "verify"]

# Slack's "Verifying requests from Slack": refuse a request whose timestamp is more than five minutes
# from local time (its SDKs refuse the same, so no delivery Slack expects to succeed falls outside).
REPLAY_WINDOW = webhook.ReplayWindow(behind=300, ahead=300)


class Verdict(Enum):
    OK = "ok"
    BAD_SIGNATURE = "bad-signature"
    STALE_TIMESTAMP = "stale-timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, presented: str, body: bytes, *, now: float) -> Verdict:
    """The signature in constant time, then freshness (±5 min, as Slack's docs and SDKs require)."""
    if not timestamp.isdigit():
        return Verdict.BAD_SIGNATURE
    expected = signature(secret, timestamp, body)
    if not secret or not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace")):
        return Verdict.BAD_SIGNATURE
    if not webhook.fresh(timestamp, now, REPLAY_WINDOW):
        return Verdict.STALE_TIMESTAMP
    return Verdict.OK
