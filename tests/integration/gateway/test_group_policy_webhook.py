"""Group policy end to end: real webhooks into the `parley serve` app, a fake model and fake platform
APIs on 127.0.0.1. An unaddressed group message is acknowledged as usual, never reaches the model and
is counted `outcome="ignored"`; an addressed one is answered without its wake word."""

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.http_api import RecordingApi, Reply, serve
from fakes.llm_servers import FakeOpenAI, key_for
from fakes.telegram_api import FakeTelegram
from integration.webhooks.harness import Parley, eventually
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

DATA = Path(__file__).parents[2] / "data" / "telegram"
TOKEN = "123456789:AAE-group-policy-token"
SECRET = "group-Secret_7"


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="answered") as srv:
        yield srv


@contextlib.asynccontextmanager
async def running(tmp_path: Path, model: FakeOpenAI, *bindings: dict[str, Any]) -> AsyncIterator[Parley]:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": model.model,
        "baseURL": model.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "5s",
    }
    docs = [chatbot_doc("helpdesk", models={"routes": [route]}), *bindings]
    (tmp_path / "bot.yaml").write_text(dump_yaml(*docs))
    secrets = {"llm/main": key_for("main"), "tg-creds/botToken": TOKEN, "tg-creds/secretToken": SECRET}
    for key_path, value in secrets.items():
        (tmp_path / "secrets" / key_path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "secrets" / key_path).write_text(value)
    settings = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        role="serve",
    )
    app = create_app(bootstrap.load(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
            yield Parley(client, app)


def with_group(doc: dict[str, Any], **group: Any) -> dict[str, Any]:
    doc["spec"]["group"] = group
    return doc


def asked(model: FakeOpenAI) -> list[str]:
    """The last user turn of every request the model received."""
    return [request.body["messages"][-1]["content"] for request in model.requests]


async def test_http_group_messages_follow_the_bindings_policy(tmp_path: Path, model: FakeOpenAI) -> None:
    receiver = RecordingApi()
    receiver.default("POST", "/replies", Reply(200, {"ok": True}))
    with serve(receiver.app) as base:
        binding = with_group(
            binding_doc("helpdesk-http", "helpdesk", "http", callbackUrl=f"{base}/replies"),
            wakeWords=["/ask"],
        )
        async with running(tmp_path, model, binding) as app:

            async def post(n: int, text: str, **fields: Any) -> httpx.Response:
                body = {
                    "message": text,
                    "user_id": "u-1",
                    "chat_id": "team",
                    "message_id": f"m-{n}",
                    **fields,
                }
                return await app.client.post("/webhook/http/helpdesk-http", json=body)

            chatter = await post(1, "lunch anyone?", is_group=True)
            woken = await post(2, "/ASK, what time is it?", is_group=True)
            mentioned = await post(3, "is the VPN down?", is_group=True, mentioned=True)
            private = await post(4, "hello", chat_id="dm-1")
            await eventually(lambda: len(receiver.received("/replies")) == 3)
            ignored = await app.counter("parley_messages_total", platform="http", outcome="ignored")
            answered = await app.counter("parley_messages_total", platform="http", outcome="ok")
    for response, n in ((chatter, 1), (woken, 2), (mentioned, 3), (private, 4)):
        assert (response.status_code, response.json()) == (202, {"accepted": True, "message_id": f"m-{n}"})
    assert sorted(asked(model)) == sorted(["what time is it?", "is the VPN down?", "hello"])
    assert sorted(r.json()["message_id"] for r in receiver.received("/replies")) == ["m-2", "m-3", "m-4"]
    assert (ignored, answered) == (1, 3)


def telegram_update(name: str) -> bytes:
    return (DATA / name).read_bytes()


async def test_telegram_group_mentions_only_by_default(tmp_path: Path, model: FakeOpenAI) -> None:
    fake = FakeTelegram(TOKEN)
    with serve(fake.api.app) as base:
        binding = binding_doc("helpdesk-tg", "helpdesk", "telegram", secret="tg-creds", apiBase=base)
        async with running(tmp_path, model, binding) as app:
            headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}

            async def deliver(name: str) -> httpx.Response:
                return await app.client.post(
                    "/webhook/telegram/helpdesk-tg", content=telegram_update(name), headers=headers
                )

            unaddressed = await deliver("group_other_mention.json")  # someone else is @-mentioned
            addressed = await deliver("group_mention.json")  # "@parley_helper_bot how do I reset…"
            await eventually(lambda: len(fake.sent()) == 1)
            ignored = await app.counter("parley_messages_total", platform="telegram", outcome="ignored")
            metrics = await app.metrics()
    assert (unaddressed.status_code, json.loads(unaddressed.content)) == (200, {"ok": True})
    assert addressed.status_code == 200
    assert asked(model) == ["how do I reset my password?"]
    assert fake.sent()[0]["chat_id"] == -1001234567890
    assert ignored == 1
    assert 'parley_messages_total{outcome="ignored",platform="telegram",track="stable"} 1.0' in metrics


async def test_reply_never_keeps_the_bot_quiet_in_groups_but_not_in_private(
    tmp_path: Path, model: FakeOpenAI
) -> None:
    fake = FakeTelegram(TOKEN)
    with serve(fake.api.app) as base:
        binding = with_group(
            binding_doc("helpdesk-tg", "helpdesk", "telegram", secret="tg-creds", apiBase=base), reply="never"
        )
        async with running(tmp_path, model, binding) as app:
            headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
            for name in ("group_mention.json", "private_text.json"):
                response = await app.client.post(
                    "/webhook/telegram/helpdesk-tg", content=telegram_update(name), headers=headers
                )
                assert response.status_code == 200
            await eventually(lambda: len(fake.sent()) == 1)
            ignored = await app.counter("parley_messages_total", platform="telegram", outcome="ignored")
    assert len(model.requests) == 1 and ignored == 1
    assert (
        fake.sent()[0]["chat_id"] == json.loads(telegram_update("private_text.json"))["message"]["chat"]["id"]
    )


async def test_long_polling_takes_the_same_policy_path(tmp_path: Path, model: FakeOpenAI) -> None:
    fake = FakeTelegram(TOKEN)
    fake.pending.extend(
        json.loads(telegram_update(name)) for name in ("group_other_mention.json", "group_mention.json")
    )
    with serve(fake.api.app) as base:
        binding = binding_doc(
            "helpdesk-tg",
            "helpdesk",
            "telegram",
            secret="tg-creds",
            apiBase=base,
            mode="polling",
            pollTimeoutSeconds=0,
        )
        async with running(tmp_path, model, binding) as app:
            await eventually(lambda: len(fake.sent()) == 1)
            # Updates are taken in order: the unaddressed one went through the intake before the other.
            ignored = await app.counter("parley_messages_total", platform="telegram", outcome="ignored")
    assert asked(model) == ["how do I reset my password?"]
    assert ignored == 1
