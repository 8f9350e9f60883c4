"""A webhook on the gateway is acknowledged at once; the engine, another process, sends the reply."""

import time

import httpx

from fakes.http_api import Recorded
from integration.split.conftest import Cluster
from integration.split.harness import eventually


def replies_to(cluster: Cluster, message_id: str) -> list[Recorded]:
    return [r for r in cluster.callback.received("/hook") if r.json()["message_id"] == message_id]


def test_webhook_is_acked_by_the_gateway_and_answered_by_the_engine(cluster: Cluster) -> None:
    seen_by_model = len(cluster.stable_llm.requests)
    r = httpx.post(
        f"{cluster.gateway.url}/webhook/http/demo-http",
        json={"message": "what is the weather", "user_id": "webhook-user", "message_id": "m-1"},
        timeout=5,
    )
    assert r.status_code == 202 and r.json() == {"accepted": True, "message_id": "m-1"}

    replies = eventually(lambda: replies_to(cluster, "m-1"))
    assert len(replies) == 1
    assert replies[0].json() == {
        "reply": "stable engine says hi",
        "user_id": "webhook-user",
        "chat_id": "webhook-user",
        "message_id": "m-1",
        "track": "stable",
    }
    # The model call came from the engine (the only process holding the key), with the user's text.
    call = cluster.stable_llm.requests[seen_by_model]
    assert call.headers["authorization"] == "Bearer sk-engine"
    assert call.body["messages"][-1]["content"] == "what is the weather"
    # the canary engine consumes only the canary stream: this stable-track message never reached it
    asked_canary = [m["content"] for req in cluster.canary_llm.requests for m in req.body["messages"]]
    assert "what is the weather" not in asked_canary
    engine_metrics = httpx.get(f"{cluster.engine.url}/metrics").text.splitlines()
    sent = [
        m for m in engine_metrics if m.startswith('parley_outbound_total{outcome="sent",platform="http"}')
    ]
    assert sent and float(sent[0].rsplit(" ", 1)[1]) >= 1


def test_a_redelivered_webhook_is_answered_once(cluster: Cluster) -> None:
    body = {"message": "once please", "user_id": "retry-user", "message_id": "m-dup"}
    for _ in range(3):  # the platform retries: each is acked, only the first is enqueued
        assert httpx.post(f"{cluster.gateway.url}/webhook/http/demo-http", json=body).status_code == 202
    eventually(lambda: replies_to(cluster, "m-dup"))
    time.sleep(1.0)  # room for a duplicate to show up, if one were coming
    assert len(replies_to(cluster, "m-dup")) == 1


def test_the_gateway_runs_without_model_keys_and_never_calls_a_model(cluster: Cluster) -> None:
    assert not (cluster.gateway_secrets / "llm").exists() and not (cluster.gateway_secrets / "api").exists()
    ready = cluster.gateway.ready()
    assert ready.status_code == 200 and ready.json()["role"] == "gateway"
    metrics = httpx.get(f"{cluster.gateway.url}/metrics").text
    assert "parley_llm_requests_total{" not in metrics  # no router in the gateway, so no LLM series
