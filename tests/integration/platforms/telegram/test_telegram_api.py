"""sendMessage and getUpdates long polling against a fake Bot API server on 127.0.0.1."""

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

DATA = Path(__file__).parents[3] / "data" / "telegram"


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


async def test_send_message_replies_to_the_inbound(fake, make_adapter) -> None:
    telegram, _ = fake
    await make_adapter().send(OutboundMessage(inbound=inbound(message_thread_id=3), text="Hello!"))
    (request,) = telegram.api.received(telegram.path("sendMessage"))
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "chat_id": -100,
        "text": "Hello!",
        "reply_to_message_id": 55,
        "allow_sending_without_reply": True,
        "message_thread_id": 3,
    }


async def test_long_reply_is_split_at_4096(fake, make_adapter) -> None:
    telegram, _ = fake
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))  # ~10 000 characters
    await make_adapter().send(OutboundMessage(inbound=inbound(), text=text))
    sent = telegram.sent()
    assert len(sent) == 3 and all(len(s["text"]) <= 4096 for s in sent)
    assert "\n".join(s["text"] for s in sent) == text
    assert "reply_to_message_id" in sent[0] and "reply_to_message_id" not in sent[1]


MARKDOWN = "**Hi** <there>, see [the docs](https://example.com/a?b=1&c=2)"


async def test_markdown_is_sent_as_telegram_html(fake, make_adapter) -> None:
    telegram, _ = fake
    await make_adapter().send(OutboundMessage(inbound=inbound(), text=MARKDOWN, format="markdown"))
    (sent,) = telegram.sent()
    assert sent["parse_mode"] == "HTML" and sent["reply_to_message_id"] == 55
    assert sent["text"] == (
        '<b>Hi</b> &lt;there&gt;, see <a href="https://example.com/a?b=1&amp;c=2">the docs</a>'
    )


async def test_markdown_falls_back_to_plain_text_when_telegram_cannot_parse_it(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=400,
        body={
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: can't parse entities: Unsupported start tag at byte offset 12",
        },
    )
    await make_adapter().send(OutboundMessage(inbound=inbound(), text=MARKDOWN, format="markdown"))
    first, second = telegram.sent()
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second and second["reply_to_message_id"] == 55
    assert second["text"] == "Hi <there>, see the docs (https://example.com/a?b=1&c=2)"


