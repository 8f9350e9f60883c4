"""QQ media and Markdown against a fake QQ API and CDN on 127.0.0.1: attachments of signed dispatches
fetched from their URLs, Markdown sent as readable text, guild-channel replies (text and multipart
images), images left out where QQ takes media only by public URL, the sent ledger honoured."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.qq_api import FakeQQ
from fakes.wechat_api import parse_form
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.errors import RetryableSendError
from parley_runtime.platforms.qq import adapter

APP_ID, SECRET = "11111111", "DG5g3B4j9X2KOErG"
QQ_KEY = SigningKey(b"DG5g3B4j9X2KOErGDG5g3B4j9X2KOErG")  # what QQ signs with: the secret repeated
NOW = 1_763_691_338
GROUP, CHANNEL = "C9F778FE6ADF9D1D1DBE395BF744A33A", "100010"
DATA = Path(__file__).parents[3] / "data" / "qq"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fake() -> Iterator[tuple[FakeQQ, str]]:
    qq = FakeQQ(APP_ID, SECRET)
    with serve(qq.app) as base:
        yield qq, base


def make(http: httpx.AsyncClient, base: str, ledger: MemoryLedger | None = None) -> adapter.QQAdapter:
    ctx = make_adapter_context(
        "qq",
        credentials={"appId": APP_ID, "appSecret": SECRET},
        settings={"apiBase": base, "tokenBase": base},
        http=http,
        clock=lambda: float(NOW),
        ledger=ledger,
    )
    return adapter.create(ctx)


def signed(payload: dict[str, Any]) -> WebhookRequest:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = QQ_KEY.sign(str(NOW).encode() + body).signature.hex()
    headers = {"x-signature-ed25519": signature, "x-signature-timestamp": str(NOW), "x-bot-appid": APP_ID}
    return WebhookRequest(method="POST", headers=headers, body=body)


async def received(a: adapter.QQAdapter, name: str, **attachment: Any) -> InboundMessage:
    """The event of a recorded dispatch whose first attachment is changed by `attachment`."""
    payload = json.loads((DATA / name).read_text())
    payload["d"]["attachments"][0].update(attachment)
    result = await a.handle_webhook(signed(payload))
    (message,) = result.events
    return message


def reply(
    text: str, *, target: str = "group", fmt: str = "text", attachments: tuple[Attachment, ...] = ()
) -> OutboundMessage:
    openid = CHANNEL if target == "channel" else GROUP
    inbound = InboundMessage(
        bot="helpdesk",
        platform="qq",
        binding="helpdesk-qq",
        event_id="e",
        chat_id=openid,
        user_id="u",
        text="q",
        is_group=True,
        reply_context={"target": target, "openid": openid, "msg_id": "ROBOT1.0_abc"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def image(data: bytes, mime: str) -> Attachment:
    return Attachment(kind="image", mime_type=mime, url=data_url(data, mime))


# --- media in -------------------------------------------------------------------------------------


async def test_picture_of_a_c2c_message_is_fetched_from_its_url(fake, http) -> None:
    qq, base = fake
    path = qq.add_file("pic", JPEG, "image/jpeg")
    a = make(http, base)
    message = await received(a, "c2c_image.json", url=base + path, size=len(JPEG))
    assert message.text == "" and message.attachments[0].kind == "image"
    assert await a.fetch_media(message, message.attachments[0], 1 << 20) == JPEG
    assert qq.downloads == ["pic"] and qq.tokens_issued == 0  # a plain GET, no token


async def test_declared_size_over_the_limit_downloads_nothing(fake, http) -> None:
    qq, base = fake
    a = make(http, base)
    message = await received(a, "c2c_image.json", url=base + qq.add_file("pic", JPEG, "image/jpeg"))
    with pytest.raises(MediaTooLarge) as info:
        await a.fetch_media(message, message.attachments[0], 1000)  # the payload says 183245 bytes
    assert (info.value.size, info.value.limit) == (183245, 1000) and qq.downloads == []


async def test_content_length_and_streamed_bytes_over_the_limit(fake, http) -> None:
    qq, base = fake
    a = make(http, base)
    declared = await received(
        a, "c2c_image.json", url=base + qq.add_file("pic", JPEG, "image/jpeg"), size=None
    )
    with pytest.raises(MediaTooLarge):
        await a.fetch_media(declared, declared.attachments[0], 1000)
    voice_url = base + qq.add_file("voice.wav", b"RIFF" + b"\x00" * 9000, "audio/wav", chunked=True)
    streamed = await received(a, "group_at_voice.json", voice_wav_url=voice_url)
    with pytest.raises(MediaTooLarge, match="voice message is too large"):
        await a.fetch_media(streamed, streamed.attachments[0], 4096)


async def test_expired_link_is_media_unavailable(fake, http) -> None:
    _qq, base = fake
    a = make(http, base)
    message = await received(a, "c2c_image.json", url=base + "/download/expired", size=10)
    with pytest.raises(MediaUnavailable) as info:
        await a.fetch_media(message, message.attachments[0], 1 << 20)
    assert info.value.cause == "HTTP 404"
    with pytest.raises(MediaUnavailable):
        await a.fetch_media(message, Attachment(kind="image"), 1 << 20)  # no URL at all


# --- replies out ----------------------------------------------------------------------------------


async def test_markdown_is_sent_as_plain_text(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    await make(http, base).send(reply("## 纪要\n\n1. **结论**：上线\n2. 负责人 `Lena`", fmt="markdown"))
    (sent,) = qq.api.received(path)
    assert sent.json() == {
        "content": "纪要\n\n1. 结论：上线\n2. 负责人 Lena",
        "msg_type": 0,
        "msg_id": "ROBOT1.0_abc",
        "msg_seq": 1,
    }


async def test_group_images_are_left_out_but_the_text_is_sent(fake, http) -> None:
    qq, base = fake
    path = qq.route("group", GROUP)
    await make(http, base).send(reply("图在这里", attachments=(image(PNG, "image/png"),)))
    assert [r.json()["content"] for r in qq.api.received(path)] == ["图在这里"]
    assert [r.path for r in qq.api.requests if "/files" in r.path] == []
    await make(http, base).send(reply("", attachments=(image(PNG, "image/png"),)))  # nothing QQ takes
    assert len(qq.api.received(path)) == 1


async def test_channel_reply_text_and_multipart_image(fake, http) -> None:
    qq, base = fake
    path = qq.route("channel", CHANNEL)
    await make(http, base).send(reply("看这张", target="channel", attachments=(image(PNG, "image/png"),)))
    text, picture = qq.api.received(path)
    assert text.json() == {"content": "看这张", "msg_id": "ROBOT1.0_abc"}
    assert text.headers["authorization"] == "QQBot qq-token-1"
    form = parse_form(picture)
    assert form["msg_id"][2] == b"ROBOT1.0_abc"
    assert form["file_image"] == ("image.png", "image/png", PNG)


async def test_channel_redelivery_sends_only_the_image_that_failed(fake, http) -> None:
    qq, base = fake
    path = qq.route("channel", CHANNEL)
    qq.api.script("POST", path, status=200, body={"id": "1"})
    qq.api.script("POST", path, status=503, body={"code": 500, "message": "busy"})
    a = make(http, base, MemoryLedger())
    message = reply("", target="channel", attachments=(image(JPEG, "image/jpeg"), image(PNG, "image/png")))
    with pytest.raises(RetryableSendError):
        await a.send(message)
    await a.send(message)
    await a.send(message)
    sent = [parse_form(r)["file_image"][2] for r in qq.api.received(path)]
    assert sent == [JPEG, PNG, PNG]  # the second image failed once, then went out once
