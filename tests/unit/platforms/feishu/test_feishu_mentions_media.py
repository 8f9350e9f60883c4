"""Feishu group mentions and media messages: recorded im.message.receive_v1 payloads → InboundMessage.

Each payload is also parsed by the official lark-oapi event model, so the fields read here are the
ones Feishu's own SDK knows under those names.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.feishu import convert

DATA = Path(__file__).parents[3] / "data" / "feishu"
BOT = "ou_bot00000000000000000000000000"
ORIGIN = Origin(bot="b", platform="feishu", binding="bf", received_at=1.0)


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def inbound(payload: dict[str, Any], bot: str | None = BOT) -> InboundMessage:
    message = convert.to_inbound(payload, ORIGIN, bot_open_id=bot)
    assert message is not None
    return message


@pytest.mark.parametrize(
    "name",
    [
        "v2_group_mention.json",
        "v2_group_other_mention.json",
        "v2_group_reply.json",
        "v2_image.json",
        "v2_audio.json",
        "v2_file.json",
        "v2_post.json",
    ],
)
def test_recorded_payloads_parse_with_the_official_event_model(name: str) -> None:
    import lark_oapi as lark  # ~2 s to import: paid by the worker that runs this, not at collection
    from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

    raw = (DATA / name).read_text()
    event = lark.JSON.unmarshal(raw, P2ImMessageReceiveV1)
    message = event.event.message
    ours = load(name)["event"]["message"]
    assert (message.message_id, message.message_type, message.chat_type) == (
        ours["message_id"],
        ours["message_type"],
        ours["chat_type"],
    )
    assert [(m.key, m.id.open_id) for m in message.mentions or []] == [
        (m["key"], m["id"]["open_id"]) for m in ours.get("mentions", [])
    ]


def test_group_mention_of_the_bot_is_stripped_others_kept_by_name() -> None:
    msg = inbound(load("v2_group_mention.json"))
    assert (msg.is_group, msg.mentioned, msg.text) == (True, True, "帮 @李四 总结一下")


def test_group_mention_of_someone_else_is_not_addressed() -> None:
    msg = inbound(load("v2_group_other_mention.json"))
    assert (msg.is_group, msg.mentioned, msg.text) == (True, False, "@李四 明天见")


def test_without_the_bot_identity_any_mention_counts() -> None:
    msg = inbound(load("v2_group_other_mention.json"), bot=None)
    assert (msg.mentioned, msg.text) == (True, "明天见")


def test_bot_mentioned_mid_sentence_and_twelfth_placeholder_not_confused() -> None:
    payload = load("v2_group_other_mention.json")
    message = payload["event"]["message"]
    others = [{"key": f"@_user_{n}", "id": {"open_id": f"ou_{n}"}, "name": f"user{n}"} for n in range(2, 13)]
    message["mentions"] = [{"key": "@_user_1", "id": {"open_id": BOT}, "name": "Helpdesk"}, *others]
    message["content"] = json.dumps({"text": "问一下 @_user_1 @_user_12 的假期"})
    msg = inbound(payload)
    assert (msg.mentioned, msg.text) == (True, "问一下 @user12 的假期")


def test_p2p_is_always_addressed() -> None:
    msg = inbound(load("v2_p2p_text.json"))
    assert (msg.is_group, msg.mentioned) == (False, True)


def test_bot_identity_matters_only_for_group_messages_with_mentions() -> None:
    assert convert.bot_identity_matters(load("v2_group_mention.json"))
    assert convert.bot_identity_matters(load("v2_post.json"))
    for name in ("v2_p2p_text.json", "v2_group_reply.json", "v2_from_app.json", "v1_message.json"):
        assert not convert.bot_identity_matters(load(name)), name


def test_reply_in_a_group_names_its_parent() -> None:
    payload = load("v2_group_reply.json")
    assert convert.parent_id(payload) == "om_bot000000000000000000000000001"
    msg = inbound(payload)
    assert (msg.is_group, msg.mentioned, msg.text) == (True, False, "那周五呢？")
    assert convert.parent_id(load("v2_p2p_text.json")) == ""


def test_image_without_caption() -> None:
    msg = inbound(load("v2_image.json"))
    assert msg.text == ""
    (image,) = msg.attachments
    assert (image.kind, image.mime_type, image.size) == ("image", "image/jpeg", None)
    assert image.ref == {
        "message_id": "om_image000000000000000000000000",
        "file_key": "img_v2_example",
        "type": "image",
    }


def test_voice_note_is_ogg_fetched_as_type_file() -> None:
    (audio,) = inbound(load("v2_audio.json")).attachments
    assert (audio.kind, audio.mime_type, audio.transcript) == ("audio", "audio/ogg", None)
    assert audio.ref == {
        "message_id": "om_audio00000000000000000000000",
        "file_key": "file_v2_audio0000-0000-0000-0000-000000000000g",
        "type": "file",
    }


def test_file_keeps_its_name_and_type() -> None:
    (doc,) = inbound(load("v2_file.json")).attachments
    assert (doc.kind, doc.name, doc.mime_type, doc.ref["type"]) == (
        "file",
        "季度报告.pdf",
        "application/pdf",
        "file",
    )


def test_post_gives_text_with_mentions_resolved_and_its_pictures() -> None:
    msg = inbound(load("v2_post.json"))
    assert (msg.is_group, msg.mentioned) == (True, True)
    assert msg.text == "周报\n看看这张图，问 @李四\n开放平台 (https://open.feishu.cn)"
    (image,) = msg.attachments
    assert image.ref["file_key"] == "img_v2_post0000-0000-0000-0000-000000000000g"
    assert image.ref["type"] == "image" and image.ref["message_id"] == "om_post000000000000000000000000"


@pytest.mark.parametrize(
    ("message_type", "content"),
    [
        ("image", {}),
        ("file", {"file_name": "a.txt"}),
        ("sticker", {"file_key": "file_v2_sticker"}),
        ("media", {"file_key": "file_v2_video", "image_key": "img_v2_cover"}),
        ("text", {"text": "   "}),
        ("post", {"title": "", "content": [[{"tag": "emotion", "emoji_type": "SMILE"}]]}),
    ],
)
def test_messages_with_neither_text_nor_media_are_ignored(message_type: str, content: dict[str, Any]) -> None:
    payload = load("v2_p2p_text.json")
    payload["event"]["message"].update(message_type=message_type, content=json.dumps(content))
    assert convert.to_inbound(payload, ORIGIN, bot_open_id=BOT) is None
