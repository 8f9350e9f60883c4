"""`announce` posts one plain `chat.postMessage` to a channel, with no message to reply to."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.slack_api import POST_MESSAGE, FakeSlack
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.slack import adapter

TOKEN = "xoxb-1-announce"


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack(TOKEN)
    with serve(fake.api.app) as base:
        yield fake, base


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(http: httpx.AsyncClient, base: str) -> adapter.SlackAdapter:
    ctx = make_adapter_context(
        "slack",
        credentials={"botToken": TOKEN, "signingSecret": "s"},
        settings={"apiBase": base + "/api"},
        http=http,
    )
    return adapter.create(ctx)


async def test_announce_posts_to_the_channel(
    slack: tuple[FakeSlack, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = slack
    await make(http_client, base).announce("C0123ABCDEF", "canary promoted: helpdesk r42")
    (call,) = fake.api.received(POST_MESSAGE)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json() == {"channel": "C0123ABCDEF", "text": "canary promoted: helpdesk r42"}


async def test_a_channel_the_bot_is_not_in_is_a_permanent_error(
    slack: tuple[FakeSlack, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = slack
    fake.api.script("POST", POST_MESSAGE, body={"ok": False, "error": "not_in_channel"})
    with pytest.raises(PermanentSendError, match="not_in_channel") as raised:
        await make(http_client, base).announce("C0123ABCDEF", "canary aborted")
    assert TOKEN not in str(raised.value)
