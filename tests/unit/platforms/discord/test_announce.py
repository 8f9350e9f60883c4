"""`announce` posts one message to a channel with the bot token (interaction tokens only answer a
command)."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.discord_api import PREFIX, FakeDiscord
from fakes.http_api import serve
from parley_runtime.platforms.discord import adapter
from parley_runtime.platforms.errors import PermanentSendError

APP, BOT_TOKEN = "1125000000000000001", "MTEyNTAw.bot-token"
CHANNEL = "1300000000000000042"


@pytest.fixture
def discord() -> Iterator[tuple[FakeDiscord, str]]:
    fake = FakeDiscord(APP, "interaction-token")
    with serve(fake.api.app) as base:
        yield fake, base


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make(http: httpx.AsyncClient, base: str, bot_token: str = BOT_TOKEN) -> adapter.DiscordAdapter:
    ctx = make_adapter_context(
        "discord",
        credentials={"applicationId": APP, "publicKey": "00" * 32, "botToken": bot_token},
        settings={"apiBase": base + PREFIX},
        http=http,
    )
    return adapter.create(ctx)


async def test_announce_posts_in_the_channel_as_the_bot(
    discord: tuple[FakeDiscord, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = discord
    path = fake.channel(CHANNEL, bot_token=BOT_TOKEN)
    await make(http_client, base).announce(CHANNEL, "canary promoted: helpdesk r42 @everyone")
    (call,) = fake.api.received(path)
    assert call.headers["authorization"] == f"Bot {BOT_TOKEN}"
    # no mentions are parsed: an announcement never pings a whole server
    assert call.json() == {
        "allowed_mentions": {"parse": []},
        "content": "canary promoted: helpdesk r42 @everyone",
    }


async def test_a_refused_token_is_a_permanent_error(
    discord: tuple[FakeDiscord, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = discord
    fake.channel(CHANNEL, bot_token=BOT_TOKEN)
    with pytest.raises(PermanentSendError, match="HTTP 401") as raised:
        await make(http_client, base, bot_token="revoked").announce(CHANNEL, "canary aborted")
    assert "revoked" not in str(raised.value)


async def test_a_chat_id_that_is_no_channel_id_is_refused_unsent(
    discord: tuple[FakeDiscord, str], http_client: httpx.AsyncClient
) -> None:
    fake, base = discord
    with pytest.raises(PermanentSendError, match="channel id"):
        await make(http_client, base).announce("../users/@me", "hi")
    assert fake.api.requests == []
