"""Interaction follow-ups against a fake Discord API on 127.0.0.1."""

from collections.abc import Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.discord_api import PREFIX, FakeDiscord
from fakes.http_api import serve
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.platforms.discord import adapter
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

APP, TOKEN = "1125000000000000001", "aW50ZXJhY3Rpb246c2VjcmV0LXRva2Vu"
BOT_TOKEN, CHANNEL = "MTEyNTAw.bot-token", "1300000000000000042"


@pytest.fixture
def fake() -> Iterator[tuple[FakeDiscord, str]]:
    discord = FakeDiscord(APP, TOKEN)
    with serve(discord.api.app) as base:
        yield discord, base


def make(http: httpx.AsyncClient, base: str, bot_token: str = "bot") -> adapter.DiscordAdapter:
    return adapter.create(
        make_adapter_context(
            "discord",
            credentials={"applicationId": APP, "publicKey": "00" * 32, "botToken": bot_token},
            settings={"apiBase": base + PREFIX},
            http=http,
        )
    )


def reply(text: str) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="discord",
        binding="helpdesk-discord",
        event_id="1",
        chat_id="c",
        user_id="u",
        text="q",
        reply_context={"application_id": APP, "interaction_token": TOKEN},
    )
    return OutboundMessage(inbound=inbound, text=text)


async def test_short_reply_edits_the_deferred_original(fake, http) -> None:
    discord, base = fake
    await make(http, base).send(reply("Rotate it under Settings → API."))
    (request,) = discord.api.requests
    assert (request.method, request.path) == ("PATCH", discord.original)
    assert request.json() == {"content": "Rotate it under Settings → API.", "allowed_mentions": {"parse": []}}


async def test_long_reply_edits_then_follows_up(fake, http) -> None:
    discord, base = fake
    await make(http, base).send(reply("word " * 900))  # 4500 characters
    methods = [(r.method, r.path) for r in discord.api.requests]
    assert methods == [("PATCH", discord.original), ("POST", discord.webhook), ("POST", discord.webhook)]
    assert all(len(r.json()["content"]) <= 2000 for r in discord.api.requests)


async def test_429_with_retry_after_and_expired_token(fake, http) -> None:
    discord, base = fake
    discord.api.script(
        "PATCH",
        discord.original,
        status=429,
        body={"message": "You are being rate limited.", "retry_after": 1.5, "global": False},
    )
    discord.api.script("PATCH", discord.original, status=429, headers={"retry-after": "4"})
    discord.api.script(
        "PATCH", discord.original, status=404, body={"message": "Unknown Webhook", "code": 10015}
    )
    discord.api.script("PATCH", discord.original, status=502)
    a = make(http, base)
    with pytest.raises(RetryableSendError) as body_hint:
        await a.send(reply("x"))
    with pytest.raises(RetryableSendError) as header_hint:
        await a.send(reply("x"))
    with pytest.raises(PermanentSendError) as expired:
        await a.send(reply("x"))
    with pytest.raises(RetryableSendError) as server:
        await a.send(reply("x"))
    assert (body_hint.value.retry_after, header_hint.value.retry_after) == (1.5, 4.0)
    for error in (body_hint.value, header_hint.value, expired.value, server.value):
        assert TOKEN not in str(error)


async def test_missing_context_is_permanent(http) -> None:
    inbound = reply("x").inbound.model_copy(update={"reply_context": {}})
    with pytest.raises(PermanentSendError):
        await make(http, "http://127.0.0.1:9").send(OutboundMessage(inbound=inbound, text="x"))


# `announce`: one message in a channel with the bot token (interaction tokens only answer a command).


async def test_announce_posts_in_the_channel_as_the_bot(fake, http) -> None:
    discord, base = fake
    path = discord.channel(CHANNEL, bot_token=BOT_TOKEN)
    await make(http, base, bot_token=BOT_TOKEN).announce(CHANNEL, "canary promoted: helpdesk r42 @everyone")
    (call,) = discord.api.received(path)
    assert call.headers["authorization"] == f"Bot {BOT_TOKEN}"
    # no mentions are parsed: an announcement never pings a whole server
    assert call.json() == {
        "allowed_mentions": {"parse": []},
        "content": "canary promoted: helpdesk r42 @everyone",
    }


async def test_a_refused_token_is_a_permanent_error(fake, http) -> None:
    discord, base = fake
    discord.channel(CHANNEL, bot_token=BOT_TOKEN)
    with pytest.raises(PermanentSendError, match="HTTP 401") as raised:
        await make(http, base, bot_token="revoked").announce(CHANNEL, "canary aborted")
    assert "revoked" not in str(raised.value)


async def test_a_chat_id_that_is_no_channel_id_is_refused_unsent(fake, http) -> None:
    discord, base = fake
    with pytest.raises(PermanentSendError, match="channel id"):
        await make(http, base, bot_token=BOT_TOKEN).announce("../users/@me", "hi")
    assert discord.api.requests == []
