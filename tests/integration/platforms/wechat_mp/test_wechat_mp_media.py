"""WeChat MP media and Markdown against a real fake API server on 127.0.0.1: plain-mode callbacks signed
with wechatpy, received media fetched through `media/get`, Markdown sent as readable text, images
uploaded and sent as customer-service `image` messages, the sent ledger honoured."""

from collections.abc import Iterator

import httpx
import pytest
from wechatpy.utils import WeChatSigner

from adapter_contexts import make_adapter_context
from fakes.wechat_api import FakeClock, FakeWeChatApi, Reply
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.errors import RetryableSendError
from parley_runtime.platforms.wechat_mp import adapter as mp

CREDS = {"appId": "wx-app", "appSecret": "wx-secret", "token": "AAAAA"}
NOW = 1_700_000_000
OPENID = "oEXAMPLEfollower0000000000001"
SEND, UPLOAD, MEDIA = "/cgi-bin/message/custom/send", "/cgi-bin/media/upload", "/cgi-bin/media/get"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
GIF = b"GIF89a" + b"\x00" * 40
AMR = b"#!AMR\n" + b"\x3c" * 300
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500


@pytest.fixture
def api() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi(app_id="wx-app", secret="wx-secret") as server:
        yield server


def make(
    api: FakeWeChatApi, http: httpx.AsyncClient, ledger: MemoryLedger | None = None
) -> mp.WeChatMpAdapter:
    ctx = make_adapter_context(
        "wechat-mp",
        http=http,
        credentials=CREDS,
        settings={"apiBase": api.url},
        clock=FakeClock(NOW),
        ledger=ledger,
    )
    return mp.create(ctx)


def callback(inner: str) -> WebhookRequest:
    """A plain-mode POST as WeChat sends it, signed by wechatpy."""
    signer = WeChatSigner()
    signer.add_data(CREDS["token"], str(NOW), "n1")
    query = {"signature": signer.signature, "timestamp": str(NOW), "nonce": "n1", "openid": OPENID}
    return WebhookRequest(method="POST", query=query, body=inner.encode())


def media_xml(kind: str, media_id: str, extra: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>{NOW}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}<MsgId>24321987654321099</MsgId></xml>"
    )


async def received(adapter: mp.WeChatMpAdapter, inner: str) -> InboundMessage:
    result = await adapter.handle_webhook(callback(inner))
    assert result.body == b"success"
    (message,) = result.events
    return message


def reply(text: str, fmt: str = "text", attachments: tuple[Attachment, ...] = ()) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="wechat-mp",
        binding="helpdesk-wechat-mp",
        event_id="1",
        chat_id=OPENID,
        user_id=OPENID,
        text="hi",
        reply_context={"touser": OPENID},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def image(data: bytes, mime: str) -> Attachment:
    return Attachment(kind="image", mime_type=mime, url=data_url(data, mime))


