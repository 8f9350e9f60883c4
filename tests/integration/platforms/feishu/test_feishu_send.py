"""Feishu/Lark `send` against a real fake Open API server on 127.0.0.1."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.feishu_api import TOKEN_PATH, FakeFeishuApi, Reply
from fakes.wechat_api import make_context
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.feishu import adapter as feishu
from parley_runtime.platforms.feishu import client

CREDS = {"appId": "cli_app", "appSecret": "app-secret", "verificationToken": "v"}
MID = "om_5ce6d572455d361153b7cb51da133945"
REPLY = f"/open-apis/im/v1/messages/{MID}/reply"
MESSAGES = "/open-apis/im/v1/messages"
CHAT = "oc_5ad11d72b830411d72b836c20"


@pytest.fixture
def api() -> Iterator[FakeFeishuApi]:
    with FakeFeishuApi() as server:
        yield server


def make(
    api: FakeFeishuApi, http: httpx.AsyncClient, settings: dict[str, Any] | None = None, **creds: str
) -> feishu.FeishuAdapter:
    ctx = make_context(
        "feishu", {**CREDS, **creds}, http=http, settings={"apiBase": api.url, **(settings or {})}
    )
    return feishu.create(ctx)


def reply(text: str, fmt: str = "text", message_id: str = MID, event_id: str = "ev-1") -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="feishu",
        binding="helpdesk-feishu",
        event_id=event_id,
        chat_id="oc_1",
        user_id="ou_1",
        text="hi",
        reply_context={"message_id": message_id, "chat_id": "oc_1", "open_id": "ou_1"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt)  # type: ignore[arg-type]


async def test_reply_to_message_with_cached_token(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("下午三点"))
    await adapter.send(reply("again", event_id="ev-2"))
    (token_call,) = api.calls(TOKEN_PATH)
    assert token_call.json() == {"app_id": "cli_app", "app_secret": "app-secret"}
    first, second = api.calls(REPLY)
    assert first.headers["authorization"] == "Bearer t-1" and second.headers["authorization"] == "Bearer t-1"
    body = first.json()
    assert body["msg_type"] == "text" and json.loads(body["content"]) == {"text": "下午三点"}
    assert body["reply_in_thread"] is False
    assert body["uuid"] == client.idempotency_uuid("helpdesk-feishu", "ev-1", 0) and len(body["uuid"]) <= 50
    assert body["uuid"] != second.json()["uuid"]


async def test_retried_send_reuses_uuid(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("x"))
    await adapter.send(reply("x").model_copy(update={"attempt": 1}))
    assert len({c.json()["uuid"] for c in api.calls(REPLY)}) == 1


async def test_markdown_is_a_card_with_markdown(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    await make(api, http, {"replyInThread": True}).send(reply("**粗体**", "markdown"))
    body = api.calls(REPLY)[0].json()
    assert body["msg_type"] == "interactive" and body["reply_in_thread"] is True
    assert json.loads(body["content"]) == {
        "schema": "2.0",
        "body": {"elements": [{"tag": "markdown", "content": "**粗体**"}]},
    }


async def test_create_in_chat_without_message_id(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    await make(api, http).send(reply("proactive", message_id=""))
    (call,) = api.calls("/open-apis/im/v1/messages")
    assert call.query == {"receive_id_type": "chat_id"}
    assert call.json()["receive_id"] == "oc_1"


async def test_lark_default_base_and_override() -> None:
    ctx = make_context("lark", CREDS, http=None)
    assert "open.larksuite.com" in repr(feishu.create(ctx)._api)
    assert "open.feishu.cn" in repr(feishu.create(make_context("feishu", CREDS, http=None))._api)


async def test_long_text_split(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    text = "长" * 30_000
    await make(api, http).send(reply(text))
    parts = [json.loads(c.json()["content"])["text"] for c in api.calls(REPLY)]
    assert len(parts) == 3 and "".join(parts) == text


async def test_invalid_token_refetched_once(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("a"))
    api.issued.append("t-rotated")
    await adapter.send(reply("b", event_id="ev-2"))
    assert [c.headers["authorization"] for c in api.calls(REPLY)] == [
        "Bearer t-1",
        "Bearer t-1",
        "Bearer t-3",
    ]


async def test_429_retry_after_and_rate_code(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    api.script(REPLY, Reply(429, {"code": 99991400, "msg": "too many requests"}, {"Retry-After": "2"}))
    with pytest.raises(RetryableSendError) as info:
        await make(api, http).send(reply("x"))
    assert info.value.retry_after == 2.0


async def test_400_is_permanent(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    api.script(REPLY, Reply(400, {"code": 230002, "msg": "bot not in chat"}))
    with pytest.raises(PermanentSendError, match="HTTP 400") as info:
        await make(api, http).send(reply("x"))
    assert "t-1" not in str(info.value)


async def test_503_is_retryable(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    api.script(REPLY, Reply(503, b"upstream down"))
    with pytest.raises(RetryableSendError):
        await make(api, http).send(reply("x"))


async def test_bad_app_secret_is_permanent_and_hidden(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentSendError) as info:
        await make(api, http, appSecret="wrong-secret").send(reply("x"))
    assert "wrong-secret" not in str(info.value) and not api.calls(REPLY)


# `announce`: one text message created in a group chat (`receive_id_type=chat_id`) with the tenant
# token, with no message to reply to.


async def test_announce_creates_a_text_message_in_the_chat(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    await make(api, http).announce(CHAT, "canary promoted: helpdesk r42")
    (call,) = api.calls(MESSAGES)
    assert call.query == {"receive_id_type": "chat_id"}
    assert call.headers["authorization"] == f"Bearer {api.issued[-1]}"
    body = call.json()
    assert body == {"receive_id": CHAT, "msg_type": "text", "content": body["content"]}  # no dedup uuid
    assert json.loads(body["content"]) == {"text": "canary promoted: helpdesk r42"}


async def test_a_chat_the_bot_is_not_in_is_a_permanent_error(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    api.script(MESSAGES, Reply(400, {"code": 230002, "msg": "Bot/User can NOT be out of the chat."}))
    with pytest.raises(PermanentSendError, match="code 230002") as raised:
        await make(api, http).announce(CHAT, "canary aborted")
    assert "app-secret" not in str(raised.value) and "t-1" not in str(raised.value)
