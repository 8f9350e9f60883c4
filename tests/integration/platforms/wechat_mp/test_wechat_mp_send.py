"""WeChat MP `send` (customer-service API) against a real fake API server on 127.0.0.1."""

from collections.abc import Iterator

import httpx
import pytest

from fakes.wechat_api import FakeWeChatApi, Reply, make_context
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.wechat_mp import adapter as mp

CREDS = {"appId": "wx-app", "appSecret": "wx-secret", "token": "AAAAA"}
SEND = "/cgi-bin/message/custom/send"
OPENID = "oEXAMPLEfollower0000000000001"


@pytest.fixture
def api() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi(app_id="wx-app", secret="wx-secret") as server:
        yield server


def make(api: FakeWeChatApi, http: httpx.AsyncClient, **creds: str) -> mp.WeChatMpAdapter:
    return mp.create(make_context("wechat-mp", {**CREDS, **creds}, http=http, settings={"apiBase": api.url}))


def reply(text: str, fmt: str = "text") -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="wechat-mp",
        binding="helpdesk-wechat-mp",
        event_id="1",
        chat_id=OPENID,
        user_id=OPENID,
        text="hi",
        reply_context={"touser": OPENID},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt)  # type: ignore[arg-type]


async def test_reply_via_customer_service_api_with_cached_token(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    await adapter.send(reply("营业到九点"))
    await adapter.send(reply("**markdown** is sent as plain text", "markdown"))
    (token_call,) = api.calls("/cgi-bin/token")
    assert token_call.query == {"grant_type": "client_credential", "appid": "wx-app", "secret": "wx-secret"}
    first, second = api.calls(SEND)
    assert first.query == {"access_token": "mp-token-1"}
    assert first.json() == {"touser": OPENID, "msgtype": "text", "text": {"content": "营业到九点"}}
    assert second.json()["text"]["content"] == "markdown is sent as plain text"


async def test_long_reply_split(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    text = "答" * 1000
    await make(api, http).send(reply(text))
    parts = [c.json()["text"]["content"] for c in api.calls(SEND)]
    assert len(parts) == 2 and "".join(parts) == text and all(len(p.encode()) <= 2048 for p in parts)


async def test_invalidated_token_refetched_once(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("a"))
    api.issued.append("fetched-by-another-replica")
    await adapter.send(reply("b"))
    assert [c.query["access_token"] for c in api.calls(SEND)] == ["mp-token-1", "mp-token-1", "mp-token-3"]


async def test_429_retry_after(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(429, {}, {"Retry-After": "7"}))
    with pytest.raises(RetryableSendError) as info:
        await make(api, http).send(reply("x"))
    assert info.value.retry_after == 7.0


async def test_500_is_retryable_and_400_permanent(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(502, {}), Reply(400, {}))
    with pytest.raises(RetryableSendError):
        await make(api, http).send(reply("x"))
    with pytest.raises(PermanentSendError):
        await make(api, http).send(reply("x"))


async def test_48h_window_closed_is_permanent(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(200, {"errcode": 45015, "errmsg": "response out of time limit"}))
    with pytest.raises(PermanentSendError, match="errcode 45015"):
        await make(api, http).send(reply("x"))


async def test_wrong_secret_is_permanent_and_not_leaked(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentSendError) as info:
        await make(api, http, appSecret="leaky-secret").send(reply("x"))
    assert "leaky-secret" not in str(info.value) and not api.calls(SEND)


# `announce`: one customer-service text message to a follower, with no message to reply to.


async def test_announce_sends_a_customer_service_message(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    await make(api, http).announce(OPENID, "canary promoted: helpdesk r42")
    (call,) = api.calls(SEND)
    assert call.query["access_token"] == api.issued[-1]
    assert call.json() == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "canary promoted: helpdesk r42"},
    }


async def test_a_follower_silent_for_48_hours_is_a_permanent_error(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    api.script(SEND, Reply(200, {"errcode": 45015, "errmsg": "response out of time limit"}))
    with pytest.raises(PermanentSendError, match="errcode 45015") as raised:
        await make(api, http).announce(OPENID, "canary aborted")
    assert "wx-secret" not in str(raised.value) and "mp-token" not in str(raised.value)
