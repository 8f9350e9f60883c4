"""An engine process that dies at one chosen point of a reply, for the chaos tests (a script, not
collected).

usage: engine_fault.py MANIFEST SECRETS_DIR DATA_DIR REDIS_URL|- CONSUMER FAULT

Builds the real components of the role (`app.components.build`: the Redis Streams queue and ledger of
an engine when REDIS_URL is given, else the SQLite queue and ledger of `parley serve` in DATA_DIR),
then consumes the stable track with `engine.worker.process`, the engine's own step: the pipeline
answers (echo model), the reply is kept in the ledger, the Telegram adapter sends its parts through
the outbound sender, and the delivery is acknowledged. FAULT is where the process dies (os._exit, no
clean-up, like SIGKILL):

  none           no death: process until the track is empty, then exit 0
  before-ack     the platform accepted every part of the first reply; die instead of acknowledging it
  between-parts  the first part was accepted and marked sent; die before the second part is sent
  before-mark    the first part was accepted; die before its mark is written (the known window)

Prints `done <event_id> <delivery_count>` per finished delivery and `dying <fault>` before dying.
"""

import asyncio
import os
import sys
from pathlib import Path

from parley_runtime.app import bootstrap, components
from parley_runtime.config.settings import RuntimeSettings
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import Delivery, SentLedger
from parley_runtime.engine import worker
from parley_runtime.queue.outbound import OutboundSender
from parley_runtime.queue.reply_route import ReplyRoute

EXIT_CODE = 9


def die(fault: str) -> None:
    print("dying", fault, flush=True)
    os._exit(EXIT_CODE)


class AckThatDies:
    """The delivery, except that acknowledging it kills the process first."""

    def __init__(self, inner: Delivery) -> None:
        self._inner = inner

    @property
    def message(self) -> InboundMessage:
        return self._inner.message

    @property
    def delivery_count(self) -> int:
        return self._inner.delivery_count

    async def ack(self) -> None:
        die("before-ack")


class LedgerThatDies:
    """The real ledger; the first part's mark kills the process just before or just after it is written."""

    def __init__(self, inner: SentLedger, fault: str) -> None:
        self._inner = inner
        self._fault = fault

    async def reply(self, key: str) -> OutboundMessage | None:
        return await self._inner.reply(key)

    async def keep(self, message: OutboundMessage) -> None:
        await self._inner.keep(message)

    async def sent_parts(self, key: str) -> frozenset[int]:
        return await self._inner.sent_parts(key)

    async def mark_sent(self, key: str, part: int) -> None:
        if self._fault == "before-mark" and part == 0:
            die(self._fault)
        await self._inner.mark_sent(key, part)
        if self._fault == "between-parts" and part == 0:
            die(self._fault)


async def main(manifest: str, secrets: str, data: str, redis_url: str, consumer: str, fault: str) -> None:
    settings = RuntimeSettings(
        role="engine" if redis_url != "-" else "serve",
        config_files=(Path(manifest),),
        secrets_dir=Path(secrets),
        data_dir=Path(data),
        redis_url=None if redis_url == "-" else redis_url,
        queue_visibility_timeout=0.5,
        log_level="WARNING",
    )
    cfg = bootstrap.load(settings)
    async with components.build(cfg) as comps:
        assert comps.pipeline is not None
        ledger = comps.ledger
        if fault in ("between-parts", "before-mark"):
            ledger = LedgerThatDies(comps.ledger, fault)
        adapters = components.build_adapters(cfg, comps.http, comps.metrics, ledger)
        sender = OutboundSender(ReplyRoute(adapters).send, comps.dead_letters)
        async for delivery in comps.queue.consume("stable", consumer):
            faulty: Delivery = AckThatDies(delivery) if fault == "before-ack" else delivery
            await worker.process(faulty, comps.pipeline, sender.deliver, comps.ledger)
            print("done", delivery.message.event_id, delivery.delivery_count, flush=True)
            if await comps.queue.lag("stable") == 0:
                break


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
