"""A fake Bot API server on 127.0.0.1 and real Telegram adapters pointed at it."""

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.telegram_api import FakeTelegram
from parley_runtime.core.protocols import SentLedger
from parley_runtime.platforms.telegram import adapter

TOKEN = "123456789:AAE-integration-token"


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def fake() -> Iterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(TOKEN)
    with serve(telegram.api.app) as base:
        yield telegram, base


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_adapter(
    fake: tuple[FakeTelegram, str], http: httpx.AsyncClient, sleep: RecordingSleep
) -> Callable[..., adapter.TelegramAdapter]:
    """`make_adapter(clock=, ledger=, **settings)`: settings as a manifest writes them; the adapter
    sleeps through the `sleep` fixture."""

    def make(
        *,
        clock: Callable[[], float] = lambda: 5.0,
        ledger: SentLedger | None = None,
        **settings: Any,
    ) -> adapter.TelegramAdapter:
        ctx = make_adapter_context(
            "telegram",
            credentials={"botToken": TOKEN, "secretToken": "s"},
            settings={"apiBase": fake[1], "botUsername": "parley_helper_bot", **settings},
            http=http,
            clock=clock,
            ledger=ledger,
        )
        return adapter.TelegramAdapter(ctx, ctx.settings, sleep=sleep)  # type: ignore[arg-type]

    return make
