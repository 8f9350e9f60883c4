"""Factories for the generic HTTP adapter's unit tests: real settings, real adapter, no network."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from parley_runtime.config.platforms import HttpSettings
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.base import AdapterContext
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
        ctx = AdapterContext(
            bot="helpdesk",
            binding="helpdesk-http",
            platform="http",
            credentials={"token": token} if token is not None else {},
            settings=HttpSettings.model_validate(
                {"callbackUrl": "https://hooks.example.com/parley", **settings}
            ),
            http=http_client,
            metrics=Metrics(),
            clock=lambda: clock,
        )
        return adapter.create(ctx)

    return make
