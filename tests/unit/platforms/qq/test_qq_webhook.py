"""The QQ webhook: op 13 answered with the official vector, dispatches signed like QQ signs them
(the app's key pair from the secret) are accepted and ACKed with op 12, forgeries → 401, fuzz."""

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
from parley_runtime.platforms.qq import adapter
from unit.platforms.replay import expect_window

SECRET = "DG5g3B4j9X2KOErG"  # the secret of the official op 13 example
QQ_KEY = SigningKey(b"DG5g3B4j9X2KOErGDG5g3B4j9X2KOErG")  # what QQ signs with: the secret repeated
DATA = Path(__file__).parents[3] / "data" / "qq"
NOW = 1_763_691_338  # the clock of `make_adapter`, and the timestamp `signed` signs by default


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_adapter(http_client: httpx.AsyncClient) -> Callable[..., adapter.QQAdapter]:
    def make(secret: str = SECRET) -> adapter.QQAdapter:
        return adapter.create(
            make_adapter_context(
                "qq",
                credentials={"appId": "11111111", "appSecret": secret},
                http=http_client,
                clock=lambda: float(NOW),
            )
        )

    return make


def signed(body: bytes, key: SigningKey = QQ_KEY, timestamp: str = str(NOW)) -> WebhookRequest:
    headers = {
        "x-signature-ed25519": key.sign(timestamp.encode() + body).signature.hex(),
        "x-signature-timestamp": timestamp,
        "x-bot-appid": "11111111",
        "user-agent": "QQBot-Callback",
    }
    return WebhookRequest(method="POST", headers=headers, body=body)


async def test_op13_answers_the_official_vector(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "validation.json").read_bytes()))
    assert result.status == 200 and result.events == ()
    assert json.loads(result.body) == {
        "plain_token": "Arq0D5A61EgUu4OxUvOp",
        "signature": "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d0"
        "1bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
    }


async def test_dispatch_is_acked_with_op12_and_becomes_an_event(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "group_at_message.json").read_bytes()))
    assert result.status == 200 and json.loads(result.body) == {"op": 12}
    (event,) = result.events
    assert (event.bot, event.platform, event.binding, event.received_at) == (
        "helpdesk",
        "qq",
        "helpdesk-qq",
        NOW,
    )
    assert event.event_id == "GROUP_AT_MESSAGE_CREATE:1mv4hu7rfa1a2fnlhq8ggd9uybbo0mjtxpmapfvbqj0nqc"


async def test_unhandled_dispatch_is_acked_without_events(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "friend_add.json").read_bytes()))
    assert json.loads(result.body) == {"op": 12} and result.events == ()


async def test_forgeries_get_401(make_adapter) -> None:
    body = (DATA / "c2c_message.json").read_bytes()
    good = signed(body)
    forged = [
        signed(body, key=SigningKey.generate()),
        WebhookRequest(
            method="POST", headers=dict(good.headers), body=body.replace("北京".encode(), "上海".encode())
        ),
        WebhookRequest(
            method="POST", headers={**good.headers, "x-signature-timestamp": "1763691339"}, body=body
        ),
        WebhookRequest(method="POST", body=body),
        signed((DATA / "validation.json").read_bytes(), key=SigningKey.generate()),
    ]
    for request in forged:
        result = await make_adapter().handle_webhook(request)
        assert (result.status, result.rejected, result.reason, result.events) == (
            401,
            True,
            "bad-signature",
            (),
        )
    other_app = await make_adapter(secret="another-secret").handle_webhook(good)
    assert other_app.status == 401


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-3600, True), (-3601, False), (300, True), (301, False), (978_307_200 - NOW, False), (10**9, False)],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)
async def test_replay_window(make_adapter, offset: int, accepted: bool) -> None:
    body = (DATA / "c2c_message.json").read_bytes()
    result = await make_adapter().handle_webhook(signed(body, timestamp=str(NOW + offset)))
    expect_window(result, accepted)


async def test_stale_op13_is_not_answered(make_adapter) -> None:
    old = signed((DATA / "validation.json").read_bytes(), timestamp=str(NOW - 86400))
    result = await make_adapter().handle_webhook(old)
    assert (result.status, result.reason) == (401, "stale-timestamp") and b"signature" not in result.body


async def test_junk_is_400(make_adapter) -> None:
    a = make_adapter()
    for body in (
        b"x",
        b"[]",
        b'{"op": "0"}',
        b'{"op": 13, "d": {}}',
        b'{"op": 0, "t": "C2C_MESSAGE_CREATE"}',
    ):
        result = await a.handle_webhook(signed(body))
        assert result.status == 400 and not result.rejected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
PAYLOAD = st.fixed_dictionaries(
    {"op": st.sampled_from([0, 12, 13, 99])},
    optional={
        "id": JSON | st.text(),
        "t": st.sampled_from(["C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE", "X"]),
        "d": JSON
        | st.fixed_dictionaries(
            {},
            optional={
                k: JSON | st.text()
                for k in ("id", "content", "author", "group_openid", "plain_token", "event_ts")
            },
        ),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200)
    | JSON.map(lambda v: json.dumps(v).encode())
    | PAYLOAD.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(st.text(max_size=30), st.text(max_size=130), max_size=3),
    sign=st.booleans(),
)
def test_fuzz_never_raises_nor_5xx(make_adapter, body: bytes, headers: dict[str, str], sign: bool) -> None:
    request = signed(body) if sign else WebhookRequest(method="POST", headers=headers, body=body)
    result = asyncio.run(make_adapter().handle_webhook(request))
    assert 200 <= result.status < 500
    assert sign or result.status == 401