async def test_picture_is_fetched_through_media_get(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    api.media.add("pic-1", JPEG, "image/jpeg")
    adapter = make(api, http)
    message = await received(
        adapter, media_xml("image", "pic-1", "<PicUrl><![CDATA[http://mmbiz.example/1]]></PicUrl>")
    )
    assert await adapter.fetch_media(message, message.attachments[0], 1 << 20) == JPEG
    (call,) = api.calls(MEDIA)
    assert call.query == {"access_token": "mp-token-1", "media_id": "pic-1"}


async def test_voice_carries_wechats_recognition_and_its_bytes(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    api.media.add("voice-1", AMR, "audio/amr")
    adapter = make(api, http)
    extra = "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[明天几点开门？]]></Recognition>"
    message = await received(adapter, media_xml("voice", "voice-1", extra))
    (voice,) = message.attachments
    assert (message.text, voice.kind, voice.transcript) == ("", "audio", "明天几点开门？")
    assert await adapter.fetch_media(message, voice, 1 << 20) == AMR


async def test_video_url_answer_is_followed(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    api.script("/video/clip.mp4", Reply(200, MP4, {"content-type": "video/mp4"}))
    api.script(MEDIA, Reply(200, {"video_url": f"{api.url}/video/clip.mp4"}))
    adapter = make(api, http)
    message = await received(adapter, media_xml("shortvideo", "video-1"))
    assert message.attachments[0].kind == "file"
    assert await adapter.fetch_media(message, message.attachments[0], 1 << 20) == MP4


async def test_size_limits(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    adapter, inbound = make(api, http), reply("x").inbound
    with pytest.raises(MediaTooLarge):  # declared by the attachment: nothing is fetched
        await adapter.fetch_media(inbound, Attachment(kind="image", size=500, ref={"media_id": "a"}), 100)
    assert not api.calls(MEDIA)
    api.media.add("big", JPEG, "image/jpeg")
    with pytest.raises(MediaTooLarge):  # declared by Content-Length
        await adapter.fetch_media(inbound, Attachment(kind="image", ref={"media_id": "big"}), 100)
    api.media.add("stream", AMR * 30, "audio/amr", chunked=True)
    with pytest.raises(MediaTooLarge) as info:  # counted while streaming
        await adapter.fetch_media(inbound, Attachment(kind="audio", ref={"media_id": "stream"}), 2000)
    assert info.value.limit == 2000 and info.value.size is None


async def test_errcode_answer_and_http_error_are_media_unavailable(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    adapter, inbound = make(api, http), reply("x").inbound
    with pytest.raises(MediaUnavailable) as info:
        await adapter.fetch_media(inbound, Attachment(kind="image", ref={"media_id": "gone"}), 1 << 20)
    assert info.value.cause == "media/get errcode 40007" and "mp-token" not in str(info.value)
    api.script(MEDIA, Reply(502, b"bad gateway", {"content-type": "text/plain"}))
    with pytest.raises(MediaUnavailable, match="could not download that image") as info:
        await adapter.fetch_media(inbound, Attachment(kind="image", ref={"media_id": "gone"}), 1 << 20)
    assert info.value.cause == "HTTP 502"


async def test_markdown_reply_is_plain_readable_text(api: FakeWeChatApi, http: httpx.AsyncClient) -> None:
    source = "**营业时间**：9:00–21:00，详见 [门店页](https://shop.example/hours)\n\n- 周一\n- 周二"
    await make(api, http).send(reply(source, "markdown"))
    (call,) = api.calls(SEND)
    assert call.json() == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {
            "content": "营业时间：9:00–21:00，详见 门店页 (https://shop.example/hours)\n\n• 周一\n• 周二"
        },
    }


async def test_images_are_uploaded_and_sent_and_audio_skipped(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    voice = Attachment(kind="audio", mime_type="audio/amr", url=data_url(AMR, "audio/amr"))
    await make(api, http).send(reply("看图", attachments=(image(GIF, "image/gif"), voice)))
    (upload,) = api.media.uploads
    assert (upload.media_type, upload.content_type, upload.filename, upload.data) == (
        "image",
        "image/gif",
        "image.gif",
        GIF,
    )
    text, picture = (c.json() for c in api.calls(SEND))
    assert text["text"]["content"] == "看图"
    assert picture == {"touser": OPENID, "msgtype": "image", "image": {"media_id": "mp-media-1"}}


async def test_redelivery_sends_only_the_missing_attachment(
    api: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http, MemoryLedger())
    message = reply("", attachments=(image(JPEG, "image/jpeg"), image(GIF, "image/gif")))
    api.script(SEND, Reply(200, {"errcode": 0}), Reply(200, {"errcode": -1, "errmsg": "system busy"}))
    with pytest.raises(RetryableSendError):
        await adapter.send(message)
    await adapter.send(message)
    await adapter.send(message)
    assert [c.json()["image"]["media_id"] for c in api.calls(SEND)] == [
        "mp-media-1",
        "mp-media-2",
        "mp-media-3",
    ]
    assert [u.data for u in api.media.uploads] == [JPEG, GIF, GIF]
