"""WeChat MP XML (recorded from the docs' examples, 接收普通消息) → InboundMessage; wechatpy's parser reads
the same XML independently and must agree on media ids and the speech recognition."""

from pathlib import Path

from wechatpy import parse_message

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common.wxcrypto import parse_xml
from parley_runtime.platforms.wechat_mp import convert

DATA = Path(__file__).parents[3] / "data" / "wechat_mp"
OPENID = "oEXAMPLEfollower0000000000001"
ORIGIN = Origin(bot="b", platform="wechat-mp", binding="bm", received_at=1.5)


def fields(name: str) -> dict[str, str]:
    return parse_xml((DATA / name).read_bytes())


def test_text_message() -> None:
    msg = convert.to_inbound(fields("text_message.xml"), ORIGIN)
    assert msg is not None
    assert (msg.event_id, msg.user_id, msg.chat_id, msg.text) == (
        "24321987654321012",
        OPENID,
        OPENID,
        "今天营业吗？",
    )
    assert (msg.is_group, msg.mentioned, msg.received_at, msg.attachments) == (False, True, 1.5, ())
    assert msg.reply_context == {"touser": OPENID}


def test_picture_is_an_image_with_media_id_and_pic_url() -> None:
    msg = convert.to_inbound(fields("image_message.xml"), ORIGIN)
    oracle = parse_message((DATA / "image_message.xml").read_text())
    assert msg is not None and msg.text == "" and msg.event_id == "24321987654321014"
    (picture,) = msg.attachments
    assert (picture.kind, picture.mime_type) == ("image", "image/jpeg")
    assert (picture.ref, picture.url) == ({"media_id": oracle.media_id}, oracle.image)


def test_voice_with_recognition_carries_the_transcript() -> None:
    msg = convert.to_inbound(fields("voice_recognition.xml"), ORIGIN)
    oracle = parse_message((DATA / "voice_recognition.xml").read_text())
    assert msg is not None and msg.text == ""
    (voice,) = msg.attachments
    assert (voice.kind, voice.mime_type) == ("audio", "audio/amr")
    assert voice.transcript == oracle.recognition == "明天几点开门？"
    assert voice.ref == {"media_id": oracle.media_id}


def test_voice_without_recognition_has_no_transcript() -> None:
    msg = convert.to_inbound(fields("voice_message.xml"), ORIGIN)
    assert msg is not None
    (voice,) = msg.attachments
    assert (voice.kind, voice.transcript, voice.ref) == ("audio", None, {"media_id": "media_id_example"})
    blank = convert.to_inbound({**fields("voice_recognition.xml"), "Recognition": "  "}, ORIGIN)
    assert blank is not None and blank.attachments[0].transcript is None


def test_speex_voice_and_short_video() -> None:
    speex = convert.to_inbound({**fields("voice_message.xml"), "Format": "speex"}, ORIGIN)
    assert speex is not None and speex.attachments[0].mime_type == "audio/speex"
    video = convert.to_inbound(fields("shortvideo_message.xml"), ORIGIN)
    oracle = parse_message((DATA / "shortvideo_message.xml").read_text())
    assert video is not None
    assert (video.attachments[0].kind, video.attachments[0].ref) == ("file", {"media_id": oracle.media_id})


def test_events_are_ignored() -> None:
    assert convert.to_inbound(fields("event_subscribe.xml"), ORIGIN) is None


def test_event_dedup_key() -> None:
    assert convert.event_id(fields("event_subscribe.xml")) == f"{OPENID}:1700000050"
