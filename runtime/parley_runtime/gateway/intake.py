"""Accepting an inbound event: de-duplicate by platform id, pick the track, enqueue."""

import logging

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import DedupStore, MessageQueue
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.gateway")

# Feishu retries for about 7.1 h, other platforms for minutes: a day covers every redelivery.
DEDUP_TTL_SECONDS = 24 * 3600.0


class Intake:
    def __init__(
        self, *, dedup: DedupStore, queue: MessageQueue, routes: RouteTable, metrics: Metrics
    ) -> None:
        self.dedup = dedup
        self.queue = queue
        self.routes = routes
        self.metrics = metrics

    async def accept(self, event: InboundMessage) -> bool:
        """True when enqueued, False for a redelivery already accepted."""
        key = f"{event.platform}:{event.binding}:{event.event_id}"
        if not await self.dedup.first_seen(key, DEDUP_TTL_SECONDS):
            self.metrics.duplicates.labels(event.platform).inc()
            log.info("duplicate dropped", extra={"event_id": event.event_id, "platform": event.platform})
            return False
        track = self.routes.track(event.bot, event.platform, event.user_id)
        try:
            await self.queue.put(event.model_copy(update={"track": track}))
        except BaseException:
            await self.dedup.forget(key)  # the platform's retry must not be dropped as a duplicate
            raise
        return True
