"""Slack v0 signatures (official vector, SDK oracle, window) and event conversion from recorded payloads."""

import json
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.slack import convert, crypto, text

DATA = Path(__file__).parents[3] / "data" / "slack"
OFFICIAL = {
    "secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "timestamp": "1531420618",
    "body": (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    ),
    "signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}


def test_official_vector_reproduces() -> None:
    body = OFFICIAL["body"].encode()
    assert crypto.signature(OFFICIAL["secret"], OFFICIAL["timestamp"], body) == OFFICIAL["signature"]
    verdict = crypto.verify(
        OFFICIAL["secret"], OFFICIAL["timestamp"], OFFICIAL["signature"], body, now=1531420618
    )
    assert verdict is crypto.Verdict.OK


def test_matches_the_sdk_both_ways() -> None:
    body = (DATA / "app_mention.json").read_bytes()
    sdk = SignatureVerifier("s3cr3t", clock=type("C", (), {"now": staticmethod(lambda: 1_763_700_000.0)})())
    ours = crypto.signature("s3cr3t", "1763700000", body)
    assert ours == sdk.generate_signature(timestamp="1763700000", body=body)
    assert sdk.is_valid_request(body, {"x-slack-request-timestamp": "1763700000", "x-slack-signature": ours})


@pytest.mark.parametrize(
    ("timestamp", "signature_of", "now", "expected"),
    [
        ("1531420618", "same", 1531420618 + 300, crypto.Verdict.OK),
        ("1531420618", "same", 1531420618 + 301, crypto.Verdict.STALE_TIMESTAMP),
        ("1531420618", "same", 1531420618 - 301, crypto.Verdict.STALE_TIMESTAMP),
        ("1531420618", "other-body", 1531420618, crypto.Verdict.BAD_SIGNATURE),
        ("abc", "same", 1531420618, crypto.Verdict.BAD_SIGNATURE),
        ("", "same", 1531420618, crypto.Verdict.BAD_SIGNATURE),
    ],
)
def test_window_and_forgeries(
    timestamp: str, signature_of: str, now: float, expected: crypto.Verdict
) -> None:
    body = OFFICIAL["body"].encode()
    signed = body if signature_of == "same" else body + b"x"
    presented = crypto.signature(OFFICIAL["secret"], timestamp, signed)
    assert crypto.verify(OFFICIAL["secret"], timestamp, presented, body, now=now) is expected


def convert_file(name: str, bot_id: str | None = None):
    envelope = json.loads((DATA / name).read_text())
    return convert.event_to_inbound(
        envelope, Origin(bot="b", platform="slack", binding="b-slack", received_at=3.0), bot_id=bot_id
    )


def test_app_mention() -> None:
    message = convert_file("app_mention.json")
    assert message is not None
    assert (message.event_id, message.user_id, message.chat_id) == (
        "C0GENERAL1:1763700000.000200",
        "U0HUMANAAA",
        "C0GENERAL1",
    )
    assert message.text == "what's the VPN address?" and message.is_group and message.mentioned
    assert message.reply_context == {"channel": "C0GENERAL1", "ts": "1763700000.000200"}
    assert message.attachments == ()


def test_direct_message() -> None:
    message = convert_file("message_im.json")
    assert message is not None and not message.is_group and message.mentioned
    assert message.text == "Can you summarise *this* doc?"
    assert message.event_id == "D0DIRECTCH:1763700010.000300"


def test_thread_reply_keeps_thread_and_strips_labelled_mention() -> None:
    message = convert_file("thread_reply.json")
    assert message is not None and message.text == "and for macOS?"
    assert message.reply_context["thread_ts"] == "1763700000.000200"


def test_channel_message_without_mention_is_unaddressed() -> None:
    message = convert_file("message_channel_plain.json")
    assert message is not None and message.is_group and not message.mentioned
    assert message.text == "lunch at noon, <@U0HUMANAAA>?"  # other people's mentions stay as Slack wrote them


@pytest.mark.parametrize(
    ("as_message", "as_app_mention"),
    [
        ("message_channel_mention.json", "app_mention.json"),
        ("file_share_channel_mention.json", "file_share_app_mention.json"),
    ],
)
def test_a_mention_delivered_twice_is_one_message(as_message: str, as_app_mention: str) -> None:
    """Slack sends a `message` and an `app_mention` (different event_ids) for one mention: both carry
    the same event_id, so the queue's de-duplication answers once, whichever comes first."""
    first, second = convert_file(as_message), convert_file(as_app_mention)
    assert first is not None and second is not None
    envelopes = [json.loads((DATA / n).read_text())["event_id"] for n in (as_message, as_app_mention)]
    assert envelopes[0] != envelopes[1]
    assert first.event_id == second.event_id
    assert (first.text, first.mentioned, first.is_group) == (second.text, second.mentioned, second.is_group)
    assert first.mentioned and first.is_group and "<@U0BOTPARLY>" not in first.text
    assert first.attachments == second.attachments


def test_replies_in_the_bots_thread_are_addressed() -> None:
    to_bot, to_human = convert_file("thread_reply_to_bot.json"), convert_file("thread_reply_to_human.json")
    assert to_bot is not None and to_bot.is_group and to_bot.mentioned
    assert to_bot.reply_context["thread_ts"] == "1763700005.000250"
    assert to_human is not None and to_human.is_group and not to_human.mentioned


def test_private_channel_without_authorizations_needs_the_looked_up_id() -> None:
    unknown = convert_file("message_group_no_authorizations.json")
    known = convert_file("message_group_no_authorizations.json", bot_id="U0BOTPARLY")
    assert unknown is not None and unknown.is_group and not unknown.mentioned
    assert unknown.text == "<@U0BOTPARLY> status?"
    assert known is not None and known.mentioned and known.text == "status?"


def test_app_mention_strips_the_leading_mention_when_the_bot_id_is_unknown() -> None:
    envelope = json.loads((DATA / "app_mention.json").read_text())
    del envelope["authorizations"]
    message = convert.event_to_inbound(
        envelope, Origin(bot="b", platform="slack", binding="x", received_at=0)
    )
    assert message is not None and message.mentioned and message.text == "what's the VPN address?"


def test_file_share_maps_files_to_attachments() -> None:
    message = convert_file("file_share_im.json")
    assert message is not None and message.text == "" and not message.is_group and message.mentioned
    photo, clip, pdf = message.attachments  # the tombstone, hidden and Slack Connect stubs have no URL
    assert (photo.kind, photo.mime_type, photo.size, photo.name, photo.ref) == (
        "image",
        "image/png",
        48213,
        "router.png",
        {"file_id": "F0PHOTO001"},
    )
    assert photo.url == "https://files.slack.com/files-pri/T0001EXMPL-F0PHOTO001/download/router.png"
    assert (clip.kind, clip.mime_type, clip.size) == ("audio", "audio/mp4", 30720)
    assert (pdf.kind, pdf.mime_type, pdf.name) == ("file", "application/pdf", "invoice.pdf")


def test_url_private_when_there_is_no_download_url() -> None:
    envelope = json.loads((DATA / "file_share_im.json").read_text())
    item = envelope["event"]["files"][0]
    del item["url_private_download"], item["size"], item["mimetype"]
    message = convert.event_to_inbound(
        envelope, Origin(bot="b", platform="slack", binding="x", received_at=0)
    )
    assert message is not None
    (attachment, *_) = message.attachments
    assert attachment.url == item["url_private"]
    assert (attachment.kind, attachment.mime_type, attachment.size) == (
        "file",
        "application/octet-stream",
        None,
    )


def test_file_share_without_usable_files_or_text_is_ignored() -> None:
    envelope = json.loads((DATA / "file_share_im.json").read_text())
    envelope["event"]["files"] = envelope["event"]["files"][3:]
    assert (
        convert.event_to_inbound(envelope, Origin(bot="b", platform="slack", binding="x", received_at=0))
        is None
    )


@pytest.mark.parametrize("name", ["message_bot.json", "message_changed.json", "reaction_added.json"])
def test_ignored(name: str) -> None:
    assert convert_file(name) is None


def test_the_bots_own_messages_are_ignored() -> None:
    envelope = json.loads((DATA / "message_im.json").read_text())
    envelope["event"]["user"] = "U0BOTPARLY"
    assert (
        convert.event_to_inbound(envelope, Origin(bot="b", platform="slack", binding="x", received_at=0))
        is None
    )


def test_split_at_4000() -> None:
    chunks = text.split_text("paragraph\n" * 1000)
    assert all(len(c) <= 4000 for c in chunks) and "\n".join(chunks) == "paragraph\n" * 1000


def test_markdown_becomes_mrkdwn_in_4000_character_chunks() -> None:
    (chunk,) = text.markdown_chunks("**Bold** and [docs](https://x.example/a) <tag> & `code`\n\n- one\n- two")
    assert chunk == "*Bold* and <https://x.example/a|docs> &lt;tag&gt; &amp; `code`\n\n• one\n• two"
    long = text.markdown_chunks("**word** " * 1000)
    assert len(long) == 3 and all(len(c) <= 4000 and c.startswith("*word*") for c in long)
