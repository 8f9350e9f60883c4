"""What every adapter factory receives, and the `Origin` every payload conversion stamps on its message."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import httpx

from parley_runtime.config.platforms import PlatformSettings
from parley_runtime.core.ledger import NoLedger, unsent_parts
from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SentLedger
from parley_runtime.observability.metrics import Metrics


class OriginFields(TypedDict):
    """The `InboundMessage` fields an `Origin` fills."""

    bot: str
    platform: str
    binding: str
    received_at: float


@dataclass(frozen=True)
class Origin:
    """Who received an inbound message and when: the fields of `InboundMessage` that come from the
    binding, not from the platform payload. Adapters take it from `AdapterContext.origin()`; a payload
    conversion stamps it on the message it builds with `InboundMessage(**origin.inbound_fields(), …)`."""

    bot: str
    platform: str
    binding: str
    received_at: float  # seconds since the epoch, by the adapter context's clock

    def inbound_fields(self) -> OriginFields:
        return OriginFields(
            bot=self.bot, platform=self.platform, binding=self.binding, received_at=self.received_at
        )


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

    def origin(self) -> Origin:
        """This binding as the receiver of a message arriving now."""
        return Origin(bot=self.bot, platform=self.platform, binding=self.binding, received_at=self.clock())

    def unsent(self, message: OutboundMessage, parts: Sequence[str]) -> AsyncIterator[tuple[int, str]]:
        """(index, part) for the parts of `message` still to send; each is marked once sent."""
        return unsent_parts(self.ledger, message, parts)
