"""Decrypted WeCom XML (recorded from the docs' examples, 接收消息 document/path/90239) → InboundMessage;
wechatpy's parser reads the same XML independently and must agree on the media ids."""

from pathlib import Path

import pytest
from wechatpy.enterprise import parse_message

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common.wxcrypto import parse_xml
from parley_runtime.platforms.wecom import convert

DATA = Path(__file__).parents[3] / "data" / "wecom"
ORIGIN = Origin(bot="b", platform="wecom", binding="bw", received_at=5.0)


def fields(name: str) -> dict[str, str]:
    return parse_xml((DATA / name).read_bytes())


def test_text_message() -> None:
    msg = convert.to_inbound(fields("text_message.xml"), ORIGIN)
    assert msg is not None
    assert (msg.event_id, msg.user_id, msg.chat_id) == ("7302251234567890123", "ZhangSan", "ZhangSan")
    assert msg.text == "帮我查一下报销流程"
    assert (msg.is_group, msg.mentioned, msg.received_at, msg.attachments) == (False, True, 5.0, ())
    assert msg.reply_context == {"touser": "ZhangSan", "agent_id": "1000002"}
    assert (msg.bot, msg.platform, msg.binding) == ("b", "wecom", "bw")


def test_picture_without_caption_is_one_image_with_its_media_id() -> None:
    msg = convert.to_inbound(fields("image_message.xml"), ORIGIN)
    oracle = parse_message((DATA / "image_message.xml").read_text())
    assert msg is not None and msg.text == "" and (msg.is_group, msg.mentioned) == (False, True)
    (picture,) = msg.attachments
    assert (picture.kind, picture.mime_type, picture.size) == ("image", "image/jpeg", None)
    assert picture.ref == {"media_id": oracle.media_id} == {"media_id": "media_id_example"}
    assert picture.url == oracle.image == "https://example.invalid/pic.jpg"
    assert msg.event_id == "7302251234567890124" and msg.reply_context["touser"] == "ZhangSan"


def test_voice_is_amr_audio_without_transcript() -> None:
    msg = convert.to_inbound(fields("voice_message.xml"), ORIGIN)
    oracle = parse_message((DATA / "voice_message.xml").read_text())
    assert msg is not None and msg.text == ""
    (voice,) = msg.attachments
    assert (voice.kind, voice.mime_type, voice.transcript, voice.url) == ("audio", "audio/amr", None, None)
    assert voice.ref == {"media_id": oracle.media_id} and oracle.format == "amr"


def test_video_is_offered_as_a_file() -> None:
    msg = convert.to_inbound(fields("video_message.xml"), ORIGIN)
    oracle = parse_message((DATA / "video_message.xml").read_text())
    assert msg is not None
    (video,) = msg.attachments
    assert (video.kind, video.mime_type, video.ref) == ("file", "video/mp4", {"media_id": oracle.media_id})


@pytest.mark.parametrize("name", ["event_enter_agent.xml", "location_message.xml"])
def test_events_and_other_types_are_ignored(name: str) -> None:
    assert convert.to_inbound(fields(name), ORIGIN) is None


def test_media_message_without_media_id_is_ignored() -> None:
    broken = {**fields("image_message.xml"), "MediaId": ""}
    assert convert.to_inbound(broken, ORIGIN) is None


def test_event_dedup_key_is_sender_and_time() -> None:
    assert convert.event_id(fields("event_enter_agent.xml")) == "ZhangSan:1700000100"
