"""Feeds queued events through the pipeline and hands replies to the outbound sender.

A delivery is acknowledged only after its reply was sent or dead-lettered, so an engine that dies
mid-message leaves it pending for another engine to re-claim.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from parley_runtime.core.messages import OutboundMessage, Track
from parley_runtime.core.protocols import Delivery, MessageQueue
from parley_runtime.engine.pipeline import Pipeline

log = logging.getLogger("parley.engine")

Deliver = Callable[[OutboundMessage], Awaitable[object]]


async def process(delivery: Delivery, pipeline: Pipeline, deliver: Deliver) -> None:
    message = delivery.message
    reply = await pipeline.handle(message)
    if reply.text:
        await deliver(OutboundMessage(inbound=message, text=reply.text))
    await delivery.ack()


async def run(
    queue: MessageQueue,
    track: Track,
    consumer: str,
    pipeline: Pipeline,
    deliver: Deliver,
    *,
    concurrency: int = 64,
) -> None:
    """Consume `track` forever with at most `concurrency` messages in flight."""
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def guarded(delivery: Delivery) -> None:
        try:
            await process(delivery, pipeline, deliver)
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
