"""chat.postMessage against a fake Slack Web API on 127.0.0.1: payload, threads, errors in both forms."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.slack_api import POST_MESSAGE, FakeSlack
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.slack import adapter

TOKEN = "xoxb-1234-integration"


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack(TOKEN)
    with serve(slack.api.app) as base:
        yield slack, base


def make(http: httpx.AsyncClient, base: str, token: str = TOKEN, **settings: Any) -> adapter.SlackAdapter:
    return adapter.create(
        make_adapter_context(
            "slack",
            credentials={"botToken": token, "signingSecret": "s"},
            settings={"apiBase": f"{base}/api", **settings},
            http=http,
        )
    )


def reply(
    text: str = "VPN is vpn.example.com", *, group: bool = True, fmt: str = "text", **ctx: str
) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="slack",
        binding="helpdesk-slack",
        event_id="Ev1",
        chat_id="C0GENERAL1",
        user_id="U1",
        text="q",
        is_group=group,
        reply_context={"channel": "C0GENERAL1", "ts": "1.0", **ctx},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt)  # type: ignore[arg-type]


async def test_reply_in_thread_with_bearer_token(fake, http) -> None:
    slack, base = fake
    await make(http, base).send(reply())
    (request,) = slack.api.received(POST_MESSAGE)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "channel": "C0GENERAL1",
        "text": "VPN is vpn.example.com",
        "thread_ts": "1.0",
    }


async def test_thread_settings(fake, http) -> None:
    slack, base = fake
    await make(http, base, replyInThread=False).send(reply(fmt="markdown"))
    await make(http, base, replyInThread=False).send(reply(thread_ts="0.5"))
    await make(http, base).send(reply(group=False))
    top, in_thread, direct = slack.posted()
    assert "thread_ts" not in top
    assert in_thread["thread_ts"] == "0.5"
    assert "thread_ts" not in direct


async def test_long_reply_is_split(fake, http) -> None:
    slack, base = fake
    await make(http, base).send(reply("word " * 2000))
    posted = slack.posted()
    assert len(posted) == 3 and all(len(p["text"]) <= 4000 for p in posted)


async def test_ratelimited_in_both_forms_is_retryable(fake, http) -> None:
    slack, base = fake
    slack.api.script("POST", POST_MESSAGE, status=429, headers={"retry-after": "30"})
    slack.api.script(
        "POST", POST_MESSAGE, body={"ok": False, "error": "ratelimited"}, headers={"retry-after": "3"}
    )
    a = make(http, base)
    with pytest.raises(RetryableSendError) as http_429:
        await a.send(reply())
    with pytest.raises(RetryableSendError, match="ratelimited") as ok_false:
        await a.send(reply())
    assert (http_429.value.retry_after, ok_false.value.retry_after) == (30.0, 3.0)


async def test_permanent_errors(fake, http) -> None:
    slack, base = fake
    slack.api.script("POST", POST_MESSAGE, status=400)
    slack.api.script("POST", POST_MESSAGE, body={"ok": False, "error": "channel_not_found"})
    a = make(http, base)
    with pytest.raises(PermanentSendError):
        await a.send(reply())
    with pytest.raises(PermanentSendError, match="channel_not_found"):
        await a.send(reply())
    with pytest.raises(PermanentSendError, match="invalid_auth") as info:
        await make(http, base, token="xoxb-wrong-token").send(reply())
    assert "xoxb-wrong-token" not in str(info.value)


async def test_5xx_is_retryable(fake, http) -> None:
    slack, base = fake
    slack.api.script("POST", POST_MESSAGE, status=503)
    with pytest.raises(RetryableSendError):
        await make(http, base).send(reply())


# `announce`: one plain chat.postMessage to a channel, with no message to reply to.


async def test_announce_posts_to_the_channel(fake, http) -> None:
    slack, base = fake
    await make(http, base).announce("C0123ABCDEF", "canary promoted: helpdesk r42")
    (call,) = slack.api.received(POST_MESSAGE)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json() == {"channel": "C0123ABCDEF", "text": "canary promoted: helpdesk r42"}


async def test_a_channel_the_bot_is_not_in_is_a_permanent_error(fake, http) -> None:
    slack, base = fake
    slack.api.script("POST", POST_MESSAGE, body={"ok": False, "error": "not_in_channel"})
    with pytest.raises(PermanentSendError, match="not_in_channel") as raised:
        await make(http, base).announce("C0123ABCDEF", "canary aborted")
    assert TOKEN not in str(raised.value)
