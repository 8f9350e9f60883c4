"""Accepting an inbound event: de-duplicate by platform id, pick the track, enqueue."""

import logging
from collections.abc import Awaitable, Callable

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import DedupStore, MessageQueue
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.gateway")

# Feishu retries for about 7.1 h, other platforms for minutes: a day covers every redelivery.
DEDUP_TTL_SECONDS = 24 * 3600.0

# Enqueue the message unless its de-duplication key was already seen, atomically; True when enqueued.
EnqueueOnce = Callable[[InboundMessage, str, float], Awaitable[bool]]


class Intake:
    def __init__(
        self,
        *,
        dedup: DedupStore,
        queue: MessageQueue,
        routes: RouteTable,
        metrics: Metrics,
        enqueue_once: EnqueueOnce | None = None,
    ) -> None:
        self.dedup = dedup
        self.queue = queue
        self.routes = routes
        self.metrics = metrics
        self.enqueue_once = enqueue_once  # the cluster's one-round-trip path (a Redis script)

    async def accept(self, event: InboundMessage) -> bool:
        """True when enqueued, False for a redelivery already accepted."""
        key = f"{event.platform}:{event.binding}:{event.event_id}"
        routed = event.model_copy(
            update={"track": self.routes.track(event.bot, event.platform, event.user_id)}
        )
        if self.enqueue_once is not None:
            if await self.enqueue_once(routed, key, DEDUP_TTL_SECONDS):
                return True
            return self._duplicate(event)
        if not await self.dedup.first_seen(key, DEDUP_TTL_SECONDS):
            return self._duplicate(event)
        try:
            await self.queue.put(routed)
        except BaseException:
            await self.dedup.forget(key)  # the platform's retry must not be dropped as a duplicate
            raise
        return True

    def _duplicate(self, event: InboundMessage) -> bool:
        self.metrics.duplicates.labels(event.platform).inc()
        log.info("duplicate dropped", extra={"event_id": event.event_id, "platform": event.platform})
        return False
