"""Accepting an inbound event: pick the track, then enqueue unless it is a redelivery."""

import logging

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import MessageQueue
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.gateway")

# Feishu retries for about 7.1 h, other platforms for minutes: a day covers every redelivery.
DEDUP_TTL_SECONDS = 24 * 3600.0


class Intake:
    def __init__(self, *, queue: MessageQueue, routes: RouteTable, metrics: Metrics) -> None:
        self.queue = queue
        self.routes = routes
        self.metrics = metrics

    async def accept(self, event: InboundMessage) -> bool:
        """True when enqueued (durably, in one step with its de-duplication mark), False for a
        redelivery already accepted."""
        routed = event.model_copy(
            update={"track": self.routes.track(event.bot, event.platform, event.user_id)}
        )
        if await self.queue.accept(routed, DEDUP_TTL_SECONDS):
            return True
        self.metrics.duplicates.labels(event.platform).inc()
        log.info("duplicate dropped", extra={"event_id": event.event_id, "platform": event.platform})
        return False
