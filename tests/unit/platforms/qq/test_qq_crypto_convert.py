"""QQ's official vectors (op 13 answer, key derivation), the documented-broken DEMO, and conversion.

Payload shapes: bot-docs `send-receive/event.md` (C2C, group @, channel @ with the `Message` object of
`template/model.md`) and its attachment table (`content_type`, `filename`, `height`, `width`, `size`,
`url`). `voice_wav_url` and `asr_refer_text` on voice attachments appear in newer revisions of that
page (not in the bot-docs snapshot read here), as real deliveries carry them."""

import json
from pathlib import Path

import pytest

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.qq import convert, crypto, text

DATA = Path(__file__).parents[3] / "data" / "qq"
OP13_SIGNATURE = (
    "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
    "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706"
)


def test_official_op13_vector() -> None:
    assert crypto.sign_validation("DG5g3B4j9X2KOErG", "1725442341", "Arq0D5A61EgUu4OxUvOp") == OP13_SIGNATURE


def test_official_key_derivation_vector() -> None:
    secret = "naOC0ocQE3shWLAfffVLB1rhYPG7"
    assert crypto.seed_from_secret(secret) == b"naOC0ocQE3shWLAfffVLB1rhYPG7naOC"
    assert (
        crypto.public_key(secret).hex() == "d7c362fe78aef81ff23287b493628b5db02a3c4fe30b215e4d19609b5d76673a"
    )


def test_the_docs_broken_dispatch_demo_is_refused_and_the_computed_one_accepted() -> None:
    public = crypto.public_key("naOC0ocQE3shWLAfffVLB1rhYPG7")
    body = b'{ "op": 0,"d": {}, "t": "GATEWAY_EVENT_NAME"}'
    doc_sig = (
        "865ad13a61752ca65e26bde6676459cd36cf1be609375b37bd62af366e1dc25a"
        "8dc789ba7f14e017ada3d554c671a911bfdf075ba54835b23391d509579ed002"
    )
    computed = (
        "2eb9983ebb8bb209e78fd095942f58e442656656e7975d01e64f9023a84b7c96"
        "4290fdd40e5500c33867ccfe9563b7e0b6bac0e1d42c13e787b304fd51f71102"
    )
    assert not crypto.verify(public, "1725442341", body, doc_sig)
    assert crypto.verify(public, "1725442341", body, computed)


def test_seed_of_a_long_secret_is_its_first_32_bytes_and_empty_is_refused() -> None:
    assert crypto.seed_from_secret("x" * 40) == b"x" * 32
    with pytest.raises(ValueError):
        crypto.seed_from_secret("")


def load(name: str):
    payload = json.loads((DATA / name).read_text())
    return convert.dispatch_to_inbound(
        payload, Origin(bot="b", platform="qq", binding="b-qq", received_at=4.0)
    )


def test_c2c_message() -> None:
    message = load("c2c_message.json")
    assert message is not None
    assert message.event_id == "C2C_MESSAGE_CREATE:e5xjqzlonyatjg7yx2ct8ue6zq9ak3wnxgcn4sb1vh3hf"
    assert message.user_id == message.chat_id == "E4F4AEA33253A2797FB897C50B81D7ED"
    assert message.text == "你好，今天北京天气怎么样？" and not message.is_group
    assert message.reply_context["target"] == "user" and message.reply_context["msg_id"].startswith(
        "ROBOT1.0_veGk"
    )


def test_group_at_message() -> None:
    message = load("group_at_message.json")
    assert message is not None and message.is_group and message.mentioned
    assert (message.user_id, message.chat_id) == (
        "9F3A2E5C0B8D4A7E1C6F5B3A9D2E8C47",
        "C9F778FE6ADF9D1D1DBE395BF744A33A",
    )
    assert message.text == "帮我总结一下今天的会议"
    assert message.reply_context["target"] == "group"
    assert message.reply_context["openid"] == "C9F778FE6ADF9D1D1DBE395BF744A33A"


def test_other_dispatches_are_ignored() -> None:
    assert load("friend_add.json") is None


