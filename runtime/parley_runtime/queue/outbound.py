"""Sending replies: retry what a retry can fix, dead-letter the rest, never drop a reply silently.

Backoff is exponential with full jitter (a random wait in [0, min(max_delay, base * 2^n)]) so that
replicas retrying the same rate-limited platform do not stampede; a platform's own Retry-After
wins, bounded by `max_delay`. The error kept with a dead letter is a one-line summary: the
`SendError` text (written by adapters to hold no secrets) or, for anything else, only the
exception's type.
"""

import asyncio
import builtins
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from parley_runtime.core.ledger import LedgerUnavailable
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SendReply
from parley_runtime.core.send_errors import RetryableSendError, SendError
from parley_runtime.observability.metrics import Metrics

__all__ = ["DeadLetter", "DeadLetterStore", "OutboundSender", "error_summary"]

log = logging.getLogger("parley.outbound")

Sleep = Callable[[float], Awaitable[object]]


class DeadLetter(BaseModel):
    """A reply that could not be sent; `message.attempt` is how many sends were tried."""

    model_config = ConfigDict(frozen=True)

    id: str
    message: OutboundMessage
    error: str
    failed_at: float  # unix time

    @property
    def attempts(self) -> int:
        return self.message.attempt


class DeadLetterStore(Protocol):
    """Kept beside `DeadLetter`, the queue's own model it returns, rather than in `core.protocols`."""

    async def add(self, message: OutboundMessage, error: str) -> str: ...

    async def list(self, limit: int = 100) -> list[DeadLetter]: ...

    async def take(self, ids: Sequence[str] | None = None) -> builtins.list[DeadLetter]:
        """Removes and returns these entries (all when None) so that each is replayed once."""
        ...


def error_summary(exc: BaseException) -> str:
    if isinstance(exc, SendError):
        return f"{type(exc).__name__}: {exc}"[:500]
    return f"unexpected {type(exc).__name__}"


class OutboundSender:
    def __init__(
        self,
        send: SendReply,
        dead_letters: DeadLetterStore,
        *,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._send = send
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._metrics = metrics

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Seconds to wait after the `failures`-th failed attempt."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_delay)
        return self._rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (failures - 1)))

    async def deliver(self, message: OutboundMessage) -> bool:
        """True once sent; False when the message went to the dead letters instead."""
        platform = message.inbound.platform
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._send(message)
            except LedgerUnavailable:
                raise  # our store, not the platform: the message stays unacknowledged and comes back
            except RetryableSendError as exc:
                if attempt >= self.max_attempts:
                    return await self._dead_letter(
                        message, attempt, f"gave up after {attempt} attempts: ", exc
                    )
                self._count(platform, "retry")
                await self._sleep(self.backoff(attempt, exc.retry_after))
            except Exception as exc:  # permanent, or an adapter bug: a retry will not help
                return await self._dead_letter(message, attempt, "", exc)
            else:
                self._count(platform, "sent")
                return True

    async def _dead_letter(
        self, message: OutboundMessage, attempts: int, prefix: str, exc: Exception
    ) -> bool:
        error = prefix + error_summary(exc)
        entry = await self.dead_letters.add(
            message.model_copy(update={"attempt": message.attempt + attempts}), error
        )
        self._count(message.inbound.platform, "dead_letter")
        log.warning(
            "reply dead-lettered",
            extra={"dead_letter": entry, "platform": message.inbound.platform, "error": error},
        )
        return False

    def _count(self, platform: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.sends.labels(platform, outcome).inc()
