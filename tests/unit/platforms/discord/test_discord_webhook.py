"""The interactions endpoint with requests signed by a PyNaCl key pair: PING/PONG, deferred answer,
forgeries refused with 401, junk → 4xx, fuzz never → exception or 5xx."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from adapter_contexts import make_adapter_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.discord import adapter
from unit.platforms.replay import expect_window

DATA = Path(__file__).parents[3] / "data" / "discord"
KEY = SigningKey.generate()
TS = "1763700000"
NOW = int(TS)  # the clock of `make_adapter`


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_adapter(http_client: httpx.AsyncClient) -> Callable[..., adapter.DiscordAdapter]:
    def make(public_key: str = KEY.verify_key.encode().hex()) -> adapter.DiscordAdapter:
        return adapter.create(
            make_adapter_context(
                "discord",
                credentials={
                    "applicationId": "1125000000000000001",
                    "publicKey": public_key,
                    "botToken": "b",
                },
                http=http_client,
                clock=lambda: float(NOW),
            )
        )

    return make


def signed(body: bytes, key: SigningKey = KEY, timestamp: str = TS) -> WebhookRequest:
    signature = key.sign(timestamp.encode() + body).signature.hex()
    headers = {
        "x-signature-ed25519": signature,
        "x-signature-timestamp": timestamp,
        "content-type": "application/json",
    }
    return WebhookRequest(method="POST", headers=headers, body=body)


async def test_ping_gets_pong(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "ping.json").read_bytes()))
    assert result.status == 200 and result.content_type == "application/json"
    assert json.loads(result.body) == {"type": 1} and result.events == ()


async def test_command_is_deferred_and_becomes_an_event(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "ask_guild.json").read_bytes()))
    assert result.status == 200 and json.loads(result.body) == {"type": 5}
    (event,) = result.events
    assert (event.bot, event.platform, event.binding) == ("helpdesk", "discord", "helpdesk-discord")
    assert (event.event_id, event.text, event.received_at) == (
        "1310000000000000002",
        "How do I rotate the API key?",
        NOW,
    )


async def test_a_command_with_only_a_file_is_deferred_too(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "chat_voice_only_dm.json").read_bytes()))
    assert json.loads(result.body) == {"type": 5}
    (event,) = result.events
    assert event.text == "" and [a.kind for a in event.attachments] == ["audio"]


async def test_components_and_context_menus_are_acknowledged_without_events(make_adapter) -> None:
    a = make_adapter()
    button = await a.handle_webhook(signed((DATA / "button.json").read_bytes()))
    assert json.loads(button.body) == {"type": 6} and button.events == ()
    menu = await a.handle_webhook(signed((DATA / "user_context_menu.json").read_bytes()))
    assert json.loads(menu.body)["type"] == 4 and menu.events == ()


async def test_forgeries_get_401(make_adapter) -> None:
    body = (DATA / "ask_guild.json").read_bytes()
    good = signed(body)
    forged = [
        signed(body, key=SigningKey.generate()),
        WebhookRequest(method="POST", headers=dict(good.headers), body=body.replace(b"rotate", b"delete")),
        WebhookRequest(
            method="POST", headers={**good.headers, "x-signature-timestamp": "1763700001"}, body=body
        ),
        WebhookRequest(method="POST", headers={"x-signature-timestamp": TS}, body=body),
        WebhookRequest(method="POST", headers={**good.headers, "x-signature-ed25519": "zz"}, body=body),
        signed((DATA / "ping.json").read_bytes(), key=SigningKey.generate()),  # Discord's own security check
    ]
    for request in forged:
        result = await make_adapter().handle_webhook(request)
        assert (result.status, result.rejected, result.reason, result.events) == (
            401,
            True,
            "bad-signature",
            (),
        )


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-300, True), (-301, False), (300, True), (301, False), (978_307_200 - NOW, False), (10**9, False)],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)
async def test_replay_window(make_adapter, offset: int, accepted: bool) -> None:
    body = (DATA / "ask_guild.json").read_bytes()
    result = await make_adapter().handle_webhook(signed(body, timestamp=str(NOW + offset)))
    expect_window(result, accepted)


async def test_replayed_ping_is_refused(make_adapter) -> None:
    old = signed((DATA / "ping.json").read_bytes(), timestamp=str(NOW - 3600))
    result = await make_adapter().handle_webhook(old)
    assert (result.status, result.reason) == (401, "stale-timestamp")


async def test_malformed_public_key_refuses_everything(make_adapter) -> None:
    result = await make_adapter(public_key="not-hex").handle_webhook(
        signed((DATA / "ping.json").read_bytes())
    )
    assert result.status == 401


async def test_junk_is_400(make_adapter) -> None:
    a = make_adapter()
    for body in (b"nope", b"[]", b'{"type": "2"}', b'{"type": 2, "data": {}}'):
        assert (await a.handle_webhook(signed(body))).status == 400


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
INTERACTION = st.fixed_dictionaries(
    {"type": st.integers(0, 6)},
    optional={
        "id": JSON | st.text(),
        "token": JSON | st.text(),
        "application_id": JSON | st.text(),
        "channel_id": JSON | st.text(),
        "guild_id": JSON,
        "member": JSON,
        "user": JSON,
        "channel": JSON,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "name": JSON | st.text(),
                "type": JSON,
                "options": JSON
                | st.lists(
                    st.fixed_dictionaries(
                        {"type": st.sampled_from([3, 11, 1])}, optional={"value": JSON | st.text()}
                    ),
                    max_size=3,
                ),
                "resolved": JSON
                | st.fixed_dictionaries(
                    {"attachments": st.dictionaries(st.text(max_size=5), JSON, max_size=3) | JSON}
                ),
            },
        ),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200)
    | JSON.map(lambda v: json.dumps(v).encode())
    | INTERACTION.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(st.text(max_size=30), st.text(max_size=130), max_size=3),
    sign=st.booleans(),
)
def test_fuzz_never_raises_nor_5xx(make_adapter, body: bytes, headers: dict[str, str], sign: bool) -> None:
    request = signed(body) if sign else WebhookRequest(method="POST", headers=headers, body=body)
    result = asyncio.run(make_adapter().handle_webhook(request))
    assert 200 <= result.status < 500
    assert sign or result.status == 401
