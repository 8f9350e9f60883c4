"""WeCom media and Markdown against a real fake API server on 127.0.0.1: received pictures and voice
notes fetched through `media/get` (callbacks produced with wechatpy's encryptor), Markdown replies as
`markdown` messages with a plain-text fallback, images uploaded and sent, the sent ledger honoured."""

from collections.abc import Iterator

import httpx
import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from adapter_contexts import make_adapter_context
from fakes.wechat_api import FakeClock
from fakes.wecom_api import FakeWeComApi, Reply
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.common import markdown
from parley_runtime.platforms.errors import RetryableSendError
from parley_runtime.platforms.wecom import adapter as wecom

CREDS = {
    "corpId": "ww-corp",
    "agentId": "1000002",
    "secret": "app-secret",
    "token": "cb-token",
    "encodingAESKey": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}
NOW = 1_700_000_000
SEND, UPLOAD, MEDIA = "/cgi-bin/message/send", "/cgi-bin/media/upload", "/cgi-bin/media/get"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
AMR = b"#!AMR\n" + b"\x3c" * 300


@pytest.fixture
def api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi(corp_id="ww-corp", secret="app-secret") as server:
        yield server


def make(
    api: FakeWeComApi, http: httpx.AsyncClient, ledger: MemoryLedger | None = None
) -> wecom.WeComAdapter:
    ctx = make_adapter_context(
        "wecom",
        http=http,
        credentials=CREDS,
        settings={"apiBase": api.url},
        clock=FakeClock(NOW),
        ledger=ledger,
    )
    return wecom.create(ctx)


