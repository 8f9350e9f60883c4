"""`parley serve`'s rate limiter: a sliding-window log per key, in process memory.

Each key keeps the times of its accepted messages from the last minute, so the limit holds over any
60-second span (a fixed window would let 2x the limit through around a boundary). Refused messages are
not recorded: a user who keeps trying is let back in one minute after their earlier messages. Keys idle
for a whole window are swept, so memory follows active users only. Not thread-safe: one event loop.
"""

import collections
import time
from collections.abc import Callable

__all__ = ["WINDOW_SECONDS", "InProcessRateLimiter"]

WINDOW_SECONDS = 60.0


class InProcessRateLimiter:
    """`clock` returns monotonic seconds; tests pass a settable one to roll the window."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, collections.deque[float]] = {}
        self._next_sweep: float | None = None

    async def allow(self, key: str, limit_per_minute: int) -> bool:
        if limit_per_minute < 0:
            raise ValueError("limit_per_minute must be >= 0 (0 means unlimited)")
        if limit_per_minute == 0:
            return True
        now = self._clock()
        self._sweep(now)
        hits = self._hits.setdefault(key, collections.deque())
        cutoff = now - WINDOW_SECONDS
        while hits and hits[0] <= cutoff:
            hits.popleft()
        if len(hits) >= limit_per_minute:
            return False
        hits.append(now)
        return True

    def tracked_keys(self) -> int:
        """How many keys hold state: what the sweep keeps bounded."""
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + WINDOW_SECONDS
        cutoff = now - WINDOW_SECONDS
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= cutoff]
        for key in idle:
            del self._hits[key]
