"""Factories for the generic HTTP adapter's unit tests: real settings, real adapter, no network."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from parley_runtime.platforms.http import adapter

MakeAdapter = Callable[..., adapter.HttpAdapter]


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_adapter(http_client: httpx.AsyncClient) -> MakeAdapter:
    def make(
        *, token: str | None = None, clock: float = 1_700_000_000.0, **settings: Any
    ) -> adapter.HttpAdapter:
        ctx = make_adapter_context(
            "http",
            credentials={"token": token} if token is not None else {},
            settings={"callbackUrl": "https://hooks.example.com/parley", **settings},
            http=http_client,
            clock=lambda: clock,
        )
        return adapter.create(ctx)

    return make
