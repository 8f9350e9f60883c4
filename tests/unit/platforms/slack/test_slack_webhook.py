"""The Slack webhook with requests signed by slack_sdk: accepted, forged/stale refused, handshake, fuzz."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from adapter_contexts import make_adapter_context
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.slack import adapter, crypto
from unit.platforms.replay import expect_window

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_763_700_000
DATA = Path(__file__).parents[3] / "data" / "slack"


def slack_down(request: httpx.Request) -> httpx.Response:
    """No network in unit tests: every Web API call (`auth.test` for envelopes without
    `authorizations`) finds Slack unavailable, which intake must survive."""
    return httpx.Response(503, json={"ok": False, "error": "service_unavailable"})


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(slack_down)) as client:
        yield client


@pytest.fixture
def make_adapter(http_client: httpx.AsyncClient) -> Callable[..., adapter.SlackAdapter]:
    def make(now: float = NOW) -> adapter.SlackAdapter:
        return adapter.create(
            make_adapter_context(
                "slack",
                credentials={"botToken": "xoxb-unit", "signingSecret": SECRET},
                http=http_client,
                clock=lambda: now,
            )
        )

    return make


def signed(body: bytes, *, timestamp: int = NOW, secret: str = SECRET, **extra: str) -> WebhookRequest:
    """Headers exactly as Slack sends them, signed by the official SDK."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    headers = {"x-slack-request-timestamp": str(timestamp), "x-slack-signature": signature, **extra}
    return WebhookRequest(method="POST", headers=headers, body=body)


async def test_sdk_signed_event_is_accepted(make_adapter) -> None:
    result = await make_adapter().handle_webhook(signed((DATA / "app_mention.json").read_bytes()))
    assert result.status == 200 and not result.rejected
    (event,) = result.events
    assert (event.bot, event.platform, event.binding) == ("helpdesk", "slack", "helpdesk-slack")
    assert (event.event_id, event.text, event.received_at) == (
        "C0GENERAL1:1763700000.000200",
        "what's the VPN address?",
        NOW,
    )


async def test_retries_are_still_events_for_the_deduplicator(make_adapter) -> None:
    body = (DATA / "app_mention.json").read_bytes()
    retry = signed(body, **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    first, again = (
        await make_adapter().handle_webhook(signed(body)),
        await make_adapter().handle_webhook(retry),
    )
    assert first.events[0].event_id == again.events[0].event_id == "C0GENERAL1:1763700000.000200"


async def test_intake_goes_on_when_auth_test_fails(make_adapter) -> None:
    body = (DATA / "message_group_no_authorizations.json").read_bytes()
    result = await make_adapter().handle_webhook(signed(body))
    (event,) = result.events
    assert result.status == 200 and event.is_group and not event.mentioned


async def test_url_verification_answers_the_challenge_after_verifying(make_adapter) -> None:
    body = (DATA / "url_verification.json").read_bytes()
    result = await make_adapter().handle_webhook(signed(body))
    assert result.status == 200 and result.content_type == "application/json" and result.events == ()
    assert json.loads(result.body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    forged = await make_adapter().handle_webhook(signed(body, secret="not-the-secret"))
    assert forged.status == 401 and b"3eZbrw1a" not in forged.body


async def test_forgeries_are_refused(make_adapter) -> None:
    body = (DATA / "app_mention.json").read_bytes()
    cases = {
        "bad-signature": [
            signed(body, secret="wrong"),
            WebhookRequest(
                method="POST", headers=dict(signed(body).headers), body=body.replace(b"VPN", b"VPS")
            ),
            WebhookRequest(method="POST", body=body),
        ],
        "stale-timestamp": [signed(body, timestamp=NOW - 301), signed(body, timestamp=NOW + 600)],
    }
    for reason, requests in cases.items():
        for request in requests:
            result = await make_adapter().handle_webhook(request)
            assert (result.status, result.rejected, result.reason, result.events) == (401, True, reason, ())


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-300, True), (-301, False), (300, True), (301, False), (978_307_200 - NOW, False), (10**9, False)],
    ids=["oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001", "far-future"],
)
async def test_replay_window_is_five_minutes(make_adapter, offset: int, accepted: bool) -> None:
    request = signed((DATA / "app_mention.json").read_bytes(), timestamp=NOW + offset)
    headers = dict(request.headers)
    sdk = SignatureVerifier(SECRET, clock=type("C", (), {"now": staticmethod(lambda: float(NOW))})())
    assert sdk.is_valid_request(request.body, headers) is accepted  # the official SDK agrees
    result = await make_adapter().handle_webhook(request)
    expect_window(result, accepted)


async def test_ignored_events_and_junk(make_adapter) -> None:
    a = make_adapter()
    ignored = await a.handle_webhook(signed((DATA / "message_bot.json").read_bytes()))
    assert (ignored.status, ignored.events) == (200, ())
    for junk in (b"token=x&command=%2Fask", b"[]", b'{"type": "event_callback"}'):
        result = await a.handle_webhook(signed(junk))
        assert result.status == 400 and not result.rejected


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
ENVELOPE = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited"])},
    optional={
        "event_id": JSON | st.text(),
        "challenge": JSON,
        "authorizations": JSON,
        "event": st.fixed_dictionaries(
            {"type": st.sampled_from(["message", "app_mention", "other"])},
            optional={
                **{
                    k: JSON | st.text()
                    for k in ("user", "channel", "text", "ts", "thread_ts", "channel_type", "parent_user_id")
                },
                "subtype": st.sampled_from(["file_share", "thread_broadcast", "message_changed"]) | JSON,
                "files": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            k: JSON | st.text()
                            for k in ("id", "mimetype", "size", "name", "url_private", "url_private_download")
                        },
                    )
                    | JSON,
                    max_size=3,
                )
                | JSON,
            },
        ),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200)
    | JSON.map(lambda v: json.dumps(v).encode())
    | ENVELOPE.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(st.text(max_size=30), st.text(max_size=40), max_size=3),
    sign=st.booleans(),
)
def test_fuzz_never_raises_nor_5xx(make_adapter, body: bytes, headers: dict[str, str], sign: bool) -> None:
    if sign:  # our signer (equal to the SDK's, see test_slack_crypto_convert) also takes non-UTF-8 bytes
        headers = {**headers, "x-slack-request-timestamp": str(NOW)}
        headers["x-slack-signature"] = crypto.signature(SECRET, str(NOW), body)
    request = WebhookRequest(method="POST", headers=headers, body=body)
    result = asyncio.run(make_adapter().handle_webhook(request))
    assert 200 <= result.status < 500
    assert sign or result.status in (401, 405)
