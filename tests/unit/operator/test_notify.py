"""Where and what the operator tells a chat about a gray release (`parley_operator.notify`), and how it
reads a binding's credentials; the posting itself is covered on KMock with a fake Telegram API."""

import base64
from typing import Any

import pytest

from factories import chatbot_doc
from parley_operator import notify
from parley_operator.observed import Observed
from parley_operator.policies import parse
from parley_operator.policies.canary import Event

NOTIFY = {"bindingRef": {"name": "helpdesk-telegram"}, "chatId": "-1001234"}
CANARY = {"persona": {"systemPrompt": "v2"}, "steps": [{"setWeight": 10}]}


def observed(spec: dict[str, Any], status: dict[str, Any] | None = None) -> Observed:
    body = chatbot_doc("helpdesk", **spec)
    body["metadata"]["namespace"] = "bots"
    body["status"] = status or {}
    return Observed(parse.bot_view(body, "bots"))


def test_the_chat_comes_from_the_spec_else_from_the_release_record() -> None:
    told = notify.target(observed({"canary": {**CANARY, "notify": NOTIFY}}))
    assert told is not None and (told.binding_ref.name, told.chat_id) == ("helpdesk-telegram", "-1001234")
    record = {"version": "1.4.0", "baseVersion": "1.4.0", "weight": 0, "step": 2, "phase": "Promoted"}
    record |= {"startedAt": "2026-12-08T00:00:00Z", "notify": NOTIFY}
    kept = notify.target(observed({}, {"canary": record}))  # `parley rollback` removed spec.canary
    assert kept is not None and kept.chat_id == "-1001234"
    assert notify.target(observed({"canary": CANARY})) is None


@pytest.mark.parametrize(
    ("secret", "credentials"),
    [
        ({"data": {"botToken": base64.b64encode(b"123:abc").decode()}}, {"botToken": "123:abc"}),
        ({"stringData": {"botToken": "123:abc"}}, {"botToken": "123:abc"}),
        ({"data": {"botToken": "not base64!", "other": base64.b64encode(b"x").decode()}}, {"other": "x"}),
        ({"data": {"blob": base64.b64encode(b"\xff\xfe").decode()}}, {}),  # not text: no adapter reads it
        (None, {}),
    ],
)
def test_a_secret_reads_as_the_runtimes_credentials(
    secret: dict[str, Any] | None, credentials: dict[str, str]
) -> None:
    assert notify.decode(secret) == credentials


def test_the_message_names_the_bot_and_the_decision() -> None:
    event = Event("Normal", "Promoted", "promoted persona 3796bad3b7 after 2 steps")
    assert notify.text("helpdesk", event) == "[helpdesk] Promoted: promoted persona 3796bad3b7 after 2 steps"
    assert {"Promoted", "AnalysisFailed", "Aborted", "Rollback", "Inconclusive"} == notify.TOLD
