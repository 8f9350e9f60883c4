"""What every adapter factory receives."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from parley_runtime.config.platforms import PlatformSettings
from parley_runtime.core.ledger import NoLedger, unsent_parts
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SentLedger
from parley_runtime.observability.metrics import Metrics


@dataclass(frozen=True)
class AdapterContext:
    bot: str
    binding: str
    platform: str
    credentials: Mapping[str, str] = field(repr=False)
    settings: PlatformSettings
    http: httpx.AsyncClient
    metrics: Metrics
    clock: Callable[[], float]  # time.time in production; a fake in tests
    # What was sent already (durable in `parley serve` and the cluster), so a redelivered message
    # sends none of its parts twice.
    ledger: SentLedger = field(default_factory=NoLedger, repr=False)

    def unsent(self, message: OutboundMessage, parts: Sequence[str]) -> AsyncIterator[tuple[int, str]]:
        """(index, part) for the parts of `message` still to send; each is marked once sent."""
        return unsent_parts(self.ledger, message, parts)
