"""Decrypted WeCom XML (recorded from the docs' examples) → InboundMessage."""

from pathlib import Path

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.common.wxcrypto import parse_xml
from parley_runtime.platforms.wecom import convert

DATA = Path(__file__).parents[3] / "data" / "wecom"


def fields(name: str) -> dict[str, str]:
    return parse_xml((DATA / name).read_bytes())


def test_text_message() -> None:
    msg = convert.to_inbound(
        fields("text_message.xml"), Origin(bot="b", platform="wecom", binding="bw", received_at=5.0)
    )
    assert msg is not None
    assert (msg.event_id, msg.user_id, msg.chat_id) == ("7302251234567890123", "ZhangSan", "ZhangSan")
    assert msg.text == "帮我查一下报销流程"
    assert (msg.is_group, msg.mentioned, msg.received_at) == (False, True, 5.0)
    assert msg.reply_context == {"touser": "ZhangSan", "agent_id": "1000002"}
    assert (msg.bot, msg.platform, msg.binding) == ("b", "wecom", "bw")


def test_events_and_other_types_are_ignored() -> None:
    for name in ("event_enter_agent.xml", "image_message.xml"):
        assert (
            convert.to_inbound(fields(name), Origin(bot="b", platform="wecom", binding="bw", received_at=0))
            is None
        )


def test_event_dedup_key_is_sender_and_time() -> None:
    assert convert.event_id(fields("event_enter_agent.xml")) == "ZhangSan:1700000100"
