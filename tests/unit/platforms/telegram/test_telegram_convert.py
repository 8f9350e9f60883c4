"""Telegram updates from recorded payloads → InboundMessage: ids, mentions, groups, ignored kinds."""

import json
from pathlib import Path

import pytest

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.telegram import convert, text

DATA = Path(__file__).parents[3] / "data" / "telegram"
ME = convert.BotIdentity(bot_id=123456789, username="parley_helper_bot")


def load(name: str, me: convert.BotIdentity = ME):
    return convert.update_to_inbound(
        json.loads((DATA / name).read_text()),
        Origin(bot="b", platform="telegram", binding="b-tg", received_at=9.0),
        me=me,
    )


def test_private_text() -> None:
    message = load("private_text.json")
    assert message is not None
    assert (message.event_id, message.chat_id, message.user_id) == ("700000001", "111222333", "111222333")
    assert message.text == "What are the opening hours?\nAnd on Sundays?"
    assert not message.is_group and message.mentioned and message.user_name == "alice_l"
    assert message.reply_context == {"chat_id": 111222333, "message_id": 41}
    assert message.received_at == 9.0


def test_group_mention_is_stripped() -> None:
    message = load("group_mention.json")
    assert message is not None and message.is_group and message.mentioned
    assert message.text == "how do I reset my password?"
    assert message.chat_id == "-1001234567890" and message.user_name == "Bob"


def test_command_addressed_to_the_bot_keeps_the_command() -> None:
    message = load("group_command.json")
    assert message is not None and message.mentioned
    assert message.text == "/ask summarise the thread"


def test_someone_else_mentioned_is_not_addressed() -> None:
    message = load("group_other_mention.json")
    assert message is not None and message.is_group and not message.mentioned
    assert message.text == "@bob_the_admin can you check this?"


def test_reply_to_the_bot_counts_as_mention() -> None:
    message = load("group_reply_to_bot.json")
    assert message is not None and message.mentioned
    assert message.text == "thanks, and for two-factor auth?"


def test_entity_offsets_are_utf16_units() -> None:
    message = load("group_emoji_mention.json")
    assert message is not None and message.mentioned
    assert message.text == "😀 hey , translate «bonjour»"


def test_forum_topic_reply_goes_to_the_topic() -> None:
    message = load("topic_message.json")
    assert message is not None
    assert message.reply_context == {"chat_id": -1001234567890, "message_id": 1206, "message_thread_id": 77}


def test_caption_is_the_text() -> None:
    message = load("photo_caption.json")
    assert message is not None and message.text == "what is in this picture?"


@pytest.mark.parametrize("name", ["edited_message.json", "from_bot.json", "sticker.json"])
def test_ignored_updates(name: str) -> None:
    assert load(name) is None


def test_without_username_only_replies_address_the_bot_in_groups() -> None:
    anonymous = convert.BotIdentity(bot_id=123456789)
    mention = load("group_mention.json", anonymous)
    assert mention is not None and not mention.mentioned
    reply = load("group_reply_to_bot.json", anonymous)
    assert reply is not None and reply.mentioned


def test_mentions_without_entities_are_matched_textually() -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 2,
            "date": 0,
            "text": "/help@Parley_Helper_Bot  please",
            "chat": {"id": -5, "type": "group"},
            "from": {"id": 3, "is_bot": False, "first_name": "C"},
        },
    }
    message = convert.update_to_inbound(
        update, Origin(bot="b", platform="telegram", binding="x", received_at=0), me=ME
    )
    assert message is not None and message.mentioned and message.text == "/help please"


@pytest.mark.parametrize("bad", [[], "x", {"update_id": "1"}, {"update_id": True}, {}])
def test_non_updates_raise_bad_update(bad: object) -> None:
    with pytest.raises(convert.BadUpdate):
        convert.update_to_inbound(
            bad, Origin(bot="b", platform="telegram", binding="x", received_at=0), me=ME
        )


def test_bot_id_comes_from_the_token_prefix() -> None:
    assert convert.bot_id_from_token("123456789:AAE-secret") == 123456789
    assert convert.bot_id_from_token("garbage") is None


def test_split_respects_the_limit_and_prefers_line_breaks() -> None:
    long = ("word " * 1000 + "\n") * 3
    chunks = text.split_text(long)
    assert all(text.utf16_len(c) <= 4096 for c in chunks) and len(chunks) >= 4
    assert "".join(chunks).replace(" ", "").replace("\n", "") == long.replace(" ", "").replace("\n", "")
    emoji = "😀" * 3000  # 2 UTF-16 units each: 6000 units
    parts = text.split_text(emoji)
    assert [text.utf16_len(p) for p in parts] == [4096, 1904] and "".join(parts) == emoji
    assert text.split_text("short") == ["short"] and text.split_text("   ") == []
