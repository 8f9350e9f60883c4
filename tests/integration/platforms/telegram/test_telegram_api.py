"""sendMessage and getUpdates long polling against a fake Bot API server on 127.0.0.1."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.telegram import adapter

TOKEN = "123456789:AAE-integration-token"
DATA = Path(__file__).parents[3] / "data" / "telegram"


@pytest.fixture
def fake() -> Iterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(TOKEN)
    with serve(telegram.api.app) as base:
        yield telegram, base


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def make(
    http: httpx.AsyncClient, base: str, sleep: RecordingSleep | None = None, **settings: Any
) -> adapter.TelegramAdapter:
    ctx = make_adapter_context(
        "telegram",
        credentials={"botToken": TOKEN, "secretToken": "s"},
        settings={"apiBase": base, "botUsername": "parley_helper_bot", **settings},
        http=http,
        clock=lambda: 5.0,
    )
    return adapter.TelegramAdapter(ctx, ctx.settings, sleep=sleep or RecordingSleep())  # type: ignore[arg-type]


def inbound(**context: Any) -> InboundMessage:
    return InboundMessage(
        bot="helpdesk",
        platform="telegram",
        binding="helpdesk-telegram",
        event_id="1",
        chat_id="-100",
        user_id="7",
        text="q",
        reply_context={"chat_id": -100, "message_id": 55, **context},
    )


async def test_send_message_replies_to_the_inbound(fake, http) -> None:
    telegram, base = fake
    await make(http, base).send(OutboundMessage(inbound=inbound(message_thread_id=3), text="Hello!"))
    (request,) = telegram.api.received(telegram.path("sendMessage"))
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "chat_id": -100,
        "text": "Hello!",
        "reply_to_message_id": 55,
        "allow_sending_without_reply": True,
        "message_thread_id": 3,
    }


async def test_long_reply_is_split_at_4096(fake, http) -> None:
    telegram, base = fake
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))  # ~10 000 characters
    await make(http, base).send(OutboundMessage(inbound=inbound(), text=text))
    sent = telegram.sent()
    assert len(sent) == 3 and all(len(s["text"]) <= 4096 for s in sent)
    assert "\n".join(s["text"] for s in sent) == text
    assert "reply_to_message_id" in sent[0] and "reply_to_message_id" not in sent[1]


async def test_markdown_falls_back_to_plain_text_when_telegram_cannot_parse_it(fake, http) -> None:
    telegram, base = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: unclosed"},
    )
    await make(http, base).send(OutboundMessage(inbound=inbound(), text="a *b", format="markdown"))
    first, second = telegram.sent()
    assert first["parse_mode"] == "Markdown" and "parse_mode" not in second and second["text"] == "a *b"


async def test_429_is_retryable_with_telegrams_retry_after(fake, http) -> None:
    telegram, base = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=429,
        body={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 17",
            "parameters": {"retry_after": 17},
        },
    )
    with pytest.raises(RetryableSendError) as info:
        await make(http, base).send(OutboundMessage(inbound=inbound(), text="x"))
    assert info.value.retry_after == 17
    assert TOKEN not in str(info.value) and "AAE" not in str(info.value)


async def test_400_is_permanent_and_5xx_retryable_without_the_token(fake, http) -> None:
    telegram, base = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    telegram.api.script("POST", telegram.path("sendMessage"), status=502)
    a = make(http, base)
    with pytest.raises(PermanentSendError, match="chat not found") as permanent:
        await a.send(OutboundMessage(inbound=inbound(), text="x"))
    with pytest.raises(RetryableSendError) as retryable:
        await a.send(OutboundMessage(inbound=inbound(), text="x"))
    for error in (permanent.value, retryable.value):
        assert TOKEN not in str(error) and error.__cause__ is None


async def test_unreachable_api_is_retryable_and_never_logs_the_token(http, caplog) -> None:
    with serve(FakeTelegram(TOKEN).api.app) as base:
        pass
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RetryableSendError) as info:
        await make(http, base).send(OutboundMessage(inbound=inbound(), text="x"))
    assert TOKEN not in str(info.value) and info.value.__cause__ is None
    assert all(
        "AAE-integration-token" not in r.getMessage() for r in caplog.records if r.name.startswith("parley")
    )


def update(uid: int, text: str) -> dict[str, Any]:
    body = json.loads((DATA / "private_text.json").read_text())
    return {**body, "update_id": uid, "message": {**body["message"], "text": text}}


async def wait_for(predicate, limit: float = 10.0) -> None:
    """Polls: part of the state lives in the fake server's thread, which cannot set an asyncio.Event."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_polling_delivers_in_order_and_advances_the_offset(fake, http) -> None:
    telegram, base = fake
    telegram.pending.extend([update(12, "second"), update(11, "first"), update(13, "third")])
    got: list[InboundMessage] = []

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    task = asyncio.create_task(make(http, base, mode="polling", pollTimeoutSeconds=1).run_connection(sink))
    try:
        await wait_for(lambda: len(got) == 3 and len(telegram.polls()) >= 2)
    finally:
        task.cancel()
    assert [m.text for m in got] == ["first", "second", "third"]
    assert [m.event_id for m in got] == ["11", "12", "13"]
    polls = telegram.polls()
    assert polls[0] == {"timeout": 1, "allowed_updates": ["message"]}
    assert polls[1]["offset"] == 14
    assert len(telegram.api.received(telegram.path("deleteWebhook"))) == 1


async def test_polling_backs_off_after_errors_and_resumes(fake, http) -> None:
    telegram, base = fake
    for status in (502, 502, 409):
        telegram.api.script(
            "POST",
            telegram.path("getUpdates"),
            status=status,
            body={"ok": False, "error_code": status, "description": "Conflict"},
        )
    telegram.pending.append(update(21, "after errors"))
    got: list[InboundMessage] = []
    sleep = RecordingSleep()

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    task = asyncio.create_task(make(http, base, sleep, mode="polling").run_connection(sink))
    try:
        await wait_for(lambda: len(got) == 1)
    finally:
        task.cancel()
    assert sleep.delays[:3] == [1.0, 2.0, 4.0]
    assert got[0].text == "after errors"


async def test_polling_refetches_an_update_the_sink_failed_to_take(fake, http) -> None:
    telegram, base = fake
    telegram.pending.extend([update(31, "a"), update(32, "b")])
    got: list[str] = []
    failures = [RuntimeError("queue down")]

    async def flaky_sink(message: InboundMessage) -> None:
        if message.text == "b" and failures:
            raise failures.pop()
        got.append(message.text)

    task = asyncio.create_task(make(http, base, mode="polling").run_connection(flaky_sink))
    try:
        await wait_for(lambda: "b" in got)
    finally:
        task.cancel()
    assert got == ["a", "b"]
    assert [p.get("offset") for p in telegram.polls()][:2] == [None, 32]


async def test_run_connection_refuses_webhook_mode(fake, http) -> None:
    _, base = fake

    async def sink(message: InboundMessage) -> None:
        raise AssertionError("no events expected")

    with pytest.raises(RuntimeError, match="webhook mode"):
        await make(http, base).run_connection(sink)
