"""Two `parley serve` processes sharing one Redis spend one bot budget: concurrent requests on both never
settle more than the budget plus one request's reservation, and every call reached the provider only
after its reservation was granted."""

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from factories import chatbot_doc
from fakes.llm_servers import FakeOpenAI, key_for
from fakes.redis_server import RedisServer, running_redis
from integration.split.harness import Parley, start_all, stop_all, write_manifest, write_secrets
from parley_runtime.budget.redis import RedisBudgetStore

BUDGET_TEXT = "The team budget is spent for today."
PER_TOKEN_USD = 0.001
MAX_TOKENS = 20
LIMIT_USD = 0.2
ANSWER_TOKENS = (10, 2)  # the fake's usage for "fine thanks": 10 prompt tokens, one per word
REQUESTS = 40


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="fine thanks") as srv:
        srv.hang(0.3, times=REQUESTS)  # every call stays in flight a moment: the replicas overlap
        yield srv


def replicas(tmp_path: Path, fake: FakeOpenAI, redis: RedisServer) -> list[Parley]:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "10s",
        "maxTokens": MAX_TOKENS,
        "pricing": {"inputPerMillion": PER_TOKEN_USD * 1e6, "outputPerMillion": PER_TOKEN_USD * 1e6},
    }
    doc = chatbot_doc(
        "demo", models={"routes": [route]}, budget={"perBotDaily": {"usd": LIMIT_USD}, "reply": BUDGET_TEXT}
    )
    manifest = write_manifest(tmp_path / "bot.yaml", doc)
    secrets = write_secrets(tmp_path / "secrets", {"llm/main": key_for("main")})
    env = {"PARLEY_REDIS_URL": redis.url}
    return [Parley("serve", manifest, secrets, tmp_path / f"replica-{i}", env=env) for i in range(2)]


def sample(metrics: str, prefix: str) -> float:
    return next((float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(prefix)), 0.0)


async def test_two_replicas_never_overspend_one_budget(
    tmp_path: Path, fake: FakeOpenAI, redis: RedisServer
) -> None:
    processes = start_all(replicas(tmp_path, fake, redis))
    try:
        async with httpx.AsyncClient(timeout=30) as client:

            async def chat(i: int) -> str:
                url = processes[i % 2].url
                answer = await client.post(
                    f"{url}/api/v1/chat", json={"message": "hello", "user_id": f"u{i}"}
                )
                assert answer.status_code == 200, answer.text
                return str(answer.json()["reply"])

            replies = await asyncio.gather(*(chat(i) for i in range(REQUESTS)))
            metrics = [(await client.get(f"{p.url}/metrics")).text for p in processes]
    finally:
        stop_all(processes)

    answered = replies.count("fine thanks")
    refused = replies.count(BUDGET_TEXT)
    assert answered + refused == REQUESTS and answered > 0 and refused > 0
    assert len(fake.requests) == answered  # a refused request never reached the provider

    counters = aioredis.Redis.from_url(redis.url)
    try:
        day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        spent = await RedisBudgetStore(counters).spent(day, "demo:bot:usd")
    finally:
        await counters.aclose()
    per_answer = round(sum(ANSWER_TOKENS) * PER_TOKEN_USD * 1e9)
    assert spent == answered * per_answer  # every answer settled once, on whichever replica
    # one request's reservation: its prompt (about 6 tokens for "hello") plus MAX_TOKENS
    one_reservation = round((6 + MAX_TOKENS) * PER_TOKEN_USD * 1e9)
    assert spent <= LIMIT_USD * 1e9 + one_reservation

    cost = sum(sample(m, 'parley_cost_usd_total{bot="demo",route="main"}') for m in metrics)
    assert cost == pytest.approx(spent / 1e9)
    budget = 'parley_messages_total{outcome="budget",platform="api",track="stable"}'
    assert sum(sample(m, budget) for m in metrics) == refused
    assert sum(sample(m, 'parley_budget_refused_total{bot="demo",scope="bot"}') for m in metrics) == refused
