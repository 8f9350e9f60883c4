"""The sent ledger: a reply's parts go out once each, across retries, redeliveries and restarts."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from parley_runtime.config.platforms import TelegramSettings
from parley_runtime.core.ledger import LedgerUnavailable, MemoryLedger, unsent_parts
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import SentLedger
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.telegram import adapter as telegram
from parley_runtime.queue.deadletter_sqlite import SqliteDeadLetterStore
from parley_runtime.queue.ledger_redis import RedisLedger
from parley_runtime.queue.outbound import OutboundSender
from parley_runtime.queue.sqlite_queue import SqliteQueue

TOKEN = "123456789:AAE-ledger-token"


@pytest.fixture(params=["sqlite", "redis", "memory"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SentLedger]:
    if request.param == "memory":
        yield MemoryLedger()
    elif request.param == "sqlite":
        queue = await SqliteQueue.open(tmp_path / "parley.sqlite3", bot="helpdesk")
        yield queue.ledger()
        await queue.close()
    else:
        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        yield RedisLedger(client, bot="helpdesk")
        await client.aclose()


@pytest.fixture
def fake() -> Iterator[tuple[FakeTelegram, str]]:
    api = FakeTelegram(TOKEN)
    with serve(api.api.app) as base:
        yield api, base


def inbound(event_id: str = "update-7") -> InboundMessage:
    return InboundMessage(
        bot="helpdesk", platform="telegram", binding="helpdesk-telegram", event_id=event_id,
        chat_id="42", user_id="7", text="tell me everything", reply_context={"chat_id": 42},
    )  # fmt: skip


def long_reply(event_id: str = "update-7") -> OutboundMessage:
    parts = [f"part {n} " + "x" * 4000 for n in range(3)]  # Telegram takes 4096 characters a message
    return OutboundMessage(inbound=inbound(event_id), text="\n\n".join(parts))


def adapter_for(base: str, http: httpx.AsyncClient, ledger: SentLedger) -> telegram.TelegramAdapter:
    settings = TelegramSettings.model_validate({"apiBase": base, "botUsername": "parley_bot"})
    return telegram.create(
        AdapterContext(
            bot="helpdesk",
            binding="helpdesk-telegram",
            platform="telegram",
            credentials={"botToken": TOKEN, "secretToken": "s"},
            settings=settings,
            http=http,
            metrics=Metrics(),
            clock=lambda: 0.0,
            ledger=ledger,
        )
    )


def texts(api: FakeTelegram) -> list[str]:
    return [str(body["text"]).split(" ")[1] for body in api.sent()]


async def test_a_part_is_marked_only_after_its_send_returned(ledger: SentLedger) -> None:
    message = long_reply()
    walked: list[int] = []
    with pytest.raises(RuntimeError):
        async for index, _part in unsent_parts(ledger, message, ["a", "b", "c"]):
            if index == 1:
                raise RuntimeError("the platform hung up")
            walked.append(index)
    assert await ledger.sent_parts(message.inbound.key) == {0}
    async for index, _part in unsent_parts(ledger, message, ["a", "b", "c"]):
        walked.append(index)
    assert walked == [0, 1, 2]
    assert await ledger.sent_parts(message.inbound.key) == {0, 1, 2}


async def test_a_kept_reply_reads_back_the_same(ledger: SentLedger) -> None:
    message = long_reply()
    assert await ledger.reply(message.inbound.key) is None
    await ledger.keep(message)
    assert await ledger.reply(message.inbound.key) == message


async def test_a_retry_after_a_partial_send_sends_only_the_rest(
    ledger: SentLedger, fake: tuple[FakeTelegram, str], tmp_path: Path
) -> None:
    api, base = fake
    ok: dict[str, Any] = {"ok": True, "result": {"message_id": 1, "chat": {"id": 42}, "text": ""}}
    api.api.script("POST", api.path("sendMessage"), status=200, body=ok)
    api.api.script(
        "POST", api.path("sendMessage"), status=502, body={"ok": False, "description": "Bad Gateway"}
    )
    dead_letters = await SqliteDeadLetterStore.open(tmp_path / "dl.sqlite3", bot="helpdesk")

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    async with httpx.AsyncClient() as http:
        sender = OutboundSender(adapter_for(base, http, ledger).send, dead_letters, sleep=no_wait)
        assert await sender.deliver(long_reply())
    # part 0 once; part 1 refused once by the platform (502), then sent; part 2 once
    assert texts(api) == ["0", "1", "1", "2"]
    assert len(api.api.received(api.path("sendMessage"))) == 4
    await dead_letters.close()


async def test_a_redelivered_message_sends_nothing_already_sent(
    ledger: SentLedger, fake: tuple[FakeTelegram, str]
) -> None:
    api, base = fake
    async with httpx.AsyncClient() as http:
        first = adapter_for(base, http, ledger)
        await first.send(long_reply())  # sent in full, then the engine died before acknowledging
        again = adapter_for(base, http, ledger)  # another engine, or the same after a restart
        await again.send(long_reply())
        await again.send(long_reply("update-8"))  # another message is not affected
    assert texts(api) == ["0", "1", "2", "0", "1", "2"]
    assert [b["reply_to_message_id"] for b in api.sent() if "reply_to_message_id" in b] == []


async def test_a_ledger_that_fails_leaves_the_reply_for_later_not_for_the_dead_letters(
    fake: tuple[FakeTelegram, str], tmp_path: Path
) -> None:
    api, base = fake
    queue = await SqliteQueue.open(tmp_path / "parley.sqlite3", bot="helpdesk")
    ledger = queue.ledger()
    await queue.close()  # the store is gone: every ledger call fails
    dead_letters = await SqliteDeadLetterStore.open(tmp_path / "dl.sqlite3", bot="helpdesk")
    async with httpx.AsyncClient() as http:
        sender = OutboundSender(adapter_for(base, http, ledger).send, dead_letters)
        with pytest.raises(LedgerUnavailable):
            await sender.deliver(long_reply())
    assert await dead_letters.list() == []
    assert api.sent() == []
    await dead_letters.close()
