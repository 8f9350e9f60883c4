"""The real `parley serve` application for webhook tests: manifest and secrets written to a tmp folder,
lifespan running (so the engine worker sends replies in the background), reached over httpx.

    async with running_parley(tmp_path, [Binding("helpdesk-telegram", "telegram", creds, settings)]) as app:
        response = await app.client.post("/webhook/telegram/helpdesk-telegram", ...)
        await eventually(lambda: fake.sent())          # a wait with a deadline, not a timing assertion
        assert app.counter("parley_webhook_rejected_total", platform="telegram") == 0

`served_parley` runs the same app under uvicorn (lifespan on) on a free 127.0.0.1 port, for clients
that need a real socket (OneBot's reverse WebSocket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.http_api import free_socket
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings
from parley_runtime.core.protocols import WebhookRequest

BOT = "helpdesk"
WAIT_SECONDS = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class Binding:
    """One PlatformBinding of the bot; `credentials` become the files of its Secret `<name>-creds`."""

    name: str
    platform: str
    credentials: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def secret(self) -> str:
        return f"{self.name}-creds"


@dataclass
class Parley:
    client: httpx.AsyncClient
    app: FastAPI

    async def metrics(self) -> str:
        response = await self.client.get("/metrics")
        assert response.status_code == 200
        return response.text

    async def counter(self, name: str, **labels: str) -> float:
        """Sum of a counter's samples whose labels include `labels` (0 when none exists yet)."""
        total = 0.0
        for family in text_string_to_metric_families(await self.metrics()):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total


def write_config(
    tmp_path: Path, bindings: Sequence[Binding], *, route_file: Path | None = None
) -> RuntimeSettings:
    docs = [chatbot_doc(BOT)]
    for b in bindings:
        docs.append(binding_doc(b.name, BOT, b.platform, secret=b.secret if b.credentials else None))
        docs[-1]["spec"]["settings"] = b.settings
        for key, value in b.credentials.items():
            target = tmp_path / "secrets" / b.secret / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(value)
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "bot.yaml").write_text(dump_yaml(*docs))
    return RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        role="serve",
        route_file=route_file,
    )


@contextlib.asynccontextmanager
async def running_parley(
    tmp_path: Path, bindings: Sequence[Binding], *, route_file: Path | None = None
) -> AsyncIterator[Parley]:
    """The app of `parley serve` with its lifespan, reached in-process through httpx's ASGI transport."""
    app = create_app(bootstrap.load(write_config(tmp_path, bindings, route_file=route_file)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
            yield Parley(client, app)


@contextlib.asynccontextmanager
async def served_parley(tmp_path: Path, bindings: Sequence[Binding]) -> AsyncIterator[tuple[Parley, str]]:
    """The same app under uvicorn (lifespan on, WebSockets on) in this event loop; yields its base URL."""
    app = create_app(bootstrap.load(write_config(tmp_path, bindings)))
    sock = free_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        await eventually(lambda: server.started or task.done())
        assert server.started, "uvicorn did not start"
        async with httpx.AsyncClient(base_url=base) as client:
            yield Parley(client, app), base
    finally:
        server.should_exit = True
        await task
        sock.close()


async def deliver(app: Parley, request: WebhookRequest, *, platform: str, binding: str) -> httpx.Response:
    """The platform's HTTP request, as it reaches `POST|GET /webhook/{platform}/{binding}`."""
    return await app.client.request(
        request.method,
        f"/webhook/{platform}/{binding}",
        params=request.query,
        headers=request.headers,
        content=request.body,
    )


async def eventually(probe: Callable[[], T], *, seconds: float = WAIT_SECONDS) -> T:
    """The first truthy value of `probe()`, polled until a deadline; fails the test at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing arrived within {seconds:g}s (last value: {value!r})")
        await asyncio.sleep(0.02)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
