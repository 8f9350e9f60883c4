"""OneBot v11 message events (CQ strings and segment arrays) → InboundMessage, from recorded payloads.

Shapes: onebot-11 `event/message.md` and `message/segment.md` (`reply` `id`, `record` `file`/`url`);
the `file` segment, `name` and `path` are NapCat's additions (NapCatQQ `src/onebot/types/message.ts`), and
`file_size` what its message converter fills in."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.onebot import convert, cqcode

DATA = Path(__file__).parents[3] / "data" / "onebot"


def load(name: str, own: frozenset[str] = frozenset()):
    event = json.loads((DATA / name).read_text())
    return convert.event_to_inbound(
        event, Origin(bot="b", platform="onebot", binding="b-ob", received_at=6.0), own
    )


def test_private_segments() -> None:
    message = load("private_segments.json")
    assert message is not None
    assert (message.event_id, message.user_id, message.chat_id) == (
        "10001000:1847362",
        "12345678",
        "12345678",
    )
    assert message.text == "明天上海会下雨吗？" and not message.is_group and message.mentioned
    assert message.user_name == "小明" and message.received_at == 6.0
    assert message.reply_context == {
        "self_id": "10001000",
        "message_type": "private",
        "message_id": "1847362",
        "user_id": "12345678",
    }


def test_group_cq_string_with_at_self_is_stripped_and_unescaped() -> None:
    message = load("group_cq_at_self.json")
    assert message is not None and message.is_group and message.mentioned
    assert message.text == "帮我查一下 [工单] 7&8 的状态"
    assert (message.chat_id, message.user_id, message.user_name) == ("87654321", "23456789", "运维-Lena")
    assert message.event_id == "10001000:-2104918822"
    assert message.reply_context["group_id"] == "87654321"


def test_group_segments_other_mention_and_image() -> None:
    message = load("group_segments_other_at.json")
    assert message is not None and not message.mentioned
    assert message.text == "@23456789 你看下这个"
    assert [a.url for a in message.attachments] == [
        "https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=abc"
    ]
    assert message.attachments[0].kind == "image"
    assert message.user_name == "Kai"


def test_reply_to_one_of_the_bots_messages_is_addressed() -> None:
    ours = load("group_reply_to_bot.json", own=frozenset({convert.message_key("10001000", "4242")}))
    assert ours is not None and ours.is_group and ours.mentioned and ours.text == "那明天呢？"
    unknown = load("group_reply_to_bot.json")
    assert unknown is not None and not unknown.mentioned  # quoting someone else's message
    other_account = load("group_reply_to_bot.json", own=frozenset({convert.message_key("20002000", "4242")}))
    assert other_account is not None and not other_account.mentioned


def test_voice_record_is_amr_audio_with_its_size() -> None:
    message = load("private_record.json")
    assert message is not None and message.text == "" and message.mentioned
    (voice,) = message.attachments
    assert (voice.kind, voice.mime_type, voice.size) == ("audio", "audio/amr", 5321)
    assert voice.url == "https://multimedia.nt.qq.com.cn/download?appid=1402&fileid=EhQ4ZTJm&rkey=CAQSKAB6"


def test_file_segment_in_a_cq_string() -> None:
    message = load("group_file.json")
    assert message is not None and message.mentioned and message.text == "帮我看下这份周报"
    (report,) = message.attachments
    assert (report.kind, report.name, report.size, report.mime_type) == (
        "file",
        "周报-第47周.pdf",
        48213,
        "application/pdf",
    )
    assert report.url == "https://njc-download.ftn.qq.com/ftn_handler/abc/?fname=a1b2"


def test_other_mention_uses_the_name_napcat_adds() -> None:
    event = json.loads((DATA / "group_segments_other_at.json").read_text())
    event["message"][0]["data"]["name"] = "Lena"
    message = convert.event_to_inbound(event, Origin(bot="b", platform="onebot", binding="x", received_at=0))
    assert message is not None and message.text == "@Lena 你看下这个" and not message.mentioned


def test_media_without_an_http_url_is_left_out() -> None:
    event = json.loads((DATA / "private_record.json").read_text())
    event["message"] = [
        {"type": "record", "data": {"file": "x.silk", "url": "https://q.example/x.silk"}},
        {"type": "image", "data": {"file": "local.png", "file_size": "10"}},  # no url
        {"type": "record", "data": {"file": "file:///tmp/y.amr", "url": "file:///tmp/y.amr"}},
    ]
    message = convert.event_to_inbound(event, Origin(bot="b", platform="onebot", binding="x", received_at=0))
    assert message is not None
    assert [(a.kind, a.mime_type) for a in message.attachments] == [("audio", "audio/silk")]


@pytest.mark.parametrize(
    "name",
    ["lifecycle_connect.json", "heartbeat.json", "message_sent_self.json", "notice_group_increase.json"],
)
def test_non_messages_are_ignored(name: str) -> None:
    assert load(name) is None


def test_cq_parsing() -> None:
    assert cqcode.parse_cq("a[CQ:face,id=14]b[CQ:at,qq=all]&#91;x&#93;") == [
        ("text", {"text": "a"}),
        ("face", {"id": "14"}),
        ("text", {"text": "b"}),
        ("at", {"qq": "all"}),
        ("text", {"text": "[x]"}),
    ]
    assert cqcode.parse_cq("[CQ:share,url=https://a.example/?x=1&#44;2,title=T]") == [
        ("share", {"url": "https://a.example/?x=1,2", "title": "T"})
    ]
    assert cqcode.segments_of(42) is None


@pytest.mark.parametrize(
    "event",
    [
        {"post_type": "message", "message_type": "private", "self_id": 1, "message_id": 2, "message": "x"},
        {
            "post_type": "message",
            "message_type": "group",
            "self_id": 1,
            "user_id": 3,
            "message_id": 2,
            "message": "x",
        },
        {
            "post_type": "message",
            "message_type": "private",
            "self_id": 1,
            "user_id": 3,
            "message_id": 2,
            "message": 5,
        },
        {"post_type": "message", "message_type": "discuss", "self_id": 1, "user_id": 3, "message_id": 2},
    ],
)
def test_incomplete_message_events_are_bad(event: dict) -> None:
    with pytest.raises(convert.BadEvent):
        convert.event_to_inbound(event, Origin(bot="b", platform="onebot", binding="x", received_at=0))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
EVENT = st.fixed_dictionaries(
    {"post_type": st.sampled_from(["message", "meta_event", "notice"])},
    optional={
        "message_type": st.sampled_from(["private", "group"]) | JSON,
        "self_id": st.integers() | JSON,
        "user_id": st.integers() | JSON,
        "group_id": st.integers() | JSON,
        "message_id": st.integers() | JSON,
        "sender": JSON,
        "message": st.text(max_size=60)
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "at", "image", "face"]) | JSON, "data": JSON}
            ),
            max_size=4,
        )
        | JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(event=EVENT, cq=st.text(max_size=80))
def test_fuzz_only_bad_event_escapes(event: dict, cq: str) -> None:
    try:
        result = convert.event_to_inbound(
            event, Origin(bot="b", platform="onebot", binding="x", received_at=0)
        )
    except convert.BadEvent:
        result = None
    assert result is None or result.event_id.count(":") == 1
    assert all(isinstance(kind, str) for kind, _ in cqcode.parse_cq(cq))
