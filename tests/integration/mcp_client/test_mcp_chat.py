"""MCP tools through the whole app: `parley serve` in process, a fake OpenAI-compatible model asking for
the tool, and real MCP servers (stdio and streamable HTTP) answering it."""

import asyncio
import base64
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app_client import app_client
from factories import chatbot_doc
from fakes.llm_servers import FakeOpenAI, Reply, key_for
from fakes.served import free_socket
from integration.mcp_client import demo_server
from integration.mcp_client.harness import SCRIPT, http_server

SECRETS = {"llm/main": key_for("main"), "mcp/token": "Bearer s3cret"}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="fine thanks") as srv:
        yield srv


def stdio(name: str = "local", **fields: Any) -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SCRIPT)], "timeout": "10s", **fields}


def bot(fake: FakeOpenAI, *servers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "5s",
        "capabilities": ["tools"],
    }
    return chatbot_doc(
        "demo",
        models={"routes": [route]},
        mcpServers=list(servers),
        rateLimit={"perUserPerMinute": 100000},
        **spec,
    )


def offered(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


async def until_offered(client: httpx.AsyncClient, fake: FakeOpenAI, tool: str) -> None:
    """Ask until the model is offered `tool` (the servers connect in the background), then forget
    those requests."""
    deadline = time.monotonic() + 20
    while True:
        r = await client.post("/api/v1/chat", json={"message": "warm up", "session_id": "warm-up"})
        assert r.status_code == 200
        if tool in offered(fake.requests[-1].body):
            fake.requests.clear()
            return
        assert time.monotonic() < deadline, f"{tool} was never offered: {offered(fake.requests[-1].body)}"
        await asyncio.sleep(0.05)


def tool_results(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


async def test_the_model_calls_a_stdio_tool_and_reads_its_answer(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with app_client(tmp_path, bot(fake, stdio()), secrets=SECRETS) as client:
        await until_offered(client, fake, "lookup_weather")
        fake.push(Reply(tool_calls=(("lookup_weather", {"city": "Paris"}),)), Reply(text="Sunny, 21."))
        r = await client.post("/api/v1/chat", json={"message": "weather in Paris?"})
    assert r.status_code == 200 and r.json()["reply"] == "Sunny, 21."
    first, second = fake.requests[0].body, fake.requests[1].body
    weather = next(t["function"] for t in first["tools"] if t["function"]["name"] == "lookup_weather")
    assert weather["description"] == "Today's weather in a city."
    assert weather["parameters"]["properties"]["city"]["type"] == "string"
    assert tool_results(second) == ["Sunny in Paris, 21 degrees"]


async def test_the_model_calls_an_http_tool_with_secret_headers(tmp_path: Path, fake: FakeOpenAI) -> None:
    with http_server() as server:
        remote = {
            "name": "remote",
            "url": server.url,
            "headers": {"Authorization": {"secretKeyRef": {"name": "mcp", "key": "token"}}},
        }
        async with app_client(tmp_path, bot(fake, remote), secrets=SECRETS) as client:
            await until_offered(client, fake, "lookup_weather")
            fake.push(Reply(tool_calls=(("picture", {}),)), Reply(text="Here it is."))
            r = await client.post("/api/v1/chat", json={"message": "show me the weather"})
        seen = list(server.headers)
    assert r.json()["reply"] == "Here it is."
    [image] = r.json()["attachments"]  # the tool's picture goes to the user with the reply
    assert image["mime_type"] == "image/png"
    assert base64.b64decode(image["data"]) == demo_server.PNG
    [result] = tool_results(fake.requests[1].body)
    assert "will be sent to the user" in result
    assert seen and all(h["authorization"] == "Bearer s3cret" for h in seen)


async def test_allow_tools_limits_what_the_model_is_offered(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, stdio(allowTools=["lookup_weather"]))
    async with app_client(tmp_path, doc, secrets=SECRETS) as client:
        await until_offered(client, fake, "lookup_weather")
        fake.push(Reply(tool_calls=(("env_value", {"name": "PATH"}),)), Reply(text="ok"))
        r = await client.post("/api/v1/chat", json={"message": "hi"})
    assert r.json()["reply"] == "ok"
    assert offered(fake.requests[0].body) == ["lookup_weather"]
    assert tool_results(fake.requests[1].body) == ["error: unknown tool 'env_value'"]


async def test_a_server_that_is_down_leaves_the_bot_answering(
    tmp_path: Path, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parley.mcp")
    with free_socket() as sock:  # bound, never listening
        down = {"name": "down", "url": f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"}
        async with app_client(tmp_path, bot(fake, down, stdio()), secrets=SECRETS) as client:
            await until_offered(client, fake, "lookup_weather")
            replies = [
                (await client.post("/api/v1/chat", json={"message": f"hi {i}"})).json()["reply"]
                for i in range(3)
            ]
    assert replies == ["fine thanks"] * 3
    assert all(
        not name.startswith("down") for body in (r.body for r in fake.requests) for name in offered(body)
    )
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.__dict__.get("server") == "down"
    ]
    assert len(warnings) == 1
    assert "left out" in warnings[0].getMessage()


async def test_a_server_that_dies_mid_session_is_unavailable_and_the_reply_still_goes(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    async with app_client(tmp_path, bot(fake, stdio()), secrets=SECRETS) as client:
        await until_offered(client, fake, "crash")
        fake.push(Reply(tool_calls=(("crash", {}),)), Reply(text="That tool is down, sorry."))
        r = await client.post("/api/v1/chat", json={"message": "crash it", "session_id": "s"})
        died = [req.body for req in fake.requests]
        await until_offered(client, fake, "lookup_weather")  # a new server process, in the background
        fake.push(Reply(tool_calls=(("lookup_weather", {"city": "Oslo"}),)), Reply(text="Sunny again."))
        again = await client.post("/api/v1/chat", json={"message": "weather?", "session_id": "t"})
    assert r.status_code == 200 and r.json()["reply"] == "That tool is down, sorry."
    assert tool_results(died[1]) == [
        "tool unavailable: crash (MCP server local went away); answer without it"
    ]
    assert again.json()["reply"] == "Sunny again."
    assert tool_results(fake.requests[1].body) == ["Sunny in Oslo, 21 degrees"]


async def test_a_name_clash_with_a_plugin_tool_is_prefixed(tmp_path: Path, fake: FakeOpenAI) -> None:
    doc = bot(fake, stdio(), plugins=[{"name": "clock"}])
    async with app_client(tmp_path, doc, secrets=SECRETS) as client:
        await until_offered(client, fake, "local_current_time")
        fake.push(
            Reply(tool_calls=(("local_current_time", {}), ("current_time", {"timezone": "UTC"}))),
            Reply(text="noon"),
        )
        r = await client.post("/api/v1/chat", json={"message": "what time is it?"})
    assert r.json()["reply"] == "noon"
    names = offered(fake.requests[0].body)
    assert names.count("current_time") == 1  # the plugin's, under its own name
    assert "local_current_time" in names and "lookup_weather" in names
    mcp_answer, plugin_answer = tool_results(fake.requests[1].body)
    assert mcp_answer == "12:00 server time"
    assert "UTC" in plugin_answer


async def test_streamed_replies_run_mcp_tools_too(tmp_path: Path, fake: FakeOpenAI) -> None:
    async with app_client(tmp_path, bot(fake, stdio()), secrets=SECRETS) as client:
        await until_offered(client, fake, "lookup_weather")
        fake.push(Reply(tool_calls=(("lookup_weather", {"city": "Kyiv"}),)), Reply(text="Sunny there."))
        r = await client.post("/api/v1/chat?stream=true", json={"message": "weather in Kyiv?"})
    assert r.status_code == 200 and "Sunny" in r.text
    assert tool_results(fake.requests[1].body) == ["Sunny in Kyiv, 21 degrees"]
