"""Replies through OutboundSender to a real fake platform over HTTP, into the dead letters and back out.

Each store test runs twice: with the SQLite file of `parley serve` and with the Redis streams of
the cluster.
"""

import random

import httpx
import pytest

from fakes.http_api import RecordingApi
from integration.queue.outbound_platform import BOT_TOKEN, SEND_PATH, Sleeps, platform_send
from parley_runtime.core.protocols import Outbox
from parley_runtime.queue.outbound import DeadLetterStore, OutboundSender
from parley_runtime.queue.outbox import drain_periodically


def texts_delivered(api: RecordingApi) -> list[str]:
    return [r.json()["text"] for r in api.received(SEND_PATH)]


async def test_two_503s_then_success(
    platform_api: tuple[RecordingApi, str], stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    api, base_url = platform_api
    api.script("POST", SEND_PATH, status=503)
    api.script("POST", SEND_PATH, status=503)
    dead_letters, _ = stores
    sleeps = Sleeps()
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(
            platform_send(http, base_url), dead_letters, sleep=sleeps, rng=random.Random(3)
        )
        assert await sender.deliver(make_outbound("third time lucky")) is True
    assert texts_delivered(api) == ["third time lucky"] * 3
    assert len(sleeps.calls) == 2
    assert 0 <= sleeps.calls[0] <= 0.5 and 0 <= sleeps.calls[1] <= 1.0
    assert await dead_letters.list() == []


async def test_retry_after_from_the_platform_is_honoured(
    platform_api: tuple[RecordingApi, str], stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    api, base_url = platform_api
    api.script("POST", SEND_PATH, status=429, headers={"Retry-After": "7"})
    api.script("POST", SEND_PATH, status=429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(platform_send(http, base_url), stores[0], sleep=sleeps, max_delay=30.0)
        assert await sender.deliver(make_outbound()) is True
    assert sleeps.calls == [7.0, 30.0]


async def test_permanent_400_is_dead_lettered_without_secrets(
    platform_api: tuple[RecordingApi, str], stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    api, base_url = platform_api
    api.script("POST", SEND_PATH, status=400, body={"ok": False, "description": "chat not found"})
    dead_letters, _ = stores
    sleeps = Sleeps()
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(platform_send(http, base_url), dead_letters, sleep=sleeps)
        assert await sender.deliver(make_outbound("nobody home", user_id="u-9")) is False
    assert len(api.received(SEND_PATH)) == 1 and sleeps.calls == []
    [entry] = await dead_letters.list()
    assert entry.message.text == "nobody home"
    assert entry.message.inbound.user_id == "u-9"
    assert entry.attempts == 1
    assert "HTTP 400" in entry.error
    assert BOT_TOKEN not in entry.error and "SECRET" not in entry.model_dump_json()


async def test_exhausted_attempts_are_dead_lettered(
    platform_api: tuple[RecordingApi, str], stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    api, base_url = platform_api
    for _ in range(4):
        api.script("POST", SEND_PATH, status=502)
    dead_letters, _ = stores
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(platform_send(http, base_url), dead_letters, max_attempts=4, sleep=Sleeps())
        assert await sender.deliver(make_outbound("down")) is False
    [entry] = await dead_letters.list()
    assert entry.attempts == 4
    assert entry.error.startswith("gave up after 4 attempts: RetryableSendError: telegram: HTTP 502")


async def test_dead_letter_replay_through_the_outbox_reaches_the_platform(
    platform_api: tuple[RecordingApi, str], stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    api, base_url = platform_api
    dead_letters, box = stores
    for _ in range(2):
        api.script("POST", SEND_PATH, status=400)  # e.g. a platform outage answered as 400s
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(platform_send(http, base_url), dead_letters, sleep=Sleeps())
        assert await sender.deliver(make_outbound("first")) is False
        assert await sender.deliver(make_outbound("second")) is False
        listed = await dead_letters.list()
        assert [e.message.text for e in listed] == ["first", "second"]

        # `parley dlq replay <id>`: out of the DLQ, into the outbox — only the one asked for
        taken = await dead_letters.take([listed[1].id])
        assert [e.message.text for e in taken] == ["second"]
        assert await dead_letters.take([listed[1].id]) == []  # a second replay finds nothing
        assert await box.put([e.message for e in taken]) == 1

        # a running engine drains the outbox through the same sender
        assert await box.drain(sender.deliver) == 1
        assert await box.drain(sender.deliver) == 0
    assert texts_delivered(api)[-1] == "second"
    assert [e.message.text for e in await dead_letters.list()] == ["first"]
    taken = await dead_letters.take(None)
    assert [e.message.text for e in taken] == ["first"]
    assert await dead_letters.list() == []


class _Stop(Exception):
    pass


async def test_engines_drain_the_outbox_periodically_and_survive_a_failing_round(
    stores: tuple[DeadLetterStore, Outbox], make_outbound
) -> None:
    _, box = stores
    await box.put([make_outbound("queued for replay")])
    delivered: list[str] = []
    rounds: list[float] = []

    async def deliver(message) -> bool:
        if not rounds:
            raise ConnectionError("store hiccup")  # first round fails: message must stay queued
        delivered.append(message.text)
        return True

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        await drain_periodically(box, deliver, interval=2.5, sleep=sleep)
    assert delivered == ["queued for replay"]
    assert rounds == [2.5, 2.5, 2.5]
    assert await box.drain(deliver) == 0
