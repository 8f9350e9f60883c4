"""DingTalk addressing and media messages: recorded robot payloads → InboundMessage, checked against
the official dingtalk-stream SDK's parser where it reads the same fields."""

import json
from pathlib import Path
from typing import Any

import pytest
from dingtalk_stream import ChatbotMessage

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.dingtalk import client, convert

DATA = Path(__file__).parents[3] / "data" / "dingtalk"
ORIGIN = Origin(bot="b", platform="dingtalk", binding="bd", received_at=1.0)


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def inbound(payload: dict[str, Any]) -> InboundMessage:
    message = convert.to_inbound(payload, ORIGIN)
    assert message is not None
    return message


def test_group_at_message_is_addressed_private_always() -> None:
    group = inbound(load("group_text.json"))
    assert (group.is_group, group.mentioned, group.text) == (True, True, "今天谁值班？")
    single = inbound(load("single_text.json"))
    assert (single.is_group, single.mentioned) == (False, True)


@pytest.mark.parametrize("flag", [False, None, "true"])
def test_group_message_without_is_in_at_list_is_not_addressed(flag: Any) -> None:
    payload = load("group_text.json")
    payload["isInAtList"] = flag
    msg = inbound(payload)
    assert (msg.is_group, msg.mentioned) == (True, False)


def test_picture_without_caption() -> None:
    payload = load("picture.json")
    msg = inbound(payload)
    assert msg.text == ""
    (image,) = msg.attachments
    assert (image.kind, image.mime_type, image.size) == ("image", "image/jpeg", None)
    assert image.ref == {"downloadCode": "EXAMPLEdownloadCode", "robotCode": "dingEXAMPLErobot0000"}
    assert [image.ref["downloadCode"]] == ChatbotMessage.from_dict(payload).get_image_list()


def test_picture_extension_gives_its_type() -> None:
    payload = load("picture.json")
    payload["content"]["extension"] = "png"
    assert inbound(payload).attachments[0].mime_type == "image/png"


def test_rich_text_gives_text_and_pictures_like_the_sdk() -> None:
    payload = load("rich_text.json")
    sdk = ChatbotMessage.from_dict(payload)
    msg = inbound(payload)
    assert msg.text == "这张截图里的报错是什么意思？\n谢谢"
    assert msg.text == "\n".join(t.strip() for t in sdk.get_text_list())
    assert [a.ref["downloadCode"] for a in msg.attachments] == sdk.get_image_list()
    assert [a.kind for a in msg.attachments] == ["image"]


def test_voice_note_carries_dingtalks_transcript() -> None:
    msg = inbound(load("audio.json"))
    (voice,) = msg.attachments
    assert (msg.text, msg.is_group, msg.mentioned) == ("", False, True)
    assert (voice.kind, voice.mime_type, voice.transcript) == ("audio", "audio/amr", "明天的会议改到几点")
    assert voice.ref == {"downloadCode": "EXAMPLEaudioCode", "robotCode": "dingEXAMPLErobot0000"}


def test_file_keeps_its_name_and_type() -> None:
    (doc,) = inbound(load("file.json")).attachments
    assert (doc.kind, doc.name, doc.mime_type, doc.ref["downloadCode"]) == (
        "file",
        "季度报告.pdf",
        "application/pdf",
        "EXAMPLEfileCode",
    )


@pytest.mark.parametrize(
    ("msgtype", "content"),
    [
        ("picture", {}),
        ("audio", {"recognition": "no code"}),
        ("file", {"fileName": "a.txt"}),
        ("video", {"downloadCode": "v", "videoType": "mp4"}),
        ("richText", {"richText": [{"text": "  "}]}),
        ("richText", {"richText": "not a list"}),
    ],
)
def test_messages_with_neither_text_nor_media_are_ignored(msgtype: str, content: dict[str, Any]) -> None:
    payload = load("single_text.json")
    payload.update(msgtype=msgtype, content=content)
    assert convert.to_inbound(payload, ORIGIN) is None


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        ("## 值班表\n- 张三", "值班表"),
        ("**粗体**" + "长" * 40, "粗体" + "长" * 28),
        ("[链接](https://example.com)", "链接 (https://example.com)"),
        ("\n\n", "reply"),
    ],
)
def test_markdown_title_is_the_first_plain_line_cut_to_30(markdown: str, title: str) -> None:
    assert client.markdown_title(markdown) == title
