"""Passive replies against a fake QQ API on 127.0.0.1: token fetched once and cached, re-fetched once
on 401, msg_seq increments, errors mapped."""

from collections.abc import Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.qq_api import TOKEN_PATH, FakeQQ
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.qq import adapter

APP_ID, SECRET = "11111111", "DG5g3B4j9X2KOErG"
GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A"


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_691_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[tuple[FakeQQ, str]]:
    qq = FakeQQ(APP_ID, SECRET)
    with serve(qq.api.app) as base:
        yield qq, base


def make(
    http: httpx.AsyncClient, base: str, clock: Clock | None = None, secret: str = SECRET
) -> adapter.QQAdapter:
    return adapter.create(
        make_adapter_context(
            "qq",
            credentials={"appId": APP_ID, "appSecret": secret},
            settings={"apiBase": base, "tokenBase": base},
            http=http,
            clock=clock or Clock(),
        )
    )


def reply(
    text: str = "会议纪要如下", *, target: str = "group", openid: str = GROUP, attempt: int = 0
) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="qq",
        binding="helpdesk-qq",
        event_id="e",
        chat_id=openid,
        user_id="u",
        text="q",
        is_group=target == "group",
        reply_context={"target": target, "openid": openid, "msg_id": "ROBOT1.0_abc"},
    )
    return OutboundMessage(inbound=inbound, text=text, attempt=attempt)


async def test_group_reply_with_cached_token_and_incrementing_seq(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    a = make(http, base)
    await a.send(reply("first"))
    await a.send(reply("second"))
    assert qq.tokens_issued == 1
    (token_request,) = qq.api.received(TOKEN_PATH)
    assert token_request.json() == {"appId": APP_ID, "clientSecret": SECRET}
    first, second = qq.api.received(path)
    assert first.headers["authorization"] == "QQBot qq-token-1"
    assert first.json() == {"content": "first", "msg_type": 0, "msg_id": "ROBOT1.0_abc", "msg_seq": 1}
    assert second.json()["msg_seq"] == 2


async def test_c2c_route(fake, http) -> None:
    qq, base = fake
    path = qq.route("user", "E4F4AEA33253A2797FB897C50B81D7ED")
    await make(http, base).send(reply(target="user", openid="E4F4AEA33253A2797FB897C50B81D7ED"))
    assert len(qq.api.received(path)) == 1


async def test_token_is_refreshed_before_expiry(fake, http) -> None:
    qq, base = fake
    qq.route("group", GROUP)
    clock = Clock()
    a = make(http, base, clock)
    await a.send(reply())
    clock.now += 7200 - 30  # inside the last minute of the token's life
    await a.send(reply())
    assert qq.tokens_issued == 2


async def test_revoked_token_is_refetched_once(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    a = make(http, base)
    await a.send(reply())
    qq.revoke_all()
    await a.send(reply())
    assert qq.tokens_issued == 2
    assert [r.headers["authorization"] for r in qq.api.received(path)] == [
        "QQBot qq-token-1",
        "QQBot qq-token-1",
        "QQBot qq-token-2",
    ]


async def test_retry_attempt_uses_fresh_seq_numbers(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    await make(http, base).send(reply(attempt=2))
    assert qq.api.received(path)[0].json()["msg_seq"] == 11


async def test_errors(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    qq.api.script("POST", path, status=429, headers={"retry-after": "2"})
    qq.api.script("POST", path, status=400, body={"code": 22009, "message": "msg limit exceed"})
    a = make(http, base)
    with pytest.raises(RetryableSendError) as limited:
        await a.send(reply())
    with pytest.raises(PermanentSendError, match="22009"):
        await a.send(reply())
    assert limited.value.retry_after == 2.0
    with pytest.raises(PermanentSendError, match="appId/appSecret") as bad_secret:
        await make(http, base, secret="wrong-secret").send(reply())
    assert "wrong-secret" not in str(bad_secret.value)


# `announce`: a proactive group message (no `msg_id`) with the app access token.


async def test_announce_posts_to_the_group(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    await make(http, base).announce(GROUP, "canary promoted: helpdesk r42")
    (call,) = qq.api.received(path)
    assert call.headers["authorization"] == "QQBot qq-token-1"
    assert call.json() == {"content": "canary promoted: helpdesk r42", "msg_type": 0}


async def test_a_refused_proactive_message_is_a_permanent_error(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    qq.api.script("POST", path, status=403, body={"code": 403, "message": "no permission"})
    with pytest.raises(PermanentSendError, match="HTTP 403") as raised:
        await make(http, base).announce(GROUP, "canary aborted")
    assert "qq-token" not in str(raised.value) and SECRET not in str(raised.value)


async def test_a_chat_id_that_would_change_the_url_is_refused_unsent(fake, http) -> None:
    qq, base = fake
    with pytest.raises(PermanentSendError, match="group_openid"):
        await make(http, base).announce("../../users/x", "hi")
    assert qq.api.requests == []
