"""`POST /api/v1/chat` on the gateway is answered by an engine of the caller's track (JSON and SSE)."""

import json
from pathlib import Path
from typing import Any

import httpx

from integration.split.conftest import API_TOKEN, INTERNAL_TOKEN, Cluster
from integration.split.harness import free_port
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def chat(url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/chat", json=body, headers={**AUTH, **headers}, timeout=20)


def sse_events(url: str, body: dict[str, Any], **headers: str) -> tuple[httpx.Headers, list[dict[str, Any]]]:
    with httpx.stream(
        "POST", f"{url}/api/v1/chat?stream=true", json=body, headers={**AUTH, **headers}, timeout=20
    ) as r:
        assert r.status_code == 200, r.read()
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
        return r.headers, events


def test_json_chat_is_answered_by_the_stable_engine(cluster: Cluster) -> None:
    r = chat(cluster.gateway.url, {"message": "hello", "user_id": "alice"})
    assert r.status_code == 200
    body = r.json()
    assert body["reply"] == "stable engine says hi" and body["track"] == "stable"
    assert body["model"] == "fake-model" and body["session_id"]
    again = chat(
        cluster.gateway.url, {"message": "and again", "user_id": "alice", "session_id": body["session_id"]}
    )
    assert again.json()["session_id"] == body["session_id"]
    # the engine kept the session: the model saw the first turn in the second request
    contents = [m["content"] for m in cluster.stable_llm.requests[-1].body["messages"]]
    assert "hello" in contents and "and again" in contents


def test_track_header_canary_goes_to_the_canary_engine(cluster: Cluster) -> None:
    r = chat(cluster.gateway.url, {"message": "hi", "user_id": "tester"}, **{"X-Parley-Track": "canary"})
    assert r.status_code == 200
    assert r.json()["reply"] == "canary engine says hi" and r.json()["track"] == "canary"
    stable = chat(cluster.gateway.url, {"message": "hi", "user_id": "tester"}, **{"X-Parley-Track": "stable"})
    assert stable.json()["reply"] == "stable engine says hi" and stable.json()["track"] == "stable"


def test_sse_stream_passes_through_the_gateway(cluster: Cluster) -> None:
    for track, text in (("stable", "stable engine says hi"), ("canary", "canary engine says hi")):
        headers, events = sse_events(
            cluster.gateway.url, {"message": "stream it"}, **{"X-Parley-Track": track}
        )
        assert headers["content-type"].startswith("text/event-stream")
        deltas = [e["delta"] for e in events if "delta" in e]
        final = events[-1]
        assert len(deltas) > 1 and "".join(deltas) == text
        assert final["done"] is True and final["reply"] == text and final["track"] == track


def test_the_engine_enforces_the_users_bearer_token_behind_the_gateway(cluster: Cluster) -> None:
    r = httpx.post(f"{cluster.gateway.url}/api/v1/chat", json={"message": "hi"}, timeout=20)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(
        f"{cluster.gateway.url}/api/v1/chat",
        json={"message": "hi"},
        headers={"Authorization": "Bearer nope"},
        timeout=20,
    )
    assert wrong.status_code == 401 and API_TOKEN not in wrong.text


def test_engines_only_answer_requests_carrying_the_internal_token(cluster: Cluster) -> None:
    direct = chat(cluster.canary.url, {"message": "hi"})
    assert direct.status_code == 403 and "gateway" in direct.json()["error"]
    forged = chat(cluster.canary.url, {"message": "hi"}, **{"X-Parley-Internal-Token": "guess"})
    assert forged.status_code == 403
    # with the token the engine answers, and always with its own track whatever the header says
    ok = chat(
        cluster.canary.url,
        {"message": "hi"},
        **{"X-Parley-Internal-Token": INTERNAL_TOKEN, "X-Parley-Track": "stable"},
    )
    assert ok.status_code == 200 and ok.json()["track"] == "canary"


def test_bad_bodies_are_refused_by_the_gateway_itself(cluster: Cluster) -> None:
    before = len(cluster.stable_llm.requests)
    bad = httpx.post(
        f"{cluster.gateway.url}/api/v1/chat", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]
    empty = chat(cluster.gateway.url, {"message": ""})
    assert empty.status_code == 422
    blue = chat(cluster.gateway.url, {"message": "x"}, **{"X-Parley-Track": "blue"})
    assert blue.status_code == 400
    assert len(cluster.stable_llm.requests) == before


async def test_an_unreachable_engine_is_a_clear_503(cluster: Cluster, tmp_path: Path) -> None:
    """The gateway app in-process, its stable engine URL on a port nobody listens on."""
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
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            r = await client.post(
                "/api/v1/chat", json={"message": "hi"}, headers={"X-Parley-Track": "stable"}
            )
    assert r.status_code == 503
    assert r.json() == {"error": "the stable engine is not reachable (ConnectError)"}
