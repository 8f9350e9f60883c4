"""Budgets in the real `parley serve` app (SQLite store) against a fake OpenAI server on 127.0.0.1."""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app_client import app_client
from factories import chatbot_doc
from fakes.llm_servers import FakeOpenAI, Reply, key_for

SECRETS = {"llm/main": key_for("main")}
PRICING = {"inputPerMillion": 1000.0, "outputPerMillion": 2000.0}  # $0.001 in, $0.002 out per token


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="fine thanks", usage=(30, 10)) as srv:
        yield srv


def bot(fake: FakeOpenAI, budget: dict[str, Any] | None, **route: Any) -> dict[str, Any]:
    main = {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "5s",
        "pricing": PRICING,
        **route,
    }
    spec: dict[str, Any] = {"models": {"routes": [main]}}
    if budget is not None:
        spec["budget"] = budget
    return chatbot_doc("demo", **spec)


def sample(metrics: str, prefix: str) -> float:
    """The value of the one series starting with `prefix` (0 when absent)."""
    return next((float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(prefix)), 0.0)


async def test_over_budget_the_provider_is_not_called_and_the_reply_says_so(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    budget = {"perUserDaily": {"usd": 0.1}, "reply": "That is all for today."}
    async with app_client(tmp_path, bot(fake, budget, maxTokens=40), secrets=SECRETS) as client:
        answers = []
        for _ in range(4):
            answer = await client.post("/api/v1/chat", json={"message": "hello", "user_id": "ann"})
            answers.append(answer.json()["reply"])
        streamed = await client.post("/api/v1/chat?stream=true", json={"message": "hello", "user_id": "ann"})
        other = (await client.post("/api/v1/chat", json={"message": "hello", "user_id": "bob"})).json()
        metrics = (await client.get("/metrics")).text

    # an answer costs $0.05 and reserves about $0.09 (the prompt + 40 output tokens): one fits, then none
    assert answers == ["fine thanks"] + ["That is all for today."] * 3
    assert streamed.status_code == 200 and "That is all for today." in streamed.text
    assert other["reply"] == "fine thanks"  # bob's allowance is his own
    assert len(fake.requests) == 2
    assert sample(metrics, 'parley_messages_total{outcome="budget",platform="api",track="stable"}') == 4
    assert sample(metrics, 'parley_budget_refused_total{bot="demo",scope="user"}') == 4
    assert sample(metrics, 'parley_cost_usd_total{bot="demo",route="main"}') == pytest.approx(2 * 0.05)


async def test_a_tool_loop_is_priced_round_by_round(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.push(
        Reply(tool_calls=(("current_time", {"timezone": "UTC"}),), usage=(30, 10)),
        Reply(tool_calls=(("current_time", {"timezone": "UTC"}),), usage=(50, 10)),
        Reply(text="It is noon.", usage=(70, 5)),
    )
    doc = bot(fake, {"perBotDaily": {"usd": 10}}, capabilities=["tools"])
    doc["spec"]["plugins"] = [{"name": "clock"}]
    async with app_client(tmp_path, doc, secrets=SECRETS) as client:
        reply = (await client.post("/api/v1/chat", json={"message": "what time is it?"})).json()
        metrics = (await client.get("/metrics")).text

    assert reply["reply"] == "It is noon." and len(fake.requests) == 3
    rounds = [(30, 10), (50, 10), (70, 5)]
    cost = sum(i * 0.001 + o * 0.002 for i, o in rounds)
    assert sample(metrics, 'parley_cost_usd_total{bot="demo",route="main"}') == pytest.approx(cost)


async def test_without_a_budget_nothing_is_kept_or_counted(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with app_client(tmp_path, bot(fake, None), secrets=SECRETS) as client:
        assert (await client.post("/api/v1/chat", json={"message": "hello"})).json()["reply"] == "fine thanks"
        metrics = (await client.get("/metrics")).text
    assert "parley_cost_usd_total{" not in metrics
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "parley.sqlite3")) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {t for t in tables if t.startswith("parley_budget")}
