"""Discord interactions from recorded payloads → InboundMessage (addressing, ATTACHMENT options), and the
2000-unit split of text and Markdown."""

import json
from pathlib import Path

import pytest

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.discord import convert, text

DATA = Path(__file__).parents[3] / "data" / "discord"


def load(name: str):
    interaction = json.loads((DATA / name).read_text())
    return convert.interaction_to_inbound(
        interaction,
        Origin(bot="b", platform="discord", binding="b-dc", received_at=2.0),
        ask_commands=("ask", "chat"),
    )


def test_ask_command_in_a_guild() -> None:
    message = load("ask_guild.json")
    assert message is not None
    assert (message.event_id, message.user_id, message.chat_id) == (
        "1310000000000000002",
        "80351110224678912",
        "645027906669510667",
    )
    assert message.text == "How do I rotate the API key?"
    assert message.is_group and message.mentioned and message.user_name == "Nelly"
    assert message.reply_context == {
        "application_id": "1125000000000000001",
        "interaction_token": "aW50ZXJhY3Rpb246MTMxMDAwMDAwMDAwMDAwMDAwMjphc2s",
    }


def test_other_command_in_a_dm_becomes_a_plugin_command() -> None:
    message = load("weather_dm.json")
    assert message is not None and not message.is_group
    assert message.text == "/weather 北京 3" and message.chat_id == "1200000000000000009"


def test_subcommands_are_flattened() -> None:
    message = load("subcommand.json")
    assert message is not None and message.text == "/session reset"


def test_context_menu_commands_are_not_messages() -> None:
    assert load("user_context_menu.json") is None


def test_missing_token_is_a_bad_interaction() -> None:
    interaction = json.loads((DATA / "ask_guild.json").read_text())
    del interaction["token"]
    with pytest.raises(convert.BadInteraction):
        convert.interaction_to_inbound(
            interaction, Origin(bot="b", platform="discord", binding="x", received_at=0), ask_commands=()
        )


def test_attachment_options_become_attachments_not_text() -> None:
    message = load("ask_with_attachments.json")
    assert message is not None and message.is_group and message.mentioned
    assert message.text == "What does this error mean?"  # the attachment ids are not words
    image, log = message.attachments
    assert (image.kind, image.mime_type, image.size, image.name, image.ref) == (
        "image",
        "image/png",
        48213,
        "error.png",
        {"attachment_id": "1310000000000000777"},
    )
    assert image.url is not None and image.url.startswith(
        "https://cdn.discordapp.com/ephemeral-attachments/1125000000000000100/1310000000000000777/error.png?ex="
    )
    assert (log.kind, log.mime_type, log.name) == ("file", "text/plain", "server.log")


def test_a_command_with_only_a_file_is_a_message() -> None:
    message = load("chat_voice_only_dm.json")
    assert message is not None and not message.is_group and message.mentioned
    assert message.text == ""
    (voice,) = message.attachments
    assert (voice.kind, voice.mime_type, voice.size) == ("audio", "audio/ogg", 18432)


def test_unresolved_attachment_ids_are_dropped() -> None:
    interaction = json.loads((DATA / "chat_voice_only_dm.json").read_text())
    del interaction["data"]["resolved"]
    origin = Origin(bot="b", platform="discord", binding="x", received_at=0)
    assert convert.interaction_to_inbound(interaction, origin, ask_commands=("chat",)) is None
    assert convert.interaction_to_inbound(interaction, origin, ask_commands=()).text == "/chat"


def test_split_at_2000_units() -> None:
    long = "sentence number x. " * 300
    chunks = text.split_text(long)
    assert all(len(c) <= 2000 for c in chunks) and len(chunks) == 3
    assert " ".join(chunks) == long
    assert [len(c) for c in text.split_text("🙂" * 1500)] == [1000, 500]


def test_markdown_is_cut_in_utf16_units_outside_code_blocks() -> None:
    code = "```py\n" + "print('🙂')\n" * 100 + "```"  # 1309 UTF-16 units: must stay whole
    chunks = text.markdown_chunks("**intro** " * 100 + "\n\n" + code + "\n\n" + "🙂 " * 600)
    assert all(len(c.encode("utf-16-le")) // 2 <= 2000 for c in chunks)
    assert code in chunks[1] and chunks[0].startswith("**intro**")  # Markdown left as Discord renders it
