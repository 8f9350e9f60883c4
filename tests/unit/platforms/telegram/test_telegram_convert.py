"""Telegram updates from recorded payloads → InboundMessage: ids, mentions, groups, media, ignored kinds;
reply attachments → upload methods."""

import json
from pathlib import Path

import pytest

from parley_runtime.core.messages import Attachment, MediaKind
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


def test_photo_without_caption_is_the_largest_size_and_empty_text() -> None:
    message = load("photo_sizes.json")
    assert message is not None and message.text == "" and message.mentioned
    (photo,) = message.attachments
    assert (photo.kind, photo.mime_type, photo.size) == ("image", "image/jpeg", 96512)
    assert photo.ref == {"file_id": "AgACAgIAAxkBAAIBaGc-x"} and photo.url is None and photo.name is None


def test_photo_caption_keeps_its_photo() -> None:
    message = load("photo_caption.json")
    assert message is not None
    assert [(a.kind, a.size, a.ref["file_id"]) for a in message.attachments] == [
        ("image", 1234, "AgACAgIAAxkBAAIBZ2c")
    ]


@pytest.mark.parametrize(
    ("name", "kind", "mime", "size", "file_id", "file_name", "text"),
    [
        ("voice.json", "audio", "audio/ogg", 12288, "AwACAgIAAxkBAAIBaWc", None, ""),
        (
            "audio.json",
            "audio",
            "audio/mpeg",
            2931200,
            "CQACAgIAAxkBAAIBamc",
            "standup-notes.mp3",
            "summarise this please",
        ),
        (
            "document_pdf.json",
            "file",
            "application/pdf",
            48211,
            "BQACAgIAAxkBAAIBa2c",
            "invoice-2025-11.pdf",
            "is this invoice correct?",
        ),
        ("document_image.json", "image", "image/png", 204800, "BQACAgIAAxkBAAIBbGc", "screenshot.png", ""),
        ("video.json", "file", "video/mp4", 3145728, "BAACAgIAAxkBAAIBbWc", "bug.mp4", ""),
    ],
)
def test_media_messages_map_to_one_attachment(
    name: str, kind: str, mime: str, size: int, file_id: str, file_name: str | None, text: str
) -> None:
    message = load(name)
    assert message is not None and message.text == text
    (attachment,) = message.attachments
    assert (attachment.kind, attachment.mime_type, attachment.size) == (kind, mime, size)
    assert attachment.ref == {"file_id": file_id} and attachment.name == file_name


def test_voice_without_mime_type_is_ogg_and_without_size_has_none() -> None:
    update = json.loads((DATA / "voice.json").read_text())
    del update["message"]["voice"]["mime_type"], update["message"]["voice"]["file_size"]
    message = convert.update_to_inbound(
        update, Origin(bot="b", platform="telegram", binding="x", received_at=0), me=ME
    )
    assert message is not None
    assert [(a.kind, a.mime_type, a.size) for a in message.attachments] == [("audio", "audio/ogg", None)]


def test_animation_without_caption_is_ignored_despite_its_document() -> None:
    assert load("animation.json") is None


def test_group_photo_with_mention_in_caption() -> None:
    message = load("group_photo_mention.json")
    assert message is not None and message.is_group and message.mentioned
    assert message.text == "what does this error mean?"
    assert [a.ref["file_id"] for a in message.attachments] == ["AgACAgIAAxkBAAIBb2c-m"]


def test_unaddressed_group_photo_is_reported_not_dropped() -> None:
    message = load("group_photo_unaddressed.json")
    assert message is not None and message.is_group and not message.mentioned
    assert message.text == "" and len(message.attachments) == 1


def test_group_voice_replying_to_the_bot_is_addressed() -> None:
    message = load("group_voice_reply_to_bot.json")
    assert message is not None and message.is_group and message.mentioned and message.text == ""
    assert message.attachments[0].kind == "audio"


def test_text_mention_of_the_bot_by_id() -> None:
    message = load("group_text_mention.json")
    assert message is not None and message.mentioned and message.text == "please translate «merci»"
    other_bot = load("group_text_mention.json", convert.BotIdentity(bot_id=42, username="parley_helper_bot"))
    assert other_bot is not None and not other_bot.mentioned
    assert other_bot.text == "Parley Helper please translate «merci»"


def test_identity_from_get_me() -> None:
    fallback = convert.BotIdentity(bot_id=1, username="configured_bot")
    user = {"id": 123456789, "is_bot": True, "first_name": "Parley Helper", "username": "parley_helper_bot"}
    assert convert.identity_from_get_me(user, fallback) == ME
    without_username = {"id": 123456789, "is_bot": True, "first_name": "P"}
    assert convert.identity_from_get_me(without_username, fallback) == convert.BotIdentity(
        123456789, "configured_bot"
    )
    for junk in (None, [], {"id": "123"}, {"id": True, "username": "x"}):
        assert convert.identity_from_get_me(junk, fallback) is None


@pytest.mark.parametrize(
    ("kind", "mime", "name", "method", "filename"),
    [
        ("image", "image/png", None, ("sendPhoto", "photo"), "image.png"),
        ("image", "image/jpeg", "chart.jpg", ("sendPhoto", "photo"), "chart.jpg"),
        ("audio", "audio/ogg", None, ("sendVoice", "voice"), "audio.ogg"),
        ("audio", "audio/ogg; codecs=opus", None, ("sendVoice", "voice"), "audio.ogg"),
        ("audio", "audio/mpeg", None, ("sendAudio", "audio"), "audio.mp3"),
        ("file", "application/pdf", "report.pdf", ("sendDocument", "document"), "report.pdf"),
        ("file", "application/x-unknown-thing", None, ("sendDocument", "document"), "file.bin"),
    ],
)
def test_reply_attachments_choose_their_upload_method(
    kind: MediaKind, mime: str, name: str | None, method: tuple[str, str], filename: str
) -> None:
    attachment = Attachment(kind=kind, mime_type=mime, name=name)
    assert convert.upload_method(attachment) == method
    assert convert.upload_name(attachment, mime) == filename
