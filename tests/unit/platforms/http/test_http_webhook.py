"""The generic HTTP webhook: bearer check, callback choice, event ids, and junk never escaping as 5xx."""

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parley_runtime.core.protocols import WebhookRequest

BODY = json.dumps({"message": "hi", "user_id": "u-1", "message_id": "m-1"}).encode()


def post(body: bytes = BODY, **headers: str) -> WebhookRequest:
    return WebhookRequest(method="POST", headers=headers, body=body)


async def test_message_becomes_one_event_with_the_context(make_adapter) -> None:
    result = await make_adapter(clock=42.0).handle_webhook(post())
    assert result.status == 202 and not result.rejected
    assert json.loads(result.body) == {"accepted": True, "message_id": "m-1"}
    (event,) = result.events
    assert (event.bot, event.platform, event.binding) == ("helpdesk", "http", "helpdesk-http")
    assert (event.event_id, event.user_id, event.chat_id, event.text) == ("m-1", "u-1", "u-1", "hi")
    assert event.received_at == 42.0
    assert event.reply_context["callback_url"] == "https://hooks.example.com/parley"


async def test_without_message_id_each_request_gets_a_fresh_event_id(make_adapter) -> None:
    body = json.dumps({"message": "hi", "user_id": "u"}).encode()
    adapter = make_adapter()
    first, second = (await adapter.handle_webhook(post(body)), await adapter.handle_webhook(post(body)))
    assert first.events[0].event_id != second.events[0].event_id
    assert json.loads(first.body)["message_id"] == first.events[0].event_id


async def test_token_is_required_when_configured(make_adapter) -> None:
    adapter = make_adapter(token="s3cret-token")
    ok = await adapter.handle_webhook(post(authorization="Bearer s3cret-token"))
    assert ok.status == 202 and len(ok.events) == 1
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic s3cret-token"}):
        refused = await adapter.handle_webhook(post(**headers))
        assert (refused.status, refused.rejected, refused.reason, refused.events) == (
            401,
            True,
            "bad-token",
            (),
        )
        assert refused.headers["www-authenticate"] == "Bearer"
        assert b"s3cret-token" not in refused.body


async def test_no_token_configured_means_open(make_adapter) -> None:
    result = await make_adapter().handle_webhook(post(authorization="Bearer anything"))
    assert result.status == 202


async def test_callback_url_only_under_allowed_prefix(make_adapter) -> None:
    adapter = make_adapter(allowedCallbackPrefixes=["https://crm.example.com/hooks/"])
    own = {"message": "hi", "user_id": "u", "callback_url": "https://crm.example.com/hooks/1"}
    result = await adapter.handle_webhook(post(json.dumps(own).encode()))
    assert result.events[0].reply_context["callback_url"] == "https://crm.example.com/hooks/1"
    evil = {**own, "callback_url": "http://169.254.169.254/latest/meta-data"}
    refused = await adapter.handle_webhook(post(json.dumps(evil).encode()))
    assert refused.status == 400 and refused.events == () and not refused.rejected
    assert "allowedCallbackPrefixes" in json.loads(refused.body)["error"]


async def test_callback_url_is_normalised_before_the_check_and_for_the_send(make_adapter) -> None:
    adapter = make_adapter(allowedCallbackPrefixes=["http://host/cb/"])
    for escape in ("http://host/cb/../evil", "http://host/cb/%2e%2e/evil", "http://u@host/cb/x"):
        body = {"message": "hi", "user_id": "u", "callback_url": escape}
        refused = await adapter.handle_webhook(post(json.dumps(body).encode()))
        assert refused.status == 400 and refused.events == (), escape
        assert list(json.loads(refused.body)) == ["error"] and b"\n" not in refused.body
    body = {"message": "hi", "user_id": "u", "callback_url": "HTTP://Host:80/cb/a/../b"}
    accepted = await adapter.handle_webhook(post(json.dumps(body).encode()))
    assert accepted.events[0].reply_context["callback_url"] == "http://host/cb/b"


async def test_no_callback_anywhere_is_a_clear_400(make_adapter) -> None:
    result = await make_adapter(callbackUrl=None).handle_webhook(post())
    assert result.status == 400 and result.events == ()
    assert "/api/v1/chat" in json.loads(result.body)["error"]


async def test_get_is_405_and_junk_is_400(make_adapter) -> None:
    adapter = make_adapter()
    assert (await adapter.handle_webhook(WebhookRequest(method="GET"))).status == 405
    junk = await adapter.handle_webhook(post(b"{oops"))
    assert junk.status == 400 and json.loads(junk.body) == {"error": "body is not valid JSON"}


def test_repr_holds_no_token(make_adapter) -> None:
    assert "s3cret" not in repr(make_adapter(token="s3cret-token"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={k: JSON | st.text() for k in ("message", "user_id", "chat_id", "message_id", "callback_url")},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=300)
    | JSON.map(lambda v: json.dumps(v).encode())
    | FIELDS.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    method=st.sampled_from(["POST", "GET", "PUT", "post"]),
)
def test_fuzz_never_raises_nor_5xx(make_adapter, body: bytes, headers: dict[str, str], method: str) -> None:
    adapter = make_adapter(token="tok", allowedCallbackPrefixes=["https://ok.example/"])
    headers = {**headers, "authorization": "Bearer tok"} if len(body) % 2 else headers
    result = asyncio.run(adapter.handle_webhook(WebhookRequest(method=method, headers=headers, body=body)))
    assert 200 <= result.status < 500
    assert result.events == () or result.status == 202
