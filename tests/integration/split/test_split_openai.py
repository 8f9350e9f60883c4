"""The OpenAI-compatible endpoint in the cluster: the gateway forwards to an engine of the caller's
track, which checks the bearer token and answers (the official `openai` SDK as the client)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from integration.split.conftest import API_TOKEN, BOT, INTERNAL_TOKEN, Cluster
from integration.split.harness import free_port
from lazy_import import lazy_import
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

openai = lazy_import("openai")  # ~0.5 s to import: paid when these tests run

HI = [{"role": "user", "content": "hi"}]


def sdk(url: str, token: str = API_TOKEN, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=token, base_url=f"{url}/v1", max_retries=0, timeout=20, default_headers=headers or None
    )


def test_a_completion_is_answered_by_an_engine_of_the_callers_track(cluster: Cluster) -> None:
    stable = sdk(cluster.gateway.url).chat.completions.create(model=BOT, messages=HI)
    canary = sdk(cluster.gateway.url, **{"X-Parley-Track": "canary"}).chat.completions.create(
        model=BOT, messages=HI
    )
    assert (stable.choices[0].message.content, stable.system_fingerprint) == (
        "stable engine says hi",
        "stable",
    )
    assert (canary.choices[0].message.content, canary.system_fingerprint) == (
        "canary engine says hi",
        "canary",
    )
    assert stable.model == BOT and stable.usage is not None and stable.usage.total_tokens > 0


def test_streaming_passes_through_the_gateway(cluster: Cluster) -> None:
    stream = sdk(cluster.gateway.url).chat.completions.create(
        model=BOT, messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stable engine says hi" and len(chunks) > 4
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_a_users_session_lives_in_the_engines_store(cluster: Cluster) -> None:
    ai = sdk(cluster.gateway.url)
    ai.chat.completions.create(
        model=BOT, user="openai-split-ada", messages=[{"role": "user", "content": "I am Ada"}]
    )
    ai.chat.completions.create(
        model=BOT, user="openai-split-ada", messages=[{"role": "user", "content": "who?"}]
    )
    contents = [m["content"] for m in cluster.stable_llm.requests[-1].body["messages"]]
    assert contents[-3:] == ["I am Ada", "stable engine says hi", "who?"]


def test_models_and_errors_through_the_gateway(cluster: Cluster) -> None:
    listed = sdk(cluster.gateway.url).models.list()
    assert [m.id for m in listed.data] == [BOT]
    with pytest.raises(openai.AuthenticationError):  # the gateway holds no token: the engine refuses
        sdk(cluster.gateway.url, "sk-nope").chat.completions.create(model=BOT, messages=HI)
    with pytest.raises(openai.AuthenticationError):
        sdk(cluster.gateway.url, "sk-nope").models.list()
    with pytest.raises(openai.NotFoundError) as unknown:
        sdk(cluster.gateway.url).chat.completions.create(model="gpt-4o", messages=HI)
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        sdk(cluster.gateway.url).chat.completions.create(
            model=BOT, messages=[{"role": "assistant", "content": "x"}]
        )


def test_engines_answer_only_through_the_gateway(cluster: Cluster) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        sdk(cluster.engine.url).chat.completions.create(model=BOT, messages=HI)
    with pytest.raises(openai.PermissionDeniedError):
        sdk(cluster.engine.url).models.list()
    direct = sdk(cluster.canary.url, **{"X-Parley-Internal-Token": INTERNAL_TOKEN})
    assert direct.chat.completions.create(model=BOT, messages=HI).system_fingerprint == "canary"


async def test_an_unreachable_engine_is_a_503_in_openais_shape(cluster: Cluster, tmp_path: Path) -> None:
    settings = RuntimeSettings(
        config_files=(cluster.manifest,),
        secrets_dir=cluster.gateway_secrets,
        data_dir=tmp_path,
        role="gateway",
        redis_url=cluster.redis.url,
        engine_url_stable=f"http://127.0.0.1:{free_port()}",
    )
    app = create_app(bootstrap.load(settings))
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            ai = openai.AsyncOpenAI(
                api_key=API_TOKEN, base_url="http://gateway.test/v1", http_client=http, max_retries=0
            )
            with pytest.raises(openai.InternalServerError) as caught:
                await ai.chat.completions.create(
                    model=BOT, messages=HI, extra_headers={"X-Parley-Track": "stable"}
                )
    assert caught.value.status_code == 503 and caught.value.code == "engine_unavailable"
    assert caught.value.body == {
        "message": "the stable engine is not reachable (ConnectError)",
        "type": "server_error",
        "param": None,
        "code": "engine_unavailable",
    }
