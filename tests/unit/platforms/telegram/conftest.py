"""Factories for Telegram adapter tests: a real adapter over real settings and an unused httpx client."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from parley_runtime.platforms.telegram import adapter

TOKEN = "123456789:AAE-unit-test-token"
SECRET = "webhook-Secret_42"


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_adapter(http_client: httpx.AsyncClient) -> Callable[..., adapter.TelegramAdapter]:
    def make(**settings: Any) -> adapter.TelegramAdapter:
        ctx = make_adapter_context(
            "telegram",
            credentials={"botToken": TOKEN, "secretToken": SECRET},
            settings={"botUsername": "parley_helper_bot", **settings},
            http=http_client,
            clock=lambda: 1_763_700_000.0,
        )
        return adapter.create(ctx)

    return make
