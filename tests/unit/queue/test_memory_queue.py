"""InProcessQueue behaviour beyond the shared contract: how `parley serve` recovers a failed handler."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import pytest

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import Delivery
from parley_runtime.queue.memory import InProcessQueue


def make_inbound(text: str = "hi", **overrides: object) -> InboundMessage:
    fields: dict[str, object] = {
        "bot": "b", "platform": "http", "binding": "b-http", "event_id": f"e-{text}",
        "chat_id": "c", "user_id": "u", "text": text,
    }  # fmt: skip
    fields.update(overrides)
    return InboundMessage.model_validate(fields)


async def take(consumer: AsyncIterator[Delivery], within: float = 5.0) -> Delivery:
    return await asyncio.wait_for(anext(consumer), within)


async def test_failed_handler_gets_the_message_again_without_waiting_for_the_timeout() -> None:
    queue = InProcessQueue(visibility_timeout=3600)  # the timeout cannot be what brings it back
    await queue.put(make_inbound("flaky"))
    attempts: list[int] = []

    async def handle(delivery: Delivery) -> None:
        attempts.append(delivery.delivery_count)
        if delivery.delivery_count == 1:
            raise RuntimeError("LLM timed out")
        await delivery.ack()

    consumer = queue.consume("stable", "serve")
    while not attempts or attempts[-1] < 2:
        delivery = await take(consumer)
        with contextlib.suppress(RuntimeError):  # like the engine worker: log, drop, no ack
            await handle(delivery)
        del delivery
        gc.collect()
    assert attempts == [1, 2]
    assert await queue.lag("stable") == 0
    await queue.close()


async def test_hung_handler_loses_the_message_after_the_visibility_timeout() -> None:
    queue = InProcessQueue(visibility_timeout=0.2)
    await queue.put(make_inbound("stuck"))
    hung = await take(queue.consume("stable", "a"))  # held, never acked
    again = await take(queue.consume("stable", "b"))
    assert again.message.text == "stuck"
    assert again.delivery_count == 2
    assert hung.delivery_count == 1
    await again.ack()
    assert await queue.lag("stable") == 0


async def test_late_ack_from_the_first_holder_settles_the_message() -> None:
    queue = InProcessQueue(visibility_timeout=0.1)
    await queue.put(make_inbound("slow"))
    first = await take(queue.consume("stable", "a"))
    await asyncio.sleep(0.2)  # expired, but nobody has taken it again yet
    await first.ack()
    assert await queue.lag("stable") == 0
    await queue.put(make_inbound("next"))
    nxt = await take(queue.consume("stable", "b"))
    assert nxt.message.text == "next"


async def test_close_ends_waiting_consumers() -> None:
    queue = InProcessQueue()
    consumer = queue.consume("canary", "a")
    pending = asyncio.ensure_future(anext(consumer))
    await asyncio.sleep(0.05)
    await queue.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)
    with pytest.raises(RuntimeError):
        await queue.put(make_inbound())


async def test_messages_keep_their_order_within_a_track() -> None:
    queue = InProcessQueue()
    for n in range(5):
        await queue.put(make_inbound(f"m{n}"))
    consumer = queue.consume("stable", "a")
    texts = []
    for _ in range(5):
        delivery = await take(consumer)
        texts.append(delivery.message.text)
        await delivery.ack()
    assert texts == [f"m{n}" for n in range(5)]


def test_visibility_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="visibility_timeout"):
        InProcessQueue(visibility_timeout=0)
