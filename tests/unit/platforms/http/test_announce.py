"""`announce` POSTs a reply-shaped body to the binding's `callbackUrl`, with no inbound message."""

from collections.abc import Callable, Iterator

import pytest

from fakes.http_api import RecordingApi, Reply, serve
from parley_runtime.platforms.errors import PermanentSendError
from parley_runtime.platforms.http import adapter

MakeAdapter = Callable[..., adapter.HttpAdapter]


@pytest.fixture
def receiver() -> Iterator[tuple[RecordingApi, str]]:
    api = RecordingApi()
    api.default("POST", "/parley/replies", Reply(204))
    with serve(api.app) as base:
        yield api, f"{base}/parley/replies"


async def test_announce_posts_to_the_callback_url(
    make_adapter: MakeAdapter, receiver: tuple[RecordingApi, str]
) -> None:
    api, url = receiver
    await make_adapter(callbackUrl=url).announce("helpdesk-web", "canary promoted: helpdesk r42")
    (call,) = api.requests
    assert (call.method, call.path) == ("POST", "/parley/replies")
    assert call.json() == {"reply": "canary promoted: helpdesk r42", "chat_id": "helpdesk-web"}


async def test_a_4xx_from_the_receiver_is_a_permanent_error(
    make_adapter: MakeAdapter, receiver: tuple[RecordingApi, str]
) -> None:
    api, url = receiver
    api.script("POST", "/parley/replies", status=403, body={"error": "forbidden"})
    with pytest.raises(PermanentSendError, match="HTTP 403"):
        await make_adapter(callbackUrl=url).announce("helpdesk-web", "canary aborted")


async def test_without_a_callback_url_nothing_can_be_announced(make_adapter: MakeAdapter) -> None:
    with pytest.raises(PermanentSendError, match="callbackUrl"):
        await make_adapter(callbackUrl=None).announce("helpdesk-web", "canary aborted")
