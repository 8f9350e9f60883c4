"""Factories for the LLM integration tests: real fake servers, a real client, a fake clock."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from fakes.llm_servers import FAKES, FakeClock, FakeLLMServer
from parley_runtime.observability.metrics import Metrics


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_server() -> Iterator[Any]:
    """Factory: `fake_server("openai", text=...)` starts a fake that stops after the test."""
    started: list[FakeLLMServer] = []

    def start(kind: str, **kwargs: Any) -> FakeLLMServer:
        server = FAKES[kind](**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
