"""The HTTP chat API through the whole pipeline, against fake LLM servers on 127.0.0.1."""

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app_client import app_client
from factories import chatbot_doc
from fakes.llm_servers import FakeOpenAI, Reply, key_for
from parley_runtime.llm import tools


def route(srv: FakeOpenAI, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai-compatible",
        "model": srv.model,
        "baseURL": srv.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": name}},
        "retries": 0,
        "timeout": "5s",
        **extra,
    }


def client_for(
    tmp_path: Path, doc: dict[str, Any], secrets: dict[str, str] | None = None
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    """The real app with its lifespan running, reached in-process through httpx's ASGI transport."""
    return app_client(tmp_path, doc, secrets=secrets)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="fine thanks") as srv:
        yield srv


def bot(fake: FakeOpenAI, **spec: Any) -> dict[str, Any]:
    spec.setdefault("persona", {"systemPrompt": "You are terse."})
    return chatbot_doc("demo", models={"routes": [route(fake, "main")]}, **spec)


def contents(request_body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (m["role"], m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]))
        for m in request_body["messages"]
    ]


async def test_context_is_kept_per_user_and_never_leaks(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        first = (
            await client.post("/api/v1/chat", json={"message": "my name is Alice", "user_id": "alice"})
        ).json()
        assert first["reply"] == "fine thanks" and first["model"] == fake.model
        await client.post(
            "/api/v1/chat",
            json={"message": "what is my name?", "user_id": "alice", "session_id": first["session_id"]},
        )
        await client.post("/api/v1/chat", json={"message": "hello", "user_id": "bob"})
    alice_second, bob_first = fake.requests[1].body, fake.requests[2].body
    assert contents(alice_second) == [
        ("system", "You are terse."),
        ("user", "my name is Alice"),
        ("assistant", "fine thanks"),
        ("user", "what is my name?"),
    ]
    assert contents(bob_first) == [("system", "You are terse."), ("user", "hello")]
    assert fake.requests[0].headers["authorization"] == f"Bearer {key_for('main')}"


async def test_reset_clears_the_conversation(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        sid = (await client.post("/api/v1/chat", json={"message": "remember 42", "user_id": "u"})).json()[
            "session_id"
        ]
        reset = await client.post(
            "/api/v1/chat", json={"message": "/reset", "user_id": "u", "session_id": sid}
        )
        assert reset.json()["model"] == ""  # answered by the plugin, not the model
        await client.post("/api/v1/chat", json={"message": "what number?", "user_id": "u", "session_id": sid})
    assert len(fake.requests) == 2
    assert contents(fake.requests[1].body) == [("system", "You are terse."), ("user", "what number?")]


async def test_max_turns_bounds_the_history(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(
        tmp_path, bot(fake, session={"maxTurns": 2}), {"llm/main": key_for("main")}
    ) as client:
        for i in range(5):
            await client.post("/api/v1/chat", json={"message": f"m{i}", "user_id": "u", "session_id": "s"})
    users = [c for role, c in contents(fake.requests[-1].body) if role == "user"]
    assert users == ["m2", "m3", "m4"]


async def test_bearer_token_when_configured(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, api={"token": {"secretKeyRef": {"name": "api", "key": "token"}}})
    async with client_for(tmp_path, doc, {"llm/main": key_for("main"), "api/token": "t0ken-value"}) as client:
        assert (await client.post("/api/v1/chat", json={"message": "hi"})).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.post("/api/v1/chat", json={"message": "hi"}, headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer t0ken-value"}
        assert (await client.post("/api/v1/chat", json={"message": "hi"}, headers=right)).status_code == 200


async def test_rate_limit_per_user(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(
        tmp_path, bot(fake, rateLimit={"perUserPerMinute": 2}), {"llm/main": key_for("main")}
    ) as c:
        answers = [
            await c.post("/api/v1/chat", json={"message": "x", "user_id": "spammer"}) for _ in range(3)
        ]
        other = (await c.post("/api/v1/chat", json={"message": "x", "user_id": "calm"})).json()["reply"]
        metrics = (await c.get("/metrics")).text
    assert [a.json()["reply"] for a in answers[:2]] == ["fine thanks", "fine thanks"]
    refused = answers[2]
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "60")
    assert list(refused.json()) == ["error"] and "too fast" in refused.json()["error"]
    assert refused.headers["content-type"] == "application/json" and b"\n" not in refused.content
    assert other == "fine thanks"
    assert 'parley_messages_total{outcome="rate_limited",platform="api",track="stable"} 1.0' in metrics
    assert len(fake.requests) == 3


async def test_rate_limited_stream_is_a_429_before_any_event(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(
        tmp_path, bot(fake, rateLimit={"perUserPerMinute": 1}), {"llm/main": key_for("main")}
    ) as c:
        body = {"message": "x", "user_id": "spammer"}
        ok = await c.post("/api/v1/chat?stream=true", json=body)
        async with c.stream("POST", "/api/v1/chat?stream=true", json=body) as refused:
            status, headers = refused.status_code, refused.headers
            content = await refused.aread()
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/event-stream")
    assert (status, headers["retry-after"], headers["content-type"]) == (429, "60", "application/json")
    assert "too fast" in json.loads(content)["error"] and b"data:" not in content
    assert len(fake.requests) == 1


async def test_failing_primary_falls_back_without_a_visible_error(tmp_path: Path) -> None:
    with FakeOpenAI(text="from primary") as primary, FakeOpenAI(text="from backup") as backup:
        primary.fail(status=500, times=1)
        doc = chatbot_doc(
            "demo", models={"routes": [route(primary, "primary"), route(backup, "backup", priority=1)]}
        )
        secrets = {"llm/primary": key_for("primary"), "llm/backup": key_for("backup")}
        async with client_for(tmp_path, doc, secrets) as client:
            r = await client.post("/api/v1/chat", json={"message": "hi"})
    assert r.status_code == 200 and r.json()["reply"] == "from backup"


async def test_everything_down_gives_an_apology_not_an_error(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.fail(status=500, times=10)
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        r = await client.post("/api/v1/chat", json={"message": "hi"})
        metrics = (await client.get("/metrics")).text
    assert r.status_code == 200 and r.json()["reply"].startswith("Sorry")
    assert 'parley_messages_total{outcome="error",platform="api",track="stable"} 1.0' in metrics


async def test_plugin_tool_loop_through_the_pipeline(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.push(Reply(tool_calls=(("current_time", {"timezone": "Asia/Shanghai"}),)), Reply(text="It is noon."))
    doc = chatbot_doc(
        "demo", models={"routes": [route(fake, "main", capabilities=["tools"])]}, plugins=[{"name": "clock"}]
    )
    async with client_for(tmp_path, doc, {"llm/main": key_for("main")}) as client:
        r = await client.post("/api/v1/chat", json={"message": "what time is it in Beijing?"})
    assert r.json()["reply"] == "It is noon."
    first, second = fake.requests[0].body, fake.requests[1].body
    assert "current_time" in [t["function"]["name"] for t in first["tools"]]
    tool_results = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_results) == 1 and "Asia/Shanghai" in tool_results[0]["content"]


async def test_streamed_and_plain_replies_stop_after_the_same_tool_rounds(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    doc = chatbot_doc(
        "demo", models={"routes": [route(fake, "main", capabilities=["tools"])]}, plugins=[{"name": "clock"}]
    )
    rounds = tools.MAX_TOOL_ROUNDS
    asked: dict[str, list[dict[str, Any]]] = {}
    async with client_for(tmp_path, doc, {"llm/main": key_for("main")}) as client:
        for path in ("/api/v1/chat", "/api/v1/chat?stream=true"):
            fake.call_tool("current_time", {"timezone": "UTC"}, times=rounds + 1)  # it never stops asking
            before = len(fake.requests)
            r = await client.post(path, json={"message": "time?", "session_id": path})
            assert r.status_code == 200
            asked[path] = [req.body for req in fake.requests[before:]]
    for bodies in asked.values():
        assert ["tools" in body for body in bodies] == [True] * rounds + [False]
        assert sum(m["role"] == "tool" for m in bodies[-1]["messages"]) == rounds


async def test_tools_are_not_offered_to_untagged_routes(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, plugins=[{"name": "clock"}])
    async with client_for(tmp_path, doc, {"llm/main": key_for("main")}) as client:
        assert (await client.post("/api/v1/chat", json={"message": "hi"})).json()["reply"] == "fine thanks"
    assert "tools" not in fake.requests[0].body


async def test_streamed_reply_is_saved_to_the_session(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        r = await client.post("/api/v1/chat?stream=true", json={"message": "a", "session_id": "s"})
        events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
        await client.post("/api/v1/chat", json={"message": "b", "session_id": "s"})
    assert events[-1]["reply"] == "fine thanks"
    assert ("assistant", "fine thanks") in contents(fake.requests[1].body)


async def test_bad_bodies_get_one_readable_line_and_reach_no_model(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        broken = await client.post(
            "/api/v1/chat", content=b"{not json", headers={"content-type": "application/json"}
        )
        unknown = await client.post("/api/v1/chat", json={"message": "hi", "colour": "red"})
        huge = await client.post("/api/v1/chat", json={"message": "x" * 300_000})
        wrong_track = await client.post(
            "/api/v1/chat", json={"message": "hi"}, headers={"X-Parley-Track": "beta"}
        )
    assert (broken.status_code, broken.json()) == (400, {"error": "invalid JSON"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]
    # Under the body limit (which leaves room for media), so the message's own limit names the problem.
    assert (huge.status_code, huge.json()) == (
        422,
        {"error": "message: String should have at most 32000 characters"},
    )
    assert wrong_track.status_code == 400
    assert fake.requests == []


async def test_answer_names_session_model_and_track(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with client_for(tmp_path, bot(fake), {"llm/main": key_for("main")}) as client:
        first = await client.post("/api/v1/chat", json={"message": "hi"})
        pinned = await client.post(
            "/api/v1/chat", json={"message": "hi"}, headers={"X-Parley-Track": "canary"}
        )
        streamed = await client.post("/api/v1/chat?stream=1", json={"message": "hi", "session_id": "s1"})
    body = first.json()
    assert first.headers["content-type"] == "application/json"
    assert body["reply"] == "fine thanks" and body["model"] == fake.model and body["track"] == "stable"
    assert len(body["session_id"]) == 32 and int(body["session_id"], 16) >= 0
    assert pinned.json()["track"] == "canary"
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert '"session_id": "s1"' in streamed.text
