"""Slack's v0 request signature: "v0=" + hex HMAC-SHA256(signing secret, "v0:{ts}:{raw body}") (pure)."""

import hashlib
import hmac
from enum import Enum

__all__ = ["MAX_SKEW_SECONDS", "Verdict", "signature", "verify"]

MAX_SKEW_SECONDS = 300


class Verdict(Enum):
    OK = "ok"
    BAD_SIGNATURE = "bad-signature"
    STALE_TIMESTAMP = "stale-timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, presented: str, body: bytes, *, now: float) -> Verdict:
    """Checks freshness (±5 min, as Slack's SDKs do) and the signature in constant time."""
    if not timestamp.isdigit():
        return Verdict.BAD_SIGNATURE
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return Verdict.STALE_TIMESTAMP
    expected = signature(secret, timestamp, body)
    if not secret or not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace")):
        return Verdict.BAD_SIGNATURE
    return Verdict.OK
