"""Feishu conversations against the fake Open API on 127.0.0.1: who the bot is (bot info, replied-to
messages), inbound media through the message resource API, Markdown cards with their plain-text
fallback, images out, and the sent ledger across a redelivery.

Request shapes are checked against the official lark-oapi SDK where it has them: its card builder, and
the request builders for image upload and message resources.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.feishu_api import BOT_INFO_PATH, IMAGES_PATH, TOKEN_PATH, FakeFeishuApi, Reply, form_fields
from fakes.wechat_api import FakeClock
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import MediaSource, WebhookRequest
from parley_runtime.platforms.common.markdown import to_plain
from parley_runtime.platforms.errors import RetryableSendError
from parley_runtime.platforms.feishu import adapter as feishu
from parley_runtime.platforms.feishu import client

DATA = Path(__file__).parents[3] / "data" / "feishu"
CREDS = {"appId": "cli_app", "appSecret": "app-secret", "verificationToken": "v-token-example"}
MID = "om_5ce6d572455d361153b7cb51da133945"
REPLY = f"/open-apis/im/v1/messages/{MID}/reply"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def sdk() -> Any:
    """The official lark-oapi SDK, imported on use: it costs ~2 s of CPU, which every xdist worker would
    otherwise pay while collecting."""
    import lark_oapi

    return lark_oapi


def sdk_im() -> Any:
    import lark_oapi.api.im.v1

    return lark_oapi.api.im.v1


@pytest.fixture
def api() -> Iterator[FakeFeishuApi]:
    with FakeFeishuApi() as server:
        yield server


def make(
    api: FakeFeishuApi, http: httpx.AsyncClient, *, clock: FakeClock | None = None, ledger: Any = None
) -> feishu.FeishuAdapter:
    ctx = make_adapter_context(
        "feishu",
        http=http,
        credentials=CREDS,
        settings={"apiBase": api.url},
        clock=clock or FakeClock(),
        ledger=ledger,
    )
    return feishu.create(ctx)


def event(name: str, **message: Any) -> WebhookRequest:
    """A recorded event as Feishu posts it without an Encrypt Key (the token in the body)."""
    payload = json.loads((DATA / name).read_text())
    payload["event"]["message"].update(message)
    return WebhookRequest(method="POST", body=json.dumps(payload).encode())


async def receive(adapter: feishu.FeishuAdapter, request: WebhookRequest) -> InboundMessage:
    result = await adapter.handle_webhook(request)
    (message,) = result.events
    return message


def reply(text: str, fmt: str = "text", attachments: tuple[Attachment, ...] = ()) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="feishu",
        binding="helpdesk-feishu",
        event_id="ev-1",
        chat_id="oc_1",
        user_id="ou_1",
        text="hi",
        reply_context={"message_id": MID, "chat_id": "oc_1", "open_id": "ou_1"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def png(name: str = "chart.png") -> Attachment:
    return Attachment(kind="image", mime_type="image/png", url=data_url(PNG, "image/png"), name=name)


# -- who the bot is --------------------------------------------------------------------------------


async def test_bot_info_decides_group_mentions_once(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    mine = await receive(adapter, event("v2_group_mention.json"))
    other = await receive(adapter, event("v2_group_other_mention.json"))
    assert (mine.mentioned, mine.text) == (True, "帮 @李四 总结一下")
    assert (other.mentioned, other.text) == (False, "@李四 明天见")
    (info,) = api.calls(BOT_INFO_PATH)
    assert (info.method, info.headers["authorization"]) == ("GET", "Bearer t-1")


async def test_private_and_unmentioned_messages_call_nothing(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    assert (await receive(adapter, event("v2_p2p_text.json"))).mentioned
    plain = await receive(adapter, event("v2_group_reply.json", parent_id=""))
    assert (plain.is_group, plain.mentioned) == (True, False)
    assert api.requests == []


async def test_bot_info_failure_falls_back_and_is_retried_later(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    clock = FakeClock()
    adapter = make(api, http, clock=clock)
    api.script(BOT_INFO_PATH, Reply(503, b"busy"))
    first = await receive(adapter, event("v2_group_other_mention.json"))
    assert (first.mentioned, first.text) == (True, "明天见")  # any mention counts while unknown
    await receive(adapter, event("v2_group_other_mention.json"))
    assert len(api.calls(BOT_INFO_PATH)) == 1  # not asked again right away
    clock.now += 61
    later = await receive(adapter, event("v2_group_other_mention.json"))
    assert (later.mentioned, len(api.calls(BOT_INFO_PATH))) == (False, 2)


async def test_reply_to_the_bots_message_is_addressed_and_remembered(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    parent = "om_bot000000000000000000000000001"
    api.messages[parent] = api.app_sender()
    answer = {"code": 0, "data": {"items": [{"message_id": parent, "sender": api.app_sender()}]}}
    sender = sdk().JSON.unmarshal(json.dumps(answer), sdk_im().GetMessageResponse).data.items[0].sender
    assert (sender.id, sender.id_type, sender.sender_type) == ("cli_app", "app_id", "app")  # the fake's shape
    for _ in range(2):
        msg = await receive(adapter, event("v2_group_reply.json"))
        assert (msg.is_group, msg.mentioned, msg.text) == (True, True, "那周五呢？")
    (lookup,) = api.calls(f"/open-apis/im/v1/messages/{parent}")
    assert lookup.method == "GET"


async def test_reply_to_someone_elses_or_a_deleted_message_is_not(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    api.messages["om_user1"] = {"id": "ou_someone", "id_type": "open_id", "sender_type": "user"}
    api.messages["om_otherapp"] = {"id": "cli_other", "id_type": "app_id", "sender_type": "app"}
    for parent in ("om_user1", "om_otherapp", "om_gone"):
        assert not (await receive(adapter, event("v2_group_reply.json", parent_id=parent))).mentioned
    await receive(adapter, event("v2_group_reply.json", parent_id="om_gone"))
    assert len(api.calls("/open-apis/im/v1/messages/om_gone")) == 1  # "deleted" is an answer too


async def test_reply_lookup_failure_is_not_addressed_and_asked_again(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    adapter = make(api, http)
    parent = "om_bot000000000000000000000000001"
    api.messages[parent] = api.app_sender()
    api.script(f"/open-apis/im/v1/messages/{parent}", Reply(502, b"bad gateway"))
    assert not (await receive(adapter, event("v2_group_reply.json"))).mentioned
    assert (await receive(adapter, event("v2_group_reply.json"))).mentioned


# -- media in --------------------------------------------------------------------------------------


async def test_fetch_media_uses_the_message_resource_api(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    assert isinstance(adapter, MediaSource)
    api.resources["img_v2_example"] = PNG
    msg = await receive(adapter, event("v2_image.json"))
    assert await adapter.fetch_media(msg, msg.attachments[0], 10_000) == PNG
    (call,) = [r for r in api.requests if "/resources/" in r.path]
    sdk = (
        sdk_im()
        .GetMessageResourceRequest.builder()
        .message_id("om_image000000000000000000000000")
        .file_key("img_v2_example")
        .type("image")
        .build()
    )
    assert call.path == sdk.uri.replace(":message_id", sdk.message_id).replace(":file_key", sdk.file_key)
    assert (call.query, call.headers["authorization"]) == ({"type": "image"}, "Bearer t-1")


async def test_voice_is_fetched_as_type_file(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    api.resources["file_v2_audio0000-0000-0000-0000-000000000000g"] = b"OggS-voice"
    msg = await receive(adapter, event("v2_audio.json"))
    assert await adapter.fetch_media(msg, msg.attachments[0], 1000) == b"OggS-voice"
    assert [r.query for r in api.requests if "/resources/" in r.path] == [{"type": "file"}]


async def test_fetch_media_over_the_limit(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    msg = await receive(adapter, event("v2_image.json"))
    image = msg.attachments[0]
    declared = image.model_copy(update={"size": 5000})
    with pytest.raises(MediaTooLarge):  # known before asking Feishu
        await adapter.fetch_media(msg, declared, 4096)
    assert api.requests == []
    api.resources["img_v2_example"] = PNG
    with pytest.raises(MediaTooLarge):  # Content-Length says so
        await adapter.fetch_media(msg, image, 100)
    path = "/open-apis/im/v1/messages/om_image000000000000000000000000/resources/img_v2_example"
    api.chunked[path] = b"x" * 200_000
    with pytest.raises(MediaTooLarge) as info:  # no Content-Length: counted while reading
        await adapter.fetch_media(msg, image, 100_000)
    assert info.value.limit == 100_000


async def test_fetch_media_platform_error_is_unavailable(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http)
    msg = await receive(adapter, event("v2_file.json"))
    with pytest.raises(MediaUnavailable) as info:
        await adapter.fetch_media(msg, msg.attachments[0], 10_000)
    assert info.value.cause == "HTTP 400" and "t-1" not in str(info.value)
    forged = msg.attachments[0].model_copy(
        update={"ref": {"message_id": "../../bot/v3/info", "file_key": "k"}}
    )
    with pytest.raises(MediaUnavailable):
        await adapter.fetch_media(msg, forged, 10_000)


# -- Markdown out ----------------------------------------------------------------------------------


async def test_markdown_goes_as_a_card_with_one_markdown_element(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    await make(api, http).send(reply("## 值班\n**张三**", "markdown"))
    (call,) = api.calls(REPLY)
    body = call.json()
    assert set(body) <= set(sdk_im().ReplyMessageRequestBody._types)
    assert body["msg_type"] == "interactive"
    from lark_oapi.channel.card.builder import new_card

    sdk_card = new_card().markdown("## 值班\n**张三**").build().data
    assert json.loads(body["content"]) == {k: v for k, v in sdk_card.items() if v}


async def test_long_markdown_is_split_into_cards(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    text = "\n\n".join(f"段落 {n} " + "字" * 1000 for n in range(20))
    await make(api, http).send(reply(text, "markdown"))
    cards = [json.loads(c.json()["content"])["body"]["elements"][0]["content"] for c in api.calls(REPLY)]
    assert len(cards) >= 3 and all(len(c) <= client.CARD_CHUNK_CHARS for c in cards)
    assert "".join(cards).replace("\n", "") == text.replace("\n", "")


async def test_refused_card_is_sent_again_as_plain_text(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    md = "**粗体** and [link](https://example.com)"
    api.script(REPLY, Reply(400, {"code": 230099, "msg": "Failed to create card content"}))
    await make(api, http).send(reply(md, "markdown"))
    card, text = api.calls(REPLY)
    assert (card.json()["msg_type"], text.json()["msg_type"]) == ("interactive", "text")
    assert json.loads(text.json()["content"]) == {"text": to_plain(md)}
    assert "**" not in to_plain(md)
    assert card.json()["uuid"] != text.json()["uuid"]


async def test_plain_text_format_stays_text(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    await make(api, http).send(reply("**not bold**"))
    body = api.calls(REPLY)[0].json()
    assert (body["msg_type"], json.loads(body["content"])) == ("text", {"text": "**not bold**"})


# -- media out -------------------------------------------------------------------------------------


async def test_image_is_uploaded_then_sent_after_the_text(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    await make(api, http).send(reply("图表如下", attachments=(png(),)))
    (upload,) = api.calls(IMAGES_PATH)
    fields = form_fields(upload)
    assert set(fields) == set(sdk_im().CreateImageRequestBody._types)
    assert fields["image_type"] == (None, b"message") and fields["image"][1] == PNG
    assert upload.headers["authorization"] == "Bearer t-1"
    text, image = api.calls(REPLY)
    assert text.json()["msg_type"] == "text"
    assert (image.json()["msg_type"], json.loads(image.json()["content"])) == (
        "image",
        {"image_key": "img_v2_up1"},
    )


async def test_attachments_only_reply_and_non_images_skipped(
    api: FakeFeishuApi, http: httpx.AsyncClient
) -> None:
    voice = Attachment(kind="audio", mime_type="audio/ogg", url=data_url(b"OggS", "audio/ogg"))
    remote = Attachment(kind="image", url="https://example.com/a.png")
    await make(api, http).send(reply("", attachments=(voice, remote, png())))
    (only,) = api.calls(REPLY)
    assert only.json()["msg_type"] == "image" and len(api.calls(IMAGES_PATH)) == 1


async def test_refused_upload_skips_the_image_only(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    api.script(IMAGES_PATH, Reply(400, {"code": 234011, "msg": "Can't recognize image format."}))
    await make(api, http).send(reply("text", attachments=(png(),)))
    assert [c.json()["msg_type"] for c in api.calls(REPLY)] == ["text"]


async def test_redelivery_sends_no_part_twice(api: FakeFeishuApi, http: httpx.AsyncClient) -> None:
    adapter = make(api, http, ledger=MemoryLedger())
    message = reply("图表如下", attachments=(png("a.png"), png("b.png")))
    api.script(IMAGES_PATH, Reply(200, {"code": 0, "data": {"image_key": "img_v2_a"}}), Reply(503, b"down"))
    with pytest.raises(RetryableSendError):
        await adapter.send(message)
    await adapter.send(message.model_copy(update={"attempt": 1}))
    await adapter.send(message.model_copy(update={"attempt": 2}))
    sent = [(c.json()["msg_type"], json.loads(c.json()["content"])) for c in api.calls(REPLY)]
    assert sent == [
        ("text", {"text": "图表如下"}),
        ("image", {"image_key": "img_v2_a"}),
        ("image", {"image_key": "img_v2_up1"}),
    ]
    assert len(api.calls(TOKEN_PATH)) == 1
