"""`POST /webhook/http/{binding}` through the real app: caller-chosen callback URLs are normalised before
the allow-list sees them and the reply goes to the normalised URL; over the rate limit a platform still
gets the short reply text (only the chat API answers 429)."""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app_client import app_client
from factories import binding_doc, chatbot_doc
from fakes.http_api import RecordingApi, Reply, serve
from integration.webhooks.harness import eventually
from parley_runtime.engine.pipeline import RATE_LIMITED_TEXT

BINDING = "demo-http"


@pytest.fixture
def receiver() -> Iterator[tuple[RecordingApi, str]]:
    api = RecordingApi()
    for path in ("/cb/ok", "/cb/default", "/evil"):
        api.default("POST", path, Reply(200, {"ok": True}))
    with serve(api.app) as base:
        yield api, base


def parley(
    tmp_path: Path, base: str, **spec: Any
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    binding = binding_doc(
        BINDING, bot="demo", callbackUrl=f"{base}/cb/default", allowedCallbackPrefixes=[f"{base}/cb/"]
    )
    return app_client(tmp_path, chatbot_doc("demo", **spec), binding)


def message(n: int, callback_url: str | None = None) -> dict[str, str]:
    body = {"message": f"question {n}", "user_id": "u-1", "message_id": f"m-{n}"}
    return body if callback_url is None else {**body, "callback_url": callback_url}


async def test_escaping_callback_urls_are_400_and_reach_nothing(tmp_path: Path, receiver) -> None:
    api, base = receiver
    escapes = [
        f"{base}/cb/../evil",
        f"{base}/cb/%2e%2e/evil",
        f"{base}/cb/%2E%2E%2Fevil",
        f"{base}/cb\\..\\evil",
        f"{base}/cb/..;/evil",
        base.replace("http://", "http://user@") + "/cb/ok",
    ]
    async with parley(tmp_path, base) as client:
        for n, url in enumerate(escapes):
            r = await client.post(f"/webhook/http/{BINDING}", json=message(n, url))
            assert r.status_code == 400, url
            assert r.headers["content-type"] == "application/json" and list(r.json()) == ["error"]
            assert "allowedCallbackPrefixes" in r.json()["error"] and "\n" not in r.text
        accepted = await client.post(
            f"/webhook/http/{BINDING}", json=message(99, f"{base.upper()}/cb/x/%2e%2e/./ok")
        )
        assert accepted.status_code == 202
        (reply,) = await eventually(lambda: api.received("/cb/ok"))
    assert reply.json()["message_id"] == "m-99"
    assert api.received("/evil") == [] and api.received("/cb/default") == []
    assert {r.path for r in api.requests} == {"/cb/ok"}


async def test_over_the_rate_limit_a_platform_gets_the_short_reply(tmp_path: Path, receiver) -> None:
    api, base = receiver
    async with parley(tmp_path, base, rateLimit={"perUserPerMinute": 1}) as client:
        for n in (1, 2):
            r = await client.post(f"/webhook/http/{BINDING}", json=message(n))
            assert r.status_code == 202
        replies = await eventually(
            lambda: len(api.received("/cb/default")) == 2 and api.received("/cb/default")
        )
    texts = sorted(r.json()["reply"] for r in replies)  # which of the two came second is the queue's
    assert texts.count(RATE_LIMITED_TEXT) == 1 and {r.json()["message_id"] for r in replies} == {"m-1", "m-2"}