async def test_other_markdown_rejections_are_not_masked(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    with pytest.raises(PermanentSendError, match="chat not found"):
        await make_adapter().send(OutboundMessage(inbound=inbound(), text=MARKDOWN, format="markdown"))
    assert len(telegram.sent()) == 1


async def test_long_markdown_is_split_at_4096_utf16_units_outside_code_blocks(fake, make_adapter) -> None:
    telegram, _ = fake
    paragraphs = [f"Paragraph {i}: " + "é😀 word " * 60 for i in range(12)]
    code = "```python\n" + "\n".join(f"print({i})" for i in range(200)) + "\n```"
    source = "\n\n".join([*paragraphs[:6], code, *paragraphs[6:]])
    await make_adapter().send(OutboundMessage(inbound=inbound(), text=source, format="markdown"))
    sent = telegram.sent()
    assert len(sent) > 2 and all(s["parse_mode"] == "HTML" for s in sent)
    assert all(len(s["text"].encode("utf-16-le")) // 2 <= 4096 for s in sent)
    (with_code,) = [s["text"] for s in sent if "print(0)" in s["text"]]
    assert "print(199)" in with_code and with_code.count("<pre>") == 1
    assert "reply_to_message_id" in sent[0] and all("reply_to_message_id" not in s for s in sent[1:])


async def test_429_is_retryable_with_telegrams_retry_after(fake, make_adapter) -> None:
    telegram, _ = fake
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
        await make_adapter().send(OutboundMessage(inbound=inbound(), text="x"))
    assert info.value.retry_after == 17
    assert telegram.token not in str(info.value) and "AAE" not in str(info.value)


async def test_400_is_permanent_and_5xx_retryable_without_the_token(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script(
        "POST",
        telegram.path("sendMessage"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    telegram.api.script("POST", telegram.path("sendMessage"), status=502)
    a = make_adapter()
    with pytest.raises(PermanentSendError, match="chat not found") as permanent:
        await a.send(OutboundMessage(inbound=inbound(), text="x"))
    with pytest.raises(RetryableSendError) as retryable:
        await a.send(OutboundMessage(inbound=inbound(), text="x"))
    for error in (permanent.value, retryable.value):
        assert telegram.token not in str(error) and error.__cause__ is None


async def test_unreachable_api_is_retryable_and_never_logs_the_token(fake, make_adapter, caplog) -> None:
    token = fake[0].token
    with serve(FakeTelegram(token).api.app) as gone:
        pass
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RetryableSendError) as info:
        await make_adapter(apiBase=gone).send(OutboundMessage(inbound=inbound(), text="x"))
    assert token not in str(info.value) and info.value.__cause__ is None
    assert all(
        "AAE-integration-token" not in r.getMessage() for r in caplog.records if r.name.startswith("parley")
    )


# `announce`: one plain sendMessage to a chat the bot is in, with no message to reply to.


async def test_announce_sends_plain_text_to_the_chat(fake, make_adapter) -> None:
    telegram, _ = fake
    await make_adapter().announce("-1001234567890", "canary promoted: helpdesk r42 → 100 %")
    (call,) = telegram.calls("sendMessage")
    assert call.path == f"/bot{telegram.token}/sendMessage"  # the token in the path is the credential
    assert call.json() == {"chat_id": "-1001234567890", "text": "canary promoted: helpdesk r42 → 100 %"}


async def test_a_refused_chat_is_a_permanent_error(fake, make_adapter) -> None:
    telegram, _ = fake
    answer = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    telegram.api.script("POST", telegram.path("sendMessage"), status=400, body=answer)
    with pytest.raises(PermanentSendError, match="chat not found") as raised:
        await make_adapter().announce("-100999", "canary aborted")
    assert telegram.token not in str(raised.value)


def update(uid: int, text: str) -> dict[str, Any]:
    body = json.loads((DATA / "private_text.json").read_text())
    return {**body, "update_id": uid, "message": {**body["message"], "text": text}}


async def wait_for(predicate, limit: float = 10.0) -> None:
    """Polls: part of the state lives in the fake server's thread, which cannot set an asyncio.Event."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_polling_delivers_in_order_and_advances_the_offset(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.pending.extend([update(12, "second"), update(11, "first"), update(13, "third")])
    got: list[InboundMessage] = []

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    task = asyncio.create_task(make_adapter(mode="polling", pollTimeoutSeconds=1).run_connection(sink))
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


async def test_polling_backs_off_after_errors_and_resumes(fake, make_adapter, sleep) -> None:
    telegram, _ = fake
    for status in (502, 502, 409):
        telegram.api.script(
            "POST",
            telegram.path("getUpdates"),
            status=status,
            body={"ok": False, "error_code": status, "description": "Conflict"},
        )
    telegram.pending.append(update(21, "after errors"))
    got: list[InboundMessage] = []

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    task = asyncio.create_task(make_adapter(mode="polling").run_connection(sink))
    try:
        await wait_for(lambda: len(got) == 1)
    finally:
        task.cancel()
    assert sleep.delays[:3] == [1.0, 2.0, 4.0]
    assert got[0].text == "after errors"


async def test_polling_refetches_an_update_the_sink_failed_to_take(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.pending.extend([update(31, "a"), update(32, "b")])
    got: list[str] = []
    failures = [RuntimeError("queue down")]

    async def flaky_sink(message: InboundMessage) -> None:
        if message.text == "b" and failures:
            raise failures.pop()
        got.append(message.text)

    task = asyncio.create_task(make_adapter(mode="polling").run_connection(flaky_sink))
    try:
        await wait_for(lambda: "b" in got)
    finally:
        task.cancel()
    assert got == ["a", "b"]
    assert [p.get("offset") for p in telegram.polls()][:2] == [None, 32]


async def test_run_connection_refuses_webhook_mode(make_adapter) -> None:
    async def sink(message: InboundMessage) -> None:
        raise AssertionError("no events expected")

    with pytest.raises(RuntimeError, match="webhook mode"):
        await make_adapter().run_connection(sink)
