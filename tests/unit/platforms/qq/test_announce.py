"""`announce` sends a proactive group message (no `msg_id`) with the app access token."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.qq_api import FakeQQ
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.qq import adapter

APP_ID, SECRET = "11111111", "DG5g3B4j9X2KOErG"
GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A"


@pytest.fixture
def qq() -> Iterator[tuple[FakeQQ, str]]:
    fake = FakeQQ(APP_ID, SECRET)
    with serve(fake.api.app) as base:
        yield fake, base


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(http: httpx.AsyncClient, base: str) -> adapter.QQAdapter:
    ctx = make_adapter_context(
        "qq",
        credentials={"appId": APP_ID, "appSecret": SECRET},
        settings={"apiBase": base, "tokenBase": base},
        http=http,
        clock=lambda: 1_763_691_000.0,
    )
    return adapter.create(ctx)


async def test_announce_posts_to_the_group(qq: tuple[FakeQQ, str], http_client: httpx.AsyncClient) -> None:
    fake, base = qq
    path = fake.route("group", GROUP)
    await make(http_client, base).announce(GROUP, "canary promoted: helpdesk r42")
    (call,) = fake.api.received(path)
    assert call.headers["authorization"] == "QQBot qq-token-1"
    assert call.json() == {"content": "canary promoted: helpdesk r42", "msg_type": 0}


async def test_a_refused_proactive_message_is_a_permanent_error(
    qq: tuple[FakeQQ, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = qq
    path = fake.route("group", GROUP)
    fake.api.script("POST", path, status=403, body={"code": 403, "message": "no permission"})
    with pytest.raises(PermanentSendError, match="HTTP 403") as raised:
        await make(http_client, base).announce(GROUP, "canary aborted")
    assert "qq-token" not in str(raised.value) and SECRET not in str(raised.value)


async def test_a_chat_id_that_would_change_the_url_is_refused_unsent(
    qq: tuple[FakeQQ, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = qq
    with pytest.raises(PermanentSendError, match="group_openid"):
        await make(http_client, base).announce("../../users/x", "hi")
    assert fake.api.requests == []
