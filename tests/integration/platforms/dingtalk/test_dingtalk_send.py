"""DingTalk replies: sessionWebhook while valid, robot OpenAPI after expiry, error mapping."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.dingtalk_api import SESSION_PATH, FakeDingTalk, Reply
from fakes.wechat_api import FakeClock, make_context
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

NOW = 1_700_000_000.0
CREDS = {"appKey": "ding-key", "appSecret": "ding-secret"}
GROUP_SEND = "/v1.0/robot/groupMessages/send"
CHAT = "cidPW4Kc1pQf8Ee0XMdY1KZ5w=="


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk() as server:
        yield server


def make(fake: FakeDingTalk, http: httpx.AsyncClient, **settings: Any) -> Any:
    ctx = make_context(
        "dingtalk", CREDS, http=http, settings={"apiBase": fake.url, **settings}, clock=FakeClock(NOW)
    )
    return dingtalk.create(ctx)


def reply(
    fake: FakeDingTalk,
    text: str,
    *,
    expires_in: float = 600,
    group: bool = True,
    fmt: str = "text",
    robot_code: str = "",
) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="dingtalk",
        binding="helpdesk-dingtalk",
        event_id="msg1",
        chat_id="cid1",
        user_id="staff1",
        text="hi",
        is_group=group,
        reply_context={
            "session_webhook": f"{fake.url}{SESSION_PATH}?session=s-1",
            "session_webhook_expires_ms": int((NOW + expires_in) * 1000),
            "conversation_id": "cid1",
            "is_group": group,
            "sender_staff_id": "staff1",
            "robot_code": robot_code,
        },
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt)  # type: ignore[arg-type]


async def test_reply_via_session_webhook(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    await make(fake, http).send(reply(fake, "张三值班"))
    (call,) = fake.calls(SESSION_PATH)
    assert call.query == {"session": "s-1"}
    assert call.json() == {"msgtype": "text", "text": {"content": "张三值班"}}
    assert "x-acs-dingtalk-access-token" not in call.headers and not fake.issued_tokens


async def test_markdown_via_session_webhook(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    await make(fake, http).send(reply(fake, "## 值班表\n- 张三", fmt="markdown"))
    assert fake.calls(SESSION_PATH)[0].json() == {
        "msgtype": "markdown",
        "markdown": {"title": "值班表", "text": "## 值班表\n- 张三"},  # the title plain, as shown outside
    }


async def test_long_reply_split(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    text = "x" * 12_000
    await make(fake, http).send(reply(fake, text))
    parts = [c.json()["text"]["content"] for c in fake.calls(SESSION_PATH)]
    assert [len(p) for p in parts] == [5000, 5000, 2000]


async def test_expired_session_without_robot_code_is_permanent(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentSendError, match="expired"):
        await make(fake, http).send(reply(fake, "late", expires_in=-1))
    assert not fake.requests


async def test_expired_group_session_falls_back_to_openapi(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    adapter = make(fake, http, robotCode="ding-robot")
    await adapter.send(reply(fake, "late", expires_in=-1))
    await adapter.send(reply(fake, "later", expires_in=-1))
    assert len(fake.calls("/v1.0/oauth2/accessToken")) == 1
    assert fake.calls("/v1.0/oauth2/accessToken")[0].json() == {
        "appKey": "ding-key",
        "appSecret": "ding-secret",
    }
    first, _ = fake.calls("/v1.0/robot/groupMessages/send")
    assert first.headers["x-acs-dingtalk-access-token"] == "ding-token-1"
    body = first.json()
    assert (body["robotCode"], body["openConversationId"], body["msgKey"]) == (
        "ding-robot",
        "cid1",
        "sampleText",
    )
    assert json.loads(body["msgParam"]) == {"content": "late"}
    assert not fake.calls(SESSION_PATH)


async def test_expired_single_chat_uses_batch_send(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    await make(fake, http).send(
        reply(fake, "**hi**", expires_in=-1, group=False, fmt="markdown", robot_code="rc-in")
    )
    (call,) = fake.calls("/v1.0/robot/oToMessages/batchSend")
    body = call.json()
    assert (body["robotCode"], body["userIds"], body["msgKey"]) == ("rc-in", ["staff1"], "sampleMarkdown")


async def test_rejected_token_is_refetched_once(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    adapter = make(fake, http, robotCode="ding-robot")
    await adapter.send(reply(fake, "a", expires_in=-1))
    fake.issued_tokens.append("rotated")
    await adapter.send(reply(fake, "b", expires_in=-1))
    tokens = [c.headers["x-acs-dingtalk-access-token"] for c in fake.calls("/v1.0/robot/groupMessages/send")]
    assert tokens == ["ding-token-1", "ding-token-1", "ding-token-3"]


async def test_session_webhook_429_and_fast_errcode_are_retryable(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    fake.script(SESSION_PATH, Reply(429, {}, {"Retry-After": "4"}), Reply(200, {"errcode": 130101}))
    with pytest.raises(RetryableSendError) as info:
        await make(fake, http).send(reply(fake, "x"))
    assert info.value.retry_after == 4.0
    with pytest.raises(RetryableSendError, match="130101"):
        await make(fake, http).send(reply(fake, "x"))


async def test_session_webhook_400_and_errcode_are_permanent(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    fake.script(SESSION_PATH, Reply(400, {}), Reply(200, {"errcode": 300001, "errmsg": "session invalid"}))
    with pytest.raises(PermanentSendError):
        await make(fake, http).send(reply(fake, "x"))
    with pytest.raises(PermanentSendError, match="300001"):
        await make(fake, http).send(reply(fake, "x"))


async def test_wrong_app_secret_is_permanent_and_hidden(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    ctx = make_context(
        "dingtalk",
        {**CREDS, "appSecret": "leaky"},
        http=http,
        settings={"apiBase": fake.url, "robotCode": "r"},
        clock=FakeClock(NOW),
    )
    with pytest.raises(PermanentSendError) as info:
        await dingtalk.create(ctx).send(reply(fake, "x", expires_in=-1))
    assert "leaky" not in str(info.value)


# `announce`: one `sampleText` robot message to a group (`groupMessages/send`): without an inbound
# message there is no sessionWebhook. Both modes (HTTP callbacks, Stream) announce alike.


@pytest.mark.parametrize(
    ("settings", "robot_code"),
    [
        ({}, "ding-key"),  # an enterprise-internal app's robot: robotCode is the AppKey
        ({"mode": "stream", "robotCode": "ding-robot"}, "ding-robot"),
    ],
)
async def test_announce_sends_a_robot_text_message_to_the_group(
    fake: FakeDingTalk, http: httpx.AsyncClient, settings: dict[str, str], robot_code: str
) -> None:
    await make(fake, http, **settings).announce(CHAT, "canary promoted: helpdesk r42")
    (call,) = fake.calls(GROUP_SEND)
    assert call.headers["x-acs-dingtalk-access-token"] == fake.issued_tokens[-1]
    body = call.json()
    assert {k: v for k, v in body.items() if k != "msgParam"} == {
        "robotCode": robot_code,
        "msgKey": "sampleText",
        "openConversationId": CHAT,
    }
    assert json.loads(body["msgParam"]) == {"content": "canary promoted: helpdesk r42"}


async def test_a_refused_group_is_a_permanent_error(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    fake.script(GROUP_SEND, Reply(400, {"code": "param.invalid", "message": "openConversationId is invalid"}))
    with pytest.raises(PermanentSendError, match=r"errcode param\.invalid") as raised:
        await make(fake, http).announce(CHAT, "canary aborted")
    assert "ding-secret" not in str(raised.value) and "ding-token" not in str(raised.value)
