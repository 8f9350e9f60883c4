"""An engine killed mid-message (SIGKILL, no goodbye): another engine re-claims the message after the
visibility timeout, and the user gets exactly one reply."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from factories import binding_doc, chatbot_doc
from fakes.http_api import RecordingApi, Reply, serve
from fakes.llm_servers import FakeOpenAI
from fakes.redis_server import running_redis
from integration.split.conftest import engine_env, model_route
from integration.split.harness import Parley, eventually, start_all, stop_all, write_manifest, write_secrets

HANG_SECONDS = 5.0  # far longer than finding the request and killing its engine takes


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[FakeOpenAI, RecordingApi, Parley, dict[str, Parley]]]:
    callback = RecordingApi()
    callback.default("POST", "/hook", Reply(200, {"ok": True}))
    with (
        running_redis(tmp_path / "redis") as redis,
        FakeOpenAI(text="the one and only reply") as llm,
        serve(callback.app) as callback_url,
    ):
        manifest = write_manifest(
            tmp_path / "bot.yaml",
            chatbot_doc("crashy", models={"routes": [model_route(llm)]}),
            binding_doc("crashy-http", bot="crashy", platform="http", callbackUrl=f"{callback_url}/hook"),
        )
        gateway = Parley(
            "gateway",
            manifest,
            write_secrets(tmp_path / "s-gw", {}),
            tmp_path,
            env={"PARLEY_REDIS_URL": redis.url},
        )
        # Each engine has its own model key, so the fake's recorded request tells who is calling.
        engines = {
            key: Parley(
                "engine",
                manifest,
                write_secrets(tmp_path / f"s-{key}", {"llm/main": key}),
                tmp_path,
                env=engine_env(redis, key),
            )
            for key in ("sk-engine-1", "sk-engine-2")
        }
        processes = [gateway, *engines.values()]
        try:
            start_all(processes)
            yield llm, callback, gateway, engines
        finally:
            stop_all(processes)


def test_a_killed_engines_message_is_reclaimed_and_answered_exactly_once(
    setup: tuple[FakeOpenAI, RecordingApi, Parley, dict[str, Parley]],
) -> None:
    llm, callback, gateway, engines = setup
    llm.hang(seconds=HANG_SECONDS, times=1)  # the first engine to ask will still be waiting when killed
    r = httpx.post(
        f"{gateway.url}/webhook/http/crashy-http",
        json={"message": "survive this", "user_id": "u1", "message_id": "crash-1"},
        timeout=5,
    )
    assert r.status_code == 202

    first = eventually(lambda: llm.requests[:1])[0]
    victim_key = first.headers["authorization"].removeprefix("Bearer ")
    engines[victim_key].kill()
    assert callback.received("/hook") == []  # killed while its model call still hung
    survivor_key = next(k for k in engines if k != victim_key)

    replies = eventually(lambda: callback.received("/hook"), within=20)
    time.sleep(2.0)  # the victim is reaped; room for the survivor (or a third claim) to send a duplicate
    replies = callback.received("/hook")
    assert len(replies) == 1
    assert replies[0].json()["reply"] == "the one and only reply"
    assert replies[0].json()["message_id"] == "crash-1"
    # the survivor asked the model for the same message after re-claiming it
    askers = [req.headers["authorization"].removeprefix("Bearer ") for req in llm.requests]
    assert askers == [victim_key, survivor_key]
    assert llm.requests[1].body["messages"][-1]["content"] == "survive this"
