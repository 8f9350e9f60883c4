"""DingTalk conversations against the fake DingTalk on 127.0.0.1: inbound media through
messageFiles/download (HTTP and Stream bindings), Markdown with its plain-text fallback, attachments
left out, and the sent ledger across a redelivery."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.dingtalk_api import DOWNLOAD_PATH, FILES_PREFIX, SESSION_PATH, FakeDingTalk, Reply
from fakes.wechat_api import FakeClock
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import MediaSource
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common.markdown import to_plain
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.dingtalk import client, convert
from parley_runtime.platforms.errors import RetryableSendError

DATA = Path(__file__).parents[3] / "data" / "dingtalk"
NOW = 1_700_000_000.0
CREDS = {"appKey": "ding-key", "appSecret": "ding-secret"}
PICTURE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk() as server:
        yield server


def make(fake: FakeDingTalk, http: httpx.AsyncClient, *, ledger: Any = None, **settings: Any) -> Any:
    ctx = make_adapter_context(
        "dingtalk",
        http=http,
        credentials=CREDS,
        settings={"apiBase": fake.url, **settings},
        clock=FakeClock(NOW),
        ledger=ledger,
    )
    return dingtalk.create(ctx)


def received(name: str, robot_code: str = "ding-key") -> InboundMessage:
    """A recorded robot message as the adapter turns it into an event (its robotCode = our appKey)."""
    payload = json.loads((DATA / name).read_text())
    payload["robotCode"] = robot_code
    message = convert.to_inbound(
        payload, Origin(bot="helpdesk", platform="dingtalk", binding="b", received_at=NOW)
    )
    assert message is not None
    return message


def reply(
    fake: FakeDingTalk,
    text: str,
    *,
    fmt: str = "text",
    expires_in: float = 600,
    attachments: tuple[Attachment, ...] = (),
) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="dingtalk",
        binding="helpdesk-dingtalk",
        event_id="msg1",
        chat_id="cid1",
        user_id="staff1",
        text="hi",
        is_group=True,
        reply_context={
            "session_webhook": f"{fake.url}{SESSION_PATH}?session=s-1",
            "session_webhook_expires_ms": int((NOW + expires_in) * 1000),
            "conversation_id": "cid1",
            "is_group": True,
            "sender_staff_id": "staff1",
            "robot_code": "ding-key",
        },
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def png() -> Attachment:
    return Attachment(kind="image", mime_type="image/png", url=data_url(b"\x89PNG", "image/png"))


# -- media in --------------------------------------------------------------------------------------


async def test_fetch_media_buys_a_download_url_then_reads_it(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    adapter = make(fake, http)
    assert isinstance(adapter, MediaSource)
    fake.files["EXAMPLEdownloadCode"] = PICTURE
    msg = received("picture.json")
    assert await adapter.fetch_media(msg, msg.attachments[0], 10_000) == PICTURE
    (ask,) = fake.calls(DOWNLOAD_PATH)
    assert ask.json() == {"downloadCode": "EXAMPLEdownloadCode", "robotCode": "ding-key"}
    assert ask.headers["x-acs-dingtalk-access-token"] == "ding-token-1"
    (read,) = fake.calls(f"{FILES_PREFIX}EXAMPLEdownloadCode")
    assert read.method == "GET" and "x-acs-dingtalk-access-token" not in read.headers


async def test_stream_binding_fetches_media_the_same_way(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    connection = make(fake, http, mode="stream")
    assert isinstance(connection, MediaSource)
    fake.files["EXAMPLEaudioCode"] = b"#!AMR\n"
    msg = received("audio.json", robot_code="")  # no robotCode in the payload: the appKey is it
    assert await connection.fetch_media(msg, msg.attachments[0], 1000) == b"#!AMR\n"
    assert fake.calls(DOWNLOAD_PATH)[0].json()["robotCode"] == "ding-key"


async def test_fetch_media_over_the_limit(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    adapter = make(fake, http)
    msg = received("file.json")
    doc = msg.attachments[0]
    with pytest.raises(MediaTooLarge):  # declared: nothing asked of DingTalk
        await adapter.fetch_media(msg, doc.model_copy(update={"size": 2048}), 1024)
    assert fake.requests == []
    fake.files["EXAMPLEfileCode"] = PICTURE
    with pytest.raises(MediaTooLarge):  # Content-Length
        await adapter.fetch_media(msg, doc, 100)
    fake.files["EXAMPLEfileCode"] = b"%PDF" * 50_000
    fake.chunked.add("EXAMPLEfileCode")
    with pytest.raises(MediaTooLarge) as info:  # counted while reading
        await adapter.fetch_media(msg, doc, 100_000)
    assert info.value.limit == 100_000


async def test_fetch_media_platform_errors_are_unavailable(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    adapter = make(fake, http)
    msg = received("picture.json")
    with pytest.raises(MediaUnavailable) as info:  # DingTalk refuses the downloadCode
        await adapter.fetch_media(msg, msg.attachments[0], 10_000)
    assert "ding-token" not in str(info.value) and "ding-token" not in info.value.cause
    fake.files["EXAMPLEdownloadCode"] = PICTURE
    fake.script(f"{FILES_PREFIX}EXAMPLEdownloadCode", Reply(403, b"<Error>expired</Error>"))
    with pytest.raises(MediaUnavailable) as expired:  # the download URL no longer works
        await adapter.fetch_media(msg, msg.attachments[0], 10_000)
    assert expired.value.cause == "HTTP 403"


# -- Markdown out ----------------------------------------------------------------------------------


async def test_markdown_is_split_by_its_source_and_code_blocks_kept(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    code = "```python\n" + "\n".join(f"print({n})" for n in range(300)) + "\n```"
    text = "# 说明\n\n" + "文字 " * 1500 + "\n\n" + code
    await make(fake, http).send(reply(fake, text, fmt="markdown"))
    bodies = [c.json() for c in fake.calls(SESSION_PATH)]
    assert len(bodies) >= 2 and all(b["msgtype"] == "markdown" for b in bodies)
    assert all(len(b["markdown"]["text"]) <= client.MAX_CHARS for b in bodies)
    assert any(b["markdown"]["text"].startswith("```python") for b in bodies)  # the block travels whole
    assert bodies[0]["markdown"]["title"] == "说明"


async def test_refused_markdown_is_sent_again_as_plain_text(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    md = "**粗体** and [link](https://example.com)"
    fake.script(SESSION_PATH, Reply(200, {"errcode": 300005, "errmsg": "markdown content invalid"}))
    await make(fake, http).send(reply(fake, md, fmt="markdown"))
    first, second = (c.json() for c in fake.calls(SESSION_PATH))
    assert first["msgtype"] == "markdown"
    assert second == {"msgtype": "text", "text": {"content": to_plain(md)}}


async def test_refused_markdown_over_the_robot_api_falls_back_too(
    fake: FakeDingTalk, http: httpx.AsyncClient
) -> None:
    path = "/v1.0/robot/groupMessages/send"
    fake.script(path, Reply(400, {"code": "param.invalid", "message": "msgParam invalid"}))
    await make(fake, http).send(reply(fake, "## 标题", fmt="markdown", expires_in=-1))
    first, second = (c.json() for c in fake.calls(path))
    assert (first["msgKey"], second["msgKey"]) == ("sampleMarkdown", "sampleText")
    assert json.loads(second["msgParam"]) == {"content": "标题"}


async def test_text_format_is_plain_text(fake: FakeDingTalk, http: httpx.AsyncClient) -> None:
    await make(fake, http).send(reply(fake, "**stars** stay"))
    assert fake.calls(SESSION_PATH)[0].json() == {"msgtype": "text", "text": {"content": "**stars** stay"}}


# -- media out and the ledger ----------------------------------------------------------------------


async def test_attachments_are_left_out_with_a_log_line(
    fake: FakeDingTalk, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parley_runtime.platforms.dingtalk.reply")
    adapter = make(fake, http)
    await adapter.send(reply(fake, "图表如下", attachments=(png(),)))
    await adapter.send(reply(fake, "", expires_in=-1, attachments=(png(),)))  # nothing to send at all
    assert [c.json()["text"]["content"] for c in fake.calls(SESSION_PATH)] == ["图表如下"]
    notes = [r.getMessage() for r in caplog.records if "attachment not sent" in r.getMessage()]
    assert notes == ["dingtalk: image attachment not sent: robot replies take no uploaded media"] * 2
    assert not any("base64" in r.getMessage() for r in caplog.records)


async def test_redelivery_sends_no_part_twice(
    fake: FakeDingTalk, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parley_runtime.platforms.dingtalk.reply")
    adapter = make(fake, http, ledger=MemoryLedger())
    message = reply(fake, "甲" * 6000, attachments=(png(),))
    fake.script(SESSION_PATH, Reply(200, {"errcode": 0}), Reply(503, b"busy"))
    with pytest.raises(RetryableSendError):
        await adapter.send(message)
    await adapter.send(message.model_copy(update={"attempt": 1}))
    await adapter.send(message.model_copy(update={"attempt": 2}))
    sizes = [len(c.json()["text"]["content"]) for c in fake.calls(SESSION_PATH)]
    assert sizes == [5000, 1000, 1000]  # the refused second part once more, then nothing
    assert sum("attachment not sent" in r.getMessage() for r in caplog.records) == 1
