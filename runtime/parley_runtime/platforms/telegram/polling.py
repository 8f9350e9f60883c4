"""Long polling with `getUpdates`: in order, at least once, resuming after errors with capped backoff.

The offset advances past an update only after the sink accepted it (or the update was ignored), so a
failing sink makes the next poll fetch the same update again instead of losing it.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import EventSink
from parley_runtime.platforms.errors import SendError
from parley_runtime.platforms.telegram import convert
from parley_runtime.platforms.telegram.client import TelegramApi

__all__ = ["Backoff", "poll_forever"]

log = logging.getLogger(__name__)

Convert = Callable[[Any], Awaitable[InboundMessage | None]]  # async: it may ask getMe first


class Backoff:
    """Exponential delays (initial, doubled, capped) that reset after a success."""

    def __init__(self, initial: float = 1.0, maximum: float = 60.0) -> None:
        self.initial, self.maximum = initial, maximum
        self._next = initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def _in_order(updates: list[Any]) -> list[dict[str, Any]]:
    valid = [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
    return sorted(valid, key=lambda u: int(u["update_id"]))


async def poll_forever(
    api: TelegramApi,
    sink: EventSink,
    to_inbound: Convert,
    *,
    poll_seconds: int,
    sleep: Callable[[float], Awaitable[None]],
    backoff: Backoff | None = None,
) -> None:
    """Runs until cancelled."""
    backoff = backoff or Backoff()
    offset: int | None = None
    while True:
        try:
            updates = await api.get_updates(offset, poll_seconds)
        except SendError as exc:
            delay = backoff.next_delay()
            log.warning("telegram getUpdates failed, retrying", extra={"error": str(exc), "delay": delay})
            await sleep(delay)
            continue
        try:
            for update in _in_order(updates):
                try:
                    message = await to_inbound(update)
                except convert.BadUpdate:
                    message = None
                if message is not None:
                    await sink(message)
                offset = int(update["update_id"]) + 1
        except Exception as exc:  # the sink (queue) failed: keep the offset, fetch that update again
            delay = backoff.next_delay()
            log.warning("telegram update not enqueued, retrying", extra={"error": type(exc).__name__})
            await sleep(delay)
            continue
        backoff.reset()
