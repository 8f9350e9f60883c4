"""Accepting an inbound event: apply the binding's group policy, pick the track, then enqueue unless it
is a redelivery."""

import logging
from collections.abc import Mapping

from parley_runtime.config.models import GroupPolicy
from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import MessageQueue
from parley_runtime.gateway import group_policy
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.observability.metrics import Metrics

log = logging.getLogger("parley.gateway")

# Feishu retries for about 7.1 h, other platforms for minutes: a day covers every redelivery.
DEDUP_TTL_SECONDS = 24 * 3600.0

DEFAULT_POLICY = GroupPolicy()

# (bot, binding) -> that binding's `spec.group`; a binding not named gets the default policy.
Policies = Mapping[tuple[str, str], GroupPolicy]


class Intake:
    def __init__(
        self, *, queue: MessageQueue, routes: RouteTable, metrics: Metrics, policies: Policies | None = None
    ) -> None:
        self.queue = queue
        self.routes = routes
        self.metrics = metrics
        self.policies: Policies = policies or {}

    async def accept(self, event: InboundMessage) -> bool:
        """True when enqueued (durably, in one step with its de-duplication mark) or deliberately
        ignored by the group policy, False for a redelivery already accepted. Either way the platform
        gets its normal acknowledgement."""
        admitted = group_policy.admit(self.policies.get((event.bot, event.binding), DEFAULT_POLICY), event)
        if admitted is None:  # before the track pick: no rate limit, plugin or model ever sees it
            self.metrics.messages.labels(event.platform, "stable", "ignored").inc()
            log.debug(
                "message ignored by the group policy",
                extra={"event_id": event.event_id, "platform": event.platform, "binding": event.binding},
            )
            return True
        routed = admitted.model_copy(
            update={"track": self.routes.track(admitted.bot, admitted.platform, admitted.user_id)}
        )
        if await self.queue.accept(routed, DEDUP_TTL_SECONDS):
            return True
        self.metrics.duplicates.labels(event.platform).inc()
        log.info("duplicate dropped", extra={"event_id": event.event_id, "platform": event.platform})
        return False
