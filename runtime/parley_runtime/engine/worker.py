"""Feeds queued events through the pipeline and hands replies to the outbound sender.

A delivery is acknowledged only after its reply was sent or dead-lettered, so an engine that dies
mid-message leaves it pending for another engine to re-claim. The reply is kept in the sent ledger
before it is sent, and adapters mark each part there once sent: a re-claimed message whose reply
exists is not answered anew, and what was sent of it is not sent again.

The model writes Markdown, so its answers go out as `markdown` for the adapter to render natively;
every other reply (plugins, refusals, apologies) is plain text. Images and voice ride along as the
reply's attachments.
"""

import asyncio
import logging

from parley_runtime.core.messages import OutboundMessage, Track
from parley_runtime.core.protocols import DeliverReply, Delivery, MessageQueue, SentLedger
from parley_runtime.engine.pipeline import Pipeline

log = logging.getLogger("parley.engine")


async def process(delivery: Delivery, pipeline: Pipeline, deliver: DeliverReply, ledger: SentLedger) -> None:
    message = delivery.message
    outbound = await ledger.reply(message.key)
    if outbound is None:
        reply = await pipeline.handle(message)
        if reply.text or reply.attachments:
            outbound = OutboundMessage(
                inbound=message,
                text=reply.text,
                format="markdown" if reply.outcome == "ok" else "text",
                attachments=reply.attachments,
            )
            await ledger.keep(outbound)
    if outbound is not None:
        await deliver(outbound)
    await delivery.ack()


async def run(
    queue: MessageQueue,
    track: Track,
    consumer: str,
    pipeline: Pipeline,
    deliver: DeliverReply,
    ledger: SentLedger,
    *,
    concurrency: int = 64,
) -> None:
    """Consume `track` forever with at most `concurrency` messages in flight."""
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def guarded(delivery: Delivery) -> None:
        try:
            await process(delivery, pipeline, deliver, ledger)
        except Exception:  # left unacknowledged: it will be re-delivered
            log.exception("processing failed", extra={"event_id": delivery.message.event_id})
        finally:
            slots.release()

    deliveries = aiter(queue.consume(track, consumer))
    try:
        while True:
            await slots.acquire()  # before taking a message: never hold one without a free slot
            try:
                delivery = await anext(deliveries)
            except StopAsyncIteration:
                slots.release()
                return
            task = asyncio.create_task(guarded(delivery))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
