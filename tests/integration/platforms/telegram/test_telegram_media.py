"""Media against the fake Bot API: inbound files through getFile and the download path under the size
caps, and reply pictures and voice as multipart uploads, none sent twice when a reply is redelivered."""

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

DATA = Path(__file__).parents[3] / "data" / "telegram"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # 10 244 bytes
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
OGG = b"OggS\x00\x02" + bytes(300)
MP3 = b"ID3\x04" + bytes(150)


def inbound(**context: Any) -> InboundMessage:
    return InboundMessage(
        bot="helpdesk",
        platform="telegram",
        binding="helpdesk-telegram",
        event_id="700000020",
        chat_id="-100",
        user_id="7",
        text="",
        reply_context={"chat_id": -100, "message_id": 55, **context},
    )


def photo(size: int | None, file_id: str = "AgAC-photo") -> Attachment:
    return Attachment(kind="image", mime_type="image/jpeg", size=size, ref={"file_id": file_id})


# -- media in ------------------------------------------------------------------------------------


async def test_fetch_media_asks_get_file_then_downloads_the_path(fake, make_adapter, caplog) -> None:
    telegram, _ = fake
    telegram.add_file("AgAC-photo", JPEG, path="photos/file_7.jpg")
    caplog.set_level(logging.DEBUG)
    data = await make_adapter().fetch_media(inbound(), photo(len(JPEG)), 1 << 20)
    assert data == JPEG
    (get_file,) = telegram.calls("getFile")
    assert get_file.json() == {"file_id": "AgAC-photo"}
    assert [r.path for r in telegram.downloads()] == [telegram.file_path("photos/file_7.jpg")]
    # ours only: httpx logs URLs at INFO, which observability.logs silences for every process
    assert all(telegram.token not in r.getMessage() for r in caplog.records if r.name.startswith("parley"))


async def test_a_converted_voice_message_can_be_fetched(fake, make_adapter) -> None:
    telegram, _ = fake
    adapter = make_adapter()
    body = (DATA / "voice.json").read_bytes()
    result = await adapter.handle_webhook(
        WebhookRequest(method="POST", headers={"x-telegram-bot-api-secret-token": "s"}, body=body)
    )
    (voice,) = result.events[0].attachments
    telegram.add_file(json.loads(body)["message"]["voice"]["file_id"], OGG, path="voice/file_3.oga")
    assert await adapter.fetch_media(result.events[0], voice, 25 << 20) == OGG


async def test_declared_size_over_the_limit_asks_nothing(fake, make_adapter) -> None:
    telegram, _ = fake
    with pytest.raises(MediaTooLarge) as info:
        await make_adapter().fetch_media(inbound(), photo(5000), 4096)
    assert (info.value.kind, info.value.limit, info.value.size) == ("image", 4096, 5000)
    assert telegram.api.requests == []


