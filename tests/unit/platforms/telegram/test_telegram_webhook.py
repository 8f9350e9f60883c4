"""The Telegram webhook: bodies produced by python-telegram-bot are accepted with the right secret
header, refused without it, and junk never escapes as an exception or a 5xx."""

import asyncio
import json
import ssl
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from parley_runtime.core.protocols import WebhookRequest, WebhookResult

SECRET = "webhook-Secret_42"
DATA = Path(__file__).parents[3] / "data" / "telegram"
TLS = ssl.create_default_context()  # built once: a client building its own takes ~25 ms


def ptb_body(name: str) -> bytes:
    """The update as python-telegram-bot (the reference SDK) serialises it."""
    update = Update.de_json(json.loads((DATA / name).read_text()), None)
    return update.to_json().encode()


def request(body: bytes, secret: str | None = SECRET) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return WebhookRequest(method="POST", headers=headers, body=body)


async def test_sdk_built_update_with_secret_is_accepted(make_adapter) -> None:
    result = await make_adapter().handle_webhook(request(ptb_body("group_mention.json")))
    assert result.status == 200 and not result.rejected
    (event,) = result.events
    assert (event.bot, event.platform, event.binding) == ("helpdesk", "telegram", "helpdesk-telegram")
    assert (event.event_id, event.user_id, event.text) == (
        "700000002",
        "444555666",
        "how do I reset my password?",
    )
    assert event.is_group and event.mentioned and event.received_at == 1_763_700_000.0


async def test_header_name_is_case_insensitive(make_adapter) -> None:
    req = WebhookRequest(
        method="POST", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, body=ptb_body("private_text.json")
    )
    assert len((await make_adapter().handle_webhook(req)).events) == 1


async def test_wrong_or_missing_secret_is_refused(make_adapter) -> None:
    adapter = make_adapter()
    for secret in (None, "", "webhook-Secret_43", SECRET + "x", SECRET.lower()):
        result = await adapter.handle_webhook(request(ptb_body("private_text.json"), secret))
        assert (result.status, result.rejected, result.reason, result.events) == (403, True, "bad-token", ())
        assert SECRET.encode() not in result.body


async def test_ignored_update_is_acknowledged_without_events(make_adapter) -> None:
    result = await make_adapter().handle_webhook(request(ptb_body("edited_message.json")))
    assert (result.status, result.events) == (200, ())


async def test_junk_is_400(make_adapter) -> None:
    adapter = make_adapter()
    for body in (b"", b"{", b"[]", b'{"message": {}}', b"\xff"):
        result = await adapter.handle_webhook(request(body))
        assert result.status == 400 and result.events == () and not result.rejected


async def test_get_is_405(make_adapter) -> None:
    assert (await make_adapter().handle_webhook(WebhookRequest(method="GET"))).status == 405


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
FILE = st.fixed_dictionaries(
    {"file_id": JSON | st.text(max_size=8)},
    optional={"file_size": JSON | st.integers(), "mime_type": JSON | st.text(max_size=12), "file_name": JSON},
)
MESSAGE = st.fixed_dictionaries(
    {"update_id": st.integers()},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "message_id": JSON | st.integers(),
                "text": JSON | st.text(),
                "chat": JSON,
                "from": JSON,
                "entities": st.lists(
                    JSON
                    | st.fixed_dictionaries(
                        {
                            "offset": st.integers(-3, 60),
                            "length": st.integers(-3, 60),
                            "type": st.sampled_from(["mention", "bot_command", "text_mention", "bold"]),
                        },
                        optional={"user": JSON},
                    ),
                    max_size=4,
                ),
                "reply_to_message": JSON,
                "caption": JSON | st.text(),
                "photo": JSON | st.lists(JSON | FILE, max_size=3),
                "voice": JSON | FILE,
                "document": JSON | FILE,
                "video": JSON | FILE,
            },
        )
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200)
    | JSON.map(lambda v: json.dumps(v).encode())
    | MESSAGE.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(st.text(max_size=40), st.text(max_size=40), max_size=3),
    with_secret=st.booleans(),
)
def test_fuzz_never_raises_nor_5xx(
    make_adapter, body: bytes, headers: dict[str, str], with_secret: bool
) -> None:
    if with_secret:
        headers = {**headers, "x-telegram-bot-api-secret-token": SECRET}

    async def deliver() -> WebhookResult:
        async with httpx.AsyncClient(verify=TLS) as http:  # one per event loop: each example has its own
            return await make_adapter(http=http).handle_webhook(
                WebhookRequest(method="POST", headers=headers, body=body)
            )

    result = asyncio.run(deliver())
    assert 200 <= result.status < 500
    assert not result.events or result.status == 200


@pytest.mark.parametrize(
    ("name", "file_id"),
    [
        ("photo_sizes.json", "AgACAgIAAxkBAAIBaGc-x"),
        ("voice.json", "AwACAgIAAxkBAAIBaWc"),
        ("audio.json", "CQACAgIAAxkBAAIBamc"),
        ("document_pdf.json", "BQACAgIAAxkBAAIBa2c"),
        ("group_photo_mention.json", "AgACAgIAAxkBAAIBb2c-m"),
    ],
)
async def test_sdk_built_media_updates_carry_their_attachment(make_adapter, name: str, file_id: str) -> None:
    result = await make_adapter().handle_webhook(request(ptb_body(name)))
    (event,) = result.events
    assert [a.ref for a in event.attachments] == [{"file_id": file_id}]


async def test_identity_comes_from_get_me_once(make_adapter, telegram) -> None:
    fake, _ = telegram
    adapter = make_adapter(botUsername=None)  # nothing configured: only getMe knows "@parley_helper_bot"
    asked = len(fake.calls("getMe"))
    first = await adapter.handle_webhook(request(ptb_body("group_mention.json")))
    second = await adapter.handle_webhook(request(ptb_body("group_command.json")))
    assert first.events[0].mentioned and first.events[0].text == "how do I reset my password?"
    assert second.events[0].mentioned and second.events[0].text == "/ask summarise the thread"
    assert len(fake.calls("getMe")) == asked + 1


async def test_junk_never_asks_get_me(make_adapter, telegram) -> None:
    fake, _ = telegram
    adapter = make_adapter()
    asked = len(fake.calls("getMe"))
    for body in (b"{", b"[]", b'{"message": {}}'):
        assert (await adapter.handle_webhook(request(body))).status == 400
    assert len(fake.calls("getMe")) == asked
