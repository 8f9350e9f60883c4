"""Factories for Telegram adapter tests: a real adapter over real settings, talking to a fake Bot API
on 127.0.0.1 (the adapter asks `getMe` on the first message it converts)."""

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from parley_runtime.platforms.telegram import adapter

TOKEN = "123456789:AAE-unit-test-token"
SECRET = "webhook-Secret_42"


@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    """One server per module (starting uvicorn costs more than these tests): compare call counts."""
    fake = FakeTelegram(TOKEN)
    with serve(fake.api.app) as base:
        yield fake, base


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_adapter(
    http_client: httpx.AsyncClient, telegram: tuple[FakeTelegram, str]
) -> Callable[..., adapter.TelegramAdapter]:
    def make(*, http: httpx.AsyncClient | None = None, **settings: Any) -> adapter.TelegramAdapter:
        ctx = make_adapter_context(
            "telegram",
            credentials={"botToken": TOKEN, "secretToken": SECRET},
            settings={"botUsername": "parley_helper_bot", "apiBase": telegram[1], **settings},
            http=http or http_client,
            clock=lambda: 1_763_700_000.0,
        )
        return adapter.create(ctx)

    return make
