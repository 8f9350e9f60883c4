"""Pictures and voice in the generic HTTP platform's JSON, in and out; group chats relayed by a caller."""

import base64
import json
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from parley_runtime.config.models import Media
from parley_runtime.core import media as core_media
from parley_runtime.core.messages import Attachment, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.http import adapter, convert, media

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
GIF = b"GIF89a" + bytes(20)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8)
ORIGIN = Origin(bot="b", platform="http", binding="b-http", received_at=0.0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inbound(**body: Any) -> Any:
    request = convert.parse(json.dumps({"user_id": "u-1", **body}).encode())
    return convert.to_inbound(request, ORIGIN, event_id="e-1", callback_url="https://cb.example.com/x")


def test_images_and_audio_become_attachments() -> None:
    message = inbound(
        message="what is this?",
        images=[
            {"data": b64(PNG)},
            {"data": b64(GIF), "mime_type": "image/gif"},
            {"data": "data:image/webp;base64," + b64(WEBP)},
            {"url": "https://cdn.example.com/photos/cat.png?size=large"},
        ],
        audio={"data": b64(b"OggS voice"), "mime_type": "audio/ogg"},
    )
    assert [(a.kind, a.mime_type, a.size) for a in message.attachments] == [
        ("image", "image/png", len(PNG)),
        ("image", "image/gif", len(GIF)),
        ("image", "image/webp", len(WEBP)),
        ("image", "image/png", None),
        ("audio", "audio/ogg", 10),
    ]
    assert core_media.decode_data_url(message.attachments[0].url or "") == ("image/png", PNG)
    assert message.attachments[3].url == "https://cdn.example.com/photos/cat.png?size=large"
    assert core_media.decode_data_url(message.attachments[4].url or "") == ("audio/ogg", b"OggS voice")


def test_sniffed_types_and_an_image_without_text() -> None:
    message = inbound(message="", images=[{"data": b64(b"\xff\xd8\xff\xe0" + bytes(8))}, {"data": b64(WEBP)}])
    assert message.text == "" and [a.mime_type for a in message.attachments] == ["image/jpeg", "image/webp"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "", "images": []}, "message: String should have at least 1 character"),
        ({"message": "x", "images": [{"data": b64(PNG), "url": "https://x"}]}, "images.0: give exactly one"),
        (
            {"message": "x", "images": [{"url": "gopher://x"}]},
            "images.0: url must be an http:// or https:// URL",
        ),
        ({"message": "x", "images": [{"data": "a b c"}]}, "images.0: data is not valid base64"),
        ({"message": "x", "images": [{"data": ""}]}, "images.0: data is empty"),
        (
            {"message": "x", "images": [{"data": "data:image/png," + b64(PNG)}]},
            "images.0: data is a data: URL",
        ),
        (
            {"message": "x", "images": [{"data": b64(PNG), "mime_type": "image"}]},
            "images.0.mime_type: String",
        ),
        ({"message": "x", "images": [{"url": "https://x", "size": 1}]}, "images.0.size: Extra inputs"),
        ({"message": "x", "audio": {"data": b64(b"x")}}, "audio: mime_type is required"),
        ({"message": "x", "is_group": "yes"}, "is_group: Input should be a valid boolean"),
    ],
)
def test_bad_media_names_the_problem(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(convert.BadPayload) as info:
        convert.parse(json.dumps({"user_id": "u", **body}).encode())
    assert str(info.value).startswith(expected), str(info.value)


def test_a_relayed_group_message_says_whether_the_bot_was_addressed() -> None:
    unaddressed = inbound(message="hi all", chat_id="team", is_group=True)
    addressed = inbound(message="hi bot", chat_id="team", is_group=True, mentioned=True)
    private = inbound(message="hi")
    assert (unaddressed.is_group, unaddressed.mentioned) == (True, False)
    assert (addressed.is_group, addressed.mentioned) == (True, True)
    assert (private.is_group, private.mentioned) == (False, True)


def test_media_bytes_stay_out_of_reprs() -> None:
    request = convert.parse(
        json.dumps({"message": "x", "user_id": "u", "images": [{"data": b64(PNG)}]}).encode()
    )
    assert b64(PNG) not in repr(request) and b64(PNG) not in repr(
        inbound(message="x", images=[{"data": b64(PNG)}])
    )


def test_oversized_names_the_item_and_both_sizes() -> None:
    images = [media.ImageIn(data=b64(PNG)), media.ImageIn(data=b64(PNG + bytes(2000)))]
    audio = media.AudioIn(data=b64(bytes(3 * 1024 * 1024 + 100)), mime_type="audio/ogg")
    limits = Media(max_image_bytes=1024, max_audio_bytes=3 * 1024 * 1024)
    assert media.oversized(images, None, limits) == "image 2 is 2 KiB; the limit is 1 KiB"
    assert media.oversized(images[:1], audio, limits) == "audio is 3145828 bytes; the limit is 3145728 bytes"
    assert media.oversized(images[:1], None, limits) is None
    odd = Media(max_image_bytes=int(10.5 * 1024 * 1024))
    big = media.ImageIn(data=b64(PNG + bytes(int(10.6 * 1024 * 1024))))
    assert media.oversized([big], None, odd) == "image 1 is 10.6 MiB; the limit is 10.5 MiB"
    tiny = Media(max_image_bytes=1000)
    assert (
        media.oversized(images, None, tiny) == f"image 2 is {len(PNG) + 2000} bytes; the limit is 1000 bytes"
    )
    assert media.oversized([media.ImageIn(url="https://x.test/a.png")], None, limits) is None


def test_the_body_bound_fits_the_largest_media_base64_encoded() -> None:
    limits = Media(max_image_bytes=3 * 1000, max_audio_bytes=3 * 2000)
    assert media.largest_inline_bytes(limits) == 8000
    assert media.largest_inline_bytes(Media(max_image_bytes=1, max_audio_bytes=2)) == 4


async def test_reply_media_goes_to_the_callback_as_base64() -> None:
    received: list[dict[str, Any]] = []

    def callback(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(callback)) as http:
        ctx = make_adapter_context("http", settings={"callbackUrl": "https://cb.example.com/r"}, http=http)
        http_adapter = adapter.create(ctx)
        body = json.dumps({"message": "chart please", "user_id": "u-7", "message_id": "m-1"}).encode()
        (event,) = (await http_adapter.handle_webhook(WebhookRequest(method="POST", body=body))).events
        picture = Attachment(kind="image", mime_type="image/png", url=core_media.data_url(PNG, "image/png"))
        linked = Attachment(kind="image", mime_type="image/jpeg", url="https://cdn.example.com/a.jpg")
        await http_adapter.send(OutboundMessage(inbound=event, text="Here", attachments=(picture, linked)))
        await http_adapter.send(
            OutboundMessage(inbound=event.model_copy(update={"event_id": "m-2"}), text="x")
        )
    assert received[0]["attachments"] == [
        {"kind": "image", "mime_type": "image/png", "data": b64(PNG)},
        {"kind": "image", "mime_type": "image/jpeg", "url": "https://cdn.example.com/a.jpg"},
    ]
    assert received[0]["reply"] == "Here" and "attachments" not in received[1]
