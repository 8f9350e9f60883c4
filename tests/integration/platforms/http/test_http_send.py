"""Replies of the generic HTTP platform are POSTed to a real callback server on 127.0.0.1."""

from collections.abc import Iterator

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import RecordingApi, Reply, serve
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import WebhookRequest
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.platforms.http import adapter


@pytest.fixture
def api() -> Iterator[tuple[RecordingApi, str]]:
    recorder = RecordingApi()
    recorder.default("POST", "/replies", Reply(200, {"ok": True}))
    with serve(recorder.app) as base:
        yield recorder, base


def make_adapter(http: httpx.AsyncClient, callback: str | None) -> adapter.HttpAdapter:
    return adapter.create(
        make_adapter_context("http", settings={"callbackUrl": callback}, http=http, clock=lambda: 1.0)
    )


async def inbound(a: adapter.HttpAdapter) -> InboundMessage:
    body = b'{"message": "hi", "user_id": "u-7", "chat_id": "c-1", "message_id": "m-9"}'
    (event,) = (await a.handle_webhook(WebhookRequest(method="POST", body=body))).events
    return event.model_copy(update={"track": "canary"})


async def test_reply_is_posted_as_the_documented_json(api, http) -> None:
    recorder, base = api
    a = make_adapter(http, f"{base}/replies")
    await a.send(OutboundMessage(inbound=await inbound(a), text="Hello there"))
    (request,) = recorder.received("/replies")
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert request.json() == {
        "reply": "Hello there",
        "user_id": "u-7",
        "chat_id": "c-1",
        "message_id": "m-9",
        "track": "canary",
    }


async def test_429_is_retryable_with_retry_after(api, http) -> None:
    recorder, base = api
    recorder.script("POST", "/replies", status=429, headers={"retry-after": "7"})
    a = make_adapter(http, f"{base}/replies")
    with pytest.raises(RetryableSendError) as info:
        await a.send(OutboundMessage(inbound=await inbound(a), text="x"))
    assert info.value.retry_after == 7.0


async def test_5xx_retryable_and_400_permanent(api, http) -> None:
    recorder, base = api
    recorder.script("POST", "/replies", status=503)
    recorder.script("POST", "/replies", status=400, body={"error": "nope"})
    a = make_adapter(http, f"{base}/replies")
    message = OutboundMessage(inbound=await inbound(a), text="x")
    with pytest.raises(RetryableSendError):
        await a.send(message)
    with pytest.raises(PermanentSendError):
        await a.send(message)
    assert len(recorder.received("/replies")) == 2


async def test_unreachable_callback_is_retryable(http) -> None:
    with serve(RecordingApi().app) as base:
        pass  # the server is gone: the port now refuses connections
    a = make_adapter(http, f"{base}/replies")
    with pytest.raises(RetryableSendError, match="connection error"):
        await a.send(OutboundMessage(inbound=await inbound(a), text="x"))


async def test_message_without_callback_is_permanent(http) -> None:
    a = make_adapter(http, "https://unused.example/")
    event = (await inbound(a)).model_copy(update={"reply_context": {}})
    with pytest.raises(PermanentSendError):
        await a.send(OutboundMessage(inbound=event, text="x"))


# `announce`: a reply-shaped body POSTed to the binding's `callbackUrl`, with no inbound message.


async def test_announce_posts_to_the_callback_url(api, http) -> None:
    recorder, base = api
    await make_adapter(http, f"{base}/replies").announce("helpdesk-web", "canary promoted: helpdesk r42")
    (call,) = recorder.requests
    assert (call.method, call.path) == ("POST", "/replies")
    assert call.json() == {"reply": "canary promoted: helpdesk r42", "chat_id": "helpdesk-web"}


async def test_a_4xx_from_the_receiver_is_a_permanent_error(api, http) -> None:
    recorder, base = api
    recorder.script("POST", "/replies", status=403, body={"error": "forbidden"})
    with pytest.raises(PermanentSendError, match="HTTP 403"):
        await make_adapter(http, f"{base}/replies").announce("helpdesk-web", "canary aborted")


async def test_without_a_callback_url_nothing_can_be_announced(http) -> None:
    with pytest.raises(PermanentSendError, match="callbackUrl"):
        await make_adapter(http, None).announce("helpdesk-web", "canary aborted")
