"""WeCom `send` against a real fake API server on 127.0.0.1."""

from collections.abc import Iterator

import httpx
import pytest

from fakes.wechat_api import FakeClock, make_context
from fakes.wecom_api import FakeWeComApi, Reply
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.wecom import adapter as wecom

CREDS = {
    "corpId": "ww-corp",
    "agentId": "1000002",
    "secret": "app-secret",
    "token": "cb-token",
    "encodingAESKey": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}
SEND = "/cgi-bin/message/send"


@pytest.fixture
def api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi(corp_id="ww-corp", secret="app-secret") as server:
        yield server


def make(
    api: FakeWeComApi, http: httpx.AsyncClient, clock: FakeClock | None = None, **creds: str
) -> wecom.WeComAdapter:
    ctx = make_context("wecom", {**CREDS, **creds}, http=http, settings={"apiBase": api.url}, clock=clock)
    return wecom.create(ctx)


def reply(text: str, fmt: str = "text", user: str = "ZhangSan") -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="wecom",
        binding="helpdesk-wecom",
        event_id="m1",
        chat_id=user,
        user_id=user,
        text="hi",
        reply_context={"touser": user, "agent_id": "1000002"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt)  # type: ignore[arg-type]


async def test_text_reply_and_token_cached(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("你好"))
    await adapter.send(reply("again"))
    assert len(api.calls("/cgi-bin/gettoken")) == 1
    sends = api.calls(SEND)
    assert [s.query["access_token"] for s in sends] == ["wecom-token-1", "wecom-token-1"]
    assert sends[0].json() == {
        "touser": "ZhangSan",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "你好"},
    }
    assert sends[0].method == "POST"


async def test_token_refreshed_before_expiry(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    clock = FakeClock()
    adapter = make(api, http, clock)
    await adapter.send(reply("one"))
    clock.now += 7200 - 60  # inside the refresh margin
    await adapter.send(reply("two"))
    assert len(api.calls("/cgi-bin/gettoken")) == 2
    assert api.calls(SEND)[-1].query["access_token"] == "wecom-token-2"


async def test_markdown(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    await make(api, http).send(reply("**bold**", "markdown"))
    assert api.calls(SEND)[0].json()["markdown"] == {"content": "**bold**"}


async def test_long_reply_is_split_at_2048_bytes(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    text = "报销" * 1500 + "\n" + "x" * 3000
    await make(api, http).send(reply(text))
    parts = [s.json()["text"]["content"] for s in api.calls(SEND)]
    assert len(parts) > 1 and "".join(parts) == text
    assert all(len(p.encode()) <= 2048 for p in parts)


async def test_expired_token_is_refetched_once(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    await adapter.send(reply("one"))
    api.issued.append("rotated-elsewhere")  # the cached token is no longer accepted (errcode 42001)
    await adapter.send(reply("two"))
    assert [s.query["access_token"] for s in api.calls(SEND)] == [
        "wecom-token-1",
        "wecom-token-1",
        "wecom-token-3",
    ]


async def test_token_rejected_twice_is_permanent(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(200, {"errcode": 40014}), Reply(200, {"errcode": 40014}))
    with pytest.raises(PermanentSendError, match="rejected twice"):
        await make(api, http).send(reply("x"))
    assert len(api.calls("/cgi-bin/gettoken")) == 2


async def test_429_with_retry_after_is_retryable(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(429, {}, {"Retry-After": "3"}))
    with pytest.raises(RetryableSendError) as info:
        await make(api, http).send(reply("x"))
    assert info.value.retry_after == 3.0


async def test_frequency_errcode_is_retryable_and_bad_user_permanent(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    api.script(SEND, Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    with pytest.raises(RetryableSendError, match="errcode 45009"):
        await make(api, http).send(reply("x"))
    api.script(SEND, Reply(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}))
    with pytest.raises(PermanentSendError, match="errcode 81013"):
        await make(api, http).send(reply("x"))


async def test_400_is_permanent_and_no_secret_leaks(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(400, {"error": "bad"}))
    with pytest.raises(PermanentSendError) as info:
        await make(api, http).send(reply("x"))
    assert "wecom-token" not in str(info.value) and "app-secret" not in str(info.value)


async def test_wrong_secret_is_permanent(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentSendError, match="gettoken failed") as info:
        await make(api, http, secret="wrong-secret").send(reply("x"))
    assert "wrong-secret" not in str(info.value)
    assert not api.calls(SEND)


async def test_unreachable_api_is_retryable(http: httpx.AsyncClient) -> None:
    with FakeWeComApi() as gone:
        url = gone.url
    ctx = make_context("wecom", CREDS, http=http, settings={"apiBase": url})
    with pytest.raises(RetryableSendError, match="connection error"):
        await wecom.create(ctx).send(reply("x"))


# `announce`: one app text message (`message/send`) to a member, with no message to reply to.


async def test_announce_sends_an_app_message_to_the_member(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    await make(api, http).announce("ZhangSan|LiSi", "canary promoted: helpdesk r42")
    (call,) = api.calls(SEND)
    assert call.query["access_token"] == api.issued[-1]
    assert call.json() == {
        "touser": "ZhangSan|LiSi",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "canary promoted: helpdesk r42"},
    }


async def test_an_unknown_member_is_a_permanent_error(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.script(SEND, Reply(200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}))
    with pytest.raises(PermanentSendError, match="errcode 81013") as raised:
        await make(api, http).announce("Nobody", "canary aborted")
    assert "app-secret" not in str(raised.value) and "wecom-token" not in str(raised.value)
