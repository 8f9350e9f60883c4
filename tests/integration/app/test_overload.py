"""Overload is answered, never dropped (SPEC §15): past `PARLEY_MAX_IN_FLIGHT` chat and webhook
requests get 503 with `Retry-After` at once, over a real socket served with the production uvicorn
settings, while the requests already in flight finish normally."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.http_api import free_socket
from fakes.llm_servers import FakeOpenAI, key_for
from integration.webhooks.harness import eventually
from parley_runtime.app import bootstrap, server
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

SLOW_SECONDS = 4.0  # how long the first requests stay in flight: far longer than a 503 takes


@contextlib.asynccontextmanager
async def served(tmp_path: Path, llm: FakeOpenAI, *, max_in_flight: int) -> AsyncIterator[str]:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": llm.model,
        "baseURL": llm.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "30s",
    }
    docs = [
        chatbot_doc("demo", models={"routes": [route]}),
        binding_doc("demo-http", bot="demo", callbackUrl="http://127.0.0.1:9/unused"),
    ]
    (tmp_path / "bot.yaml").write_text(dump_yaml(*docs))
    (tmp_path / "secrets" / "llm").mkdir(parents=True)
    (tmp_path / "secrets" / "llm" / "main").write_text(key_for("main"))
    settings = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        role="serve",
        max_in_flight=max_in_flight,
    )
    app = create_app(bootstrap.load(settings))
    sock = free_socket()
    uv = uvicorn.Server(server.uvicorn_config(app, settings))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        await eventually(lambda: uv.started or task.done())
        assert uv.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        await task
        sock.close()


async def test_past_the_bound_requests_get_503_and_the_first_ones_finish(tmp_path: Path) -> None:
    with FakeOpenAI(text="slow but fine") as llm:
        llm.hang(SLOW_SECONDS, times=2)
        async with served(tmp_path, llm, max_in_flight=2) as url:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
                first = [
                    asyncio.create_task(
                        http.post("/api/v1/chat", json={"message": f"q{n}", "user_id": f"u{n}"})
                    )
                    for n in range(2)
                ]
                await eventually(lambda: len(llm.requests) == 2)  # both are in flight, at the model
                extras = await asyncio.gather(
                    *(http.post("/api/v1/chat", json={"message": "x", "user_id": f"x{n}"}) for n in range(6)),
                    http.post("/api/v1/chat?stream=true", json={"message": "x"}),
                    http.post("/webhook/http/demo-http", json={"message": "x", "user_id": "w"}),
                )
                health = await http.get("/health")  # probes are not counted: still alive and observable
                assert not any(task.done() for task in first), "the slow requests ended too early to tell"
                done = await asyncio.gather(*first)
                after = await http.post("/api/v1/chat", json={"message": "again"})
    for r in extras:
        assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
        assert r.headers["content-type"] == "application/json" and list(r.json()) == ["error"]
    assert health.status_code == 200
    assert [r.status_code for r in done] == [200, 200]
    assert {r.json()["reply"] for r in done} == {"slow but fine"}
    assert after.status_code == 200  # the bound is released when a request ends
    assert len(llm.requests) == 3  # refused requests never reached the model


def test_the_default_bound_is_far_above_the_benchmark() -> None:
    assert RuntimeSettings.model_fields["max_in_flight"].default >= 1024 > 200
