"""What every platform driver gives the shared webhook tests.

A driver owns one platform's fake API (a real server on 127.0.0.1) and produces that platform's
callbacks the way the platform (or its official SDK / published test vectors) does. Message `n` has a
unique event id and the text `question(n)`; the echo model answers `answer(n)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from integration.webhooks.harness import Binding
from parley_runtime.core.protocols import WebhookRequest


def question(n: int) -> str:
    return f"question {n}: 今天谁值班？"


def answer(n: int) -> str:
    return f"echo: {question(n)}"


# Older than every platform's replay window (the longest, Feishu's, is 8 h) yet within the dedup TTL.
STALE_SECONDS = 86_400 - 60


def timestamp_now(ago: float = 0) -> str:
    """The timestamp a platform signs into a callback: the app under test checks it against its real
    clock (each platform's replay window), so drivers sign the current time, not a vector's."""
    return str(int(time.time() - ago))


@dataclass(frozen=True)
class Sent:
    """One reply as the fake platform API recorded it: its text and where it was addressed."""

    text: str
    to: dict[str, Any]


class Driver(Protocol):
    platform: str
    binding: Binding
    ack_status: int
    forged_status: int

    def valid(self, n: int) -> WebhookRequest: ...

    def forged(self, n: int) -> WebhookRequest: ...

    # Platforms that sign a timestamp also have `stale(n) -> WebhookRequest`: message `n` signed
    # correctly, but `STALE_SECONDS` ago, as a captured request replayed a day later arrives.

    def junk(self) -> WebhookRequest: ...

    def ack_ok(self, status: int, body: bytes) -> bool:
        """Whether this is exactly the acknowledgement the platform expects for a message."""
        ...

    def sent(self) -> list[Sent]: ...

    def address(self, n: int) -> dict[str, Any]:
        """Where the reply to message `n` must go (same keys as `Sent.to`)."""
        ...