def test_group_at_strips_only_the_leading_bot_mention() -> None:
    payload = json.loads((DATA / "group_at_message.json").read_text())
    payload["d"]["content"] = "<@!2783517902> 问一下 <@!5566> 的意见"
    message = convert.dispatch_to_inbound(payload, Origin(bot="b", platform="qq", binding="x", received_at=0))
    assert message is not None and message.text == "问一下 @5566 的意见"


def test_c2c_picture_without_text_is_one_image() -> None:
    message = load("c2c_image.json")
    assert message is not None and message.text == "" and not message.is_group and message.mentioned
    (picture,) = message.attachments
    assert (picture.kind, picture.mime_type, picture.size) == ("image", "image/jpeg", 183245)
    assert (
        picture.url
        == "https://multimedia.nt.qq.com.cn/download?appid=1406&fileid=EhRkZmE3YjM2&rkey=CAQSKAB6JWENi5LM"
    )
    assert picture.name == "6A3051F3C2B94E7D8A1F0E9D8C7B6A59.jpg"


def test_group_voice_uses_the_wav_copy_and_qq_recognition() -> None:
    message = load("group_at_voice.json")
    assert message is not None and message.is_group and message.mentioned and message.text == ""
    (voice,) = message.attachments
    assert (voice.kind, voice.mime_type, voice.transcript) == ("audio", "audio/wav", "今天的会议几点开始")
    assert voice.url is not None and "spec=wav" in voice.url
    assert voice.size is None  # the stated size is the SILK original's, not the WAV copy's


def test_voice_without_wav_copy_is_silk_with_its_size() -> None:
    payload = json.loads((DATA / "group_at_voice.json").read_text())
    for key in ("voice_wav_url", "asr_refer_text"):
        del payload["d"]["attachments"][0][key]
    message = convert.dispatch_to_inbound(payload, Origin(bot="b", platform="qq", binding="x", received_at=0))
    assert message is not None
    (voice,) = message.attachments
    assert (voice.mime_type, voice.size, voice.transcript) == ("audio/silk", 6112, None)


def test_channel_at_message_names_mentions_and_fixes_the_schemeless_url() -> None:
    message = load("channel_at_message.json")
    assert message is not None and message.is_group and message.mentioned
    assert message.text == "帮我看看这张图 @小红"
    assert (message.user_id, message.chat_id, message.user_name) == ("144115218678923456", "100010", "阿明")
    assert message.reply_context == {
        "target": "channel",
        "openid": "100010",
        "msg_id": "08a1b2c3d4e5f6a7b8c91001a2b3c4d5e6f7a8b9c0",
    }
    (picture,) = message.attachments
    assert (picture.kind, picture.mime_type, picture.size) == ("image", "image/png", 98123)
    assert picture.url == "https://gchat.qpic.cn/qmeetpic/0/0-0-5B1C2D3E4F5A6B7C/0"


def test_files_and_odd_attachments() -> None:
    payload = json.loads((DATA / "c2c_image.json").read_text())
    payload["d"]["attachments"] = [
        {"content_type": "file", "filename": "报告.pdf", "size": 4096, "url": "//qq.example/f/1"},
        {"content_type": "video/mp4", "url": "https://qq.example/v.mp4", "size": "12"},
        {"content_type": "image/png"},  # no url: nothing to fetch
        "junk",
    ]
    message = convert.dispatch_to_inbound(payload, Origin(bot="b", platform="qq", binding="x", received_at=0))
    assert message is not None
    report, video = message.attachments
    assert (report.kind, report.mime_type, report.name, report.size) == (
        "file",
        "application/octet-stream",
        "报告.pdf",
        4096,
    )
    assert report.url == "https://qq.example/f/1"
    assert (video.kind, video.mime_type, video.size) == ("file", "video/mp4", None)


def test_message_with_neither_text_nor_attachment_is_ignored() -> None:
    payload = json.loads((DATA / "c2c_image.json").read_text())
    payload["d"]["attachments"] = []
    assert (
        convert.dispatch_to_inbound(payload, Origin(bot="b", platform="qq", binding="x", received_at=0))
        is None
    )


def test_split_caps_at_five_replies() -> None:
    assert text.split_text("hi") == ["hi"]
    chunks = text.split_text("abcdefghij " * 2000)
    assert len(chunks) == 5 and all(len(c) <= 2000 for c in chunks) and chunks[-1].endswith("…")
