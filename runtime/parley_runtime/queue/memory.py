"""The in-process queue of `parley serve`: same contract as the Redis one, inside one event loop.

A delivery stays in flight until acknowledged. When its consumer lets go of it unacked (the
handler raised and dropped the delivery object) it goes back to the front of its track at once;
a handler that holds it unacked past the visibility timeout (hung) loses it too. Either way it is
handed out again with a higher `delivery_count`.
"""

import asyncio
import collections
import contextlib
import itertools
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from parley_runtime.core.messages import InboundMessage, Track

__all__ = ["InProcessQueue", "MemoryDelivery"]


@dataclass
class _Entry:
    id: int
    message: InboundMessage
    delivery_count: int = 0
    acked: bool = False
    deadline: float = 0.0  # clock time after which an unacked delivery is handed out again
    tag: int = 0  # the caller's own reference (the SQLite row of a durable queue)


class MemoryDelivery:
    def __init__(self, entry: _Entry, track: "_Track") -> None:
        self._entry = entry
        self._track = track
        self._count = entry.delivery_count

    @property
    def message(self) -> InboundMessage:
        return self._entry.message

    @property
    def delivery_count(self) -> int:
        return self._count

    @property
    def acked(self) -> bool:
        return self._entry.acked

    @property
    def tag(self) -> int:
        return self._entry.tag

    async def ack(self) -> None:
        self._track.ack(self._entry)


class _Track:
    """Ready and in-flight entries of one track."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.ready: collections.deque[_Entry] = collections.deque()
        self.in_flight: dict[int, _Entry] = {}
        self.changed = asyncio.Event()

    def push(self, entry: _Entry, *, front: bool = False) -> None:
        if front:
            self.ready.appendleft(entry)
        else:
            self.ready.append(entry)
        self.changed.set()

    def ack(self, entry: _Entry) -> None:
        if entry.acked:
            return
        entry.acked = True
        self.in_flight.pop(entry.id, None)
        if entry in self.ready:  # re-queued by a timeout, then acked late by the first consumer
            self.ready.remove(entry)

    def give_back(self, entry: _Entry, delivery_count: int) -> None:
        """An unacked delivery its consumer let go of: available again at once (unless already)."""
        if entry.acked or entry.delivery_count != delivery_count:
            return
        if self.in_flight.pop(entry.id, None) is not None:
            self.push(entry, front=True)

    def reclaim_expired(self) -> None:
        now = self.clock()
        for entry in [e for e in self.in_flight.values() if e.deadline <= now]:
            del self.in_flight[entry.id]
            self.push(entry, front=True)

    def take(self, visibility_timeout: float) -> _Entry | None:
        self.reclaim_expired()
        if not self.ready:
            return None
        entry = self.ready.popleft()
        entry.delivery_count += 1
        entry.deadline = self.clock() + visibility_timeout
        self.in_flight[entry.id] = entry
        return entry

    def next_deadline_in(self) -> float | None:
        if not self.in_flight:
            return None
        return max(0.0, min(e.deadline for e in self.in_flight.values()) - self.clock())


class InProcessQueue:
    """`core.protocols.MessageQueue` in memory: per-track queues, redelivery of unacked messages."""

    def __init__(
        self, *, visibility_timeout: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if visibility_timeout <= 0:
            raise ValueError("visibility_timeout must be positive")
        self.visibility_timeout = visibility_timeout
        self._clock = clock
        self._tracks: dict[str, _Track] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self._seen: dict[str, float] = {}  # de-duplication keys and when they expire

    def _track(self, track: Track) -> _Track:
        state = self._tracks.get(track)
        if state is None:
            state = self._tracks[track] = _Track(self._clock)
        return state

    async def put(self, message: InboundMessage) -> None:
        self.put_tagged(message, 0)

    def put_tagged(self, message: InboundMessage, tag: int) -> None:
        """Enqueue with a reference the consumer's delivery carries back (`delivery.tag`)."""
        if self._closed:
            raise RuntimeError("queue is closed")
        self._track(message.track).push(_Entry(next(self._ids), message, tag=tag))

    async def accept(self, message: InboundMessage, ttl_seconds: float) -> bool:
        """De-duplication in memory: it does not outlive the process (the SQLite queue's does)."""
        if ttl_seconds > 0:
            now = self._clock()
            if self._seen.get(message.key, 0.0) > now:
                return False
            if len(self._seen) > 100_000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            self._seen[message.key] = now + ttl_seconds
        self.put_tagged(message, 0)
        return True

    async def consume(self, track: Track, consumer: str) -> AsyncIterator[MemoryDelivery]:
        """Deliveries of `track` until `close()`; the consumer name only matters to the Redis queue."""
        state = self._track(track)
        while not self._closed:
            entry = state.take(self.visibility_timeout)
            if entry is None:
                await self._wait(state)
                continue
            delivery = MemoryDelivery(entry, state)
            # Collected without an ack means the handler let go of it: the failure signal.
            weakref.finalize(delivery, state.give_back, entry, entry.delivery_count)
            yield delivery
            del delivery  # so that this frame does not keep it alive

    async def _wait(self, state: _Track) -> None:
        state.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.changed.wait(), timeout=state.next_deadline_in())

    async def lag(self, track: Track) -> int:
        """Messages not yet acknowledged: waiting plus in flight."""
        state = self._track(track)
        return len(state.ready) + len(state.in_flight)

    async def close(self) -> None:
        self._closed = True
        for state in self._tracks.values():
            state.changed.set()
