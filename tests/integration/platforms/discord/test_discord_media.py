"""Discord against a fake API and CDN on 127.0.0.1: command attachments fetched under the bot's limits,
Markdown sent as is in 2000-unit pieces, images and audio as multipart follow-ups, and the sent ledger
across a redelivery."""

import base64
from collections.abc import Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.discord_api import PREFIX, FakeDiscord
from fakes.http_api import serve
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import MediaSource
from parley_runtime.platforms.discord import adapter
from parley_runtime.platforms.errors import RetryableSendError

APP, TOKEN = "1125000000000000001", "aW50ZXJhY3Rpb246c2VjcmV0LXRva2Vu"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
OGG = b"OggS\x00\x02" + b"\x00" * 64
CDN_PATH = "ephemeral-attachments/1125000000000000100/1310000000000000777/error.png"
SIGNED = "?ex=692a1b2c&is=6928c9ac&hm=3f1c0e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e&"


@pytest.fixture
def fake() -> Iterator[tuple[FakeDiscord, str]]:
    discord = FakeDiscord(APP, TOKEN)
    with serve(discord.api.app) as base:
        yield discord, base


def make(http: httpx.AsyncClient, base: str, ledger: MemoryLedger | None = None) -> adapter.DiscordAdapter:
    return adapter.create(
        make_adapter_context(
            "discord",
            credentials={"applicationId": APP, "publicKey": "00" * 32, "botToken": "bot-token-never-sent"},
            settings={"apiBase": base + PREFIX},
            http=http,
            ledger=ledger,
        )
    )


def inbound(*attachments: Attachment) -> InboundMessage:
    return InboundMessage(
        bot="helpdesk",
        platform="discord",
        binding="helpdesk-discord",
        event_id="1310000000000000007",
        chat_id="645027906669510667",
        user_id="80351110224678912",
        text="What does this error mean?",
        is_group=True,
        attachments=attachments,
        reply_context={"application_id": APP, "interaction_token": TOKEN},
    )


# --- media in -----------------------------------------------------------------------------------


def cdn_image(base: str, path: str, size: int | None = len(PNG)) -> Attachment:
    return Attachment(
        kind="image",
        mime_type="image/png",
        size=size,
        url=base + path + SIGNED,
        ref={"attachment_id": "1310000000000000777"},
        name="error.png",
    )


async def test_fetch_media_reads_the_signed_cdn_url_without_credentials(fake, http) -> None:
    discord, base = fake
    path = discord.host_attachment(CDN_PATH, PNG, mime_type="image/png")
    a = make(http, base)
    assert isinstance(a, MediaSource)
    attachment = cdn_image(base, path)
    assert await a.fetch_media(inbound(attachment), attachment, 10 << 20) == PNG
    (request,) = discord.api.received(path)
    assert request.query["hm"].startswith("3f1c0e9d") and "authorization" not in request.headers


async def test_declared_size_over_the_limit_downloads_nothing(fake, http) -> None:
    discord, base = fake
    path = discord.host_attachment(CDN_PATH, PNG)
    attachment = cdn_image(base, path, size=26 << 20)
    with pytest.raises(MediaTooLarge) as info:
        await make(http, base).fetch_media(inbound(attachment), attachment, 10 << 20)
    assert "10 MiB" in str(info.value) and discord.api.received(path) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
async def test_body_over_the_limit_is_refused(fake, http, chunked: bool) -> None:
    discord, base = fake
    path = discord.host_attachment(CDN_PATH, b"\x89PNG" + b"\0" * 9000, chunked=chunked)
    attachment = cdn_image(base, path, size=None)
    with pytest.raises(MediaTooLarge):
        await make(http, base).fetch_media(inbound(attachment), attachment, 8192)


async def test_expired_cdn_link_is_media_unavailable(fake, http) -> None:
    discord, base = fake
    discord.api.script("GET", "/" + CDN_PATH, status=404)  # Discord's answer once `ex` has passed
    attachment = cdn_image(base, "/" + CDN_PATH)
    with pytest.raises(MediaUnavailable) as info:
        await make(http, base).fetch_media(inbound(attachment), attachment, 1 << 20)
    assert info.value.cause == "HTTP 404" and "hm=" not in str(info.value)


# --- replies out --------------------------------------------------------------------------------


def reply(text: str = "", *, fmt: str = "text", attachments: tuple[Attachment, ...] = ()) -> OutboundMessage:
    return OutboundMessage(inbound=inbound(), text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def image(name: str | None = "chart.png") -> Attachment:
    return Attachment(kind="image", mime_type="image/png", url=data_url(PNG, "image/png"), name=name)


def voice() -> Attachment:
    return Attachment(kind="audio", mime_type="audio/ogg", url=data_url(OGG, "audio/ogg"), name="answer.ogg")


async def test_markdown_goes_as_is_in_2000_unit_pieces(fake, http) -> None:
    discord, base = fake
    code = "```py\n" + "print('🙂')\n" * 100 + "```"
    source = "**Short answer:** rotate it.\n\n" + "word " * 300 + "\n\n" + code
    await make(http, base).send(reply(source, fmt="markdown"))
    sent = discord.sent()
    assert [(s.method, s.path) for s in sent] == [("PATCH", discord.original), ("POST", discord.webhook)]
    contents = [s.payload["content"] for s in sent]
    assert contents[0].startswith("**Short answer:** rotate it.") and contents[1] == code
    assert all(len(c.encode("utf-16-le")) // 2 <= 2000 for c in contents)


async def test_text_then_files_as_multipart_follow_ups(fake, http) -> None:
    discord, base = fake
    await make(http, base).send(reply("Here is the chart.", attachments=(image(), voice())))
    text, chart, audio = discord.sent()
    assert (text.method, text.payload["content"], text.files) == ("PATCH", "Here is the chart.", {})
    assert (chart.method, chart.path, audio.method) == ("POST", discord.webhook, "POST")
    assert chart.payload == {
        "allowed_mentions": {"parse": []},
        "attachments": [{"id": 0, "filename": "chart.png"}],
    }
    assert chart.files == {"files[0]": ("chart.png", "image/png", PNG)}
    assert audio.payload["attachments"] == [{"id": 0, "filename": "answer.ogg"}]
    assert audio.files == {"files[0]": ("answer.ogg", "audio/ogg", OGG)}


async def test_a_file_only_reply_replaces_the_thinking_message(fake, http) -> None:
    discord, base = fake
    await make(http, base).send(reply(attachments=(image(None),)))
    (only,) = discord.sent()
    assert (only.method, only.path) == ("PATCH", discord.original)
    assert "content" not in only.payload and only.files["files[0]"][0] == "image-1.png"


async def test_redelivery_sends_no_part_twice(fake, http) -> None:
    discord, base = fake
    ledger = MemoryLedger()
    a = make(http, base, ledger)
    message = reply("Two charts.", attachments=(image("one.png"), image("two.png")))
    discord.api.script("POST", discord.webhook, status=429, body={"retry_after": 0.5, "global": False})
    with pytest.raises(RetryableSendError) as limited:
        await a.send(message)  # the text went out, the first file was rate limited
    await a.send(message)  # redelivered: the files
    await a.send(message)  # redelivered after success: nothing
    assert limited.value.retry_after == 0.5
    sent = [(s.method, s.files["files[0]"][0] if s.files else s.payload["content"]) for s in discord.sent()]
    assert sent == [
        ("PATCH", "Two charts."),
        ("POST", "one.png"),  # answered 429
        ("POST", "one.png"),
        ("POST", "two.png"),
    ]