def callback(inner: str) -> WebhookRequest:
    """A POST callback as WeCom sends it, encrypted and signed by wechatpy."""
    crypto = WeChatCrypto(CREDS["token"], CREDS["encodingAESKey"], CREDS["corpId"])
    out = xmltodict.parse(crypto.encrypt_message(inner, nonce="n1", timestamp=str(NOW)))["xml"]
    encrypted = out["Encrypt"]
    body = (
        f"<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {"msg_signature": out["MsgSignature"], "timestamp": str(NOW), "nonce": "n1"}
    return WebhookRequest(method="POST", query=query, body=body.encode())


def media_xml(kind: str, media_id: str, extra: str = "") -> str:
    return (
        "<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>"
        f"<CreateTime>{NOW}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}<MsgId>7302251234567890999</MsgId>"
        "<AgentID>1000002</AgentID></xml>"
    )


async def received(adapter: wecom.WeComAdapter, inner: str) -> InboundMessage:
    result = await adapter.handle_webhook(callback(inner))
    (message,) = result.events
    return message


def reply(text: str, fmt: str = "text", attachments: tuple[Attachment, ...] = ()) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="wecom",
        binding="helpdesk-wecom",
        event_id="m1",
        chat_id="ZhangSan",
        user_id="ZhangSan",
        text="hi",
        reply_context={"touser": "ZhangSan", "agent_id": "1000002"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def image(data: bytes, mime: str) -> Attachment:
    return Attachment(kind="image", mime_type=mime, url=data_url(data, mime))


# --- media in -------------------------------------------------------------------------------------


async def test_picture_is_fetched_through_media_get(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.media.add("pic-1", JPEG, "image/jpeg")
    adapter = make(api, http)
    message = await received(
        adapter, media_xml("image", "pic-1", "<PicUrl><![CDATA[https://p.example/1]]></PicUrl>")
    )
    assert message.text == "" and message.attachments[0].kind == "image"
    assert await adapter.fetch_media(message, message.attachments[0], 10 * 1024 * 1024) == JPEG
    (call,) = api.calls(MEDIA)
    assert call.method == "GET" and call.query == {"access_token": "wecom-token-1", "media_id": "pic-1"}


async def test_voice_note_is_fetched_and_a_stale_token_refetched_once(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    api.media.add("voice-1", AMR, "audio/amr")
    adapter = make(api, http)
    message = await received(adapter, media_xml("voice", "voice-1", "<Format><![CDATA[amr]]></Format>"))
    await adapter.send(reply("ok"))  # caches wecom-token-1
    api.issued.append("rotated-elsewhere")  # media/get now answers errcode 42001 to the cached token
    assert await adapter.fetch_media(message, message.attachments[0], 1024) == AMR
    assert [c.query["access_token"] for c in api.calls(MEDIA)] == ["wecom-token-1", "wecom-token-3"]


async def test_declared_size_over_the_limit_fetches_nothing(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    too_big = Attachment(kind="image", size=2048, ref={"media_id": "pic-1"})
    with pytest.raises(MediaTooLarge) as info:
        await make(api, http).fetch_media(reply("x").inbound, too_big, 1024)
    assert info.value.limit == 1024 and not api.calls(MEDIA)


async def test_content_length_over_the_limit(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.media.add("pic-1", JPEG, "image/jpeg")
    with pytest.raises(MediaTooLarge) as info:
        await make(api, http).fetch_media(
            reply("x").inbound, Attachment(kind="image", ref={"media_id": "pic-1"}), 100
        )
    assert info.value.size == len(JPEG)


async def test_over_the_limit_while_streaming(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.media.add("voice-1", AMR * 40, "audio/amr", chunked=True)  # no Content-Length
    with pytest.raises(MediaTooLarge) as info:
        await make(api, http).fetch_media(
            reply("x").inbound, Attachment(kind="audio", ref={"media_id": "voice-1"}), 5000
        )
    assert info.value.size is None and "voice message is too large" in str(info.value)


async def test_errcode_instead_of_the_file_is_media_unavailable(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    with pytest.raises(MediaUnavailable) as info:
        await adapter.fetch_media(
            reply("x").inbound, Attachment(kind="image", ref={"media_id": "expired"}), 1024
        )
    assert info.value.cause == "media/get errcode 40007"
    assert "wecom-token" not in str(info.value) and "wecom-token" not in info.value.cause
    with pytest.raises(MediaUnavailable):
        await adapter.fetch_media(reply("x").inbound, Attachment(kind="image"), 1024)  # no media_id at all


async def test_wrong_secret_is_media_unavailable(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    api.secret = "rotated-secret"
    with pytest.raises(MediaUnavailable) as info:
        await make(api, http).fetch_media(
            reply("x").inbound, Attachment(kind="image", ref={"media_id": "a"}), 1024
        )
    assert "app-secret" not in info.value.cause and not api.calls(MEDIA)


# --- Markdown out ---------------------------------------------------------------------------------

SOURCE = "# 报销流程\n\n**第一步**：填写 [报销单](https://oa.example/form)，然后 *提交*。\n\n- 发票\n- 行程单"


async def test_markdown_is_rendered_as_a_wecom_markdown_message(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    await make(api, http).send(reply(SOURCE, "markdown"))
    (call,) = api.calls(SEND)
    assert call.json()["msgtype"] == "markdown"
    content = call.json()["markdown"]["content"]
    assert content == markdown.to_wecom_markdown(SOURCE)
    assert "**第一步**" in content and "[报销单](https://oa.example/form)" in content and "• 发票" in content


async def test_refused_markdown_is_sent_again_as_plain_text(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    api.script(SEND, Reply(200, {"errcode": 40058, "errmsg": "markdown.content exceed max length"}))
    await make(api, http).send(reply(SOURCE, "markdown"))
    refused, plain = (c.json() for c in api.calls(SEND))
    assert refused["msgtype"] == "markdown"
    assert plain["msgtype"] == "text"
    assert plain["text"]["content"] == markdown.to_plain(SOURCE)
    assert (
        "**" not in plain["text"]["content"]
        and "报销单 (https://oa.example/form)" in plain["text"]["content"]
    )


async def test_long_markdown_is_cut_at_2048_bytes_without_breaking_a_code_block(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    code = "```python\n" + "\n".join(f"print('第{i}行')" for i in range(40)) + "\n```"
    source = "说明" * 400 + "\n\n" + code + "\n\n" + "结束" * 300
    await make(api, http).send(reply(source, "markdown"))
    contents = [c.json()["markdown"]["content"] for c in api.calls(SEND)]
    assert len(contents) >= 2 and all(len(c.encode()) <= 2048 for c in contents)
    assert sum("print('第0行')" in c and "print('第39行')" in c for c in contents) == 1


# --- attachments out ------------------------------------------------------------------------------


async def test_image_is_uploaded_and_sent_after_the_text(api: FakeWeComApi, http: httpx.AsyncClient) -> None:
    await make(api, http).send(reply("图表如下", attachments=(image(PNG, "image/png"),)))
    (upload,) = api.media.uploads
    assert (upload.media_type, upload.content_type, upload.data) == ("image", "image/png", PNG)
    assert upload.filename == "image.png"
    text, picture = (c.json() for c in api.calls(SEND))
    assert text["text"] == {"content": "图表如下"}
    assert picture == {
        "touser": "ZhangSan",
        "msgtype": "image",
        "agentid": 1000002,
        "image": {"media_id": "wecom-media-1"},
    }
    assert api.calls(UPLOAD)[0].query == {"access_token": "wecom-token-1", "type": "image"}


async def test_attachments_only_and_unsendable_ones_skipped(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    voice = Attachment(
        kind="audio", mime_type="audio/mpeg", url=data_url(b"ID3" + b"\x00" * 50, "audio/mpeg")
    )
    webp = image(b"RIFF\x00\x00\x00\x00WEBP", "image/webp")
    await make(api, http).send(reply("", attachments=(voice, webp, image(JPEG, "image/jpeg"))))
    assert [u.content_type for u in api.media.uploads] == ["image/jpeg"]
    assert [c.json()["msgtype"] for c in api.calls(SEND)] == ["image"]


async def test_redelivery_never_sends_an_attachment_part_twice(
    api: FakeWeComApi, http: httpx.AsyncClient
) -> None:
    ledger = MemoryLedger()
    adapter = make(api, http, ledger)
    message = reply("两张图", attachments=(image(JPEG, "image/jpeg"), image(PNG, "image/png")))
    api.script(
        SEND,
        Reply(200, {"errcode": 0}),  # the text
        Reply(200, {"errcode": 0}),  # the first image
        Reply(200, {"errcode": -1, "errmsg": "system busy"}),  # the second image: retry later
    )
    with pytest.raises(RetryableSendError):
        await adapter.send(message)
    await adapter.send(message)  # the redelivery
    await adapter.send(message)  # and one more: everything was sent
    sent = [c.json() for c in api.calls(SEND)]
    assert [s["msgtype"] for s in sent] == ["text", "image", "image", "image"]
    assert [s["image"]["media_id"] for s in sent[1:]] == ["wecom-media-1", "wecom-media-2", "wecom-media-3"]
    assert [u.data for u in api.media.uploads] == [JPEG, PNG, PNG]
