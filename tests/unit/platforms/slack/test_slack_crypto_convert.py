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


def convert_file(name: str):
    envelope = json.loads((DATA / name).read_text())
    return convert.event_to_inbound(
        envelope, Origin(bot="b", platform="slack", binding="b-slack", received_at=3.0)
    )


def test_app_mention() -> None:
    message = convert_file("app_mention.json")
    assert message is not None
    assert (message.event_id, message.user_id, message.chat_id) == (
        "Ev0APPMENTN1",
        "U0HUMANAAA",
        "C0GENERAL1",
    )
    assert message.text == "what's the VPN address?" and message.is_group and message.mentioned
    assert message.reply_context == {"channel": "C0GENERAL1", "ts": "1763700000.000200"}


def test_direct_message() -> None:
    message = convert_file("message_im.json")
    assert message is not None and not message.is_group and message.mentioned
    assert message.text == "Can you summarise *this* doc?"


def test_thread_reply_keeps_thread_and_strips_labelled_mention() -> None:
    message = convert_file("thread_reply.json")
    assert message is not None and message.text == "and for macOS?"
    assert message.reply_context["thread_ts"] == "1763700000.000200"


def test_channel_message_without_mention_is_unaddressed() -> None:
    message = convert_file("message_channel_plain.json")
    assert message is not None and message.is_group and not message.mentioned
    assert message.text == "lunch at noon, <@U0HUMANAAA>?"


@pytest.mark.parametrize(
    "name",
    ["message_channel_mention.json", "message_bot.json", "message_changed.json", "reaction_added.json"],
)
def test_ignored(name: str) -> None:
    assert convert_file(name) is None


def test_split_at_4000() -> None:
    chunks = text.split_text("paragraph\n" * 1000)
    assert all(len(c) <= 4000 for c in chunks) and "\n".join(chunks) == "paragraph\n" * 1000
