"""The generic HTTP inbound contract: recorded bodies parse; bad ones get one readable line."""

import json
from pathlib import Path

import pytest

from parley_runtime.platforms.base import Origin
from parley_runtime.platforms.http import convert

DATA = Path(__file__).parents[3] / "data" / "http"


def test_full_message_converts() -> None:
    request = convert.parse((DATA / "message.json").read_bytes())
    message = convert.to_inbound(
        request,
        Origin(bot="b", platform="http", binding="b-http", received_at=5.0),
        event_id="msg-2026-11-21-0001",
        callback_url="https://hooks.example.com/x",
    )
    assert (message.user_id, message.chat_id, message.event_id) == (
        "employee-4711",
        "helpdesk-web",
        "msg-2026-11-21-0001",
    )
    assert message.text == "What are the opening hours of the Berlin office?"
    assert message.reply_context == {
        "callback_url": "https://hooks.example.com/x",
        "message_id": "msg-2026-11-21-0001",
    }
    assert message.received_at == 5.0 and not message.is_group and message.mentioned


def test_chat_defaults_to_user_and_unknown_fields_are_ignored() -> None:
    minimal = convert.parse((DATA / "message_minimal.json").read_bytes())
    assert minimal.chat_id is None and minimal.message_id is None
    message = convert.to_inbound(
        minimal, Origin(bot="b", platform="http", binding="x", received_at=0), event_id="e", callback_url="u"
    )
    assert message.chat_id == "u-1"
    with_cb = convert.parse((DATA / "message_with_callback.json").read_bytes())
    assert with_cb.callback_url == "https://crm.example.com/parley/replies/17"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"{}", "message: Field required"),
        (json.dumps({"message": "hi"}).encode(), "user_id: Field required"),
        (json.dumps({"message": "hi", "user_id": 5}).encode(), "user_id: Input should be a valid string"),
        (
            json.dumps({"message": "", "user_id": "u"}).encode(),
            "message: String should have at least 1 character",
        ),
    ],
)
def test_bad_bodies_name_the_problem(body: bytes, expected: str) -> None:
    with pytest.raises(convert.BadPayload) as info:
        convert.parse(body)
    assert str(info.value) == expected
