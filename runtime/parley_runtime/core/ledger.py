"""Sending each part of a reply at most once, whatever crashes in between (docs/reliability.md).

Adapters split a reply at their platform's limit and walk the parts through `unsent_parts`: a part
the ledger already holds is skipped, and a part is marked right after the platform accepted it. The
in-memory ledger serves processes without a durable store; `NoLedger` is the default of an adapter
built on its own.
"""

from collections.abc import AsyncIterator, Sequence

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SentLedger

__all__ = ["LedgerUnavailable", "MemoryLedger", "NoLedger", "unsent_parts"]


class LedgerUnavailable(Exception):
    """The ledger's store failed: not the platform's fault, so the reply must not be dead-lettered;
    the message stays unacknowledged and is delivered again once the store is back."""


class NoLedger:
    """Remembers nothing: every send sends every part (adapters built outside a runtime, in tests)."""

    async def reply(self, key: str) -> OutboundMessage | None:
        return None

    async def keep(self, message: OutboundMessage) -> None:
        return None

    async def sent_parts(self, key: str) -> frozenset[int]:
        return frozenset()

    async def mark_sent(self, key: str, part: int) -> None:
        return None


class MemoryLedger:
    """`SentLedger` in a dict: enough where the queue itself does not survive the process."""

    def __init__(self) -> None:
        self._replies: dict[str, OutboundMessage] = {}
        self._parts: dict[str, set[int]] = {}

    async def reply(self, key: str) -> OutboundMessage | None:
        return self._replies.get(key)

    async def keep(self, message: OutboundMessage) -> None:
        self._replies[message.inbound.key] = message

    async def sent_parts(self, key: str) -> frozenset[int]:
        return frozenset(self._parts.get(key, ()))

    async def mark_sent(self, key: str, part: int) -> None:
        self._parts.setdefault(key, set()).add(part)


async def unsent_parts(
    ledger: SentLedger, message: OutboundMessage, parts: Sequence[str]
) -> AsyncIterator[tuple[int, str]]:
    """(index, part) for each part not sent yet; a part is marked sent once the loop body that sent
    it finished without raising."""
    key = message.inbound.key
    try:
        done = await ledger.sent_parts(key)
    except Exception as exc:
        raise LedgerUnavailable(f"sent ledger: {type(exc).__name__}") from exc
    for index, part in enumerate(parts):
        if index in done:
            continue
        yield index, part
        try:
            await ledger.mark_sent(key, index)
        except Exception as exc:
            raise LedgerUnavailable(f"sent ledger: {type(exc).__name__}") from exc
