"""Which way a reply leaves: straight through its binding's adapter, or through the gateway replica
that holds the binding's connection (OneBot's reverse WebSocket lands on one gateway pod; an engine
in the cluster hands such replies to it over the send relay)."""

from collections.abc import Mapping

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import PlatformAdapter
from parley_runtime.queue.send_relay import RelayClient

__all__ = ["ReplyRoute"]


class ReplyRoute:
    """`send` for the outbound sender; `relayed` maps a binding to how long to wait for the gateway."""

    def __init__(
        self,
        adapters: Mapping[str, PlatformAdapter],
        *,
        relay: RelayClient | None = None,
        relayed: Mapping[str, float] | None = None,
    ) -> None:
        self._adapters = adapters
        self._relay = relay
        self._relayed = dict(relayed or {}) if relay is not None else {}

    async def send(self, message: OutboundMessage) -> None:
        binding = message.inbound.binding
        wait = self._relayed.get(binding)
        if wait is not None and self._relay is not None:
            await self._relay.send(message, wait_seconds=wait)
        else:
            await self._adapters[binding].send(message)
