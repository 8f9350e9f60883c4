"""The send relay between engines and gateways, in-process against a real Redis: who answers decides."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from fakes.redis_server import RedisServer, running_redis
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import SendReply
from parley_runtime.core.send_errors import PermanentSendError, RetryableSendError
from parley_runtime.queue.send_relay import RelayClient, serve_sends


def reply(text: str = "hi there") -> OutboundMessage:
    inbound = InboundMessage(
        bot="relaybot", platform="onebot", binding="relaybot-qq", event_id="1:2", chat_id="7", user_id="7",
        text="hello", reply_context={"self_id": "1", "message_type": "private", "user_id": "7"},
    )  # fmt: skip
    return OutboundMessage(inbound=inbound, text=text)


@pytest.fixture(scope="module")
def relay_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("relay-redis")) as server:
        yield server


@contextlib.asynccontextmanager
async def engine_and_gateways(url: str, *gateways: SendReply) -> AsyncIterator[RelayClient]:
    client = aioredis.Redis.from_url(url)
    relay = RelayClient(client, bot="relaybot", consumer="engine-1")
    tasks = [asyncio.create_task(relay.run())]
    tasks += [
        asyncio.create_task(serve_sends(client, bot="relaybot", senders={"relaybot-qq": send}))
        for send in gateways
    ]
    try:
        async with asyncio.timeout(5):  # every gateway subscribed before the test publishes
            while True:
                counts = await client.pubsub_numsub("parley:relaybot:relay:relaybot-qq")
                if int(counts[0][1]) >= len(gateways):
                    break
                await asyncio.sleep(0.02)
        yield relay
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()


async def not_here(message: OutboundMessage) -> None:
    raise RetryableSendError("onebot", "no OneBot API connection for bot 1 in this process")


async def test_without_any_gateway_the_send_is_retryable(relay_redis: RedisServer) -> None:
    async with engine_and_gateways(relay_redis.url) as relay:
        with pytest.raises(RetryableSendError, match="no gateway listens for binding relaybot-qq"):
            await relay.send(reply(), wait_seconds=5)


async def test_the_gateway_holding_the_socket_sends_while_the_other_says_not_here(
    relay_redis: RedisServer,
) -> None:
    sent: list[OutboundMessage] = []

    async def holder(message: OutboundMessage) -> None:
        await asyncio.sleep(0.2)  # the socket round trip: "not here" from the other replica comes first
        sent.append(message)

    async with engine_and_gateways(relay_redis.url, not_here, holder) as relay:
        await relay.send(reply("over the socket"), wait_seconds=5)
    assert [m.text for m in sent] == ["over the socket"]
    assert sent[0].inbound.reply_context["user_id"] == "7"


async def test_when_every_gateway_says_not_here_the_send_is_retryable(relay_redis: RedisServer) -> None:
    async with engine_and_gateways(relay_redis.url, not_here, not_here) as relay:
        with pytest.raises(RetryableSendError, match="no OneBot API connection"):
            await relay.send(reply(), wait_seconds=5)


async def test_a_permanent_failure_comes_back_permanent(relay_redis: RedisServer) -> None:
    async def refused(message: OutboundMessage) -> None:
        raise PermanentSendError("onebot", "send_msg failed: retcode=1404 not here")

    async with engine_and_gateways(relay_redis.url, refused) as relay:
        with pytest.raises(PermanentSendError) as caught:
            await relay.send(reply(), wait_seconds=5)
    assert str(caught.value) == "onebot: send_msg failed: retcode=1404 not here"


async def test_a_gateway_that_never_answers_is_a_retryable_timeout(relay_redis: RedisServer) -> None:
    async def stuck(message: OutboundMessage) -> None:
        await asyncio.Event().wait()

    async with engine_and_gateways(relay_redis.url, stuck) as relay:
        with pytest.raises(RetryableSendError, match=r"no gateway answered within 0\.5s"):
            await relay.send(reply(), wait_seconds=0.5)


async def test_an_adapter_bug_is_permanent_and_names_only_the_type(relay_redis: RedisServer) -> None:
    async def buggy(message: OutboundMessage) -> None:
        raise KeyError("secret-looking detail")

    async with engine_and_gateways(relay_redis.url, buggy) as relay:
        with pytest.raises(PermanentSendError) as caught:
            await relay.send(reply(), wait_seconds=5)
    assert str(caught.value) == "onebot: unexpected KeyError"