async def test_size_from_get_file_over_the_limit_downloads_nothing(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.add_file("AgAC-photo", JPEG)
    with pytest.raises(MediaTooLarge) as info:
        await make_adapter().fetch_media(inbound(), photo(None), 4096)
    assert info.value.size == len(JPEG)
    assert len(telegram.calls("getFile")) == 1 and telegram.downloads() == []


async def test_over_the_limit_while_streaming(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.add_file("AgAC-photo", JPEG, declare_size=False, chunked=True)
    with pytest.raises(MediaTooLarge) as info:
        await make_adapter().fetch_media(inbound(), photo(None), 4096)
    assert (info.value.limit, info.value.size) == (4096, None)  # counted, not declared
    assert len(telegram.downloads()) == 1


async def test_file_too_big_for_the_bot_api_says_telegrams_limit(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script(
        "POST",
        telegram.path("getFile"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: file is too big"},
    )
    audio = Attachment(kind="audio", mime_type="audio/mpeg", ref={"file_id": "CQAC-big"})
    with pytest.raises(MediaTooLarge) as info:
        await make_adapter().fetch_media(inbound(), audio, 25 << 20)
    assert info.value.limit == 20 << 20 and "20 MiB" in str(info.value)


@pytest.mark.parametrize(
    ("get_file", "cause"),
    [
        ((400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}), "HTTP 400"),
        ((502, None), "HTTP 502"),
        ((200, {"ok": True, "result": {"file_id": "AgAC-photo", "file_unique_id": "u"}}), "file_path"),
        ((200, {"ok": True, "result": {"file_id": "AgAC-photo", "file_path": "photos/gone.jpg"}}), "404"),
    ],
)
async def test_platform_errors_are_media_unavailable(
    fake, make_adapter, get_file: tuple[int, Any], cause: str
) -> None:
    telegram, _ = fake
    status, body = get_file
    telegram.api.script("POST", telegram.path("getFile"), status=status, body=body)
    with pytest.raises(MediaUnavailable) as info:
        await make_adapter().fetch_media(inbound(), photo(None), 1 << 20)
    assert cause in info.value.cause and info.value.__cause__ is None
    assert telegram.token not in info.value.cause and telegram.token not in str(info.value)


async def test_attachment_without_file_id_is_unavailable(fake, make_adapter) -> None:
    telegram, _ = fake
    with pytest.raises(MediaUnavailable):
        await make_adapter().fetch_media(inbound(), Attachment(kind="file"), 1 << 20)
    assert telegram.api.requests == []


# -- media out -----------------------------------------------------------------------------------

PICTURE = Attachment(kind="image", mime_type="image/png", url=data_url(PNG, "image/png"))
VOICE = Attachment(kind="audio", mime_type="audio/ogg", url=data_url(OGG, "audio/ogg"))
SONG = Attachment(kind="audio", mime_type="audio/mpeg", url=data_url(MP3, "audio/mpeg"), name="answer.mp3")


def methods(telegram) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in telegram.api.requests]


async def test_text_then_picture_voice_and_audio_as_uploads(fake, make_adapter) -> None:
    telegram, _ = fake
    reply = OutboundMessage(
        inbound=inbound(message_thread_id=3), text="Here you go", attachments=(PICTURE, VOICE, SONG)
    )
    await make_adapter().send(reply)
    assert methods(telegram) == ["sendMessage", "sendPhoto", "sendVoice", "sendAudio"]
    picture, voice, song = telegram.uploads()
    assert all(
        u.multipart and u.fields == {"chat_id": "-100", "message_thread_id": "3"}
        for u in (picture, voice, song)
    )
    assert (picture.file_field, picture.filename, picture.content_type, picture.content) == (
        "photo",
        "image.png",
        "image/png",
        PNG,
    )
    assert (voice.file_field, voice.filename, voice.content_type, voice.content) == (
        "voice",
        "audio.ogg",
        "audio/ogg",
        OGG,
    )
    assert (song.file_field, song.filename, song.content_type, song.content) == (
        "audio",
        "answer.mp3",
        "audio/mpeg",
        MP3,
    )


async def test_a_picture_alone_replies_to_the_users_message(fake, make_adapter) -> None:
    telegram, _ = fake
    await make_adapter().send(OutboundMessage(inbound=inbound(), text="", attachments=(PICTURE,)))
    assert methods(telegram) == ["sendPhoto"]
    (upload,) = telegram.uploads()
    assert upload.fields == {
        "chat_id": "-100",
        "reply_to_message_id": "55",
        "allow_sending_without_reply": "true",
    }


async def test_markdown_text_and_picture(fake, make_adapter) -> None:
    telegram, _ = fake
    reply = OutboundMessage(inbound=inbound(), text="**Chart**", format="markdown", attachments=(PICTURE,))
    await make_adapter().send(reply)
    assert methods(telegram) == ["sendMessage", "sendPhoto"]
    assert telegram.sent()[0]["text"] == "<b>Chart</b>"
    assert "reply_to_message_id" not in telegram.uploads()[0].fields


async def test_redelivery_sends_no_part_twice(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script("POST", telegram.path("sendVoice"), status=502, body={"ok": False, "error_code": 502})
    adapter = make_adapter(ledger=MemoryLedger())
    reply = OutboundMessage(inbound=inbound(), text="Listen:", attachments=(PICTURE, VOICE))
    with pytest.raises(RetryableSendError):
        await adapter.send(reply)
    await adapter.send(reply.model_copy(update={"attempt": 1}))
    assert methods(telegram) == ["sendMessage", "sendPhoto", "sendVoice", "sendVoice"]
    assert [u.method for u in telegram.uploads()] == ["sendPhoto", "sendVoice", "sendVoice"]


async def test_a_public_url_is_handed_to_telegram(fake, make_adapter) -> None:
    telegram, _ = fake
    url = "https://example.com/chart.png"
    await make_adapter().send(
        OutboundMessage(inbound=inbound(), text="", attachments=(Attachment(kind="image", url=url),))
    )
    (upload,) = telegram.uploads()
    assert (upload.method, upload.multipart, upload.content) == ("sendPhoto", False, url.encode())


@pytest.mark.parametrize("url", [None, "ftp://example.com/a.png", "data:image/png;base64,%%%", "data:,x"])
async def test_an_unusable_attachment_url_is_permanent(fake, make_adapter, url: str | None) -> None:
    telegram, _ = fake
    bad = Attachment(kind="image", mime_type="image/png", url=url)
    with pytest.raises(PermanentSendError):
        await make_adapter().send(OutboundMessage(inbound=inbound(), text="", attachments=(bad,)))
    assert telegram.uploads() == []


async def test_upload_refusal_is_permanent_without_the_token(fake, make_adapter) -> None:
    telegram, _ = fake
    telegram.api.script(
        "POST",
        telegram.path("sendPhoto"),
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: PHOTO_INVALID_DIMENSIONS"},
    )
    with pytest.raises(PermanentSendError, match="PHOTO_INVALID_DIMENSIONS") as info:
        await make_adapter().send(OutboundMessage(inbound=inbound(), text="", attachments=(PICTURE,)))
    assert telegram.token not in str(info.value) and info.value.__cause__ is None


async def test_nothing_to_send_is_refused(make_adapter) -> None:
    with pytest.raises(PermanentSendError, match="empty"):
        await make_adapter().send(OutboundMessage(inbound=inbound(), text="  "))
