"""WeChat MP XML (recorded from the docs' examples) → InboundMessage."""

from pathlib import Path

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common.wxcrypto import parse_xml
from parley_runtime.platforms.wechat_mp import convert

DATA = Path(__file__).parents[3] / "data" / "wechat_mp"
OPENID = "oEXAMPLEfollower0000000000001"


def fields(name: str) -> dict[str, str]:
    return parse_xml((DATA / name).read_bytes())


def test_text_message() -> None:
    msg = convert.to_inbound(
        fields("text_message.xml"), Origin(bot="b", platform="wechat-mp", binding="bm", received_at=1.5)
    )
    assert msg is not None
    assert (msg.event_id, msg.user_id, msg.chat_id, msg.text) == (
        "24321987654321012",
        OPENID,
        OPENID,
        "今天营业吗？",
    )
    assert (msg.is_group, msg.mentioned, msg.received_at) == (False, True, 1.5)
    assert msg.reply_context == {"touser": OPENID}


def test_events_and_voice_are_ignored() -> None:
    for name in ("event_subscribe.xml", "voice_message.xml"):
        assert (
            convert.to_inbound(
                fields(name), Origin(bot="b", platform="wechat-mp", binding="bm", received_at=0)
            )
            is None
        )


def test_event_dedup_key() -> None:
    assert convert.event_id(fields("event_subscribe.xml")) == f"{OPENID}:1700000050"
